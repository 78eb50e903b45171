"""Loaders on small generated files in the official formats (no real data needed)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import tarfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import folder_with_bad_jpegs
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
    # the source travels to DataLoader workers by pickling: only the path, arrays reloaded
    from zsl_lib.data import cifar

    src = pickle.loads(pickle.dumps(train.source))
    cifar._ARRAYS.clear()
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(src.read(train.items[k])))), expected)
    sub = load_dataset("cifar10", split="train", limit_per_class=3, seed=1)
    assert len(sub) == 30 and np.all(np.bincount(sub.labels) == 3)
    assert sub.fingerprint != train.fingerprint
    again = load_dataset("cifar10", split="train", limit_per_class=3, seed=1)
    assert again.items == sub.items
    other = load_dataset("cifar10", split="train", limit_per_class=3, seed=2)
    assert other.items != sub.items
    with pytest.raises(ValueError, match="limit_per_class must be an integer >= 1; got 0"):
        load_dataset("cifar10", split="train", limit_per_class=0)
    with pytest.raises(ValueError, match=r"limit_per_class must be an integer \(or None\); got '3'"):
        load_dataset("cifar10", split="train", limit_per_class="3")


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
    from conftest import write_cifar100_archive

    rel = "cifar100/cifar-100-python.tar.gz"
    path = data_root / rel
    fine_names = [f"fine{i}" for i in range(100)]
    coarse_names = [f"coarse{i}" for i in range(20)]
    write_cifar100_archive(path, {name: (_cifar_rows(n, 5), list(range(100)) * (n // 100))
                                  for name, n in [("train", 200), ("test", 100)]}, fine_names, coarse_names)
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


def _write_tiny(path: Path, n_train=3, n_val=2, full=False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    r = "tiny-imagenet-200/"
    with zipfile.ZipFile(path, "w") as zf:
        if full:  # the official archive also has box files and an unlabelled test set
            zf.writestr(r + "test/images/test_0.JPEG", _jpeg((0, 0, 0), (64, 64)))
            for w in WNIDS:
                zf.writestr(f"{r}train/{w}/{w}_boxes.txt", "x\t0\t0\t1\t1\n")
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


def test_tiny_imagenet_prefers_local_official_archive(data_root, register):
    sub, full = "tiny-imagenet/tiny-imagenet-200-subset.zip", "tiny-imagenet/tiny-imagenet-200.zip"
    _write_tiny(data_root / sub, n_train=2)
    _write_tiny(data_root / full, n_train=5, full=True)
    register("tiny-imagenet", sub, data_root / sub)
    register("tiny-imagenet", full, data_root / full)
    ds = load_dataset("tiny-imagenet", split="train")
    assert ds.extra["archive"] == full and len(ds) == 15
    assert all(i.endswith(".JPEG") and "/images/" in i for i in ds.items)
    assert len(load_dataset("tiny-imagenet", split="train", archive="subset")) == 6
    assert len(load_dataset("tiny-imagenet", split="val")) == 6


def test_tiny_imagenet_words_fallback(data_root, register, monkeypatch):
    rel = "tiny-imagenet/tiny-imagenet-200-subset.zip"
    _write_tiny(data_root / rel)
    register("tiny-imagenet", rel, data_root / rel)
    monkeypatch.setenv("ZSL_WORDNET_DIR", str(data_root / "nowhere"))
    monkeypatch.setenv("HOME", str(data_root))  # no ~/nltk_data
    monkeypatch.delenv("NLTK_DATA", raising=False)
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
    with pytest.raises(ValueError, match=r"min_items must be an integer \(or None\); got 2.5"):
        load_dataset("fashion-products", min_items=2.5)


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


# ------------------------------------------------------------------------------------ xlsa17


def _write_xlsa(root: Path, n_classes=6, n_att=4, n_img=30, with_res=True, seed=0):
    import scipy.io

    rng = np.random.default_rng(seed)
    d = root / "xlsa17" / "CUB"
    d.mkdir(parents=True, exist_ok=True)
    att = rng.random((n_att, n_classes))
    labels = np.arange(n_img) % n_classes  # 0-based truth
    seen = labels < 4
    idx = np.flatnonzero(seen)
    trainval, test_seen = idx[: len(idx) // 2], idx[len(idx) // 2 :]
    test_unseen = np.flatnonzero(~seen)
    names = np.empty((n_classes, 1), dtype=object)
    for i in range(n_classes):
        names[i, 0] = np.array([f"{i:03d}.class_{i}"])
    scipy.io.savemat(
        d / "att_splits.mat",
        {
            "att": att / np.linalg.norm(att, axis=0),
            "original_att": att * 100,
            "allclasses_names": names,
            "trainval_loc": (trainval + 1)[:, None].astype(np.uint16),
            "test_seen_loc": (test_seen + 1)[:, None].astype(np.uint16),
            "test_unseen_loc": (test_unseen + 1)[:, None].astype(np.uint16),
        },
    )
    feats = rng.random((2048, n_img))
    if with_res:
        files = np.empty((n_img, 1), dtype=object)
        for i in range(n_img):
            files[i, 0] = np.array([f"/img/{i}.jpg"])
        scipy.io.savemat(
            d / "res101.mat",
            {"features": feats, "labels": (labels + 1)[:, None].astype(np.float64), "image_files": files},
        )
    return att, feats, labels, trainval, test_seen, test_unseen


def test_xlsa17_with_generated_res101(data_root, register):
    att, feats, labels, tv, ts, tu = _write_xlsa(data_root)
    register("xlsa17", "xlsa17/CUB/att_splits.mat", data_root / "xlsa17/CUB/att_splits.mat")
    with pytest.warns(UserWarning, match="no published checksum"):
        x = load_dataset("xlsa17", subset="CUB")
    assert x.att.shape == (6, 4) and x.att.dtype == np.float32
    np.testing.assert_allclose(x.att, (att / np.linalg.norm(att, axis=0)).T, rtol=1e-6)
    assert x.features.shape == (30, 2048) and x.features.dtype == np.float32
    np.testing.assert_allclose(x.features, feats.T, rtol=1e-6)
    np.testing.assert_array_equal(x.labels, labels)
    np.testing.assert_array_equal(x.trainval_loc, tv)
    np.testing.assert_array_equal(x.test_seen_loc, ts)
    np.testing.assert_array_equal(x.test_unseen_loc, tu)
    assert x.class_names[2] == "002.class_2" and x.image_files[3] == "/img/3.jpg"
    assert x.seen_classes.tolist() == [0, 1, 2, 3] and x.unseen_classes.tolist() == [4, 5]
    assert x.train_loc is None


def test_xlsa17_without_features(data_root, register):
    _write_xlsa(data_root, with_res=False)
    register("xlsa17", "xlsa17/CUB/att_splits.mat", data_root / "xlsa17/CUB/att_splits.mat")
    with pytest.warns(UserWarning, match="features=None"):
        x = load_dataset("xlsa17", subset="CUB")
    assert x.features is None and x.labels is None and x.seen_classes is None
    assert load_dataset("xlsa17", subset="CUB", features=False).features is None
    with pytest.raises(FileNotFoundError, match=r"res101\.mat.*xlsa17\.zip"):
        load_dataset("xlsa17", subset="CUB", features=True)
    with pytest.raises(ValueError, match="accepted values: 'APY', 'AWA1', 'AWA2', 'CUB', 'SUN'"):
        load_dataset("xlsa17", subset="AWA3")


def test_xlsa17_res101_shape_mismatch(data_root, register):
    import scipy.io

    _write_xlsa(data_root)
    register("xlsa17", "xlsa17/CUB/att_splits.mat", data_root / "xlsa17/CUB/att_splits.mat")
    scipy.io.savemat(data_root / "xlsa17/CUB/res101.mat", {"features": np.zeros((2048, 10)), "labels": np.ones((10, 1))})
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="res101.mat has 10 images"):
        load_dataset("xlsa17", subset="CUB")


# -------------------------------------------------------------------------------------- SQID


def test_sqid_generated_parquet(data_root):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    n = 5
    text = rng.standard_normal((n, 768)).astype(np.float32)
    image = rng.standard_normal((n, 768)).astype(np.float32)
    image_col = [list(v) for v in image]
    image_col[2] = None  # a product without an image
    table = pa.table(
        {
            "product_id": pa.array([f"B00000000{i}" for i in range(n)], pa.string()),
            "clip_text_features": pa.array([list(v) for v in text], pa.list_(pa.float32())),
            "clip_image_features": pa.array(image_col, pa.list_(pa.float32())),
        }
    )
    (data_root / "sqid").mkdir()
    pq.write_table(table, data_root / "sqid/product_features.parquet")
    with pytest.warns(UserWarning, match="no published checksum"):
        df = load_dataset("sqid")
    assert list(df.columns) == ["product_id", "clip_text_features", "clip_image_features"]
    from zsl_lib.data.sqid import embedding_matrix

    E = embedding_matrix(df, "clip_image_features")
    assert E.shape == (5, 768) and E.dtype == np.float32 and np.isnan(E[2]).all()
    np.testing.assert_array_equal(E[[0, 1, 3, 4]], image[[0, 1, 3, 4]])
    np.testing.assert_array_equal(embedding_matrix(df, "clip_text_features"), text)
    kept = load_dataset("sqid", columns=["clip_image_features"], dropna=True)  # warned once only
    assert kept["product_id"].tolist() == [f"B00000000{i}" for i in (0, 1, 3, 4)]
    with pytest.raises(ValueError, match="accepted values"):
        load_dataset("sqid", columns=["clip_features"])


def test_sqid_missing_gives_url(data_root):
    with pytest.raises(FileNotFoundError, match="huggingface.co/datasets/crossingminds"):
        load_dataset("sqid")


# -------------------------------------------------------------------------------------- ARFF

_ARFF = """@relation 'toy: -C -2'
@attribute f1 numeric
@attribute f2 numeric
@attribute f3 numeric
@attribute A {0,1}
@attribute B {0,1}
@data
0.5,1.0,2.0,1,0
1.5,-1.0,0.0,0,0
2.5,3.0,1.0,1,1
"""


def test_multilabel_arff_meka_header(tmp_path):
    p = tmp_path / "toy.arff"
    p.write_text(_ARFF)
    ds = load_dataset("multilabel-arff", path=p)
    assert ds.X.shape == (3, 3) and ds.X.dtype == np.float32
    np.testing.assert_array_equal(ds.Y, [[1, 0], [0, 0], [1, 1]])
    assert ds.class_names == ["A", "B"] and ds.extra["feature_names"] == ["f1", "f2", "f3"]
    np.testing.assert_allclose(ds.X[2], [2.5, 3.0, 1.0])
    # labels first (MEKA positive -C)
    q = tmp_path / "first.arff"
    q.write_text(
        "@relation 'x: -C 2'\n@attribute A {0,1}\n@attribute B {0,1}\n@attribute f numeric\n@data\n1,0,0.25\n0,1,0.5\n"
    )
    ds2 = load_dataset("multilabel-arff", path=q)
    assert ds2.class_names == ["A", "B"] and ds2.X[:, 0].tolist() == [0.25, 0.5]


def test_multilabel_arff_sparse_and_no_header(tmp_path):
    p = tmp_path / "sparse.arff"
    p.write_text(
        "@relation mulan\n@attribute f1 numeric\n@attribute f2 numeric\n@attribute A {0,1}\n@attribute B {0,1}\n"
        "@data\n{0 1.5,3 1}\n{1 2.0,2 1}\n"
    )
    with pytest.raises(ValueError, match="pass n_labels"):
        load_dataset("multilabel-arff", path=p)
    ds = load_dataset("multilabel-arff", path=p, n_labels=2)
    np.testing.assert_array_equal(ds.X, [[1.5, 0], [0, 2.0]])
    np.testing.assert_array_equal(ds.Y, [[0, 1], [1, 0]])


_ARFF_NUMERIC_LABELS = """@relation 'toy: -C {c}'
@attribute f1 numeric
@attribute f2 numeric
@attribute L1 numeric
@attribute L2 numeric
@attribute L3 numeric
@data
0.5,1.0,1,0,1
1.5,-1.0,0,0,1
2.5,3.0,1,1,0
"""


def test_multilabel_arff_label_count_checked(tmp_path):
    # a -C that leaves out a label declared numeric used to load it as a feature (a label leak)
    p = tmp_path / "short.arff"
    p.write_text(_ARFF_NUMERIC_LABELS.format(c=-2))
    with pytest.raises(ValueError, match=r"-C -2 declares 2 labels.*'L1'.*likely 3.*'-C -3'"):
        load_dataset("multilabel-arff", path=p)
    with pytest.raises(ValueError, match=r"n_labels=2 declares 2 labels.*likely 3"):
        load_dataset("multilabel-arff", path=p, n_labels=2)
    # a count that takes in a feature names the feature and the likely count
    q = tmp_path / "long.arff"
    q.write_text(_ARFF_NUMERIC_LABELS.format(c=-4))
    with pytest.raises(ValueError, match=r"label attribute 'f2' is not 0/1-valued.*likely 3"):
        load_dataset("multilabel-arff", path=q)
    # the right count loads; a genuine binary feature next to the labels can be allowed
    r = tmp_path / "ok.arff"
    r.write_text(_ARFF_NUMERIC_LABELS.format(c=-3))
    ds = load_dataset("multilabel-arff", path=r)
    assert ds.class_names == ["L1", "L2", "L3"] and ds.X.shape == (3, 2)
    ds2 = load_dataset("multilabel-arff", path=p, check_label_count=False)
    assert ds2.class_names == ["L2", "L3"] and ds2.extra["feature_names"] == ["f1", "f2", "L1"]
    # labels first (positive -C), one left out
    f = tmp_path / "first.arff"
    f.write_text(
        "@relation 'x: -C 1'\n@attribute A {0,1}\n@attribute B numeric\n@attribute f numeric\n"
        "@data\n1,0,0.25\n0,1,0.5\n"
    )
    with pytest.raises(ValueError, match=r"'B'.*'-C 2' or pass n_labels=2"):
        load_dataset("multilabel-arff", path=f)


# ------------------------------------------------------------------------------- user data


def test_image_folder(tmp_path):
    for c, n in [("dogs", 2), ("cats", 3)]:
        (tmp_path / c).mkdir()
        for i in range(n):
            Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / c / f"{i}.JPG")
    (tmp_path / "cats" / "notes.txt").write_text("not an image")
    (tmp_path / "empty").mkdir()
    Image.new("L", (8, 8), 7).save(tmp_path / "cats" / "grey.png")  # grey images come out RGB
    ds = load_dataset("image-folder", root=tmp_path)
    assert ds.class_names == ["cats", "dogs"] and ds.labels.tolist() == [0, 0, 0, 0, 1, 1]
    assert ds.get_image(5).size == (8, 8)
    grey = ds.get_image(ds.items.index(str(tmp_path / "cats" / "grey.png")))
    assert grey.mode == "RGB" and grey.getpixel((0, 0)) == (7, 7, 7)
    fp = ds.fingerprint
    Image.new("RGB", (9, 9)).save(tmp_path / "dogs" / "5.jpg")
    assert load_dataset("image-folder", root=tmp_path).fingerprint != fp


def test_image_folder_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_dataset("image-folder", root=tmp_path / "missing")
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="no images found"):
        load_dataset("image-folder", root=tmp_path)
    (tmp_path / "a" / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"1 of 1 images cannot be read: .*x\.jpg"):
        load_dataset("image-folder", root=tmp_path)
    Image.new("RGB", (8, 8)).save(tmp_path / "a" / "x.jpg", format="JPEG")
    ds = load_dataset("image-folder", root=tmp_path)
    (tmp_path / "a" / "x.jpg").write_bytes(b"garbage")  # damaged after loading
    with pytest.raises(ValueError, match=r"cannot read image .*x\.jpg"):
        ds.get_image(0)


def test_user_data_warns_single_class_and_empty_class_folder(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "dogs").mkdir()  # empty: used to be dropped silently
    for i in range(3):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "cats" / f"{i}.png")
    with pytest.warns(UserWarning) as caught:
        ds = load_dataset("image-folder", root=tmp_path)
    msgs = " | ".join(str(w.message) for w in caught)
    assert "without images are left out: dogs" in msgs
    assert "only one class ('cats')" in msgs
    assert ds.class_names == ["cats"]
    # a class whose every image is unreadable and skipped is left out with a warning too
    (tmp_path / "dogs" / "0.png").write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="dogs have no readable image left"):
        ds = load_dataset("image-folder", root=tmp_path, bad_images="skip")
    assert ds.class_names == ["cats"] and ds.labels.tolist() == [0, 0, 0]
    # two classes: no single-class warning
    Image.new("RGB", (8, 8)).save(tmp_path / "dogs" / "0.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_dataset("image-folder", root=tmp_path).class_names == ["cats", "dogs"]
    # embeddings and multilabel CSV
    np.savez(tmp_path / "one.npz", X=np.ones((4, 2), np.float32), y=np.zeros(4, np.int64))
    with pytest.warns(UserWarning, match="only one class"):
        load_dataset("embeddings", path=tmp_path / "one.npz")
    np.savez(tmp_path / "zero.npz", X=np.ones((0, 2), np.float32), y=np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="0 rows"):
        load_dataset("embeddings", path=tmp_path / "zero.npz")
    (tmp_path / "one.csv").write_text("path,keywords\ncats/0.png,cat\ncats/1.png,cat\n")
    with pytest.warns(UserWarning, match="only one class"):
        load_dataset("multilabel-csv", path=tmp_path / "one.csv")


def test_multilabel_csv(tmp_path):
    (tmp_path / "img").mkdir()
    for i in range(4):
        Image.new("RGB", (8, 8)).save(tmp_path / "img" / f"{i}.png")
    (tmp_path / "labels.csv").write_text(
        "path,keywords\nimg/0.png,beach|sunset\nimg/1.png,urban\nimg/2.png, beach ; mountain \nimg/3.png,\n"
    )
    ds = load_dataset("multilabel-csv", path=tmp_path / "labels.csv")
    assert ds.class_names == ["beach", "mountain", "sunset", "urban"]
    np.testing.assert_array_equal(ds.extra["Y"], [[1, 0, 1, 0], [0, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 0]])
    assert ds.labels.tolist() == [-1, 3, -1, -1]
    (tmp_path / "bad.csv").write_text("path,keywords\nimg/9.png,a\n")
    with pytest.raises(FileNotFoundError, match="9.png"):
        load_dataset("multilabel-csv", path=tmp_path / "bad.csv")
    (tmp_path / "hdr.csv").write_text("file,tags\nimg/0.png,a\n")
    with pytest.raises(ValueError, match="path,keywords"):
        load_dataset("multilabel-csv", path=tmp_path / "hdr.csv")


def test_embeddings_npz(tmp_path):
    X = np.random.default_rng(0).standard_normal((6, 3))
    np.savez(tmp_path / "e.npz", X=X, y=np.array([0, 1, 2, 0, 1, 2]), class_names=np.array(["a", "b", "c"]))
    ds = load_dataset("embeddings", path=tmp_path / "e.npz")
    assert ds.X.dtype == np.float32 and ds.class_names == ["a", "b", "c"] and ds.y.tolist() == [0, 1, 2, 0, 1, 2]
    np.savez(tmp_path / "s.npz", X=X, y=np.array(["dog", "cat", "dog", "cat", "cat", "dog"]))
    ds = load_dataset("embeddings", path=tmp_path / "s.npz")
    assert ds.class_names == ["cat", "dog"] and ds.y.tolist() == [1, 0, 1, 0, 0, 1]
    np.savez(tmp_path / "bad.npz", X=X, labels=np.zeros(6))
    with pytest.raises(ValueError, match=r"lacks \['y'\]"):
        load_dataset("embeddings", path=tmp_path / "bad.npz")
    np.savez(tmp_path / "nan.npz", X=np.full((2, 2), np.nan), y=np.zeros(2, int))
    with pytest.raises(ValueError, match="NaN"):
        load_dataset("embeddings", path=tmp_path / "nan.npz")
    np.savez(tmp_path / "short.npz", X=X, y=np.zeros(5, int))
    with pytest.raises(ValueError, match=r"shape \(6,\)"):
        load_dataset("embeddings", path=tmp_path / "short.npz")


def test_fashion_kaggle_layout_images_folder(data_root):
    """A Kaggle download: styles.csv + images/<id>.jpg in the data dir, other checksums."""
    _write_fashion(data_root)
    d = data_root / "fashion-products"
    with zipfile.ZipFile(d / "images.zip") as zf:
        zf.extractall(d)  # -> images/<id>.jpg
    (d / "images.zip").unlink()
    from zsl_lib.data import ChecksumMismatchError

    with pytest.raises(ChecksumMismatchError, match="verify=False"):
        load_dataset("fashion-products")
    ds = load_dataset("fashion-products", verify=False)
    assert len(ds) == 12 and ds.source is None and Path(ds.items[0]).is_file()
    assert ds.get_image(0).size == (24, 24)


# --- a user's folder with broken images: every bad file named in one pass, the rest usable -----

def _folder_with_bad_images(tmp_path):
    from PIL import Image as _Image

    root = tmp_path / "imgs"
    for cls in ("cat", "dog"):
        (root / cls).mkdir(parents=True)
        for i in range(3):
            _Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / cls / f"{i}.png")
    (root / "cat" / "broken.jpg").write_bytes(b"not an image")
    (root / "dog" / "truncated.png").write_bytes((root / "dog" / "0.png").read_bytes()[:30])
    return root


def test_image_folder_reports_every_bad_image_at_once(tmp_path):
    from zsl_lib.data import load_dataset

    root = _folder_with_bad_images(tmp_path)
    with pytest.raises(ValueError, match="2 of 8 images cannot be read") as e:
        load_dataset("image-folder", root=str(root))
    assert "broken.jpg" in str(e.value) and "truncated.png" in str(e.value)
    assert "bad_images='skip'" in str(e.value)


def test_image_folder_can_skip_bad_images_and_keep_the_good_ones(tmp_path):
    from zsl_lib.data import load_dataset

    root = _folder_with_bad_images(tmp_path)
    with pytest.warns(UserWarning, match="skipping 2 of 8 unreadable images"):
        ds = load_dataset("image-folder", root=str(root), bad_images="skip")
    assert len(ds.items) == 6 and ds.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert not any("broken" in i or "truncated" in i for i in ds.items)
    with pytest.raises(ValueError, match="bad_images"):
        load_dataset("image-folder", root=str(root), bad_images="ignore")


def test_multilabel_csv_skips_bad_images_with_their_rows(tmp_path):
    from zsl_lib.data import load_dataset

    root = _folder_with_bad_images(tmp_path)
    rows = ["path,keywords", "cat/0.png,red|small", "cat/broken.jpg,red", "dog/1.png,blue;large"]
    (root / "k.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match="1 of 3 images cannot be read"):
        load_dataset("multilabel-csv", path=str(root / "k.csv"))
    with pytest.warns(UserWarning, match="skipping 1 of 3"):
        ds = load_dataset("multilabel-csv", path=str(root / "k.csv"), bad_images="skip")
    assert len(ds.items) == 2 and ds.extra["Y"].shape == (2, 4)
    assert ds.class_names == ["blue", "large", "red", "small"]


def test_image_folder_decodes_every_image_up_front_so_a_truncated_jpeg_is_caught(tmp_path):
    root = folder_with_bad_jpegs(tmp_path / "photos")
    with pytest.raises(ValueError, match="2 of 6 images cannot be read") as e:
        load_dataset("image-folder", root=str(root))
    assert str(root / "dog" / "cut.jpg") in str(e.value) and "truncated" in str(e.value)
    assert str(root / "cat" / "notes.jpg") in str(e.value)
    with pytest.warns(UserWarning, match="skipping 2 of 6 unreadable images"):
        ds = load_dataset("image-folder", root=str(root), bad_images="skip")
    assert ds.labels.tolist() == [0, 0, 1, 1]
    assert not any(i.endswith(("cut.jpg", "notes.jpg")) for i in ds.items)
    assert all(ds.get_image(i).size == (64, 64) for i in range(len(ds.items)))


def test_values_beyond_float32_are_named_before_the_cast(tmp_path):
    """1e39 is finite but beyond float32's range: the cast made it inf, reported as "NaN or inf"."""
    X = np.ones((5, 3))
    X[3, 1] = 1e39
    np.savez(tmp_path / "big.npz", X=X, y=np.array([0, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match=r"value 1e\+39 at row 3, column 1 exceeds float32's range") as e:
        load_dataset("embeddings", path=tmp_path / "big.npz")
    assert "NaN" not in str(e.value) and "Rescale" in str(e.value)
    np.savez(tmp_path / "words.npz", X=np.array([["a", "b"]] * 5), y=np.array([0, 0, 1, 1, 1]))
    with pytest.raises(ValueError, match="X of .*words.npz must hold real numbers; got dtype <U1"):
        load_dataset("embeddings", path=tmp_path / "words.npz")  # was numpy's "could not convert string"
    p = tmp_path / "big.arff"
    p.write_text("@relation 'x: -C 1'\n@attribute A {0,1}\n@attribute f1 numeric\n@attribute f2 numeric\n"
                 "@data\n1,0.5,2\n0,1e39,3\n")
    with pytest.raises(ValueError, match=r"features: value 1e\+39 at row 1, column 0 exceeds float32's range"):
        load_dataset("multilabel-arff", path=p)


def test_bad_user_files_are_named_with_their_path(tmp_path):
    """Sweep of issue 22: a corrupt .npz (numpy's bare "File is not a zip file"), an X with 0
    columns (loaded silently), an ARFF with a missing value '?' (loaded silently as NaN) or a word
    in a numeric column (liac-arff's "Invalid numerical value, at line 5.", no file named)."""
    from zsl_lib.experiments.multilabel_data import load_feature_table

    (tmp_path / "corrupt.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValueError, match=r"embeddings: .*corrupt\.npz is not a readable \.npz .*numpy\.savez"):
        load_dataset("embeddings", path=tmp_path / "corrupt.npz")
    with pytest.raises(ValueError, match=r"parameter user_features: .*corrupt\.npz is not a readable \.npz"):
        load_feature_table(tmp_path / "corrupt.npz")
    np.savez(tmp_path / "nocols.npz", X=np.zeros((4, 0)), y=np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match=r"X of .*nocols\.npz has 0 columns"):
        load_dataset("embeddings", path=tmp_path / "nocols.npz")
    p = tmp_path / "gap.arff"
    p.write_text("@relation 'x: -C 1'\n@attribute A {0,1}\n@attribute f numeric\n@attribute g numeric\n"
                 "@data\n1,0.5,2\n0,?,3\n")
    with pytest.raises(ValueError, match=r"gap\.arff: 1 missing feature value\(s\) \('\?'\), the first at data row 1, "
                                         r"attribute 'f'; impute"):
        load_dataset("multilabel-arff", path=p)
    p.write_text("@relation 'x: -C 1'\n@attribute A {0,1}\n@attribute f numeric\n@data\n1,abc\n")
    with pytest.raises(ValueError, match=r"gap\.arff: not a valid ARFF file: Invalid numerical value, at line 5"):
        load_dataset("multilabel-arff", path=p)


def test_an_image_listed_twice_in_a_keyword_csv_is_warned_about(tmp_path):
    """Sweep of issue 22: the same image on two rows loaded silently; its copies could land in the
    training and the test split (with deduplicate off)."""
    from zsl_lib.data import keywords as kwd

    (tmp_path / "img").mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(tmp_path / "img" / f"{i}.png")
    (tmp_path / "k.csv").write_text("path,keywords\nimg/0.png,a\nimg/1.png,b\n./img/0.png,c\n")
    for load in (lambda: load_dataset("multilabel-csv", path=tmp_path / "k.csv"),
                 lambda: kwd.user_keywords(tmp_path / "k.csv")):
        with pytest.warns(UserWarning, match=r"1 image\(s\) listed more than once, e\.g\. .*0\.png.*a leak"):
            load()
