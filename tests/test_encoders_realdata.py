"""Encoders on the real mirror files (``@pytest.mark.realdata``).

These go through :func:`embed`, i.e. the shared embedding cache (``ZSL_CACHE_DIR``): with a warm
cache they take seconds; on a cold cache the extraction is paid once (a few minutes on a 2-core
CPU for the subsets below). The cache tests use a private temporary cache.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from tests.conftest import real_file
from zsl_lib.data import load_dataset
from zsl_lib.encoders import create_encoder, embed, embed_texts
from zsl_lib.encoders import embedding as emb
from zsl_lib.encoders.resnet_cifar import CIFAR10_CLASSES

pytestmark = pytest.mark.realdata


def test_resnet56_cifar10_test_accuracy():
    real_file("cifar10/cifar10-test.zip")
    real_file("weights/resnet56-4bfd9763.th")
    # A stratified subset of 2,000 test images (200 per class, seed 0): all 10,000 take ~4 min
    # on the shared 2-core CPU when not cached. Reported: 93.62% on the original pickles; the
    # mirror's JPEG re-encoding costs ~10 points (data README: 83-86%).
    ds = load_dataset("cifar10", split="test", limit_per_class=200, seed=0)
    assert len(ds) == 2000 and ds.class_names == CIFAR10_CLASSES
    enc = create_encoder("resnet56-cifar10")
    X = embed(ds, "resnet56-cifar10")
    assert X.shape == (2000, 64) and X.dtype == np.float32
    acc = (enc.logits_from_features(X).argmax(1) == ds.labels).mean()
    assert acc > 0.80, acc
    # the features path agrees with the end-to-end classifier on a few raw images
    ims = [ds.get_image(i) for i in range(0, 2000, 250)]
    np.testing.assert_allclose(enc.classify(ims), enc.logits_from_features(X[::250]), rtol=1e-3, atol=1e-3)


@pytest.mark.slow  # seconds with a warm cache; ~4 min extraction on a cold cache (2-core CPU)
def test_efficientnet_tiny_imagenet_val_1nn_well_above_chance():
    real_file("tiny-imagenet/tiny-imagenet-200-subset.zip")
    ds = load_dataset("tiny-imagenet", split="val")
    sub = ds.subset(np.flatnonzero(ds.labels < 20))  # 20 classes x 50 images
    X = embed(sub, "efficientnet-lite0")
    assert X.shape == (1000, 1280)
    y = sub.labels
    # leave-one-out 1-NN (Euclidean) by hand, checked against scikit-learn's neighbour search
    sq = (X.astype(np.float64) ** 2).sum(1)
    D = sq[:, None] + sq[None, :] - 2 * X.astype(np.float64) @ X.T.astype(np.float64)
    np.fill_diagonal(D, np.inf)
    nn_ours = D.argmin(1)
    _, idx = NearestNeighbors(n_neighbors=2).fit(X).kneighbors(X)
    nn_sk = np.where(idx[:, 0] == np.arange(len(X)), idx[:, 1], idx[:, 0])
    assert (nn_ours == nn_sk).mean() > 0.99
    acc = (y[nn_ours] == y).mean()
    assert acc > 0.25, acc  # chance is 0.05


def test_minilm_fashion_titles():
    real_file("fashion-products/styles.csv")
    real_file("fashion-products/images.zip")
    ds = load_dataset("fashion-products", split="all")
    T = embed_texts(ds.texts, "minilm")
    assert T.shape == (len(ds), 384) and T.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(T, axis=1), 1.0, atol=1e-4)
    # similar titles are closer than unrelated ones
    q = embed_texts(["Men Navy Blue Checked Shirt", "Men Blue Striped Shirt", "Women Gold Heels"], "minilm")
    assert q[0] @ q[1] > q[0] @ q[2] + 0.2
    # items of the same articleType are closer (on average) than items of different ones
    rng = np.random.default_rng(0)
    pick = rng.choice(len(ds), 1500, replace=False)
    S = T[pick] @ T[pick].T
    same = ds.labels[pick][:, None] == ds.labels[pick][None, :]
    np.fill_diagonal(same, False)
    off = ~np.eye(len(pick), dtype=bool)
    assert S[same].mean() > S[off & ~same].mean() + 0.15


def test_real_cache_hit_and_rebuild(tmp_path, monkeypatch):
    real_file("cifar10/cifar10-test.zip")
    real_file("weights/resnet20-12fca82f.th")
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path))
    ds = load_dataset("cifar10", split="test", limit_per_class=3, seed=1)
    X = embed(ds, "resnet20-cifar10", progress=False)
    (npy,) = (tmp_path / "embeddings").glob("cifar10-test-resnet20-cifar10-*.npy")
    meta = json.loads(npy.with_suffix(".json").read_text())
    assert meta["fingerprint"] == ds.fingerprint and meta["n"] == 30 and len(meta["items"]) == 30

    def fail(*a, **k):
        raise AssertionError("recomputed")

    with monkeypatch.context() as m:
        m.setattr(emb, "extract", fail)
        assert np.array_equal(embed(ds, "resnet20-cifar10", progress=False), X)
    npy.write_bytes(npy.read_bytes()[: npy.stat().st_size // 2])  # a partial write
    with pytest.warns(RuntimeWarning, match="rebuilding"):
        X2 = embed(ds, "resnet20-cifar10", progress=False)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.slow  # seconds with a warm cache; cold: all fashion images through EfficientNet (~30 min)
def test_lit_fashion_zero_shot_far_above_chance():
    # measured: 74.2% on 4,549 eval items / 30 articleTypes (majority class 18.1%); trained on
    # masked titles (lit-fashion-masked) the same prompts give 12.4%
    real_file("fashion-products/styles.csv")
    real_file("fashion-products/images.zip")
    ds = load_dataset("fashion-products", split="eval", min_items=60)
    X = embed(ds, "lit-fashion")
    P = embed_texts([f"a photo of {c}" for c in ds.class_names], "lit-fashion")
    assert X.shape == (len(ds), 384) and P.shape == (len(ds.class_names), 384)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-4)
    pred = (X @ P.T).argmax(1)
    acc = (pred == ds.labels).mean()
    chance = np.bincount(ds.labels).max() / len(ds)  # majority-class rate (stricter than 1/C)
    assert acc > max(3 / len(ds.class_names), chance + 0.15), (acc, chance, len(ds.class_names))
