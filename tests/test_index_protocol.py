"""Every index shares one protocol: ``fit(X)``, ``search(Q, k) -> (scores, ids)`` like FAISS's
``index.search``, and scikit-learn's ``get_params`` / ``set_params`` / ``clone``.

Each index runs against exact search on the same data: scanning everything it must return the
exact neighbours; always float32 scores (nq, k) ranked best first, int64 ids, and ``-1`` ids
(``-inf`` scores) where a query has fewer than k candidates.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from zsl_lib.index.bliss import BLISS
from zsl_lib.index.exact import ExactIndex
from zsl_lib.index.faiss_baselines import FaissFlatIP, FaissIVFFlat, FaissLSH
from zsl_lib.index.kmeans import KMeansBuckets
from zsl_lib.index.lsh import RandomHyperplaneLSH
from zsl_lib.index.neural_lsh import NeuralLSH
from zsl_lib.index.ondisk import OnDiskIVF

N, D, NQ, K = 240, 12, 25, 5

# (index scanning every item, index whose candidates are a subset); every one ranks by cosine
FULL_SCAN = {
    "ExactIndex": lambda: ExactIndex(),
    "FaissFlatIP": lambda: FaissFlatIP(),
    "BLISS": lambda: BLISS(n_buckets=4, n_repetitions=2, n_probe=4, epochs=2, n_neighbors=2,
                           n_rerank=None, distance="cosine", device="cpu"),
    "KMeansBuckets": lambda: KMeansBuckets(n_clusters=4, n_probe=4),
    "RandomHyperplaneLSH": lambda: RandomHyperplaneLSH(n_bits=1, n_tables=8),
    "NeuralLSH": lambda: NeuralLSH(n_bits=1, n_tables=8, device="cpu",
                                   network_params={"n_hidden": 8, "epochs": 1}),
    "FaissLSH": lambda: FaissLSH(n_bits=16, n_candidates=N),
    "FaissIVFFlat": lambda: FaissIVFFlat(n_lists=4, n_probe=4),
    "OnDiskIVF": lambda: OnDiskIVF(n_lists=4, n_probe=4, shard_size=100),  # 3 parts merged on disk
}
NARROW = {  # few candidates per query: fewer than k for some queries
    "BLISS": lambda: BLISS(n_buckets=40, n_repetitions=1, n_probe=1, k_choices=2, epochs=1, n_neighbors=1,
                           n_rerank=None, distance="cosine", device="cpu"),
    "KMeansBuckets": lambda: KMeansBuckets(n_clusters=120),
    "RandomHyperplaneLSH": lambda: RandomHyperplaneLSH(n_bits=12, n_tables=1),
    "NeuralLSH": lambda: NeuralLSH(n_bits=8, n_tables=1, device="cpu",
                                   network_params={"n_hidden": 16, "epochs": 1}),
    "FaissLSH": lambda: FaissLSH(n_bits=16, n_candidates=3),
    "FaissIVFFlat": lambda: FaissIVFFlat(n_lists=60, n_probe=1),
    "OnDiskIVF": lambda: OnDiskIVF(n_lists=60, n_probe=1, shard_size=100),
}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, D)).astype(np.float32)
    y = rng.integers(0, 6, N)
    Q = rng.normal(size=(NQ, D)).astype(np.float32)
    return X, y, Q


def _fit(index, X, y):
    return index.fit(X, y) if isinstance(index, NeuralLSH) else index.fit(X)  # weak supervision


def _check_shapes(scores, ids, nq, k):
    assert scores.shape == ids.shape == (nq, k)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    valid = ids >= 0
    assert np.all(np.isneginf(scores[~valid]))  # -1 ids carry -inf scores
    assert np.all(np.isfinite(scores[valid]))
    assert np.all(valid[:, :-1] >= valid[:, 1:])  # padding only at the end of a row
    s = np.where(valid, scores, -np.inf)
    assert np.all(s[:, :-1] >= s[:, 1:] - 1e-6)  # best first
    for row in ids:  # no id twice
        r = row[row >= 0]
        assert len(np.unique(r)) == len(r)


@pytest.mark.parametrize("name", list(FULL_SCAN))
def test_scanning_everything_recovers_exact_neighbours(name, data):
    X, y, Q = data
    exact_scores, exact_ids = ExactIndex(metric="cosine").fit(X).search(Q, K)
    index = _fit(FULL_SCAN[name](), X, y)
    scores, ids = index.search(Q, K)
    _check_shapes(scores, ids, NQ, K)
    if name != "NeuralLSH" and name != "RandomHyperplaneLSH":
        np.testing.assert_array_equal(ids, exact_ids)
    else:  # 8 one-bit tables: a query misses the items on the other side of all 8 hyperplanes
        hit = (ids[:, :, None] == exact_ids[:, None, :]).any(1).mean()
        assert hit > 0.95, hit
    found = ids >= 0
    np.testing.assert_allclose(scores[found], np.take_along_axis(
        (Q / np.linalg.norm(Q, axis=1, keepdims=True)) @ (X / np.linalg.norm(X, axis=1, keepdims=True)).T,
        np.where(found, ids, 0), 1)[found], atol=1e-5)


@pytest.mark.parametrize("name", list(NARROW))
def test_fewer_candidates_than_k_are_padded(name, data):
    X, y, Q = data
    index = _fit(NARROW[name](), X, y)
    k = 20
    scores, ids = index.search(Q, k)
    _check_shapes(scores, ids, NQ, k)
    assert (ids == -1).any(), "the narrow setting should leave some queries with fewer than k candidates"


@pytest.mark.parametrize("name", list(FULL_SCAN))
def test_params_clone_and_unfitted(name, data):
    X, y, Q = data
    index = FULL_SCAN[name]()
    params = index.get_params()
    twin = clone(index)
    assert type(twin) is type(index) and twin.get_params().keys() == params.keys()
    assert all(twin.get_params()[p] is params[p] or twin.get_params()[p] == params[p] for p in params)
    with pytest.raises(NotFittedError):
        twin.search(Q, K)
    with pytest.raises(RuntimeError):  # the lab's earlier error type still works
        twin.search(Q, K)
    if params:
        key = next(iter(params))
        assert twin.set_params(**{key: params[key]}) is twin
    # a clone fitted on the same data answers the same
    a = _fit(index, X, y).search(Q, K)[1]
    b = _fit(clone(index), X, y).search(Q, K)[1]
    np.testing.assert_array_equal(a, b)
