"""Notebook 04 on a user's own labelled data: the ``"user"`` datasets entry."""

import numpy as np
import pytest
from PIL import Image

from zsl_lib.experiments import lsh as E
from zsl_lib.index.exact import exact_topk


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.array(["cat", "dog", "owl", "ant", "bee"]), 20)
    X = (rng.normal(size=(100, 16)) + 3 * (np.unique(y, return_inverse=True)[1][:, None] == np.arange(16))).astype(np.float32)
    path = tmp_path / "mine.npz"
    np.savez(path, X=X, y=y)
    return path, X, y


def test_user_task_is_a_stratified_seeded_split_of_every_item(npz):
    path, X, y = npz
    task = E.load_task("user", user={"embeddings": str(path), "query_fraction": 0.2}, seed=3, progress=False)
    assert task.name == "user-embeddings" and task.dataset == "user"
    assert task.Q.shape == (20, 16) and task.X.shape == (80, 16)
    # every item lands in exactly one role, unchanged: the rows of X are the union of gallery and queries
    both = np.vstack([task.X, task.Q])
    assert sorted(map(bytes, both)) == sorted(map(bytes, X))
    # stratified: 4 queries per class (labels are sorted class indices)
    assert np.bincount(task.yq).tolist() == [4] * 5 and np.bincount(task.y).tolist() == [16] * 5
    # the exact neighbours are the cosine top-50 of the gallery, by an independent call
    np.testing.assert_array_equal(task.exact_ids[:, :10], exact_topk(task.Q, task.X, 10, "cosine")[1])
    again = E.load_task("user", user={"embeddings": str(path), "query_fraction": 0.2}, seed=3, progress=False)
    np.testing.assert_array_equal(again.Q, task.Q)
    other = E.load_task("user", user={"embeddings": str(path), "query_fraction": 0.2}, seed=4, progress=False)
    assert not np.array_equal(other.Q, task.Q)


def test_check_params_accepts_user_and_names_what_is_missing(npz, tmp_path):
    path, _, _ = npz
    base = dict(n_queries=None, n_gallery=None, n_threads=1)
    specs = E.check_params(datasets=["user"], report_columns={"user": "cifar10"},
                           user={"embeddings": str(path)}, **base)
    assert specs == {"user": ("user", "embeddings")}
    with pytest.raises(ValueError, match="report_columns has no entry for dataset 'user'"):
        E.check_params(datasets=["user"], report_columns={}, user={"embeddings": str(path)}, **base)
    with pytest.raises(ValueError, match="exactly one of user_embeddings"):
        E.check_params(datasets=["user"], report_columns={"user": "cifar10"}, user={}, **base)
    with pytest.raises(ValueError, match="exactly one of user_embeddings"):
        E.check_params(datasets=["user"], report_columns={"user": "cifar10"},
                       user={"embeddings": str(path), "image_dir": str(tmp_path)}, **base)
    with pytest.raises(FileNotFoundError, match="user_embeddings"):
        E.check_params(datasets=["user"], report_columns={"user": "cifar10"},
                       user={"embeddings": str(tmp_path / "absent.npz")}, **base)
    with pytest.raises(ValueError, match="user_query_fraction"):
        E.check_user({"embeddings": str(path), "query_fraction": 1.0})
    with pytest.raises(ValueError, match="user_encoder: unknown encoder 'pixels'"):
        E.check_user({"image_dir": str(tmp_path), "encoder": "pixels"})
    with pytest.raises(ValueError, match="unknown keys \\['gallery'\\]"):
        E.check_user({"embeddings": str(path), "gallery": 1})
    # the user's data is not needed when the list does not contain "user"
    assert E.check_params(datasets=["cifar10:efficientnet-lite0"], report_columns={"cifar10": "cifar10"},
                          user={}, **base)


def test_a_class_with_one_item_is_refused_by_name(tmp_path):
    X = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    path = tmp_path / "few.npz"
    np.savez(path, X=X, y=np.array(["a", "a", "a", "b", "b", "b", "lonely"]))
    with pytest.raises(ValueError, match="'lonely'.*at least two"):
        E.load_user_task({"embeddings": str(path)}, progress=False)


def test_user_image_folder_is_embedded_and_split(tmp_path, monkeypatch):
    """The image-folder path: images found per class folder, embedded by the named encoder (the
    embedding call is replaced by a per-image mean colour to keep this a unit test)."""
    rng = np.random.default_rng(0)
    for c, name in enumerate(["red", "green", "blue"]):
        (tmp_path / "imgs" / name).mkdir(parents=True)
        for i in range(5):
            pixel = np.zeros(3, np.uint8)
            pixel[c] = 150 + 20 * i
            Image.fromarray(np.tile(pixel, (8, 8, 1)) + rng.integers(0, 5, (8, 8, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / name / f"{i}.png")
    seen = {}

    def fake_embed(ds, encoder, progress=True, device="cpu"):
        seen["encoder"] = encoder
        return np.stack([np.asarray(Image.open(p), np.float32).mean((0, 1)) for p in ds.items])

    monkeypatch.setattr("zsl_lib.encoders.embed", fake_embed)
    task = E.load_task("user", user={"image_dir": str(tmp_path / "imgs"), "encoder": "efficientnet-lite0",
                                     "query_fraction": 0.2}, progress=False)
    assert seen["encoder"] == "efficientnet-lite0" and task.name == "user-efficientnet-lite0"
    assert task.Q.shape == (3, 3) and task.X.shape == (12, 3)
    # mean colours: each query's nearest gallery item has its class
    assert (task.y[task.exact_ids[:, 0]] == task.yq).all()


@pytest.mark.notebook
def test_notebook_04_runs_on_a_users_embeddings(tmp_path):
    """The README's command for notebook 04 on your own data, at smoke size: every method's grid
    runs on the user's gallery and the exact ceiling is recorded under the user's task name."""
    from zsl_lib import runner

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(10), 60)
    X = (rng.normal(size=(10, 64))[y] + 0.8 * rng.normal(size=(600, 64))).astype(np.float32)
    np.savez(tmp_path / "mine.npz", X=X, y=y)
    run = runner.run_notebook("04-lsh-comparison", profile="smoke", workdir=tmp_path / "run", parameters={
        "datasets": ["user"], "user_embeddings": str(tmp_path / "mine.npz"), "user_query_fraction": 0.2,
        "report_columns": {"user": "cifar10"}})
    assert run.status == "ok", run.error
    res = run.results
    assert res["exact.user-embeddings.p_at_10"] > 90  # well-separated synthetic classes
    for method in ("kmeans", "lsh", "neural-lsh"):
        assert 0 < res[f"best.user-embeddings.{method}.p_at_10"] <= 100
    assert not any(k.startswith(("cifar10", "best.cifar10")) for k in res)
