"""The sharded embedding store (zsl_lib.data.store): layout, done markers, damage detection, readers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zsl_lib.data.store import FORMAT, Store, StoreError, load_store


def _items(n, labels=True):
    d = {"id": [f"im{i:04d}" for i in range(n)], "path": [f"/x/im{i:04d}.png" for i in range(n)]}
    if labels:
        d["label"] = [i % 3 for i in range(n)]
    return pd.DataFrame(d)


def _fill(store, X, items):
    for i in store.missing_shards():
        a, b = store.shard_range(i)
        store.write_shard(i, X[a:b], items.iloc[a:b], seconds={"read": 0.1, "forward": 0.2})


@pytest.fixture
def filled(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, 5)).astype(np.float32)
    items = _items(23)
    store = Store.create(tmp_path / "s", encoder="enc-a", dim=5, shard_size=10, items=items,
                         class_names=["a", "b", "c"])
    _fill(store, X, items)
    return store, X, items


def test_layout_manifest_and_deterministic_shards(filled):
    store, X, items = filled
    m = json.loads((store.path / "manifest.json").read_text())
    assert m["format"] == FORMAT and m["encoder"] == "enc-a" and m["dim"] == 5 and m["dtype"] == "float32"
    assert (m["shard_size"], m["n_items"], m["n_shards"]) == (10, 23, 3)
    assert [store.shard_range(i) for i in range(3)] == [(0, 10), (10, 20), (20, 23)]
    for i in range(3):
        assert (store.path / "shards" / f"emb_{i:05d}.npy").is_file()
        assert (store.path / "shards" / f"meta_{i:05d}.parquet").is_file()
        done = json.loads((store.path / "shards" / f"done_{i:05d}.json").read_text())
        assert set(done) >= {"rows", "sha256", "seconds", "images_per_s", "worker"}
        assert set(done["seconds"]) == {"read", "forward", "write"}
    assert store.done_shards() == [0, 1, 2] and store.missing_shards() == []
    assert len(store) == 23
    np.testing.assert_array_equal(store.to_array(), X)
    sh = store.shard(1)
    assert isinstance(sh, np.memmap) and sh.shape == (10, 5)
    np.testing.assert_array_equal(sh, X[10:20])
    meta = store.shard_meta(2)
    assert list(meta.columns) == ["id", "path", "label"] and list(meta["id"]) == ["im0020", "im0021", "im0022"]


def test_iter_chunks_walks_pieces_in_order(filled):
    store, X, items = filled
    pieces = list(store.iter_chunks(rows=4))
    assert max(len(x) for _, x in pieces) == 4
    np.testing.assert_array_equal(np.concatenate([x for _, x in pieces]), X)
    assert list(np.concatenate([i for i, _ in pieces])) == list(items["id"])


def test_missing_marker_truncated_and_rewritten_files_are_missing(filled):
    store, X, items = filled
    store.done_path(0).unlink()
    npy = store.emb_path(1)
    data = npy.read_bytes()
    npy.write_bytes(data[:-7])  # truncated
    raw = bytearray(store.emb_path(2).read_bytes())
    raw[-1] ^= 0xFF  # same size, different bytes
    store.emb_path(2).write_bytes(bytes(raw))
    assert store.missing_shards() == [0, 1, 2]
    with pytest.raises(StoreError, match="not done"):
        store.to_array()
    with pytest.raises(StoreError, match="shard 1 is not done"):
        store.shard(1)
    _fill(store, X, items)
    assert store.missing_shards() == []
    np.testing.assert_array_equal(store.to_array(), X)


def test_create_reopens_the_same_plan_and_refuses_to_mix(filled, tmp_path):
    store, X, items = filled
    again = Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items)
    assert again.done_shards() == [0, 1, 2]
    with pytest.raises(StoreError, match="encoder 'enc-a', not 'enc-b'"):
        Store.create(store.path, encoder="enc-b", dim=5, shard_size=10, items=items)
    with pytest.raises(StoreError, match="shard size"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=7, items=items)
    with pytest.raises(StoreError, match="item list"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=_items(24))
    with pytest.raises(ValueError, match="shard_size"):
        Store.create(tmp_path / "t", encoder="enc-a", dim=5, shard_size=0, items=items)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    with pytest.raises(StoreError, match="not empty"):
        Store.create(tmp_path / "junk", encoder="enc-a", dim=5, items=items)
    with pytest.raises(FileNotFoundError, match="no manifest"):
        Store.open(tmp_path / "nowhere")


def test_write_shard_checks_rows_and_records_skipped(tmp_path):
    items = _items(4)
    store = Store.create(tmp_path / "s", encoder="e", dim=2, shard_size=4, items=items)
    with pytest.raises(ValueError, match="planned items"):
        store.write_shard(0, np.zeros((3, 2)), items.iloc[:3])
    m = store.write_shard(0, np.ones((3, 2)), items.iloc[[0, 1, 3]], skipped=[["/x/im0002.png", "broken"]])
    assert m["rows"] == 3 and m["skipped"] == [["/x/im0002.png", "broken"]]
    assert store.missing_shards() == [] and len(store) == 3
    assert store.summary_stats()["skipped"] == 1


def test_load_store_is_user_data_with_labels(filled):
    store, X, items = filled
    ds = load_store(store.path)
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, items["label"].to_numpy())
    assert ds.class_names == ["a", "b", "c"]


def test_load_store_string_labels_and_one_shard_is_memory_mapped(tmp_path):
    items = _items(6, labels=False)
    items["label"] = ["dog", "cat"] * 3
    store = Store.create(tmp_path / "s", encoder="e", dim=3, shard_size=10, items=items)
    X = np.arange(18, dtype=np.float32).reshape(6, 3)
    store.write_shard(0, X, items)
    ds = load_store(store.path)
    assert isinstance(ds.X, np.memmap)
    assert ds.class_names == ["cat", "dog"] and list(ds.y) == [1, 0, 1, 0, 1, 0]


def test_notebooks_01_and_04_take_a_store_as_user_data(tmp_path):
    from zsl_lib.config import resolve_user_path
    from zsl_lib.experiments.bliss import load_features, section_labels
    from zsl_lib.experiments.lsh import check_user, load_user_task

    rng = np.random.default_rng(3)
    items = _items(40, labels=False)
    items["label"] = ["cat", "dog"] * 20
    X = rng.normal(size=(40, 4)).astype(np.float32)
    store = Store.create(tmp_path / "s", encoder="e", dim=4, shard_size=16, items=items)
    _fill(store, X, items)
    # notebook 01: ann_user_data / zs_user_data
    assert resolve_user_path("ann_user_data", str(store.path), folder=None) == store.path.resolve()
    labels, _ = section_labels("user", split="all", limit_per_class=None, user_data=str(store.path))
    assert list(labels[:4]) == [0, 1, 0, 1]
    F, y = load_features("user", split="all", limit_per_class=None, encoder="efficientnet-lite0",
                         user_data=str(store.path))
    np.testing.assert_array_equal(F, X)
    assert list(y[:4]) == [0, 1, 0, 1]
    # notebook 04: user_embeddings
    assert check_user({"embeddings": str(store.path)})["embeddings"] == store.path.resolve()
    task = load_user_task({"embeddings": str(store.path)}, progress=False)
    assert task.X.shape[1] == 4 and len(task.X) + len(task.Q) == 40
    with pytest.raises(FileNotFoundError, match="user_embeddings"):
        check_user({"embeddings": str(tmp_path / "nowhere")})


def test_a_store_reopened_with_relabelled_items_or_new_contents_is_refused(filled):
    store, X, items = filled
    relabelled = items.assign(label=[(i + 1) % 3 for i in range(len(items))])
    with pytest.raises(StoreError, match="item list"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=relabelled, class_names=["a", "b", "c"])
    with pytest.raises(StoreError, match="class names"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items, class_names=["x", "y", "z"])
    # the same plan is reopened as is
    assert Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items,
                        class_names=["a", "b", "c"]).done_shards() == [0, 1, 2]


def test_a_source_whose_files_changed_is_refused(tmp_path):
    items = _items(4)
    Store.create(tmp_path / "s", encoder="e", dim=2, shard_size=2, items=items, source={"fingerprint": "old"})
    with pytest.raises(StoreError, match="other file contents"):
        Store.create(tmp_path / "s", encoder="e", dim=2, shard_size=2, items=items, source={"fingerprint": "new"})


def test_a_swapped_or_rewritten_meta_makes_its_shards_missing(filled):
    store, X, items = filled
    m0, m1 = store.meta_path(0), store.meta_path(1)
    a, b = m0.read_bytes(), m1.read_bytes()
    m0.write_bytes(b)
    m1.write_bytes(a)
    assert store.missing_shards() == [0, 1]  # same row counts, other ids: both redone, never served misaligned


def test_embed_refuses_a_store_with_skipped_images(tmp_path):
    from zsl_lib.encoders.embedding import embed

    items = _items(4)
    store = Store.create(tmp_path / "s", encoder="e", dim=2, shard_size=4, items=items)
    store.write_shard(0, np.ones((3, 2), np.float32), items.iloc[[0, 1, 3]], skipped=[["/x/im0002.png", "bad"]])
    with pytest.raises(ValueError, match="left out 1 unreadable image"):
        embed(store, "e")
    ds = load_store(store.path)
    assert list(ds.y) == [0, 1, 0]  # the kept rows' own labels


# ---- a deleted manifest (said precisely; the same plan rerun rebuilds it) -------------------------
@pytest.mark.parametrize("labels", ["int", "str", "int with missing", "none"])
def test_a_deleted_manifest_is_named_and_the_same_plan_rebuilds_it(labels, tmp_path):
    rng = np.random.default_rng(5)
    items = _items(23, labels=labels != "none")
    if labels == "str":
        items["label"] = ["cat", "dog", "cow"] * 7 + ["cat", "dog"]
    elif labels == "int with missing":
        items["label"] = pd.array([None if i % 4 == 0 else i % 3 for i in range(23)], dtype="Int64")
    X = rng.normal(size=(23, 5)).astype(np.float32)
    store = Store.create(tmp_path / "s", encoder="enc-a", dim=5, shard_size=10, items=items)
    _fill(store, X, items)
    (store.path / "manifest.json").unlink()
    with pytest.raises(StoreError, match=r"manifest.json is missing, but the folder holds a store's files "
                                         r"\(items.parquet, 3 shard file\(s\) in shards/, 3 with a done marker\).*"
                                         r"rerun the zsl-lab embed command that made it"):
        Store.open(store.path)
    assert Store.is_store(store.path)  # user-data loaders route it to the store's message, not elsewhere
    again = Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items)
    assert again.done_shards() == [0, 1, 2] and again.manifest["recovered"]["markers_removed"] == []
    np.testing.assert_array_equal(Store.open(store.path).to_array(), X)


def test_a_deleted_manifest_with_another_plan_or_a_damaged_shard(filled, tmp_path):
    store, X, items = filled
    (store.path / "manifest.json").unlink()
    with pytest.raises(StoreError, match="manifest.json is missing and its items.parquet plans another item list"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=_items(24))
    with pytest.raises(StoreError, match="shard 0's done marker records encoder 'enc-a', not 'enc-b'"):
        Store.create(store.path, encoder="enc-b", dim=5, shard_size=10, items=items)
    assert not (store.path / "manifest.json").exists()  # nothing written by a refused recovery
    with open(store.emb_path(1), "r+b") as f:  # a truncated shard: only checksums that verify are trusted
        f.truncate(100)
    raw = json.loads(store.done_path(2).read_text())
    del raw["plan"]  # a marker that records no plan (an older store): not trusted, redone
    store.done_path(2).write_text(json.dumps(raw))
    with pytest.warns(UserWarning, match="removed 1 done marker"):
        again = Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items)
    assert again.done_shards() == [0] and again.missing_shards() == [1, 2]
    _fill(again, X, items)
    np.testing.assert_array_equal(again.to_array(), X)


def test_a_marker_of_another_plan_is_not_done(filled):
    store, X, items = filled
    raw = json.loads(store.done_path(1).read_text())
    raw["plan"]["encoder"] = "enc-b"  # as if another encoder's run had written this shard
    store.done_path(1).write_text(json.dumps(raw))
    assert Store.open(store.path).missing_shards() == [1]


# ---- verification: full once per process, then by file stamps -----------------------------------
def test_reading_a_shard_again_does_not_reread_its_files_but_damage_is_still_caught(filled, monkeypatch):
    import os
    import time

    import zsl_lib.data.store as store_mod

    store, X, items = filled
    reads = []
    real_hash, real_parquet = store_mod.hash_file, store_mod.pd.read_parquet
    monkeypatch.setattr(store_mod, "hash_file", lambda p, *a, **k: reads.append(("hash", p)) or real_hash(p, *a, **k))
    monkeypatch.setattr(store_mod.pd, "read_parquet",
                        lambda p, *a, **k: reads.append(("parquet", p)) or real_parquet(p, *a, **k))
    s = Store.open(store.path)
    s.shard(0)  # written by this process: hashed then, not again
    assert not reads
    monkeypatch.setattr(store_mod, "_VERIFIED", {})  # as in another process
    s.shard(0)  # the first check in this process reads the files whole
    assert sorted(Path(p).name for kind, p in reads if kind == "hash") == ["emb_00000.npy", "meta_00000.parquet"]
    reads.clear()
    s.shard(0)
    Store.open(store.path).shard(0)
    Store.open(store.path).shard_meta(0)
    assert not [r for r in reads if r[0] == "hash"]  # unchanged files: no rehash, no meta read to check rows
    assert [Path(p).name for kind, p in reads if kind == "parquet"] == ["meta_00000.parquet"]  # shard_meta's own
    # an atomic rewrite with the same size and a restored mtime (a new inode)
    npy = store.emb_path(0)
    st = npy.stat()
    other = np.load(npy).copy()
    other[0, 0] += 1.0
    tmp = npy.with_name("other.npy")
    np.save(tmp, other)
    os.replace(tmp, npy)
    os.utime(npy, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert npy.stat().st_size == st.st_size
    with pytest.raises(StoreError, match="shard 0 is not done"):
        s.shard(0)
    # an in-place same-size edit with a restored mtime (its ctime changes)
    s.shard(1)
    time.sleep(0.05)
    npy1 = store.emb_path(1)
    st1 = npy1.stat()
    with open(npy1, "r+b") as f:
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    os.utime(npy1, ns=(st1.st_atime_ns, st1.st_mtime_ns))
    assert s.marker(1) is None
    # a truncated file
    with open(store.emb_path(2), "r+b") as f:
        f.truncate(st.st_size - 8)
    assert s.missing_shards() == [0, 1, 2]


def test_the_item_fingerprint_is_the_same_in_another_process(tmp_path):
    """A rerun of zsl-lab embed (a new process) must find the same plan: the fingerprint once hashed
    the labels' object pointers, so every new process saw "another item list" and refused to resume."""
    import subprocess
    import sys

    from zsl_lib.data.store import items_fingerprint

    items = _items(6, labels=False)
    items["label"] = ["cat", "dog", None, "cat", "dog", "cow"]
    items.to_parquet(tmp_path / "items.parquet")
    code = ("import pandas as pd, sys; from zsl_lib.data.store import items_fingerprint, _items_frame; "
            "print(items_fingerprint(_items_frame(pd.read_parquet(sys.argv[1]))))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "items.parquet")], capture_output=True,
                         text=True, check=True).stdout.strip()
    from zsl_lib.data.store import _items_frame

    assert out == items_fingerprint(_items_frame(items))


