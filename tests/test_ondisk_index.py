"""Indexes past RAM (:mod:`zsl_lib.index.ondisk`) on real vectors: CIFAR-10 test images through
ResNet-56 (the cached embeddings of ``embed``), written as a sharded store of 4 shards.

Queries against the merged on-disk IVF-Flat / IVF-PQ return what the in-memory FAISS index with
the same trained quantiser and ``n_probe`` returns; BLISS's whole-store assignment, computed shard
by shard, equals the in-memory fit's own last assignment with the same networks.
"""

from __future__ import annotations

import copy
import json
import shutil

import faiss
import numpy as np
import pandas as pd
import pytest

from tests.conftest import real_file
from zsl_lib.data.store import Store, StoreError
from zsl_lib.index.bliss import BLISS
from zsl_lib.index.bliss_balance import greedy_assign
from zsl_lib.index.bliss_fixed import FAST_DEFAULTS
from zsl_lib.index.exact import ExactIndex
from zsl_lib.index.ondisk import OnDiskIVF, assign_store
from zsl_lib.validation import l2_normalize

pytestmark = pytest.mark.realdata
SHARD = 2500


def write_store(path, X, shard_size, prefix="img"):
    """A complete store of the rows of ``X`` (as ``zsl-lab embed`` would leave it)."""
    ids = [f"{prefix}{i:05d}" for i in range(len(X))]
    store = Store.create(path, encoder="resnet56-cifar10", dim=X.shape[1], shard_size=shard_size,
                         items={"id": ids, "path": [f"{i}.png" for i in ids]})
    for i in range(store.n_shards):
        a, b = store.shard_range(i)
        store.write_shard(i, X[a:b], store.items().iloc[a:b])
    return path


@pytest.fixture(scope="module")
def cifar():
    real_file("cifar10/cifar10-test.zip")
    from zsl_lib.data import load_dataset
    from zsl_lib.encoders import embed

    F = embed(load_dataset("cifar10", split="test"), "resnet56-cifar10", progress=False)
    perm = np.random.default_rng(0).permutation(len(F))
    return np.ascontiguousarray(F[perm[200:]]), np.ascontiguousarray(F[perm[:200]])  # gallery 9,800, queries 200


@pytest.fixture(scope="module")
def store(cifar, tmp_path_factory):
    return write_store(tmp_path_factory.mktemp("store"), cifar[0], SHARD)


def _in_memory(ondisk, X):
    """The in-memory FAISS index with the on-disk one's trained quantiser (and codebooks), all of X added."""
    index = faiss.read_index(str(ondisk.directory_ / "trained.index"))
    index.add(l2_normalize(X))
    index.nprobe = ondisk.n_probe
    return index


@pytest.mark.parametrize("kind", ["flat", "pq"])
def test_merged_on_disk_index_equals_the_in_memory_one(kind, cifar, store, tmp_path):
    X, Q = cifar
    ondisk = OnDiskIVF(kind=kind, n_lists=64, n_probe=4, pq_m=16, train_size=4000, directory=tmp_path / "ix").fit(store)
    assert ondisk.n_gallery_ == len(X) and json.loads((tmp_path / "ix" / "ondisk.json").read_text())["n_parts"] == 4
    assert not (tmp_path / "ix" / "parts").exists()  # parts merged and removed
    D, ids = ondisk.search(Q, 10)
    ref = _in_memory(ondisk, X)
    assert isinstance(ref, faiss.IndexIVFFlat if kind == "flat" else faiss.IndexIVFPQ) and ref.ntotal == len(X)
    D_ref, ids_ref = ref.search(l2_normalize(Q), 10)
    np.testing.assert_array_equal(ids, ids_ref)
    np.testing.assert_allclose(D, D_ref, rtol=1e-5, atol=1e-6)
    # reopened from disk, after a move of its directory: the same answers
    moved = tmp_path / "moved"
    (tmp_path / "ix").rename(moved)
    np.testing.assert_array_equal(OnDiskIVF.open(moved).search(Q, 10)[1], ids)


def test_probing_every_list_of_ivf_flat_is_exact_search(cifar, store, tmp_path):
    X, Q = cifar
    ondisk = OnDiskIVF(n_lists=32, n_probe=32, train_size=3000, directory=tmp_path).fit(store)
    D, ids = ondisk.search(Q, 5)
    D_ex, ids_ex = ExactIndex(metric="cosine").fit(X).search(Q, 5)
    assert (ids == ids_ex).mean() > 0.999  # ties in float sums may swap a pair
    np.testing.assert_allclose(D, D_ex, atol=1e-5)


