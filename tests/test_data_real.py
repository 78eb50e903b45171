"""Every dataset in the mirror loads with its documented sizes (real files; marked realdata)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import real_file

from zsl_lib.data import load_dataset, registry
from zsl_lib.data.cifar import CIFAR10_CLASSES

pytestmark = pytest.mark.realdata


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("ZSL_OFFLINE", "1")


@pytest.mark.parametrize("split,n", [("train", 50_000), ("test", 10_000)])
def test_cifar10_jpeg_mirror(split, n):
    real_file(f"cifar10/cifar10-{split}.zip")
    ds = load_dataset("cifar10", split=split, format="jpeg")
    assert len(ds) == n and ds.class_names == CIFAR10_CLASSES
    assert np.bincount(ds.labels).tolist() == [n // 10] * 10
    assert ds.items[0] == f"{split}/airplane/0000.jpg"
    img = ds.get_image(n - 1)
    assert img.size == (32, 32) and img.mode == "RGB"
    assert ds.class_names[ds.labels[n - 1]] == "truck"


def test_tiny_imagenet_subset():
    real_file("tiny-imagenet/tiny-imagenet-200-subset.zip")
    train = load_dataset("tiny-imagenet", split="train", archive="subset")
    val = load_dataset("tiny-imagenet", split="val", archive="subset")
    assert (len(train), len(val)) == (20_000, 10_000)
    assert len(train.class_names) == 200 == len(set(train.class_names))
    assert np.bincount(train.labels).tolist() == [100] * 200
    assert np.bincount(val.labels).tolist() == [50] * 200
    k = train.extra["wnids"].index("n02124075")
    assert train.class_names[k] == "Egyptian cat"
    assert val.get_image(0).size == (64, 64)


def test_wordnet_real_database():
    from zsl_lib.data import wordnet

    try:
        wordnet.database_path()
    except FileNotFoundError as e:
        pytest.skip(str(e))
    chain = [s.name for s in wordnet.hypernym_chain("n02124075")]
    assert chain[0] == "Egyptian cat" and chain[1] == "domestic cat"
    assert "mammal" in chain and chain[-1] == "entity"
    assert wordnet.synset("n02124075").gloss.startswith("a domestic cat of Egypt")


def test_fashion_products_mirror():
    real_file("fashion-products/styles.csv")
    real_file("fashion-products/images.zip")
    ds = load_dataset("fashion-products", split="all")
    assert len(ds) == 9_583
    counts = ds.meta["articleType"].value_counts()
    assert counts["Tshirts"] == 1647 and counts["Shirts"] == 1361 and counts["Casual Shoes"] == 697
    assert all(t.strip() for t in ds.texts)
    align = load_dataset("fashion-products", split="align")
    ev = load_dataset("fashion-products", split="eval")
    assert len(align) + len(ev) == 9_583 and set(align.meta["id"]).isdisjoint(ev.meta["id"])
    assert abs(len(align) - len(ev)) <= len(counts)  # floor(n/2) per class
    assert ds.get_image(0).size == (224, 224)


def test_mirror_checksums_match_registry():
    """The registry's SHA-256s are the mirror's published SHA256SUMS."""
    mirror = registry.config.mirror_dir()
    if mirror is None or not (mirror / "SHA256SUMS").is_file():
        pytest.skip("no mirror SHA256SUMS")
    published = {}
    for line in (mirror / "SHA256SUMS").read_text().splitlines():
        sha, rel = line.split()
        published[rel.removeprefix("./")] = sha
    n = 0
    for spec in registry.REGISTRY.values():
        for f in spec.files:
            if f.relpath in published:
                assert f.sha256 == published[f.relpath], f.relpath
                n += 1
    assert n == sum(1 for rel in published if not rel.endswith(".txt"))


@pytest.mark.parametrize(
    "subset,n_att,n_cls,n_unseen",
    [("CUB", 312, 200, 50), ("SUN", 102, 717, 72), ("AWA1", 85, 50, 10), ("AWA2", 85, 50, 10), ("APY", 64, 32, 12)],
)
def test_xlsa17_att_splits(subset, n_att, n_cls, n_unseen):
    real_file(f"xlsa17/{subset}/att_splits.mat")
    x = load_dataset("xlsa17", subset=subset, features=False)
    assert x.att.shape == (n_cls, n_att) and x.att.dtype == np.float32  # the .mat's (n_att x n_cls) transposed
    np.testing.assert_allclose(np.linalg.norm(x.att, axis=1), 1.0, rtol=1e-4)
    assert len(x.class_names) == n_cls
    locs = np.concatenate([x.trainval_loc, x.test_seen_loc, x.test_unseen_loc])
    assert locs.min() >= 0 and len(np.unique(locs)) == len(locs)  # 0-based, disjoint
    assert locs.max() == len(locs) - 1  # the three splits cover every image exactly once
    if subset in ("AWA1", "AWA2", "SUN"):
        assert x.train_loc is not None and x.val_loc is not None
    if subset != "SUN":  # trainvalclasses.txt / testclasses.txt ship with the other four
        test_classes = real_file(f"xlsa17/{subset}/testclasses.txt").read_text().split()
        assert len(test_classes) == n_unseen and set(test_classes) <= set(x.class_names)


@pytest.mark.parametrize("split,n", [("train", 1211), ("test", 1196)])
def test_mulan_scene(split, n):
    real_file(f"mulan/scene-{split}.arff")
    ds = load_dataset("mulan-scene", split=split)
    assert ds.X.shape == (n, 294) and ds.Y.shape == (n, 6)
    assert ds.class_names == ["Beach", "Sunset", "FallFoliage", "Field", "Mountain", "Urban"]
    assert set(np.unique(ds.Y)) == {0, 1} and ds.Y.sum(1).min() >= 1  # every scene has a label
