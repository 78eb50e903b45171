"""k-means buckets against scikit-learn's own assignment and a naive bucket scan."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from zsl_lib.index.kmeans import KMeansBuckets


def _blobs(seed=0, n_per=60, k=5, d=10):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-10, 10, (k, d))
    X = np.concatenate([c + rng.standard_normal((n_per, d)) for c in centers]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def test_buckets_are_sklearn_clusters():
    X, _ = _blobs()
    idx = KMeansBuckets(5, algorithm="kmeans", random_state=0).fit(X)
    ref = KMeans(5, max_iter=100, n_init=1, random_state=0).fit(X)
    Q = X[::7] + 0.1
    indptr, cand = idx.candidates(Q)
    q_lab = ref.predict(Q)
    for q in range(len(Q)):
        np.testing.assert_array_equal(
            cand[indptr[q] : indptr[q + 1]], np.flatnonzero(ref.labels_ == q_lab[q])
        )
    np.testing.assert_array_equal(idx.predict(Q), q_lab)


@pytest.mark.parametrize("pca", [3, 0.9])
def test_pca_then_kmeans(pca):
    X, _ = _blobs(1)
    idx = KMeansBuckets(4, pca=pca, algorithm="kmeans", random_state=0).fit(X)
    Z = PCA(n_components=pca, random_state=0).fit_transform(X)
    ref = KMeans(4, max_iter=100, n_init=1, random_state=0).fit(Z.astype(np.float32))
    sizes = np.sort(idx.bucket_sizes()[0])
    np.testing.assert_array_equal(sizes, np.sort(np.bincount(ref.labels_)))
    assert idx.n_components_ == Z.shape[1]


def test_multiprobe_and_minibatch():
    X, y = _blobs(2)
    one = KMeansBuckets(8, algorithm="minibatch", random_state=0).fit(X)
    assert one.algorithm_ == "minibatch"
    three = KMeansBuckets(8, algorithm="minibatch", n_probe=3, random_state=0).fit(X)
    i1, c1 = one.candidates(X[:20])
    i3, c3 = three.candidates(X[:20])
    for q in range(20):
        assert set(c1[i1[q] : i1[q + 1]]) <= set(c3[i3[q] : i3[q + 1]])
    s, ids = one.search(X[:20], 5)
    assert (ids[:, 0] == np.arange(20)).all()  # a gallery item is its own best match


def test_bad_inputs():
    X, _ = _blobs()
    with pytest.raises(ValueError, match="pca"):
        KMeansBuckets(3, pca=1.5)
    with pytest.raises(ValueError, match="components requested"):
        KMeansBuckets(3, pca=50).fit(X)
    with pytest.raises(ValueError, match="exceeds"):
        KMeansBuckets(1000).fit(X)
    with pytest.raises(ValueError, match="algorithm"):
        KMeansBuckets(3, algorithm="spectral")


@pytest.mark.parametrize("scale", [1e20, 1e30])
def test_huge_features_are_rejected(scale):
    X, _ = _blobs()
    with pytest.raises(ValueError, match=r"X \(gallery\) has values up to .*Scale the features"):
        KMeansBuckets(3).fit(X * scale)
    m = KMeansBuckets(3).fit(X)
    with pytest.raises(ValueError, match=r"Q \(queries\) has values up to"):
        m.search(X[:2] * scale, 1)
    with pytest.raises(ValueError, match=r"X has values up to"):
        m.predict(X[:2] * scale)


@pytest.mark.parametrize("algorithm", ["kmeans", "minibatch"])
def test_repeated_points_every_query_gets_its_bucket(algorithm):
    # fewer distinct points (8) than K (20): scikit-learn returns duplicate centroids whose buckets
    # are empty; a query tied between two copies must still get the items of its point
    rng = np.random.default_rng(3)
    base = rng.standard_normal((8, 6)).astype(np.float32)
    X = np.repeat(base, 5, axis=0)
    with pytest.warns(UserWarning, match="only 8 distinct points for n_clusters=20"):
        idx = KMeansBuckets(20, algorithm=algorithm, random_state=0).fit(X)
    indptr, cand = idx.candidates(base)
    counts = np.diff(indptr)
    assert (counts > 0).all(), counts
    # brute force: the bucket of a query holds every gallery item identical to it
    for q in range(len(base)):
        same = np.flatnonzero((X == base[q]).all(axis=1))
        assert set(same) <= set(cand[indptr[q] : indptr[q + 1]])
    assert (idx.bucket_sizes()[0] > 0).all()
    assert idx.n_clusters_ == len(idx.cluster_centers_) == 8
    assert (counts == 5).all()  # exactly its own copies: the counts were [0, 5, 5, 0, ...]
    # a gallery item is its own best match
    _, ids = idx.search(base, 1)
    assert ((X[ids[:, 0]] == base).all(axis=1)).all()
    # n_probe above the distinct buckets is capped, not an error
    with pytest.warns(UserWarning, match="repeated points"):
        wide = KMeansBuckets(20, algorithm=algorithm, n_probe=15, random_state=0).fit(X)
    assert (np.diff(wide.candidates(base)[0]) == len(X)).all()


def test_no_duplicates_unchanged():
    # data with distinct points keeps scikit-learn's K centroids as they are
    X, _ = _blobs(4)
    idx = KMeansBuckets(6, algorithm="kmeans", random_state=0).fit(X)
    ref = KMeans(6, max_iter=100, n_init=1, random_state=0).fit(X)
    np.testing.assert_array_equal(idx.cluster_centers_, ref.cluster_centers_.astype(np.float32))
    assert idx.n_clusters_ == 6
