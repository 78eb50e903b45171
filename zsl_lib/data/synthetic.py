"""Synthetic data used by the source papers.

* :func:`bimodal_beta`: points whose two coordinates are i.i.d. Beta(alpha, beta); with
  alpha = beta = 0.1 the mass piles up near 0 and 1 (a bimodal marginal), the 2-D toy of the
  similarity / bucketing papers.
* :func:`gaussian_blobs`: isotropic Gaussian clusters with means drawn U[-10, 10] per dimension
  and per-cluster variances U[0.5, 1].
"""

from __future__ import annotations

import numpy as np

from zsl_lib.validation import check_float, check_int


def bimodal_beta(n: int, alpha: float = 0.1, beta: float = 0.1, seed: int = 0) -> np.ndarray:
    """``n`` points in [0, 1]^2, each coordinate i.i.d. Beta(alpha, beta).

    Returns float64 (n, 2). Deterministic under ``seed``.
    """
    n = check_int("n", n, minimum=1)
    alpha = check_float("alpha", alpha, low=0, low_open=True)
    beta = check_float("beta", beta, low=0, low_open=True)
    return np.random.default_rng(seed).beta(alpha, beta, size=(n, 2))


def gaussian_blobs(
    n_clusters: int, n_per_cluster: int, dim: int = 2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters: means ~ U[-10, 10]^dim, variance ~ U[0.5, 1] per cluster (isotropic).

    Returns ``X`` float64 (n_clusters * n_per_cluster, dim) and ``y`` int64 cluster ids, ordered
    cluster by cluster. :func:`gaussian_blob_params` with the same ``n_clusters``, ``dim`` and
    ``seed`` returns the means and variances used.
    """
    means, variances = gaussian_blob_params(n_clusters, dim, seed)
    n_per_cluster = check_int("n_per_cluster", n_per_cluster, minimum=1)
    rng = np.random.default_rng([seed, 1])
    y = np.repeat(np.arange(n_clusters, dtype=np.int64), n_per_cluster)
    noise = rng.standard_normal((len(y), dim))
    X = means[y] + noise * np.sqrt(variances)[y, None]
    return X, y


def gaussian_blob_params(n_clusters: int, dim: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The means (n_clusters, dim) and variances (n_clusters,) :func:`gaussian_blobs` uses."""
    n_clusters = check_int("n_clusters", n_clusters, minimum=1)
    dim = check_int("dim", dim, minimum=1)
    rng = np.random.default_rng([seed, 0])
    means = rng.uniform(-10.0, 10.0, size=(n_clusters, dim))
    variances = rng.uniform(0.5, 1.0, size=n_clusters)
    return means, variances
