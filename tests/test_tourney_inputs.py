"""The two input paths of notebook 02: the paper's SQID parquet + open_clip text tower (offline, on
a generated parquet of the same schema and a tiny random-weight tower) and the fashion eval set
(real data, marked realdata), plus the prompt sets."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import real_file

from zsl_lib.data.text import mask_words
from zsl_lib.experiments import tourney as E
from zsl_lib.experiments import tourney_inputs as I
from zsl_lib.zeroshot import prompts as PR
from zsl_lib.zeroshot import tourney as T

TINY_CLIP = {
    "embed_dim": 768,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 16, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def write_fake_sqid(path, n=120, d=768, seed=0):
    """A parquet with the SQID product_features schema; every 10th product lacks an image."""
    rng = np.random.default_rng(seed)
    img = rng.normal(size=(n, d)).astype(np.float32)
    txt = (img + rng.normal(size=(n, d))).astype(np.float32)
    df = pd.DataFrame({
        "product_id": [f"B{i:09d}" for i in range(n)],
        "clip_text_features": list(txt),
        "clip_image_features": [None if i % 10 == 0 else v for i, v in enumerate(img)],
    })
    df.to_parquet(path)
    return path


def write_tiny_clip(path):
    path.write_text(json.dumps(TINY_CLIP))
    return path


def test_prompt_sets_and_templates():
    img, txt = PR.make_prompts(["T-Shirt ", "shoes"])
    assert img == ["a photo of t-shirt", "a photo of shoes"] and txt == ["t-shirt", "shoes"]
    assert len(PR.get_prompt_set("fashion13")) == 13 and len(PR.get_prompt_set("sqid-clothing13")) == 13
    assert list(PR.get_prompt_set("fashion13")) == PR.FASHION_13
    with pytest.raises(ValueError, match="unknown prompt set.*fashion13"):
        PR.get_prompt_set("nope")
    with pytest.raises(ValueError, match="must contain"):
        PR.make_prompts(["x"], image_template="a photo")


def test_fashion_class_words_mask_every_class_name():
    words = PR.fashion_class_words(PR.FASHION_13)
    titles = ["Men Blue Tshirts", "Women Red Top", "Men Black Casual Shoes", "Women Gold Heels",
              "Men Grey Track Pants", "Women Kurta", "Unisex Black Flip Flops", "Men Blue Jeans"]
    masked = mask_words(titles, words)
    assert masked == ["Men Blue", "Women Red", "Men Black", "Women Gold", "Men Grey Track",
                      "Women", "Unisex Black", "Men Blue"]


def test_mask_class_words():
    titles = ["Turtle Check Men Navy Blue Shirt", "Lee Men White T-shirt", "Nike Men Sports Shoes",
              "ADIDAS Men Black Flip Flops", "Puma Tshirts", "Shirtsleeve Kurta Set"]
    words = ["shirt", "t-shirt", "tshirt", "sports shoes", "shoe", "flip flop", "kurta"]
    out = mask_words(titles, words)
    assert out == ["Turtle Check Men Navy Blue", "Lee Men White", "Nike Men", "ADIDAS Men Black",
                   "Puma", "Shirtsleeve Set"]
    assert mask_words(["A Shirt"], ["shirt"], mask="[MASK]") == ["A [MASK]"]
    assert mask_words(["x"], []) == ["x"]
    with pytest.raises(TypeError, match="strings"):
        mask_words([None], ["a"])


def test_sqid_inputs_from_generated_parquet_and_random_tower(tmp_path):
    pq = write_fake_sqid(tmp_path / "product_features.parquet")
    cfg = write_tiny_clip(tmp_path / "tiny-clip-test.json")
    inp = I.load_inputs("sqid", path=str(pq), clip_arch=str(cfg), clip_pretrained=None)
    assert len(inp) == 108  # 12 products without an image dropped
    assert inp.image.shape == inp.text.shape == (108, 768) and inp.image.dtype == np.float32
    assert inp.image_prompts.shape == inp.text_prompts.shape == (13, 768)
    assert inp.binary_image_prompts.shape == (2, 768)
    assert inp.labels is None and inp.binary_labels is None
    assert inp.prompts["binary_image"] == ["a photo of people wearing clothing",
                                           "a photo of general household items"]
    # the whole method runs on it
    st = E.run_stage(inp.image, inp.image_prompts, cutoff=1.0, class_names=inp.class_names)
    assert st.pairwise.shape == (108,)
    # subset keeps rows aligned
    sub = inp.subset(np.arange(108) < 50)
    np.testing.assert_array_equal(sub.text, inp.text[:50])


def test_load_inputs_unknown_source():
    with pytest.raises(ValueError, match="source 'cifar'.*'fashion-products', 'sqid'"):
        I.load_inputs("cifar")


def test_clip_text_embed_unknown_arch():
    with pytest.raises(ValueError, match="unknown open_clip architecture"):
        I.clip_text_embed(["x"], arch="no-such-arch", pretrained=None)


@pytest.mark.realdata
def test_cross_variance_on_real_embeddings():
    """Closed form vs naive broadcast on real MiniLM title embeddings of two fashion classes."""
    real_file("fashion-products/styles.csv")
    real_file("fashion-products/images.zip")
    from zsl_lib.data import load_dataset
    from zsl_lib.encoders import embed_texts

    ds = load_dataset("fashion-products", split="eval", classes=["Jeans", "Trousers"])
    X = embed_texts(ds.texts, "minilm", progress=False)
    A, B = X[ds.labels == 0], X[ds.labels == 1]
    naive = ((A[:, None, :].astype(np.float64) - B[None, :, :]) ** 2).mean(axis=(0, 1)) / 2
    np.testing.assert_allclose(T.cross_variance(A, B), naive, rtol=1e-6)
    ratio = np.sqrt(naive / (A.std(axis=0, dtype=np.float64) * B.std(axis=0, dtype=np.float64)))
    np.testing.assert_allclose(T.cross_deviation_ratio(A, B), ratio, rtol=1e-6)


def test_user_npz_inputs_with_titles_csv(tmp_path, monkeypatch):
    """Issue 14: precomputed image embeddings (.npz) in the text encoder's space, class names as
    prompts, titles from an index,title CSV, the binary group against the rest."""
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    enc = "openclip:ViT-B-32"  # random weights: offline; 512-d text tower
    rng = np.random.default_rng(0)
    y = np.repeat(["green_hat", "blue_jeans", "red_shirt"], 5)
    X = rng.normal(size=(15, 512)).astype(np.float32)
    np.savez(tmp_path / "emb.npz", X=X, y=y)
    pd.DataFrame({"index": [str(i) for i in range(15)][::-1],
                  "title": [f"brand {v.replace('_', ' ')} {i}" for i, v in enumerate(y)][::-1]}).to_csv(
        tmp_path / "titles.csv", index=False)
    inp = I.load_inputs("user", images=str(tmp_path / "emb.npz"), titles_csv=str(tmp_path / "titles.csv"),
                        binary_group=["red_shirt"], image_encoder="", text_encoder=enc, progress=False)
    assert inp.class_names == ["blue_jeans", "green_hat", "red_shirt"]  # sorted string labels
    np.testing.assert_array_equal(inp.image, X)
    assert inp.titles[0] == "brand green hat 0" and inp.masked_titles[0] == "brand 0"  # CSV rows in any order
    assert list(inp.labels) == [1] * 5 + [0] * 5 + [2] * 5
    assert list(inp.binary_labels) == [1] * 10 + [0] * 5 and inp.binary_names == ["red_shirt", "blue_jeans / green_hat"]
    np.testing.assert_allclose(np.linalg.norm(inp.binary_text_prompts, axis=1), 1.0, rtol=1e-5)
    assert inp.prompts["image"] == ["a photo of blue jeans", "a photo of green hat", "a photo of red shirt"]
    with pytest.raises(ValueError, match="user_titles_csv is empty"):
        I.load_inputs("user", images=str(tmp_path / "emb.npz"), text_encoder=enc, progress=False)
    pd.DataFrame({"index": ["0"], "title": ["x"]}).to_csv(tmp_path / "few.csv", index=False)
    with pytest.raises(ValueError, match="no title for 14 of 15 items"):
        I.load_inputs("user", images=str(tmp_path / "emb.npz"), titles_csv=str(tmp_path / "few.csv"),
                      text_encoder=enc, progress=False)
    with pytest.raises(ValueError, match="image embeddings are 512-d but 'minilm' embeds texts in 384-d"):
        I.load_inputs("user", images=str(tmp_path / "emb.npz"), titles_csv=str(tmp_path / "titles.csv"),
                      text_encoder="minilm", progress=False)
    with pytest.raises(FileNotFoundError, match="parameter user_images='nope.npz'.*resolve against"):
        I.load_inputs("user", images="nope.npz", text_encoder=enc)
