"""Loaders on small generated files in the official formats (no real data needed)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from zsl_lib.data import load_dataset, registry
from zsl_lib.data.cifar import CIFAR10_CLASSES


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """An empty writable data dir, no mirror, offline, private checksum cache."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("ZSL_DATA_DIR", str(root))
    monkeypatch.delenv("ZSL_DATA_MIRROR", raising=False)
    monkeypatch.setenv("ZSL_OFFLINE", "1")
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    return root


@pytest.fixture
def register(monkeypatch):
    """register(dataset, relpath, path): make the registry expect ``path``'s real SHA-256."""

    def _register(dataset: str, relpath: str, path: Path) -> None:
        spec = registry.REGISTRY[dataset]
        sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        files = tuple(
            dataclasses.replace(f, sha256=sha, md5=None) if f.relpath == relpath else f
            for f in spec.files
        )
        monkeypatch.setitem(registry.REGISTRY, dataset, dataclasses.replace(spec, files=files))

    return _register


def _jpeg(color, size=(32, 32)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


# ------------------------------------------------------------------------------------ CIFAR


def _cifar_rows(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def _write_cifar10_tar(path: Path, per_batch: int = 20) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    truth = {}
    with tarfile.open(path, "w:gz") as tf:

        def add(name, obj):
            raw = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))

        for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
            data = _cifar_rows(per_batch, i)
            labels = [int(x) for x in np.arange(per_batch) % 10]
            truth[name] = (data, labels)
            add(name, {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": []})
        add("batches.meta", {b"label_names": [c.encode() for c in CIFAR10_CLASSES], b"num_vis": 3072})
    return truth


def test_cifar10_pickle_format_roundtrip(data_root, register):
    rel = "cifar10/cifar-10-python.tar.gz"
    truth = _write_cifar10_tar(data_root / rel)
    register("cifar10", rel, data_root / rel)
    train = load_dataset("cifar10", split="train")
    test = load_dataset("cifar10", split="test")
    assert len(train) == 100 and len(test) == 20
    assert train.class_names == CIFAR10_CLASSES and train.extra["format"] == "pickle"
    # pixel-exact against the rows: channel-major 3x32x32
    data, labels = truth["data_batch_3"]
    k = 40 + 7  # batch 3 starts at item 40
    expected = data[7].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(np.asarray(train.get_image(k)), expected)
    assert train.labels[k] == labels[7]
    assert train.fingerprint != test.fingerprint
    sub = load_dataset("cifar10", split="train", limit_per_class=3, seed=1)
    assert len(sub) == 30 and np.all(np.bincount(sub.labels) == 3)
    assert sub.fingerprint != train.fingerprint
    again = load_dataset("cifar10", split="train", limit_per_class=3, seed=1)
    assert again.items == sub.items
    other = load_dataset("cifar10", split="train", limit_per_class=3, seed=2)
    assert other.items != sub.items


def test_cifar10_jpeg_zip(data_root, register):
    rel = "cifar10/cifar10-test.zip"
    path = data_root / rel
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for ci, c in enumerate(reversed(CIFAR10_CLASSES)):  # written out of order on purpose
            for j in (1, 0):
                zf.writestr(f"test/{c}/{j:04d}.jpg", _jpeg((ci * 20, 0, 0)))
    register("cifar10", rel, path)
    ds = load_dataset("cifar10", split="test")
    assert ds.extra["format"] == "jpeg"
    assert ds.items[:2] == ["test/airplane/0000.jpg", "test/airplane/0001.jpg"]
    assert ds.labels.tolist() == sorted(ds.labels.tolist())
    assert [ds.class_names[i] for i in ds.labels[::2]] == CIFAR10_CLASSES
    assert ds.get_image(0).size == (32, 32)


def test_cifar100_official_format(data_root, register):
    rel = "cifar100/cifar-100-python.tar.gz"
    path = data_root / rel
    path.parent.mkdir(parents=True)
    fine_names = [f"fine{i}" for i in range(100)]
    coarse_names = [f"coarse{i}" for i in range(20)]
    with tarfile.open(path, "w:gz") as tf:
        for name, n in [("train", 200), ("test", 100)]:
            obj = {
                b"data": _cifar_rows(n, 5),
                b"fine_labels": list(range(100)) * (n // 100),
                b"coarse_labels": [i % 20 for i in range(n)],
                b"filenames": [b"x"] * n,
            }
            raw = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(raw)
            tf.addfile(info, io.BytesIO(raw))
        raw = pickle.dumps({b"fine_label_names": [s.encode() for s in fine_names],
                            b"coarse_label_names": [s.encode() for s in coarse_names]})
        info = tarfile.TarInfo("cifar-100-python/meta")
        info.size = len(raw)
        tf.addfile(info, io.BytesIO(raw))
    register("cifar100", rel, path)
    ds = load_dataset("cifar100", split="test")
    assert len(ds) == 100 and ds.class_names == fine_names and ds.labels[5] == 5
    coarse = load_dataset("cifar100", split="train", label_type="coarse", limit_per_class=2)
    assert coarse.class_names == coarse_names and len(coarse) == 40
    assert np.array_equal(coarse.extra["coarse_labels"], coarse.labels)
    assert coarse.get_image(0).size == (32, 32)


def test_cifar_bad_inputs(data_root):
    with pytest.raises(ValueError, match=r"accepted values: 'train', 'test'"):
        load_dataset("cifar10", split="validation")
    with pytest.raises(ValueError, match="accepted options"):
        load_dataset("cifar10", split="test", limit_per_klass=3)
    with pytest.raises(FileNotFoundError) as e:
        load_dataset("cifar10", split="test")
    msg = str(e.value)
    assert "cifar-10-python.tar.gz" in msg and "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in msg
    assert str(data_root) in msg and "ZSL_OFFLINE" in msg
    with pytest.raises(FileNotFoundError, match="cifar-100-python.tar.gz"):
        load_dataset("cifar100")


# ------------------------------------------------------------------------------ Tiny-ImageNet

WNIDS = ["n02124075", "n01443537", "n02504458"]  # Egyptian cat, goldfish, African elephant


def _write_tiny(path: Path, n_train=3, n_val=2) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    r = "tiny-imagenet-200/"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(r + "wnids.txt", "\n".join(WNIDS) + "\n")
        zf.writestr(r + "words.txt", "".join(f"{w}\tname of {w}, other\n" for w in WNIDS))
        ann = []
        k = 0
        for ci, w in enumerate(WNIDS):
            for i in range(n_train):
                zf.writestr(f"{r}train/{w}/images/{w}_{i * 5}.JPEG", _jpeg((ci * 80, i, 0), (64, 64)))
            for _ in range(n_val):
                ann.append(f"val_{k}.JPEG\t{w}\t0\t0\t63\t63")
                zf.writestr(f"{r}val/images/val_{k}.JPEG", _jpeg((ci * 80, 0, 0), (64, 64)))
                k += 1
        zf.writestr(r + "val/val_annotations.txt", "\n".join(ann) + "\n")


def test_tiny_imagenet_layout(data_root, register):
    rel = "tiny-imagenet/tiny-imagenet-200-subset.zip"
    _write_tiny(data_root / rel, n_train=12)
    register("tiny-imagenet", rel, data_root / rel)
    train = load_dataset("tiny-imagenet", split="train")
    val = load_dataset("tiny-imagenet", split="val")
    assert train.extra["wnids"] == sorted(WNIDS)
    assert len(train) == 36 and len(val) == 6
    # natural order: _5 before _10 (plain string order would put _10 first)
    first = [i for i in train.items if "n01443537" in i][:3]
    assert first[1].endswith("_5.JPEG") and first[2].endswith("_10.JPEG")
    assert val.items[:2] == [f"tiny-imagenet-200/val/images/val_{k}.JPEG" for k in (0, 1)]
    wn = sorted(WNIDS)
    assert [wn[i] for i in val.labels] == [w for w in WNIDS for _ in range(2)]
    if train.extra["name_source"] == "wordnet":
        assert train.class_names[wn.index("n02124075")] == "Egyptian cat"
    assert train.get_image(0).size == (64, 64)
    sub = load_dataset("tiny-imagenet", split="train", limit_per_class=4)
    assert np.bincount(sub.labels).tolist() == [4, 4, 4]


def test_tiny_imagenet_words_fallback(data_root, register, monkeypatch):
    rel = "tiny-imagenet/tiny-imagenet-200-subset.zip"
    _write_tiny(data_root / rel)
    register("tiny-imagenet", rel, data_root / rel)
    monkeypatch.setenv("ZSL_WORDNET_DIR", str(data_root / "nowhere"))
    from zsl_lib.data import wordnet

    monkeypatch.setattr(wordnet, "_DEBIAN_DIRS", ())
    with pytest.warns(UserWarning, match="words.txt"):
        ds = load_dataset("tiny-imagenet", split="val")
    assert ds.class_names[0] == "name of n01443537" and ds.extra["name_source"] == "words.txt"


# ----------------------------------------------------------------------------------- fashion

_STYLES_HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"


def _write_fashion(root: Path, n_per_class=(7, 4, 1)) -> pd.DataFrame:
    d = root / "fashion-products"
    d.mkdir(parents=True, exist_ok=True)
    rows, lines = [], [_STYLES_HEADER]
    pid = 1000
    classes = ["Shirts", "Watches", "Belts"]
    with zipfile.ZipFile(d / "images.zip", "w") as zf:
        for c, n in zip(classes, n_per_class):
            for i in range(n):
                pid += 3
                title = f"Brand {c} number {i}"
                if c == "Shirts" and i == 0:
                    title = "Brand, with, commas Shirts"  # malformed line in the Kaggle style
                lines.append(f"{pid},Men,Apparel,Topwear,{c},Blue,Fall,2011,Casual,{title}\n")
                zf.writestr(f"images/{pid}.jpg", _jpeg((10, 20, 30), (24, 24)))
                rows.append((pid, c, title))
        # an item without an image and one without a title
        lines.append("5000,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,No image shirt\n")
        lines.append("5001,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,NA\n")
        zf.writestr("images/5001.jpg", _jpeg((0, 0, 0), (24, 24)))
    (d / "styles.csv").write_text("".join(lines))
    return pd.DataFrame(rows, columns=["id", "articleType", "title"])


def test_fashion_products(data_root, register):
    truth = _write_fashion(data_root)
    register("fashion-products", "fashion-products/styles.csv", data_root / "fashion-products/styles.csv")
    register("fashion-products", "fashion-products/images.zip", data_root / "fashion-products/images.zip")
    ds = load_dataset("fashion-products", split="all")
    assert len(ds) == len(truth) == 12
    assert ds.class_names == ["Belts", "Shirts", "Watches"]
    assert ds.meta["id"].tolist() == sorted(truth["id"])
    assert "Brand, with, commas Shirts" in ds.texts  # repaired, not dropped
    assert ds.extra["repaired_lines"] == 1
    assert [ds.class_names[i] for i in ds.labels] == ds.meta["articleType"].tolist()
    align = load_dataset("fashion-products", split="align")
    ev = load_dataset("fashion-products", split="eval")
    assert set(align.meta["id"]).isdisjoint(ev.meta["id"]) and len(align) + len(ev) == 12
    # stratified floor(n/2): Shirts 7 -> 3 align, Watches 4 -> 2, Belts 1 -> 0
    assert align.meta["articleType"].value_counts().to_dict() == {"Shirts": 3, "Watches": 2}
    # choosing classes does not move items between align and eval
    ev2 = load_dataset("fashion-products", split="eval", classes=["Watches"])
    assert set(ev2.meta["id"]) == set(ev.meta.loc[ev.meta["articleType"] == "Watches", "id"])
    assert ev2.class_names == ["Watches"] and set(ev2.labels) == {0}
    big = load_dataset("fashion-products", min_items=4)
    assert big.class_names == ["Shirts", "Watches"] and len(big) == 11
    assert ds.get_image(0).size == (24, 24)
    with pytest.raises(ValueError, match=r"unknown articleType.*Shirts \(7\)"):
        load_dataset("fashion-products", classes=["Shoes"])
    with pytest.raises(ValueError, match="accepted values: 'all', 'align', 'eval'"):
        load_dataset("fashion-products", split="test")


def test_fashion_partition_is_stable_and_balanced():
    from zsl_lib.data.fashion import partition_align

    rng = np.random.default_rng(0)
    ids = rng.choice(100000, size=2000, replace=False)
    types = rng.choice(["a", "b", "c"], size=2000)
    part = partition_align(ids, types)
    for t in "abc":
        m = types == t
        assert part[m].sum() == m.sum() // 2
    # an item's side depends on its class members only, not on other classes or on order
    perm = rng.permutation(2000)
    assert np.array_equal(partition_align(ids[perm], types[perm]), part[perm])
    only_a = types == "a"
    assert np.array_equal(partition_align(ids[only_a], types[only_a]), part[only_a])
    assert not np.array_equal(partition_align(ids, types, seed=1), part)


def test_fashion_missing_files_say_kaggle(data_root):
    with pytest.raises(FileNotFoundError, match="kaggle datasets download"):
        load_dataset("fashion-products")


def test_corrupt_image_raises_on_read(data_root, register):
    rel = "cifar10/cifar10-test.zip"
    path = data_root / rel
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("test/airplane/0000.jpg", _jpeg((1, 2, 3)))
        zf.writestr("test/airplane/0001.jpg", b"not a jpeg at all")
    register("cifar10", rel, path)
    ds = load_dataset("cifar10", split="test")
    ds.get_image(0)
    with pytest.raises(ValueError, match=r"cannot read image .*0001\.jpg"):
        ds.get_image(1)
