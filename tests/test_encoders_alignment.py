"""ImageTextAlignment (symmetric InfoNCE, locked text side) on synthetic pairs; open_clip towers
on random weights; lit-fashion registration."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zsl_lib.encoders import ImageTextAlignment, create_encoder, list_encoders
from zsl_lib.encoders.alignment import info_nce


def _pairs(n, d=32, k=16, noise=0.3, seed=0, W=None):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(d, k)) if W is None else W
    X = (rng.normal(size=(n, d)) * 3 + 1).astype(np.float32)
    T = X @ W + noise * rng.normal(size=(n, k))
    return X, (T / np.linalg.norm(T, axis=1, keepdims=True)).astype(np.float32), W


@pytest.fixture(scope="module")
def fitted():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        X, T, W = _pairs(600)
        m = ImageTextAlignment(batch_size=64, max_epochs=40, patience=5, progress=False).fit(X, T)
    finally:
        torch.set_num_threads(before)
    return m, W


def test_info_nce_matches_hand_computation():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 3))
    t = rng.normal(size=(5, 3))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    s = 1 / 0.07
    L = s * z @ t.T
    i2t = -np.mean([L[i, i] - np.log(np.exp(L[i]).sum()) for i in range(5)])
    t2i = -np.mean([L[i, i] - np.log(np.exp(L[:, i]).sum()) for i in range(5)])
    got = info_nce(torch.tensor(z), torch.tensor(t), torch.tensor(np.log(s)))
    assert got.item() == pytest.approx((i2t + t2i) / 2, rel=1e-6)


def test_alignment_recovers_a_linear_map(fitted):
    m, W = fitted
    Xte, Tte, _ = _pairs(400, seed=1, W=W)
    Z = m.transform(Xte)
    assert Z.shape == (400, 16) and Z.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    acc = ((Z @ Tte.T).argmax(1) == np.arange(400)).mean()
    assert acc > 0.5  # chance is 1/400
    h = m.history_
    assert h["val_loss"][m.best_epoch_] == min(h["val_loss"])  # best epoch restored
    assert h["train_loss"][-1] < h["train_loss"][0]
    assert 0.01 <= m.temperature_ <= 1


def test_alignment_is_seeded_and_saves(tmp_path, fitted):
    m, W = fitted
    X, T, _ = _pairs(600)
    m2 = ImageTextAlignment(batch_size=64, max_epochs=40, patience=5, progress=False).fit(X, T)
    Xte, _, _ = _pairs(50, seed=2, W=W)
    np.testing.assert_array_equal(m.transform(Xte), m2.transform(Xte))
    m.save(tmp_path / "a.npz")
    m3 = ImageTextAlignment.load(tmp_path / "a.npz")
    np.testing.assert_allclose(m3.transform(Xte), m.transform(Xte), atol=1e-6)
    assert m3.best_epoch_ == m.best_epoch_


def test_mlp_head_and_bad_inputs():
    X, T, _ = _pairs(64)
    m = ImageTextAlignment(hidden=8, batch_size=16, max_epochs=2, progress=False).fit(X, T)
    assert m.transform(X[:3]).shape == (3, 16)
    with pytest.raises(ValueError, match="32 dims.*fitted on 32|have 5 dims"):
        m.transform(X[:, :5])
    with pytest.raises(ValueError, match="row-aligned"):
        ImageTextAlignment().fit(X, T[:10])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ImageTextAlignment().fit(bad, T)
    with pytest.raises(ValueError, match="2-D"):
        ImageTextAlignment().fit(X[0], T[0])
    with pytest.raises(RuntimeError, match="not fitted"):
        ImageTextAlignment().transform(X)


def test_lit_fashion_is_registered():
    assert "lit-fashion" in list_encoders()
    enc = create_encoder("lit-fashion")
    assert enc.dim == 384 and enc.modality == "image+text"
    assert enc.base_image_encoder == "efficientnet-lite0" and enc.base_text_encoder == "minilm"


# --- open_clip on random weights ------------------------------------------------------------
@pytest.fixture(scope="module")
def clip():
    torch.manual_seed(0)
    return create_encoder("openclip:ViT-B-32")


def test_openclip_random_towers_shapes_and_norms(clip):
    assert clip.dim == 512 and clip.modality == "image+text" and "random-seed0" in clip.cache_key
    ims = [Image.new("RGB", (80, 60), (200, 10, 10)), Image.new("L", (300, 300), 128)]
    X = clip.encode_images(ims)
    T = clip.encode_texts(["a photo of a dog", "a photo of a cat", ""])
    assert X.shape == (2, 512) and T.shape == (3, 512) and X.dtype == T.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(T, axis=1), 1.0, atol=1e-5)
    assert clip.preprocess(ims[0]).shape == (3, 224, 224)


def test_openclip_tokenizer(clip):
    tok = clip.tokenize(["a photo of a dog", "word " * 200])
    assert tok.shape == (2, 77) and tok.dtype == torch.int64
    sot, eot = 49406, 49407  # CLIP BPE start/end of text
    assert tok[0, 0] == sot and (tok[0] == eot).sum() == 1
    assert tok[0, 6] == eot and (tok[0] > 0).sum() == 7  # <sot> a photo of a dog <eot>, then padding
    assert tok[1, -1] == eot  # truncated to the context length, still terminated


def test_openclip_name_errors():
    with pytest.raises(ValueError, match="unknown pretrained tag 'nope'.*openai"):
        create_encoder("openclip:ViT-B-32/nope")
    with pytest.raises(ValueError, match="unknown open_clip architecture 'NotAModel'.*ViT-B-32"):
        create_encoder("openclip:NotAModel/openai")
    enc = create_encoder("openclip:ViT-B-32/openai")  # creating is offline-safe; weights load lazily
    assert enc.pretrained == "openai" and "pretrained:openai" in enc.cache_key


def test_mask_class_words():
    from zsl_lib.encoders.alignment import mask_class_words

    got = mask_class_words(
        ["Turtle Check Men Navy Blue Shirt", "Puma Men Black Sports Shoes", "Nike Men White T-Shirt",
         "ADIDAS Men Tshirts", "Titan Women Watch", "Shirtless Rock Band Poster"],
        ["Shirts", "Sports Shoes", "Tshirts", "Watches"])
    assert got == ["Turtle Check Men Navy Blue", "Puma Men Black", "Nike Men White", "ADIDAS Men", "Titan Women",
                   "Shirtless Rock Band Poster"]  # whole words only
    assert mask_class_words(["a b"], []) == ["a b"]
    assert "lit-fashion-masked" in list_encoders()
    assert create_encoder("lit-fashion-masked").mask