def test_an_array_and_its_store_give_the_same_index(cifar, store, tmp_path):
    X, Q = cifar
    params = dict(n_lists=40, n_probe=3, train_size=3000, shard_size=SHARD)
    a = OnDiskIVF(**params, directory=tmp_path / "a").fit(X).search(Q, 10)
    b = OnDiskIVF(**params, directory=tmp_path / "b").fit(store).search(Q, 10)
    np.testing.assert_array_equal(a[1], b[1])


def test_a_store_with_a_shard_not_done_is_refused(cifar, tmp_path):
    s = write_store(tmp_path / "s", cifar[0][:3000], 1000)
    with open(s / "shards" / "emb_00001.npy", "r+b") as f:  # a truncated shard
        f.truncate(1000)
    with pytest.raises(ValueError, match=r"shards not done: \[1\].*rerun zsl-lab embed"):
        OnDiskIVF(n_lists=8, directory=tmp_path / "ix").fit(s)


def test_bad_parameters_are_named(cifar):
    X, _ = cifar
    with pytest.raises(ValueError, match="kind"):
        OnDiskIVF(kind="hnsw").fit(X)
    with pytest.raises(ValueError, match="n_probe=9 cannot exceed n_lists=8"):
        OnDiskIVF(n_lists=8, n_probe=9).fit(X)
    with pytest.raises(ValueError, match="pq_m=7 must divide the dimension 64"):
        OnDiskIVF(kind="pq", pq_m=7, n_lists=8).fit(X)


@pytest.mark.parametrize("preset", ["fast", "fixed_k_least"])
def test_bliss_store_assignment_shard_by_shard_equals_the_in_memory_fit(preset, cifar, store):
    X, Q = cifar
    params = {**FAST_DEFAULTS, "n_buckets": 64, "distance": "cosine", "random_state": 1}
    if preset == "fixed_k_least":  # the other greedy rule, a load penalty, a chunk that straddles shards
        params.update(rebalance="k_least_loaded", load_penalty=0.5, balance_chunk=700, capacity=None)
    model = BLISS(**params).fit(X)
    assert model.epochs % model.epochs_per_balance == 0  # its assignment is by its final networks
    assert SHARD % model.greedy_chunk(len(X))  # chunks straddle the shard boundaries
    A = assign_store(model, store, shard_size=SHARD)
    np.testing.assert_array_equal(A, model.assignments_)
    # searching the store with that assignment is searching the fitted model
    clone = copy.deepcopy(model).set_gallery(X[::-1].copy()[::-1], A)  # a gallery given from outside
    np.testing.assert_array_equal(clone.search(Q, 10)[1], model.search(Q, 10)[1])


def test_bliss_trained_on_a_sample_assigns_the_whole_store(cifar, store):
    X, _ = cifar
    sample = X[np.sort(np.random.default_rng(0).choice(len(X), 3000, replace=False))]
    model = BLISS(**{**FAST_DEFAULTS, "n_buckets": 32, "distance": "cosine", "train_size": None}).fit(sample)
    A = assign_store(model, store, shard_size=SHARD)
    assert A.shape == (model.n_repetitions, len(X))
    cap = int(np.ceil(model.capacity * len(X) / 32)) + model.greedy_chunk(len(X))  # capacity of the whole store
    loads = np.stack([np.bincount(a, minlength=32) for a in A])
    assert loads.max() <= cap and (loads > 0).sum(1).min() >= 32 / model.capacity - 1


def test_greedy_pass_in_pieces_equals_one_pass():
    rng = np.random.default_rng(3)
    S = rng.normal(size=(2, 1000, 12)).astype(np.float32)
    for kw in [dict(rule="least_loaded_of_topk", capacity=1.1), dict(rule="k_least_loaded", load_penalty=0.3)]:
        whole = greedy_assign(S, 3, chunk_size=50, **kw)
        loads = np.zeros((2, 12), dtype=np.int64)
        parts = [greedy_assign(S[:, a:b], 3, chunk_size=50, loads=loads, n_done=a, n_total=1000, **kw)
                 for a, b in [(0, 300), (300, 750), (750, 1000)]]
        np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
        np.testing.assert_array_equal(loads, np.stack([np.bincount(w, minlength=12) for w in whole]))


