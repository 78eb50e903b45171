"""Fast extraction: the ONNX Runtime forward pass equals eager PyTorch, interrupted extractions
resume from their finished chunks, and text entries reuse rows of other cached text entries."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from zsl_lib.data.base import ImageDataset
from zsl_lib.encoders import Encoder, create_encoder, embed, embed_texts, onnx_runtime
from zsl_lib.encoders import embedding as emb


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "embeddings"


def _images(n, seed=0, sizes=((224, 224), (64, 64), (40, 30))):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        w, h = sizes[i % len(sizes)]
        # smooth gradients plus noise: closer to photographs than pure noise, still arbitrary
        yy, xx = np.mgrid[0:h, 0:w]
        base = np.stack([xx * 255 / w, yy * 255 / h, (xx + yy) * 127 / (w + h)], -1)
        a = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        out.append(Image.fromarray(a))
    return out


def _folder_dataset(tmp_path, n, name="toy") -> ImageDataset:
    d = tmp_path / "imgs"
    d.mkdir(exist_ok=True)
    items = []
    for i, im in enumerate(_images(n, sizes=((32, 32), (36, 30)))):
        p = d / f"{i:03d}.png"
        im.save(p)
        items.append(str(p))
    return ImageDataset(name=name, split="test", items=items, labels=np.arange(n) % 3,
                        class_names=["a", "b", "c"], fingerprint=f"fp-{n}")


# --- ONNX Runtime == eager PyTorch ------------------------------------------------------------
needs_ort = pytest.mark.skipif(not onnx_runtime.onnxruntime_available(), reason="onnxruntime/onnx not installed")


@needs_ort
def test_onnxruntime_default_equals_eager_pytorch(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))  # the exported graph goes here
    fast = create_encoder("efficientnet-lite0")  # the default runtime
    eager = create_encoder("efficientnet-lite0", runtime="torch")
    assert fast.active_runtime == "onnxruntime" and eager.active_runtime == "torch"
    assert fast.cache_key == eager.cache_key  # same numbers, same cache entries
    assert len(list((tmp_path / "cache" / "onnx").glob("efficientnet-lite0-*.onnx"))) == 1
    ims = _images(5)
    A, B = fast.encode_images(ims, batch_size=3), eager.encode_images(ims, batch_size=3)
    assert A.shape == (5, 1280) and A.dtype == np.float32
    np.testing.assert_allclose(A, B, rtol=1e-4, atol=1e-4)
    assert np.abs(A - B).max() < 1e-3 * np.abs(B).max()
    # the features tell the images apart (a constant output would also "match")
    assert np.linalg.norm(A[0] - A[1]) > 1.0
    # through extract's thread setting: one session per thread count, same numbers
    ds = _folder_dataset(tmp_path, 4)
    X1 = emb.extract(ds, fast, batch_size=2, progress=False, num_workers=0, num_threads=1)
    X2 = emb.extract(ds, eager, batch_size=4, progress=False, num_workers=0, num_threads=2)
    np.testing.assert_allclose(X1, X2, rtol=1e-4, atol=1e-4)


@needs_ort
def test_a_failing_self_check_falls_back_to_eager_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(onnx_runtime.OnnxForward, "max_difference", lambda self: (0.5, False))
    enc = create_encoder("efficientnet-lite0", weights=None)
    with pytest.warns(RuntimeWarning, match=r"onnxruntime unusable .*differs from torch by up to 0\.5"):
        assert enc.active_runtime == "torch"
    with pytest.raises(RuntimeError, match="differs from torch"):
        create_encoder("efficientnet-lite0", weights=None, runtime="onnxruntime").model  # noqa: B018


@needs_ort
def test_a_corrupt_cached_export_is_rebuilt_once_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    good = create_encoder("efficientnet-lite0", weights=None)
    assert good.active_runtime == "onnxruntime"
    (path,) = (tmp_path / "cache" / "onnx").glob("efficientnet-lite0-*.onnx")
    size = path.stat().st_size
    path.write_bytes(path.read_bytes()[: size // 3])  # a truncated copy in the cache
    enc = create_encoder("efficientnet-lite0", weights=None)
    with pytest.warns(RuntimeWarning, match=r"cached ONNX export efficientnet-lite0-.* is unusable .*rebuilding it once"):
        assert enc.active_runtime == "onnxruntime"  # not the slower eager fallback
    assert path.stat().st_size == size
    A = enc.encode_images(_images(2))
    B = create_encoder("efficientnet-lite0", weights=None, runtime="torch").encode_images(_images(2))
    np.testing.assert_allclose(A, B, rtol=1e-4, atol=1e-4)
    # a rebuilt export that still fails is not rebuilt again: one warning, then eager PyTorch
    path.write_bytes(b"garbage")
    monkeypatch.setattr(onnx_runtime.OnnxForward, "max_difference", lambda self: (0.5, False))
    enc = create_encoder("efficientnet-lite0", weights=None)
    with pytest.warns(RuntimeWarning) as caught:
        assert enc.active_runtime == "torch"
    msgs = [str(w.message) for w in caught]
    assert sum("rebuilding it once" in m for m in msgs) == 1
    assert any("onnxruntime unusable" in m for m in msgs)


def test_runtime_option_errors_and_fallback_without_onnxruntime(monkeypatch):
    with pytest.raises(ValueError, match=r"unknown runtime 'tensorrt'.*'auto', 'onnxruntime', 'torch'"):
        create_encoder("efficientnet-lite0", weights=None, runtime="tensorrt")
    with pytest.raises(ValueError, match="CPU only.*runtime='torch'"):
        create_encoder("efficientnet-lite0", weights=None, runtime="onnxruntime", device="cuda")
    monkeypatch.setattr(onnx_runtime, "onnxruntime_available", lambda: False)
    enc = create_encoder("efficientnet-lite0", weights=None)
    assert enc.active_runtime == "torch"
    assert enc.encode_images(_images(2)).shape == (2, 1280)
    with pytest.raises(ImportError, match="pip install onnxruntime onnx"):
        create_encoder("efficientnet-lite0", weights=None, runtime="onnxruntime").model  # noqa: B018


# --- resumable extraction ----------------------------------------------------------------------
class _Interrupted(Exception):
    pass


class _StopAfter(Encoder):
    """``inner`` (same name, cache key and numbers) that raises after ``batches`` forward passes,
    like a run killed midway; counts the images it encodes."""

    def __init__(self, inner: Encoder, batches: int | None):
        self.inner, self.batches, self.calls, self.images = inner, batches, 0, 0
        self.name, self.dim, self.cache_key = inner.name, inner.dim, inner.cache_key
        self.modality, self.default_batch_size = "image", 2

    def _load_model(self):
        return self.inner.model

    def preprocess(self, image):
        return self.inner.preprocess(image)

    def forward(self, batch):
        if self.batches is not None and self.calls >= self.batches:
            raise _Interrupted(f"stopped after {self.calls} batches")
        self.calls += 1
        self.images += len(batch)
        return self.inner.forward(batch)


@pytest.fixture(scope="module")
def r20():
    return create_encoder("resnet20-cifar10", weights=None)


def test_an_interrupted_extraction_resumes_from_its_finished_chunks(tmp_path, cache, r20, monkeypatch):
    ds = _folder_dataset(tmp_path, 14)
    reference = embed(ds, r20, batch_size=2, num_workers=0, cache=False, progress=False)
    stopping = _StopAfter(r20, batches=5)  # chunks of 4 rows: rows 0-3 and 4-7 are finished
    with pytest.raises(_Interrupted):
        embed(ds, stopping, batch_size=2, num_workers=0, chunk_size=4, progress=False)
    assert not list(cache.glob("*.npy"))  # no entry, only the finished chunks
    (pdir,) = cache.glob("*.partial")
    assert sorted(p.name for p in pdir.iterdir()) == ["rows-000000000-4.npz", "rows-000000004-4.npz"]

    calls = []
    real_extract = emb.extract

    def spy(dataset, *args, **kwargs):
        calls.append(list(dataset.items))
        return real_extract(dataset, *args, **kwargs)

    counting = _StopAfter(r20, batches=None)
    with monkeypatch.context() as m:
        m.setattr(emb, "extract", spy)
        X = embed(ds, counting, batch_size=2, num_workers=0, chunk_size=4, progress=False)
    assert calls == [ds.items[8:]] and counting.images == 6  # only the 6 missing rows
    np.testing.assert_allclose(X, reference, rtol=1e-6, atol=1e-6)
    assert not pdir.exists()  # chunks are deleted once the entry is written
    meta = json.loads(next(cache.glob("*.json")).read_text())
    assert meta["how"] == "8 resumed from finished chunks, 6 extracted"
    # the assembled entry is an ordinary cache entry: the next call reads it
    with monkeypatch.context() as m:
        m.setattr(emb, "extract", _fail)
        np.testing.assert_array_equal(embed(ds, r20, progress=False), X)


def _fail(*a, **k):
    raise AssertionError("recomputed instead of reading the cache")


def test_resume_drops_an_unreadable_chunk_and_extracts_its_rows_again(tmp_path, cache, r20):
    ds = _folder_dataset(tmp_path, 10)
    reference = embed(ds, r20, batch_size=2, num_workers=0, cache=False, progress=False)
    with pytest.raises(_Interrupted):
        embed(ds, _StopAfter(r20, batches=4), batch_size=2, num_workers=0, chunk_size=2, progress=False)
    (pdir,) = cache.glob("*.partial")
    chunks = sorted(pdir.iterdir())
    assert len(chunks) == 4
    chunks[1].write_bytes(chunks[1].read_bytes()[:50])  # a damaged chunk (rows 2-3)
    counting = _StopAfter(r20, batches=None)
    with pytest.warns(RuntimeWarning, match=r"rows-000000002-2\.npz is unusable"):
        X = embed(ds, counting, batch_size=2, num_workers=0, chunk_size=2, progress=False)
    assert counting.images == 2 + 2  # rows 2-3 again, rows 8-9 for the first time
    np.testing.assert_allclose(X, reference, rtol=1e-6, atol=1e-6)


def test_chunk_size_must_be_a_positive_integer(tmp_path, cache, r20):
    ds = _folder_dataset(tmp_path, 2)
    for bad in (0, 2.5, "4"):
        with pytest.raises(ValueError, match="chunk_size must be an integer"):
            embed(ds, r20, chunk_size=bad, progress=False)
    assert not cache.exists() or not list(cache.iterdir())


def test_extract_reports_chunks_in_order_and_covers_every_row(tmp_path, r20):
    ds = _folder_dataset(tmp_path, 7)
    seen = []
    X = emb.extract(ds, r20, batch_size=2, progress=False, num_workers=0, chunk_size=3,
                    on_chunk=lambda a, b, rows: seen.append((a, b, rows.copy())))
    # chunk boundaries fall at batch ends once >= 3 new rows are done, plus the tail
    assert [(a, b) for a, b, _ in seen] == [(0, 4), (4, 7)]
    np.testing.assert_array_equal(np.concatenate([r for _, _, r in seen]), X)


# --- text entries reuse rows of other cached text entries --------------------------------------
def test_embed_texts_encodes_only_new_texts(cache, monkeypatch):
    enc = emb.get_encoder("minilm")
    first = ["Turtle Check Men Navy Blue Shirt", "Puma Men Black Sports Shoes", "Titan Women Watch"]
    A = embed_texts(first, progress=False)
    encoded = []
    real = enc.encode_texts

    def spy(texts, *args, **kwargs):
        encoded.append(list(texts))
        return real(texts, *args, **kwargs)

    second = ["Titan Women Watch", "Nike Men Red Cap", "Turtle Check Men Navy Blue Shirt", "Nike Men Red Cap"]
    with monkeypatch.context() as m:
        m.setattr(enc, "encode_texts", spy)
        B = embed_texts(second, progress=False)
    assert encoded == [["Nike Men Red Cap"]]  # the two known texts are reused, the repeat encoded once
    np.testing.assert_array_equal(B[[0, 2]], A[[2, 0]])
    np.testing.assert_array_equal(B[1], B[3])
    np.testing.assert_allclose(B, enc.encode_texts(second), rtol=1e-5, atol=1e-5)
    assert len(list(cache.glob("texts-minilm-*.npy"))) == 2
    meta = json.loads(next(cache.glob("texts-minilm-4-*.json")).read_text())
    assert meta["texts"] == second and meta["how"] == "3 rows from cached entries or repeats, 1 encoded"

    # an entry whose metadata lists no texts (written before they were listed) is listed on a hit
    js = next(cache.glob("texts-minilm-3-*.json"))
    meta = json.loads(js.read_text())
    del meta["texts"]
    js.write_text(json.dumps(meta))
    embed_texts(first, progress=False)
    assert json.loads(js.read_text())["texts"] == first
    # listed texts that do not match the entry's checksum are never trusted
    meta["texts"] = ["Titan Women Watch", "x", "y"]
    js.write_text(json.dumps(meta))
    encoded.clear()
    with monkeypatch.context() as m:
        m.setattr(enc, "encode_texts", spy)
        C = embed_texts(["Puma Men Black Sports Shoes", "Nike Men Red Cap"], progress=False)
    assert encoded == [["Puma Men Black Sports Shoes"]]
    np.testing.assert_allclose(C[0], A[1], rtol=1e-5, atol=1e-5)
