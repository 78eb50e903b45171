"""k-means buckets (the report's method 1), optionally after PCA.

The gallery is clustered with scikit-learn ``KMeans`` (``MiniBatchKMeans`` for large problems, as
the report did for ImageNet); a query's candidates are the gallery items of its nearest centroid
(or of its ``n_probe`` nearest centroids: multi-probe, not in the report). Candidates are ranked by
cosine similarity in the original embedding space, so PCA only changes the partition.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..validation import check_choice, check_matrix, check_positive_ints
from .buckets import BucketIndex
from .exact import exact_topk

ALGORITHMS = ("auto", "kmeans", "minibatch")


class KMeansBuckets(BucketIndex):
    """k-means partition of the gallery as a one-table bucket index.

    Parameters
    ----------
    n_clusters : K, number of buckets.
    pca : None (no PCA), an int (number of components) or a float in (0, 1) (keep that fraction of
        the variance, e.g. 0.95 as in the report). Fitted on the gallery with scikit-learn ``PCA``.
    algorithm : ``"kmeans"`` (Lloyd, scikit-learn ``KMeans``), ``"minibatch"``
        (``MiniBatchKMeans``) or ``"auto"``: mini-batch when ``n_items * n_clusters`` exceeds
        ``minibatch_above`` (default 2e7, e.g. 50,000 items x 400 clusters).
    n_probe : buckets scanned per query (1 in the report).
    max_iter : Lloyd iterations (``KMeans``).
    minibatch_epochs : passes over the data for ``MiniBatchKMeans`` (its ``max_iter``).
    n_init, random_state : passed to scikit-learn.
    batch_size : queries probed together.
    """

    def __init__(
        self,
        n_clusters: int = 100,
        *,
        pca: int | float | None = None,
        algorithm: str = "auto",
        minibatch_above: float = 5e6,
        n_probe: int = 1,
        max_iter: int = 100,
        minibatch_epochs: int = 10,
        n_init: int = 1,
        random_state: int | None = 0,
        batch_size: int = 256,
    ):
        check_positive_ints(
            n_clusters=n_clusters, n_probe=n_probe, max_iter=max_iter, n_init=n_init,
            batch_size=batch_size,
        )
        check_choice("algorithm", algorithm, ALGORITHMS)
        if pca is not None and not (
            (isinstance(pca, (int, np.integer)) and pca >= 1)
            or (isinstance(pca, float) and 0.0 < pca < 1.0)
        ):
            raise ValueError(
                f"pca must be None, a number of components >= 1, or a variance fraction in (0, 1); "
                f"got {pca!r}"
            )
        if n_probe > n_clusters:
            raise ValueError(f"n_probe={n_probe} cannot exceed n_clusters={n_clusters}")
        self.n_clusters = int(n_clusters)
        self.pca = pca
        self.algorithm = algorithm
        self.minibatch_above = minibatch_above
        self.n_probe = int(n_probe)
        self.max_iter = int(max_iter)
        self.minibatch_epochs = int(minibatch_epochs)
        self.n_init = int(n_init)
        self.random_state = random_state
        self.batch_size = int(batch_size)

    def _reduce(self, X: np.ndarray) -> np.ndarray:
        if self.pca_ is None:
            return X
        return self.pca_.transform(X).astype(np.float32, copy=False)

    def _fit_keys(self, X, y):
        from sklearn.cluster import KMeans, MiniBatchKMeans  # noqa: PLC0415
        from sklearn.decomposition import PCA  # noqa: PLC0415

        n, d = X.shape
        if self.n_clusters > n:
            raise ValueError(f"n_clusters={self.n_clusters} exceeds the {n} gallery items")
        self.pca_ = None
        if self.pca is not None:
            if isinstance(self.pca, (int, np.integer)) and self.pca > min(n, d):
                raise ValueError(
                    f"pca={self.pca} components requested but the gallery is {n} x {d}; "
                    f"use at most {min(n, d)} or a variance fraction such as 0.95"
                )
            self.pca_ = PCA(n_components=self.pca, random_state=self.random_state).fit(X)
        Z = self._reduce(X)
        self.n_components_ = Z.shape[1]
        use_mb = self.algorithm == "minibatch" or (
            self.algorithm == "auto" and n * self.n_clusters > self.minibatch_above
        )
        if use_mb:
            km = MiniBatchKMeans(
                self.n_clusters,
                max_iter=self.minibatch_epochs,
                n_init=self.n_init,
                batch_size=4096,
                random_state=self.random_state,
            )
        else:
            km = KMeans(
                self.n_clusters,
                max_iter=self.max_iter,
                n_init=self.n_init,
                random_state=self.random_state,
            )
        self.algorithm_ = "minibatch" if use_mb else "kmeans"
        few = self._fewer_distinct_points(Z)
        if few is not None:
            # K or more clusters of fewer distinct points: each distinct point is its own bucket
            # (zero inertia); k-means would split copies of a point over near-equal centroids
            centers, labels = few
            warnings.warn(
                f"the gallery has only {len(centers)} distinct points for n_clusters="
                f"{self.n_clusters} (repeated points); using {len(centers)} buckets, one per point",
                stacklevel=3,
            )
            self.cluster_centers_ = centers
            self.n_clusters_ = int(len(centers))
            return labels[:, None]
        with warnings.catch_warnings():
            # replaced by the clearer warning below
            warnings.filterwarnings("ignore", message="Number of distinct clusters")
            labels = km.fit_predict(Z)
        centers = km.cluster_centers_.astype(np.float32)
        labels = labels.astype(np.int64)
        distinct = np.unique(centers, axis=0).shape[0]
        used = np.bincount(labels, minlength=len(centers)) > 0
        if distinct < len(centers) or not used.all():
            # Fewer distinct points than K: scikit-learn returns duplicate centroids (empty
            # clusters relocated onto points that already have one) and labels that need not be
            # the nearest centroid, so a query could land in an empty bucket or miss its own
            # copies. Merge duplicate centroids, assign every item to its nearest centroid as
            # queries are, and keep the centroids that own items (renumbered in order).
            _, first = np.unique(centers, axis=0, return_index=True)
            centers = centers[np.sort(first)]
            labels = exact_topk(Z, centers, 1, "l2")[1][:, 0].astype(np.int64)
            used = np.bincount(labels, minlength=len(centers)) > 0
            labels = (np.cumsum(used) - 1)[labels]
            centers = centers[used]
            warnings.warn(
                f"k-means found only {len(centers)} distinct non-empty clusters of n_clusters="
                f"{self.n_clusters} (the gallery has repeated points); using {len(centers)} "
                f"buckets",
                stacklevel=3,
            )
        self.cluster_centers_ = centers
        self.n_clusters_ = int(len(centers))
        return labels[:, None]

    def _fewer_distinct_points(self, Z):
        """``(distinct rows, inverse labels)`` when ``Z`` has fewer distinct rows than K, else None.
        An exact-integer hash of the rows' first 16 columns rules the common case out first
        (collisions and the left-out columns only lower its count, so a count >= K proves there
        are K distinct rows)."""
        head = np.ascontiguousarray(Z[:, :16], dtype=np.float32).view(np.uint32).astype(np.uint64)
        weights = np.random.default_rng(0).integers(1, 2**62, head.shape[1], dtype=np.uint64) | 1
        if len(np.unique((head * weights).sum(axis=1))) >= self.n_clusters:
            return None
        distinct, inverse = np.unique(Z, axis=0, return_inverse=True)
        if len(distinct) >= self.n_clusters:
            return None
        return distinct.astype(np.float32), inverse.ravel().astype(np.int64)

    def _query_keys(self, Q):
        Z = self._reduce(Q)
        n_probe = min(self.n_probe, self.n_clusters_)
        _, nearest = exact_topk(Z, self.cluster_centers_, n_probe, "l2")
        return nearest[:, None, :]  # (nq, 1 table, n_probe)

    def predict(self, X) -> np.ndarray:
        """Nearest-centroid bucket of each row of ``X`` (n, d): int64 (n,)."""
        self._check_fitted()
        X = check_matrix("X", X, dim=self.dim_, min_rows=0)
        return exact_topk(self._reduce(X), self.cluster_centers_, 1, "l2")[1][:, 0]
