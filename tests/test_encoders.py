"""Encoder registry, encoders on random/bundled weights, and the embedding cache (synthetic data)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from zsl_lib.data import load_dataset
from zsl_lib.data.base import FeatureDataset, ImageDataset
from zsl_lib.encoders import create_encoder, embed, embed_texts, list_encoders
from zsl_lib.encoders import embedding as emb
from zsl_lib.encoders.resnet_cifar import BasicBlock, OptionAShortcut, ResNetCifar


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "embeddings"


def _images(n, size=(40, 30), mode="RGB", seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        out.append(Image.fromarray(a).convert(mode))
    return out


def _folder_dataset(tmp_path, n=12, sizes=((32, 32),), modes=("RGB",), name="toy") -> ImageDataset:
    d = tmp_path / "imgs"
    d.mkdir(exist_ok=True)
    items = []
    for i in range(n):
        im = _images(1, size=sizes[i % len(sizes)], mode=modes[i % len(modes)], seed=i)[0]
        p = d / f"{i:03d}.png"
        im.save(p)
        items.append(str(p))
    return ImageDataset(name=name, split="test", items=items, labels=np.arange(n) % 3,
                        class_names=["a", "b", "c"], fingerprint=f"fp-{n}-{sizes}-{modes}")


@pytest.fixture(scope="module")
def r20():
    return create_encoder("resnet20-cifar10", weights=None)


# --- registry -------------------------------------------------------------------------------
def test_list_encoders_has_the_contract_names():
    names = list_encoders()
    for n in ["efficientnet-lite0", "resnet20-cifar10", "resnet56-cifar10", "torchvision:resnet18",
              "torchvision:resnet50", "torchvision:resnet101", "minilm"]:
        assert n in names


def test_unknown_encoder_lists_known_names():
    with pytest.raises(ValueError, match="unknown encoder 'nope'.*efficientnet-lite0.*minilm"):
        create_encoder("nope")
    with pytest.raises(ValueError, match="torchvision:resnet18"):
        create_encoder("torchvision:vgg16", weights=None)
    with pytest.raises(TypeError):
        create_encoder(3)


# --- ResNet-CIFAR architecture --------------------------------------------------------------
@pytest.mark.parametrize("depth,params", [(20, 0.27e6), (56, 0.85e6)])
def test_resnet_cifar_parameter_count_matches_paper(depth, params):
    # He et al. 2016, Table 6: ResNet-20 0.27M, ResNet-56 0.85M parameters
    n = sum(p.numel() for p in ResNetCifar(depth).parameters())
    assert abs(n - params) / params < 0.02


def test_option_a_shortcut_is_subsample_and_zero_pad():
    x = torch.randn(2, 16, 8, 8)
    y = OptionAShortcut(8)(x)
    assert y.shape == (2, 32, 4, 4)
    ref = torch.zeros(2, 32, 4, 4)
    ref[:, 8:24] = x[:, :, ::2, ::2]
    assert torch.equal(y, ref)
    blk = BasicBlock(16, 32, stride=2)
    assert sum(p.numel() for p in blk.shortcut.parameters()) == 0


def test_resnet_cifar_encoder_features_and_logits(r20):
    ims = _images(5, size=(45, 37))  # wrong size: resized to 32x32
    X = r20.encode_images(ims)
    assert X.shape == (5, 64) and X.dtype == np.float32
    L = r20.classify(ims)
    assert L.shape == (5, 10)
    np.testing.assert_allclose(r20.logits_from_features(X), L, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"\(n, 64\)"):
        r20.logits_from_features(np.zeros((3, 10)))


# --- the other image encoders --------------------------------------------------------------
def test_efficientnet_lite0_preprocessing_and_shape():
    enc = create_encoder("efficientnet-lite0")
    assert enc.dim == 1280 and enc.modality == "image" and "sha256:57934424" in enc.cache_key
    # (x - 127) / 128 on 0..255: a constant 127-grey image becomes exactly 0, 255 -> 1.0
    t = enc.preprocess(Image.new("RGB", (64, 48), (127, 127, 255)))
    assert t.shape == (3, 224, 224)
    assert torch.allclose(t[0], torch.zeros(224, 224), atol=1e-6)
    assert torch.allclose(t[2], torch.full((224, 224), 128 / 128), atol=1e-6)
    X = enc.encode_images(_images(3, mode="L") + _images(1, mode="RGBA"))
    assert X.shape == (4, 1280) and X.dtype == np.float32 and np.isfinite(X).all()
    # batching does not change the result
    np.testing.assert_allclose(enc.encode_images(_images(3), batch_size=1), enc.encode_images(_images(3)),
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("arch,dim", [("resnet18", 512)])
def test_torchvision_random_weights(arch, dim):
    enc = create_encoder(f"torchvision:{arch}", weights=None)
    assert enc.dim == dim and "random-seed0" in enc.cache_key
    X = enc.encode_images(_images(2, size=(300, 200)))
    assert X.shape == (2, dim) and X.dtype == np.float32
    # pretrained weights are identified without being downloaded at creation time
    enc2 = create_encoder("torchvision:resnet50")
    assert "IMAGENET1K_V1" in enc2.cache_key and enc2.dim == 2048
    with pytest.raises(ValueError, match="unknown weights"):
        create_encoder("torchvision:resnet18", weights="FOO")
    # the weights named in the encoder name (how a notebook's encoder parameter reaches them)
    named = create_encoder(f"torchvision:{arch}/random")
    assert named.cache_key == enc.cache_key and named.arch == arch
    np.testing.assert_allclose(named.encode_images(_images(2, size=(300, 200))), X, rtol=1e-5, atol=1e-5)
    assert "IMAGENET1K_V2" in create_encoder("torchvision:resnet50/IMAGENET1K_V2").cache_key
    with pytest.raises(ValueError, match=r"unknown weights 'FOO'.*'torchvision:resnet18/random'"):
        create_encoder("torchvision:resnet18/FOO")


def test_minilm_texts_normalised_and_modality_errors(r20):
    enc = create_encoder("minilm")
    T = enc.encode_texts(["Navy Blue Shirt", "red running shoes", ""])
    assert T.shape == (3, 384) and T.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(T, axis=1), 1.0, atol=1e-5)
    with pytest.raises(TypeError, match="single str"):
        enc.encode_texts("a shirt")
    with pytest.raises(ValueError, match="cannot encode images"):
        enc.encode_images(_images(1))
    with pytest.raises(ValueError, match="cannot encode texts"):
        r20.encode_texts(["x"])
    with pytest.raises(TypeError, match="PIL"):
        r20.encode_images([np.zeros((4, 4, 3))])


# --- embed and the cache -------------------------------------------------------------------
def test_embed_matches_encode_images_and_caches(tmp_path, cache, r20, monkeypatch):
    ds = _folder_dataset(tmp_path, n=10, sizes=((32, 32), (50, 40)), modes=("RGB", "L", "P"))
    X = embed(ds, r20, batch_size=4, progress=False)
    ref = r20.encode_images([ds.get_image(i) for i in range(len(ds))])
    np.testing.assert_allclose(X, ref, rtol=1e-5, atol=1e-5)
    files = sorted(p.name for p in cache.glob("*.npy"))
    assert len(files) == 1 and files[0].startswith("toy-test-resnet20-cifar10-")
    meta = json.loads((cache / files[0]).with_suffix(".json").read_text())
    assert meta["fingerprint"] == ds.fingerprint and meta["cache_key"] == r20.cache_key
    # cache hit: identical array, no recomputation
    with monkeypatch.context() as m:
        m.setattr(emb, "extract", _fail)
        X2 = embed(ds, r20, progress=False)
    assert np.array_equal(X, X2)
    # a different subset is a different entry
    X3 = embed(ds.subset([1, 3]), r20, progress=False)
    np.testing.assert_allclose(X3, X[[1, 3]], rtol=1e-5, atol=1e-5)
    assert len(list(cache.glob("*.npy"))) == 2


def test_an_image_replaced_by_a_same_size_copy_with_the_old_mtime_gets_a_new_embedding(
        tmp_path, cache, r20):
    # cp -p / rsync -t: same size, same modification time, other pixels; the stat key returned the
    # stale cached embedding
    root = tmp_path / "photos"
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (24, 24, 3), dtype=np.uint8) for _ in range(4)]
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(root / "ab"[i % 2] / f"{i}.bmp")  # BMP: size fixed by the shape
    ds = load_dataset("image-folder", root=root)
    X = embed(ds, r20, progress=False)
    target = root / "a" / "0.bmp"
    st = target.stat()
    Image.fromarray(255 - arrays[0]).save(target)
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    ds2 = load_dataset("image-folder", root=root)
    assert ds2.fingerprint != ds.fingerprint
    X2 = embed(ds2, r20, progress=False)
    i = ds2.items.index(str(target))
    assert not np.allclose(X2[i], X[i])
    np.testing.assert_allclose(X2[i], r20.encode_images([Image.fromarray(255 - arrays[0])])[0],
                               rtol=1e-5, atol=1e-5)
    others = [j for j in range(len(ds2)) if j != i]
    np.testing.assert_allclose(X2[others], X[others], rtol=1e-5, atol=1e-5)
    # unchanged files keep the key (a cached run re-reads nothing new)
    assert load_dataset("image-folder", root=root).fingerprint == ds2.fingerprint


def _fail(*a, **k):
    raise AssertionError("recomputed instead of reading the cache")


def _corrupt_truncate(npy):
    npy.write_bytes(npy.read_bytes()[:100])


def _corrupt_shape(npy):
    np.save(npy, np.zeros((3, 64), np.float32))


def _corrupt_json(npy):
    npy.with_suffix(".json").write_text("{not json")


def _corrupt_values(npy):
    X = np.load(npy)
    X[0, 0] += 1
    np.save(npy, X)


def _corrupt_missing_json(npy):
    npy.with_suffix(".json").unlink()


@pytest.mark.parametrize("corrupt", [_corrupt_truncate, _corrupt_shape, _corrupt_json, _corrupt_values,
                                     _corrupt_missing_json])
def test_corrupted_cache_is_rebuilt(tmp_path, cache, r20, corrupt):
    ds = _folder_dataset(tmp_path, n=6)
    X = embed(ds, r20, progress=False)
    (npy,) = cache.glob("*.npy")
    corrupt(npy)
    with pytest.warns(RuntimeWarning, match="unusable"):
        X2 = embed(ds, r20, progress=False)
    np.testing.assert_array_equal(X, X2)
    X3 = embed(ds, r20, progress=False)  # rebuilt entry is valid again
    np.testing.assert_array_equal(X, X3)
    assert not list(cache.glob(".*tmp*"))  # no temporary files left behind


def _zipped_dataset(tmp_path, n, archive="imgs.zip", seed=0, split="all", fingerprint="fp-all"):
    """An ImageDataset of ``n`` PNGs stored as ``imgs/<i>.png`` in a zip archive under ``tmp_path``."""
    import zipfile

    from zsl_lib.data.base import ZipImageSource

    zpath = tmp_path / archive
    with zipfile.ZipFile(zpath, "w") as zf:
        for i, im in enumerate(_images(n, size=(32, 32), seed=seed)):
            p = tmp_path / f"{zpath.stem}-{i}.png"
            im.save(p)
            zf.write(p, f"imgs/{i}.png")
    return ImageDataset(name="zipped", split=split, items=[f"imgs/{i}.png" for i in range(n)], labels=np.zeros(n, int),
                        class_names=["a"], fingerprint=fingerprint, source=ZipImageSource(zpath))


def test_subset_is_sliced_from_a_cached_superset(tmp_path, cache, r20, monkeypatch):
    ds = _zipped_dataset(tmp_path, 8)
    X = embed(ds, r20, progress=False)
    sub = ds.subset([6, 1, 3], split="eval")
    with monkeypatch.context() as m:
        m.setattr(emb, "extract", _fail)
        Xs = embed(sub, r20, progress=False)
    np.testing.assert_array_equal(Xs, X[[6, 1, 3]])
    assert len(list(cache.glob("zipped-eval-*.npy"))) == 1  # stored as its own entry too
    # a different archive (other pixels under the same item names) is never sliced from
    ds2 = _zipped_dataset(tmp_path, 2, archive="other.zip", seed=99, split="other", fingerprint="fp-2")
    X2 = embed(ds2, r20, progress=False)
    assert not np.allclose(X2, X[:2])


def test_union_is_assembled_and_only_missing_rows_are_extracted(tmp_path, cache, r20, monkeypatch):
    ds = _zipped_dataset(tmp_path, 10)
    reference = embed(ds, r20, cache=False, progress=False)
    embed(ds.subset([0, 1, 2, 3], split="a"), r20, progress=False)
    embed(ds.subset([4, 5, 6], split="b"), r20, progress=False)
    # rows 0-6 come from the two entries; only rows 7-9 are extracted, in one call
    calls = []
    real_extract = emb.extract

    def spy(dataset, *args, **kwargs):
        calls.append(list(dataset.items))
        return real_extract(dataset, *args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(emb, "extract", spy)
        X = embed(ds.subset([9, 2, 5, 7, 0, 8], split="mixed"), r20, progress=False)
        assert calls == [["imgs/9.png", "imgs/7.png", "imgs/8.png"]]
        np.testing.assert_allclose(X, reference[[9, 2, 5, 7, 0, 8]], rtol=1e-5, atol=1e-6)
        # the union of "a" and "b" is assembled without any extraction
        calls.clear()
        Xu = embed(ds.subset([6, 0, 4, 3], split="union"), r20, progress=False)
        assert calls == []
        np.testing.assert_allclose(Xu, reference[[6, 0, 4, 3]], rtol=1e-5, atol=1e-6)
    meta = json.loads(next(cache.glob("zipped-mixed-*.json")).read_text())
    assert meta["how"] == "3 rows from cached entries, 3 extracted"


def test_embed_with_workers_equals_in_process(tmp_path, cache, r20):
    ds = _folder_dataset(tmp_path, n=9)
    a = embed(ds, r20, batch_size=4, num_workers=0, cache=False, progress=False)
    b = embed(ds, r20, batch_size=4, num_workers=2, cache=False, progress=False)
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("workers", [0, 1])
def test_corrupt_image_file_error_names_the_item(tmp_path, cache, r20, workers):
    ds = _folder_dataset(tmp_path, n=5)
    with open(ds.items[3], "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n this is not an image")
    with pytest.raises(ValueError, match=r"item 3 .*003\.png"):
        embed(ds, r20, num_workers=workers, progress=False)
    assert not list(cache.glob("*.npy"))


def test_embed_feature_dataset_and_bad_inputs(r20):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    fd = FeatureDataset(name="user", split="all", X=X, class_names=["a"], y=np.zeros(4, int))
    out = embed(fd, "efficientnet-lite0")
    assert out.dtype == np.float32 and np.array_equal(out, X)
    with pytest.raises(TypeError, match="ImageDataset"):
        embed(np.zeros((3, 3)), r20)
    ds = ImageDataset(name="t", split="s", items=["x"], labels=[0], class_names=["a"], fingerprint="f")
    with pytest.raises(ValueError, match="unknown encoder 'nope'"):
        embed(ds, "nope")
    with pytest.raises(ValueError, match="needs an image encoder"):
        embed(ds, "minilm")
    with pytest.raises(ValueError, match="empty"):
        embed(FeatureDataset(name="u", split="all", X=np.zeros((0, 3)), class_names=[]), r20)


def test_embed_texts_cache(cache, monkeypatch):
    texts = ["Turtle Check Men Navy Blue Shirt", "Puma Men Black Sports Shoes", "Titan Women Watch"]
    A = embed_texts(texts, progress=False)
    assert A.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(A, axis=1), 1.0, atol=1e-5)
    assert len(list(cache.glob("texts-minilm-3-*.npy"))) == 1
    with monkeypatch.context() as m:
        m.setattr(emb.get_encoder("minilm"), "encode_texts", _fail)
        B = embed_texts(texts, progress=False)
    assert np.array_equal(A, B)
    C = embed_texts(texts[::-1], progress=False)  # order matters: a different entry
    np.testing.assert_allclose(C, A[::-1], atol=1e-5)
    assert len(list(cache.glob("texts-minilm-*.npy"))) == 2
    assert embed_texts([], progress=False).shape == (0, 384)
    with pytest.raises(TypeError, match="not str"):
        embed_texts(["a", None])
    with pytest.raises(ValueError, match="image encoder"):
        embed_texts(["a"], "efficientnet-lite0")
