"""Device selection: 'auto' picks CUDA, then MPS, then the CPU; unavailable devices are errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from zsl_lib.config import resolve_device


def test_auto_picks_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


def test_cpu_is_always_available_and_explicit_devices_are_checked(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA GPU.*device='auto' or 'cpu'"):
        resolve_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == "cuda:0"
    with pytest.raises(ValueError, match="only 1 CUDA device"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("bad", ["gpu", "CUDA", 0, None])
def test_unknown_device_names_list_the_accepted_ones(bad):
    with pytest.raises(ValueError, match="auto, cpu, cuda, mps"):
        resolve_device(bad)


# -- notebooks 02 and 05: the device reaches every encoder; "auto" is the CPU here ------------------
@pytest.fixture
def cpu_only(monkeypatch):
    """This machine as the tests assume it: no CUDA GPU and no Apple MPS."""
    import torch._dynamo.variables.torch  # noqa: F401  (reads these functions at import: import it unpatched)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def _tiny_user_npz(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(["green_hat", "blue_jeans", "red_shirt"], 4)
    np.savez(tmp_path / "emb.npz", X=rng.normal(size=(12, 512)).astype(np.float32), y=y)
    titles = [f"brand {v.replace('_', ' ')} {i}" for i, v in enumerate(y)]
    pd.DataFrame({"index": [str(i) for i in range(12)], "title": titles}).to_csv(tmp_path / "titles.csv", index=False)
    return str(tmp_path / "emb.npz"), str(tmp_path / "titles.csv")


def test_tourney_inputs_cpu_and_auto_identical_and_every_text_call_gets_the_device(tmp_path, monkeypatch, cpu_only):
    from zsl_lib.experiments import tourney_inputs as I

    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    seen, real = [], I.embed_texts
    monkeypatch.setattr(I, "embed_texts", lambda *a, **k: (seen.append(k.get("device")), real(*a, **k))[1])
    npz, titles = _tiny_user_npz(tmp_path)
    opts = dict(images=npz, titles_csv=titles, image_encoder="", text_encoder="openclip:ViT-B-32", progress=False)
    cpu = I.load_inputs("user", device="cpu", **opts)
    n_cpu = len(seen)
    auto = I.load_inputs("user", device="auto", **opts)
    assert n_cpu >= 2 and seen == ["cpu"] * len(seen)  # "auto" arrives resolved, never as "auto"
    for name in ("image", "text", "text_unmasked", "image_prompts", "text_prompts",
                 "binary_image_prompts", "binary_text_prompts", "labels", "binary_labels"):
        np.testing.assert_array_equal(getattr(cpu, name), getattr(auto, name), err_msg=name)


def test_clip_text_tower_cpu_and_auto_identical(tmp_path, cpu_only):
    from test_tourney_inputs import write_tiny_clip

    from zsl_lib.experiments.tourney_inputs import clip_text_embed

    cfg = str(write_tiny_clip(tmp_path / "tiny-clip-device.json"))
    prompts = ["a photo of shirts", "a photo of jeans", "heels"]
    out = {}
    for dev in ("cpu", "auto"):
        torch.manual_seed(0)  # the random tower is drawn on the CPU before the move
        out[dev] = clip_text_embed(prompts, cfg, pretrained=None, device=dev)
    np.testing.assert_array_equal(out["cpu"], out["auto"])


@pytest.mark.parametrize(("absent", "message"), [("cuda:7", "no CUDA GPU"), ("mps", "Apple MPS is not available")])
def test_notebook02_absent_device_fails_before_any_extraction(tmp_path, monkeypatch, cpu_only, absent, message):
    from zsl_lib.experiments import tourney as E
    from zsl_lib.experiments import tourney_inputs as I

    def no_extraction(*a, **k):
        raise AssertionError("extraction started before the device was checked")

    monkeypatch.setattr(I, "embed_texts", no_extraction)
    monkeypatch.setattr(I, "embed", no_extraction)
    npz, titles = _tiny_user_npz(tmp_path)
    common = dict(classes=[], prompt_set="fashion13", binary_prompt_set="fashion-apparel-vs-footwear",
                  image_encoder="", text_encoder="minilm", image_template="a photo of {}", text_template="{}",
                  mask_titles=True, sqid_path="", clip_arch="ViT-L-14", clip_pretrained="", limit=0, seed=0)
    for source, extra in (("user", {"user_images": npz, "user_titles_csv": titles}), ("fashion-products", {}), ("sqid", {})):
        with pytest.raises(ValueError, match=message):
            E.notebook_inputs(source, **common, **extra, device=absent)
    with pytest.raises(ValueError, match=message):
        I.clip_text_embed(["x"], "ViT-B-32", pretrained=None, device=absent)


def test_notebook05_settings_resolve_the_device_early(cpu_only):
    from zsl_lib.experiments import multilabel as E

    assert E.Settings(datasets=["mulan-scene"]).device == "cpu"  # default "auto" is the CPU here
    assert E.Settings(datasets=["mulan-scene"], device="cpu").device == "cpu"
    for absent, message in (("cuda:7", "no CUDA GPU"), ("mps", "Apple MPS is not available")):
        with pytest.raises(ValueError, match=message):
            E.Settings(datasets=["mulan-scene"], device=absent)
        with pytest.raises(ValueError, match=message):
            E.text_encoder_for("lit-fashion", absent)


def test_notebook05_collections_extract_on_the_device(monkeypatch, cpu_only):
    import zsl_lib.encoders as encoders
    from zsl_lib.experiments import multilabel as E
    from zsl_lib.experiments import multilabel_data as mld

    class FakeKeywords:
        X, dataset = None, "fake-dataset"

        def sample(self, n, seed):
            return self

    calls = []
    monkeypatch.setattr(mld.kwd, "fashion_keywords", lambda split: FakeKeywords())
    monkeypatch.setattr(encoders, "embed", lambda ds, enc, **k: (calls.append((enc, k["device"])), np.ones((2, 3)))[1])
    for dev in ("cpu", "auto"):
        calls.clear()
        cfg = E.Settings(datasets=["fashion-products"], device=dev)
        col = mld.load_collection("fashion-products", cfg)
        assert calls == [("efficientnet-lite0", "cpu"), ("lit-fashion", "cpu")]
        assert col.X.shape == col.Z.shape == (2, 3)


def test_notebook05_caption_embeddings_cpu_and_auto_identical(tmp_path, monkeypatch, cpu_only):
    from zsl_lib.experiments import multilabel as E

    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    texts = ["a photo of a shirt", "a product photo of jeans"]
    cpu = E.text_encoder_for("openclip:ViT-B-32", "cpu")(texts)
    auto = E.text_encoder_for("openclip:ViT-B-32", "auto")(texts)
    np.testing.assert_array_equal(cpu, auto)
