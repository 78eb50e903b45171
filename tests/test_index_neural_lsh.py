"""Neural LSH: the loss terms against hand-computed values, training behaviour, the index."""

import numpy as np
import pytest
import torch

from zsl_lib.index.neural_lsh import NeuralHashNetwork, NeuralLSH


def _blobs(seed=0, n_per=80, k=4, d=12):
    rng = np.random.default_rng(seed)
    centers = rng.uniform(-3, 3, (k, d))
    X = np.concatenate([c + rng.standard_normal((n_per, d)) for c in centers]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def test_loss_terms_by_hand():
    T = torch.tensor([[0.5, -0.5, 1.0], [1.0, 1.0, 1.0], [-0.2, 0.0, 0.4]])
    y = torch.tensor([0, 1, 0])
    bal, fence, weak = NeuralHashNetwork.loss_terms(T, y)
    assert bal.item() == pytest.approx((1.0 + 3.0 + 0.2) / 3)
    assert fence.item() == pytest.approx(((0.5 + 0.5 + 0.0) + 0.0 + (0.8 + 1.0 + 0.6)) / 3)
    # different-label pairs in the upper triangle: (0,1) and (1,2)
    assert weak.item() == pytest.approx((abs(0.5 - 0.5 + 1.0) + abs(-0.2 + 0.0 + 0.4)) / 2)


def test_training_reduces_loss_and_is_deterministic():
    X, y = _blobs()
    a = NeuralHashNetwork(64, epochs=15, batch_size=64, random_state=1).fit(X, y)
    b = NeuralHashNetwork(64, epochs=15, batch_size=64, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.weight_, b.weight_)
    h = a.loss_history_
    assert h.shape == (15, 4)
    assert h[-1, 0] < h[0, 0]
    assert h[-1, 2] < h[0, 2]  # less sitting on the fence
    codes = a.hash(X)
    assert codes.shape == (len(X), 64) and codes.dtype == bool
    np.testing.assert_array_equal(codes, a.transform(X) > 0)


def test_index_bits_and_candidates():
    X, y = _blobs(1)
    net = NeuralHashNetwork(100, epochs=5, batch_size=64).fit(X, y)
    idx = NeuralLSH(n_bits=6, n_tables=3, network=net, random_state=0).fit(X, y)
    assert idx.bit_indices_.shape == (3, 6)
    assert all(len(set(r)) == 6 for r in idx.bit_indices_)
    H = net.hash(X)
    Q = X[:15]
    indptr, cand = idx.candidates(Q)
    for q in range(15):
        ref = set()
        for t in range(3):
            bits = idx.bit_indices_[t]
            ref |= set(np.flatnonzero((H[:, bits] == H[q, bits]).all(1)))
        assert cand[indptr[q] : indptr[q + 1]].tolist() == sorted(ref)
    s, ids = idx.search(Q, 3)
    assert (ids[:, 0] == np.arange(15)).all()


def test_index_trains_its_own_network():
    X, y = _blobs(2, n_per=30)
    idx = NeuralLSH(n_bits=4, n_tables=2, network_params={"n_hidden": 32, "epochs": 2}).fit(X, y)
    assert idx.network_.n_hidden == 32


def test_bad_inputs():
    X, y = _blobs(n_per=10)
    with pytest.raises(ValueError, match="labels"):
        NeuralHashNetwork(8, epochs=1).fit(X, None)
    with pytest.raises(ValueError, match="exceeds"):
        NeuralLSH(n_bits=20, network_params={"n_hidden": 8, "epochs": 1}).fit(X, y)
    with pytest.raises(RuntimeError, match="fit"):
        NeuralHashNetwork().hash(X)
    with pytest.raises(ValueError, match="n_bits"):
        NeuralLSH(n_bits=0)
