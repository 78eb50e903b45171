"""Sharded extraction into a store (zsl_lib.encoders.distribute): the local and Ray distributors
on real CIFAR-10 test images from the mirror.

A tiny pixel-pooling encoder keeps the mechanics tests fast (2,000 images); the real
EfficientNet-Lite0 runs on 200 images through both distributors and is compared with ``embed()``.
Ray starts twice in the module (a local 2-CPU Ray, then a simulated 2-node cluster).
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pytest
import torch
from conftest import real_file
from PIL import Image
from ray_cluster import local_ray_cluster

from zsl_lib.data import load_dataset
from zsl_lib.data.base import ImageDataset
from zsl_lib.data.store import Store
from zsl_lib.encoders import embed
from zsl_lib.encoders.base import Encoder
from zsl_lib.encoders.distribute import (
    ShardErrors,
    extract_to_store,
    ray_resources,
)

ray = pytest.importorskip("ray", reason="engine='ray' needs pip install -e .[scale]")
pytestmark = pytest.mark.usefixtures("one_torch_thread")


class TinyEncoder(Encoder):
    """4x4 average pooling of 32x32 RGB pixels (48-d): a real image -> vector map, fast."""

    name, dim, cache_key, default_batch_size = "tiny-pool", 48, "tiny-pool/1", 100
    calls = 0  # forward passes in this process

    def _load_model(self):
        return torch.nn.AdaptiveAvgPool2d(4)

    def preprocess(self, image):
        return torch.from_numpy(np.asarray(image.resize((32, 32)), np.float32).copy()).permute(2, 0, 1) / 255.0

    def forward(self, batch):
        type(self).calls += 1
        return self.model(batch).flatten(1)


class FlakyEncoder(TinyEncoder):
    """Raises on its first forward pass in any process (a flag file marks that it did)."""

    def __init__(self, flag):
        self.flag = str(flag)

    def forward(self, batch):
        from pathlib import Path  # noqa: PLC0415

        if not Path(self.flag).exists():
            Path(self.flag).write_text("raised")
            raise RuntimeError("injected worker failure")
        return super().forward(batch)


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import the test module


@pytest.fixture(scope="module")
def cifar():
    real_file("cifar10/cifar10-test.zip")
    return load_dataset("cifar10", split="test", limit_per_class=200)  # 2,000 images


@pytest.fixture(scope="module")
def small():
    real_file("cifar10/cifar10-test.zip")
    return load_dataset("cifar10", split="test", limit_per_class=20)  # 200 images


def _markers(store):
    return [json.loads(store.done_path(i).read_text()) for i in range(store.n_shards)]


def test_local_store_layout_and_rerun_extracts_only_missing_shards(cifar, tmp_path):
    out = tmp_path / "s"
    TinyEncoder.calls = 0
    store = extract_to_store(cifar, TinyEncoder(), out, shard_size=500, progress=False)
    assert store.n_shards == 4 and store.done_shards() == [0, 1, 2, 3] and len(store) == 2000
    assert TinyEncoder.calls == 20  # 2,000 images in batches of 100
    X = store.to_array()
    ref = TinyEncoder().encode_images([cifar.get_image(i) for i in range(0, 2000, 97)])
    np.testing.assert_allclose(X[::97], ref, atol=1e-6)
    meta = store.meta()
    assert list(meta["id"]) == list(cifar.items) and list(meta["label"]) == list(cifar.labels)
    m = store.manifest["stats"]
    assert set(m["seconds"]) == {"read", "forward", "write"} and m["rows"] == 2000 and m["images_per_s_wall"] > 0
    # an interruption: shard 2's marker never written, shard 1's .npy truncated
    store.done_path(2).unlink()
    npy = store.emb_path(1)
    npy.write_bytes(npy.read_bytes()[:1000])
    assert store.missing_shards() == [1, 2]
    TinyEncoder.calls = 0
    again = extract_to_store(cifar, TinyEncoder(), out, shard_size=500, progress=False)
    assert TinyEncoder.calls == 10  # two shards of 500 only
    assert again.manifest["stats"]["shards_extracted_last_run"] == 2
    np.testing.assert_array_equal(again.to_array(), X)
    TinyEncoder.calls = 0
    extract_to_store(cifar, TinyEncoder(), out, shard_size=500, progress=False)
    assert TinyEncoder.calls == 0  # nothing left to do


def test_local_flaky_worker_is_retried_and_every_shard_written_once(small, tmp_path, monkeypatch):
    writes = []
    orig = Store.write_shard
    monkeypatch.setattr(Store, "write_shard", lambda self, i, *a, **k: (writes.append(i), orig(self, i, *a, **k))[1])
    store = extract_to_store(small, FlakyEncoder(tmp_path / "flag"), tmp_path / "s", shard_size=50, progress=False)
    assert (tmp_path / "flag").exists() and sorted(writes) == [0, 1, 2, 3]
    assert store.missing_shards() == []
    # without retries the failed shard is reported, the others written; a rerun finishes it
    (tmp_path / "flag").unlink()
    writes.clear()
    with pytest.raises(ShardErrors, match="shard 0: RuntimeError: injected worker failure"):
        extract_to_store(small, FlakyEncoder(tmp_path / "flag"), tmp_path / "t", shard_size=50, retries=0,
                         progress=False)
    assert sorted(writes) == [1, 2, 3]
    extract_to_store(small, FlakyEncoder(tmp_path / "flag"), tmp_path / "t", shard_size=50, progress=False)
    assert sorted(writes) == [0, 1, 2, 3]


@pytest.fixture
def with_bad_image(tmp_path):
    root = tmp_path / "imgs"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    rng = np.random.default_rng(0)
    items = []
    for k in range(6):
        p = root / "ab"[k % 2] / f"{k}.png"
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(p)
        items.append(str(p))
    (root / "a" / "2.png").write_bytes(b"not a png")
    return ImageDataset(name="folder", split="all", items=items, labels=[k % 2 for k in range(6)],
                        class_names=["a", "b"], fingerprint="x")


def test_bad_image_is_reported_with_its_path_or_skipped(with_bad_image, tmp_path):
    ds = with_bad_image
    with pytest.raises(ShardErrors, match=r"shard 0: 1 unreadable image\(s\): .*a/2\.png"):
        extract_to_store(ds, TinyEncoder(), tmp_path / "e", shard_size=3, bad_images="error", progress=False)
    assert Store.open(tmp_path / "e").done_shards() == [1]  # the other shard is written
    with pytest.warns(UserWarning, match="1 unreadable image"):
        store = extract_to_store(ds, TinyEncoder(), tmp_path / "k", shard_size=3, bad_images="skip", progress=False)
    assert len(store) == 5 and str(ds.items[2]) not in list(store.meta()["path"])
    assert store.marker(0)["skipped"][0][0].endswith("a/2.png")
    assert store.manifest["stats"]["skipped"] == 1


def test_store_refuses_another_encoder_and_embed_checks_the_name(small, tmp_path):
    store = extract_to_store(small, TinyEncoder(), tmp_path / "s", shard_size=100, progress=False)
    with pytest.raises(ValueError, match="made with encoder 'tiny-pool'"):
        extract_to_store(small, "resnet56-cifar10", tmp_path / "s", shard_size=100, progress=False)
    with pytest.raises(ValueError, match="holds 'tiny-pool' embeddings, not 'efficientnet-lite0'"):
        embed(store, "efficientnet-lite0")
    np.testing.assert_array_equal(embed(store), store.to_array())


def test_efficientnet_local_store_equals_embed(small, tmp_path):
    store = extract_to_store(small, "efficientnet-lite0", tmp_path / "s", shard_size=100, progress=False)
    np.testing.assert_allclose(embed(store), embed(small, "efficientnet-lite0", progress=False), atol=2e-4, rtol=1e-4)


@pytest.fixture(scope="class")
def ray_local():
    with local_ray_cluster(2):
        yield


@pytest.mark.usefixtures("ray_local")
class TestRayLocal:
    """One local Ray with 2 CPUs (one node) for this class."""

    def test_ray_and_local_write_the_same_shards(self, cifar, tmp_path):
        local = extract_to_store(cifar, TinyEncoder(), tmp_path / "l", shard_size=500, progress=False)
        dist = extract_to_store(cifar, TinyEncoder(), tmp_path / "r", shard_size=500, engine="ray", progress=False)
        assert dist.done_shards() == [0, 1, 2, 3]
        for i in range(4):
            np.testing.assert_allclose(dist.shard(i), local.shard(i), atol=1e-6)
            assert dist.shard_meta(i).equals(local.shard_meta(i))
        stats = dist.manifest["stats"]
        assert stats["engine"] == "ray" and stats["ray"]["actors"] == 2 and stats["ray"]["cpus_per_actor"] < 1
        # decoding is its own task stage feeding the actors (Ray Data fuses stages with equal resources)
        ops = stats["ray"]["operators"]
        assert "MapBatches(decode_stage)" in ops and "MapBatches(ForwardActor)" in ops, ops
        assert stats["ray"]["rows_per_node"]["forward"] == stats["ray"]["rows_per_node"]["decode"] == \
            {ray.get_runtime_context().get_node_id()[:12]: 2000}
        assert all(m["worker"].startswith("node:") and "read@node:" in m["worker"] for m in _markers(dist))
        assert set(_markers(dist)[0]["seconds"]) == {"read", "forward", "write"}

    def test_ray_flaky_actor_retried_every_shard_once(self, small, tmp_path, monkeypatch):
        writes = []
        orig = Store.write_shard
        monkeypatch.setattr(Store, "write_shard", lambda self, i, *a, **k: (writes.append(i), orig(self, i, *a, **k))[1])
        store = extract_to_store(small, FlakyEncoder(tmp_path / "flag"), tmp_path / "s", shard_size=50,
                                 engine="ray", progress=False)
        assert (tmp_path / "flag").exists()
        assert sorted(writes) == [0, 1, 2, 3] and store.missing_shards() == []

    def test_ray_truncated_shard_redone_and_bad_image_skipped(self, small, with_bad_image, tmp_path):
        store = extract_to_store(small, TinyEncoder(), tmp_path / "s", shard_size=50, engine="ray", progress=False)
        X = store.to_array()
        npy = store.emb_path(3)
        npy.write_bytes(npy.read_bytes()[:-40])
        assert store.missing_shards() == [3]
        again = extract_to_store(small, TinyEncoder(), tmp_path / "s", shard_size=50, engine="ray", progress=False)
        assert again.manifest["stats"]["shards_extracted_last_run"] == 1
        np.testing.assert_allclose(again.to_array(), X, atol=1e-6)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sk = extract_to_store(with_bad_image, TinyEncoder(), tmp_path / "k", shard_size=3, engine="ray",
                                  bad_images="skip", progress=False)
        assert len(sk) == 5 and sk.marker(0)["skipped"][0][0].endswith("a/2.png")

    def test_ray_efficientnet_store_equals_embed(self, small, tmp_path):
        store = extract_to_store(small, "efficientnet-lite0", tmp_path / "s", shard_size=100, engine="ray",
                                 progress=False)
        np.testing.assert_allclose(embed(store), embed(small, "efficientnet-lite0", progress=False),
                                   atol=2e-4, rtol=1e-4)


def test_ray_two_node_cluster_decodes_and_forwards_on_both_nodes_with_the_local_numbers(small, tmp_path):
    """On a simulated 2-node cluster (2 CPUs each) both nodes decode and run the forward pass,
    every shard is written once, with the same numbers as the local engine. (Before the per-node
    plan, 3 actors of 1 CPU filled one node, the other decoded everything and Ray Data sent its
    batches to its one local actor: one node did all the work.)"""
    with local_ray_cluster(2, 2):
        store = extract_to_store(small, TinyEncoder(), tmp_path / "s", shard_size=25, engine="ray", batch_size=10,
                                 progress=False)
    assert store.done_shards() == list(range(8))
    st = store.manifest["stats"]["ray"]
    assert st["nodes"] == 2 and st["actors"] == 4 and st["cpus_per_actor"] == 0.5
    assert st["decode_nodes"] == 2 and st["forward_nodes"] == 2, st["rows_per_node"]
    assert sum(st["rows_per_node"]["forward"].values()) == sum(st["rows_per_node"]["decode"].values()) == 200
    assert "MapBatches(decode_stage)" in st["operators"] and "MapBatches(ForwardActor)" in st["operators"]
    nodes = {w.split("/")[0] for m in _markers(store) for w in m["worker"].split(",") if w.startswith("node:")}
    assert len(nodes) == 2  # the done markers name the forward nodes too
    ref = extract_to_store(small, TinyEncoder(), tmp_path / "l", shard_size=25, engine="local", batch_size=10,
                           progress=False)
    np.testing.assert_allclose(store.to_array(), ref.to_array(), atol=1e-6)


def test_ray_resources_leave_every_node_a_decode_cpu_and_keep_the_stages_apart():
    class R:
        def __init__(self, *node_cpus, gpus=0):
            self.node_cpus, self.gpus = node_cpus, gpus

        def cluster_resources(self):
            return {"CPU": float(sum(self.node_cpus)), "GPU": float(self.gpus)}

        def nodes(self):
            return [{"Alive": True, "Resources": {"CPU": float(c)}} for c in self.node_cpus]

    def fits(plan, cpus):  # actors spread evenly; each node keeps room for one decode task
        per_node = -(-plan["actors"] // len(cpus))
        return all(per_node * plan["num_cpus"] + plan["decode_cpus"] <= c for c in cpus)

    two = ray_resources(R(2), None, None)
    assert two["actors"] == 2 and two["num_cpus"] == 0.5 and two["decode_cpus"] == 1 and fits(two, [2])
    assert two["threads"] == 1
    nodes = ray_resources(R(2, 2), None, None)  # the actors of one node alone cannot hold the pool
    assert nodes["actors"] == 4 and fits(nodes, [2, 2]) and nodes["actors"] * nodes["num_cpus"] > 2 - 1
    for cpus in ([1], [3], [4], [4, 4, 4], [8], [16, 16]):
        plan = ray_resources(R(*cpus), None, None)
        assert fits(plan, cpus), (cpus, plan)
        assert plan["num_cpus"] != plan["decode_cpus"], (cpus, plan)  # equal resources: Ray Data fuses them
    assert ray_resources(R(4), None, None)["actors"] == 3
    gpu = ray_resources(R(8, gpus=2), None, None)
    assert gpu["actors"] == 2 and gpu["num_gpus"] == 1 and gpu["device"] == "cuda"
    assert fits(ray_resources(R(2, 2), 8, None), [2, 2])  # 8 actors of 0.25 CPU
    for cluster, n in ((R(2, 2), 9), (R(8, gpus=2), 3)):  # a pool that never fits: refused, not waited on
        with pytest.raises(ValueError, match=f"num_actors={n}: "):
            ray_resources(cluster, n, None)


def test_ray_retries_keep_an_unreadable_shard_reported(monkeypatch):
    """A retry pass reruns only the shards whose worker failed; a shard with unreadable images
    found in an earlier pass stays reported (it was dropped before, and the run said success)."""
    import zsl_lib.encoders.distribute as D

    class FakeRay:
        def is_initialized(self):
            return True

        def nodes(self):
            return [{"Alive": True}]

    passes = iter([{0: "unreadable image a.jpg", 1: "worker raised RuntimeError"}, {}])
    monkeypatch.setattr(D, "import_ray", lambda: FakeRay())
    monkeypatch.setattr(D, "_encoder", lambda e, device="cpu": TinyEncoder())
    monkeypatch.setattr(D, "ray_resources", lambda ray, n, t: {"actors": 1, "num_cpus": 1, "num_gpus": 0, "threads": 1,
                                                                      "decode_cpus": 0.5})
    seen = []
    monkeypatch.setattr(D, "_ray_pass", lambda ray, store, ds, enc, todo, *a: seen.append(list(todo)) or next(passes))
    failures, _ = D.run_ray(None, None, "tiny", [0, 1], retries=1, progress=False)
    assert seen == [[0, 1], [1]]
    assert failures == {0: "image a.jpg"}


def test_ray_decode_stage_gives_all_unreadable_pieces_the_encoders_input_shape(with_bad_image, monkeypatch):
    """A decode batch whose images are all unreadable used pixels of shape (n, 1): stacked with good
    rows in the forward stage's batch, the column became ragged and every shard of that batch failed."""
    ray = pytest.importorskip("ray")
    from zsl_lib.encoders.distribute import decode_stage

    class Ctx:
        def get_node_id(self):
            return "n" * 16

    monkeypatch.setattr(ray, "get_runtime_context", lambda: Ctx())
    bad = {"shard": np.array([0]), "start": np.array([2]), "stop": np.array([3])}  # item 2: "not a png"
    good = {"shard": np.array([0]), "start": np.array([0]), "stop": np.array([2])}
    out_bad = decode_stage(bad, with_bad_image, TinyEncoder())
    out_good = decode_stage(good, with_bad_image, TinyEncoder())
    assert out_bad["bad"][0].endswith("not a png") or "2.png" in out_bad["bad"][0]
    assert out_bad["pixels"].shape[1:] == out_good["pixels"].shape[1:] == (3, 32, 32)
    np.stack(list(out_bad["pixels"]) + list(out_good["pixels"]))  # rows of one batch stack