def test_shards_without_a_manifest_or_a_plan_are_not_adopted(filled):
    store, X, items = filled
    (store.path / "manifest.json").unlink()
    (store.path / "items.parquet").unlink()
    with pytest.raises(StoreError, match=r"holds a store's files \(3 shard file\(s\) in shards/, 3 with a done marker\)"):
        Store.open(store.path)
    with pytest.raises(StoreError, match="manifest.json is missing and items.parquet cannot be read.*plan of the "
                                         "shards there is unknown"):
        Store.create(store.path, encoder="enc-a", dim=5, shard_size=10, items=items)


def test_a_shard_whose_images_were_all_skipped_keeps_the_label_types(tmp_path):
    """An empty shard's meta was written with untyped columns: joined with the others, every label
    of the store became Float64 and store_labels returned class names '0.0', '1.0' re-sorted as
    strings (wrong codes with 11 or more classes)."""
    from zsl_lib.data.store import store_labels

    items = _items(30, labels=False)
    items["label"] = [i % 12 for i in range(30)]
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    names = [f"c{k}" for k in range(12)]
    store = Store.create(tmp_path / "s", encoder="e", dim=4, shard_size=10, items=items, class_names=names)
    for i in range(3):
        a, b = store.shard_range(i)
        if i == 1:  # every image of shard 1 unreadable and skipped
            store.write_shard(i, X[:0], items.iloc[:0], skipped=[[p, "bad"] for p in items.path[a:b]])
        else:
            store.write_shard(i, X[a:b], items.iloc[a:b])
    y, got_names, meta = store_labels(store)
    assert got_names == names and y.dtype == np.int64
    np.testing.assert_array_equal(y, np.r_[items.label[:10], items.label[20:]])