@pytest.mark.parametrize("kind", ["ivf", "bliss"])
def test_cli_index_builds_from_a_store(kind, cifar, tmp_path, capsys):
    from zsl_lib.cli import main

    X, Q = cifar
    s = write_store(tmp_path / "s", X[:4000], 1000)
    assert main(["index", str(s), "--kind", kind, "--nlist", "16", "--train-size", "2000", "--out", str(tmp_path / "ix")]) == 0
    assert f"{kind}: 4000 vectors" in capsys.readouterr().out
    if kind == "ivf":
        D, ids = OnDiskIVF.open(tmp_path / "ix").search(Q, 10)
        ref = OnDiskIVF(kind="flat", n_lists=16, n_probe=4, train_size=2000, random_state=0,
                        directory=tmp_path / "ref", progress=False).fit(X[:4000])
        D2, ids2 = ref.search(Q, 10)
        np.testing.assert_array_equal(ids, ids2)  # global store rows, as the in-process fit of the same array
        np.testing.assert_allclose(D, D2, rtol=1e-5, atol=1e-5)
    else:
        A = np.load(tmp_path / "ix" / "assignments.npy")
        assert A.shape == (FAST_DEFAULTS["n_repetitions"], 4000) and A.max() < 16
        built = json.loads((tmp_path / "ix" / "bliss.json").read_text())["store"]
        assert Store.open(s).changes_since(built) == [] and built["n_items"] == 4000  # the rows it assigned


def test_cli_index_reports_bad_input_in_one_line(tmp_path, capsys):
    from zsl_lib.cli import main
    from zsl_lib.data.store import Store

    assert main(["index", str(tmp_path / "nowhere")]) == 2
    assert "zsl-lab index: error:" in capsys.readouterr().err
    items = pd.DataFrame({"id": [f"i{i}" for i in range(6)], "path": [f"/x/{i}" for i in range(6)]})
    store = Store.create(tmp_path / "s", encoder="e", dim=4, shard_size=6, items=items)
    store.write_shard(0, np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32), items)
    assert main(["index", str(store.path), "--nlist", "3", "--nprobe", "1", "--train-size", "2"]) == 2
    err = capsys.readouterr().err
    assert "needs at least 3" in err and "--nlist" in err and "Traceback" not in err


def test_ondisk_exports_are_accurate_and_it_has_no_second_store_opener():
    """One way to open a store (``Store.open``): ondisk's ``open_store`` wrapper shared its name with
    ``encoders.distribute.open_store`` (now ``plan_store``: plan or resume a store), with another signature."""
    import zsl_lib.index.ondisk as ondisk

    assert all(hasattr(ondisk, name) for name in ondisk.__all__)
    assert not hasattr(ondisk, "open_store")


def test_an_index_refuses_a_store_whose_items_or_shard_contents_changed(cifar, tmp_path):
    """A stale index answering with row numbers of other items is refused when opened against the
    store: the store is rebuilt at the same path with other vectors, then with other items."""
    X, Q = cifar
    s = write_store(tmp_path / "s", X[:3000], 1000)
    OnDiskIVF(n_lists=16, n_probe=4, train_size=2000, directory=tmp_path / "ix").fit(s)
    rec = json.loads((tmp_path / "ix" / "ondisk.json").read_text())["store"]
    manifest = Store.open(s).manifest
    assert (rec["items_fingerprint"], rec["n_items"], rec["encoder"], rec["dim"]) == (
        manifest["items_fingerprint"], 3000, "resnet56-cifar10", 64)
    assert [sh["sha256"] for sh in rec["shards"]] == [Store.open(s).marker(i)["sha256"] for i in range(3)]
    _, ids = OnDiskIVF.open(tmp_path / "ix", store=s).search(Q, 5)  # the store it was built from: accepted
    # the same items re-extracted with other vectors in shard 1 (e.g. another checkpoint under the same name)
    shutil.rmtree(s)
    write_store(s, np.concatenate([X[:1000], X[3000:4000], X[2000:3000]]), 1000)
    with pytest.raises(StoreError, match=r"differs now: shard\(s\) \[1\] hold other embeddings \(checksums "
                                         r"differ\)\. Its ids would name other items; rebuild it: zsl-lab index "
                                         r".* --kind ivf --out"):
        OnDiskIVF.open(tmp_path / "ix", store=s)
    # other items with the very same vectors: the ids would name other items
    shutil.rmtree(s)
    write_store(s, X[:3000], 1000, prefix="other")
    with pytest.raises(StoreError, match=r"item list \(ids, paths, labels\) '.*' -> '.*'; shard\(s\) \[0, 1, 2\] "
                                         r"hold other rows"):
        OnDiskIVF.open(tmp_path / "ix").check_store(s)
    assert OnDiskIVF.open(tmp_path / "ix").search(Q, 5)[1].tolist() == ids.tolist()  # without a store: as built
    # an index of an array is tied to no store
    OnDiskIVF(n_lists=16, n_probe=4, train_size=2000, directory=tmp_path / "arr").fit(X[:3000])
    with pytest.raises(StoreError, match="built from an array"):
        OnDiskIVF.open(tmp_path / "arr", store=s)
