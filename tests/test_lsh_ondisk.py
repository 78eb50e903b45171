"""Notebook 04 past its memory budget: a store's gallery searched on disk, query batch by query batch
(zsl_lib.experiments.lsh_ondisk, zsl_lib.index.ondisk.store_topk / OnDiskIVF skip_rows)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from zsl_lib.data.store import Store
from zsl_lib.experiments import lsh as E
from zsl_lib.experiments.lsh_ondisk import OnDiskTask, gallery_gb, over_budget
from zsl_lib.index.exact import exact_topk
from zsl_lib.index.faiss_baselines import FaissIVFFlat
from zsl_lib.index.ondisk import OnDiskIVF, store_topk


def _clustered(n=1500, d=16, c=8, noise=1.6, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, n)
    X = (rng.normal(size=(c, d))[y] + noise * rng.normal(size=(n, d))).astype(np.float32)
    return X, y


def _store(path, X, y, shard_size=400):
    items = pd.DataFrame({"id": [f"i{i}" for i in range(len(X))], "path": [f"/x/{i}.png" for i in range(len(X))],
                          "label": y})
    st = Store.create(path, encoder="e", dim=X.shape[1], shard_size=shard_size, items=items)
    for i in st.missing_shards():
        a, b = st.shard_range(i)
        st.write_shard(i, X[a:b], items.iloc[a:b])
    return st


@pytest.fixture
def data(tmp_path):
    X, y = _clustered()
    return _store(tmp_path / "s", X, y), X, y


def test_store_topk_equals_exact_search_without_the_skipped_rows(data):
    store, X, _ = data
    rng = np.random.default_rng(1)
    Q = rng.normal(size=(37, X.shape[1])).astype(np.float32)
    skip = np.sort(rng.choice(len(X), 200, replace=False))
    keep = np.setdiff1d(np.arange(len(X)), skip)
    want_s, want_i = exact_topk(Q, X[keep], 25, "cosine")
    for source in (store, X):  # a store read shard by shard, an array cut into pieces
        s, i = store_topk(source, Q, 25, skip_rows=skip, chunk_rows=97, query_batch=10, shard_size=300)
        np.testing.assert_array_equal(i, keep[want_i])
        np.testing.assert_allclose(s, want_s, rtol=1e-5, atol=1e-6)
    assert not np.isin(i, skip).any()


def test_ondisk_ivf_with_skip_rows_equals_the_in_memory_ivf_on_the_rest(data, tmp_path):
    store, X, _ = data
    skip = np.arange(0, len(X), 7)
    keep = np.setdiff1d(np.arange(len(X)), skip)
    Q = X[skip[:50]]
    disk = OnDiskIVF("flat", 12, 3, train_size=10**6, directory=tmp_path / "ivf").fit(store, skip_rows=skip)
    mem = FaissIVFFlat(12, 3).fit(X[keep])
    ds, di = disk.search(Q, 10)
    ms, mi = mem.search(Q, 10)
    np.testing.assert_array_equal(di, keep[mi])  # same training set, seed and probes: same neighbours
    np.testing.assert_allclose(ds, ms, rtol=1e-5, atol=1e-6)
    assert disk.n_gallery_ == len(keep) and not np.isin(di, skip).any()
    again = OnDiskIVF.open(tmp_path / "ivf", store=store)  # the index says which rows it leaves out
    np.testing.assert_array_equal(again.skipped_rows_, skip)
    np.testing.assert_array_equal(again.search(Q, 10)[1], di)
    # candidates = sizes of the probed lists, which add up to the gallery over all lists
    assert (disk.candidates_per_query(Q, 12) == len(keep)).all()
    assert (disk.candidates_per_query(Q, 1) < len(keep)).all()
    with pytest.raises(ValueError, match="skip_rows must be row numbers"):
        OnDiskIVF("flat", 4, directory=tmp_path / "bad").fit(store, skip_rows=[len(X)])


def test_a_store_over_the_budget_is_searched_on_disk_with_the_in_memory_numbers(data):
    store, X, y = data
    user = {"embeddings": str(store.path), "query_fraction": 0.2}
    mem = E.load_user_task(user, n_queries=120, progress=False)
    disk = E.load_user_task(user, n_queries=120, progress=False, memory_budget_gb=2e-5)
    assert isinstance(disk, OnDiskTask) and not isinstance(mem, OnDiskTask)
    gal, _ = train_test_split(np.arange(len(y)), test_size=round(0.2 * len(y)), stratify=y, random_state=0)
    gal = np.sort(gal)
    assert disk.n_gallery == mem.n_gallery == gal.size
    np.testing.assert_array_equal(disk.Q, mem.Q)
    np.testing.assert_array_equal(disk.exact_ids, gal[mem.exact_ids])  # store rows vs gallery positions
    np.testing.assert_array_equal(disk.n_relevant, mem.n_relevant)

    specs = E.grid_specs(kmeans_K=[8], lsh_H=[4], lsh_L=[2], ivf_lists=[10, 30], ivf_probes=[1, 3], seed=0)
    assert disk.train_size(10) == 390 and disk.train_size(30) == 1170  # the budget holds none: 39 per list
    sampled = E.run_grid(disk, specs, progress=False)
    assert (sampled[sampled.method == "faiss-ivf"].recall_at_10 > 30).all()
    disk.work_dir = work = Path(tempfile.mkdtemp())
    disk.ivf_train_size = 10**6  # train on the whole gallery, as the in-memory FAISS IVF does
    g_mem, g_disk = (E.run_grid(t, specs, progress=False) for t in (mem, disk))
    ivf = ["group", "value", "p_at_10", "p_at_50", "recall_at_10", "candidates_per_query", "scanned_per_query"]
    a = g_mem[g_mem.method == "faiss-ivf"][ivf].reset_index(drop=True)
    b = g_disk[g_disk.method == "faiss-ivf"][ivf].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)
    assert list(work.iterdir()) == []  # the on-disk indexes are removed after the grid
    assert a.recall_at_10.min() < 100  # an approximate search, not exact search twice
    other = g_disk[g_disk.method != "faiss-ivf"]
    assert len(other) == 2 and other.skipped.str.contains("memory budget").all()

    e_mem, e_disk = E.exact_baselines(mem), E.exact_baselines(disk)
    for m in ("p_at_10", "p_at_50", "recall_at_10"):
        assert e_disk[m].iloc[0] == pytest.approx(e_mem[m].iloc[0])
    rec = {}
    E.record_grid(g_disk, rec.__setitem__, e_disk)
    assert "exact.user-embeddings.p_at_10" in rec and "user-embeddings.faiss-ivf.nprobe3.nlist30.recall_at_10" in rec
    assert not any("map_" in k for k in rec)  # not computed on disk: never recorded as numbers
    assert all(np.isfinite(v) for v in rec.values())


def test_a_store_within_the_budget_gives_the_task_of_the_same_arrays_as_an_npz(data, tmp_path):
    store, X, y = data
    np.savez(tmp_path / "same.npz", X=X, y=y)
    for n_gallery in (None, 300):
        a = E.load_user_task({"embeddings": str(store.path)}, n_gallery=n_gallery, n_queries=50, progress=False,
                             memory_budget_gb=1.0)
        b = E.load_user_task({"embeddings": str(tmp_path / "same.npz")}, n_gallery=n_gallery, n_queries=50,
                             progress=False)
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.Q, b.Q)
        np.testing.assert_array_equal(a.exact_ids, b.exact_ids)
    # a gallery subset that fits is read alone and held in RAM; one that does not is refused
    small = E.load_user_task({"embeddings": str(store.path)}, n_gallery=100, n_queries=50, progress=False,
                             memory_budget_gb=gallery_gb(100 + 50, X.shape[1]))  # gallery + measured queries
    assert small.X.shape == (100, X.shape[1])
    with pytest.raises(ValueError, match="n_gallery=300 .*memory_budget_gb"):
        E.load_user_task({"embeddings": str(store.path)}, n_gallery=300, progress=False, memory_budget_gb=2e-5)


def test_the_budget_counts_the_measured_queries_and_bad_inputs_are_named(data):
    store, X, y = data
    user = {"embeddings": str(store.path), "query_fraction": 0.2}
    n_gal, d = len(X) - round(0.2 * len(X)), X.shape[1]
    between = (gallery_gb(n_gal, d) + gallery_gb(n_gal + 100, d)) / 2  # holds the gallery, not it + 100 queries
    assert isinstance(E.load_user_task(user, n_queries=100, progress=False, memory_budget_gb=between), OnDiskTask)
    assert not isinstance(E.load_user_task(user, n_queries=10, progress=False, memory_budget_gb=between), OnDiskTask)
    with pytest.raises(ValueError, match="measured queries of 16 dims alone exceed"):
        E.load_user_task(user, progress=False, memory_budget_gb=gallery_gb(100, d))
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="n_queries"):
            E.load_user_task(user, n_queries=bad, progress=False, memory_budget_gb=2e-5)


def test_read_rows_and_store_topk_refuse_rows_they_cannot_read(data):
    from zsl_lib.index.ondisk import read_rows, store_parts

    store, X, _ = data
    _, parts, n, _ = store_parts(store, store.shard_size)
    assert read_rows(parts, np.array([], dtype=np.int64)).shape == (0, X.shape[1])
    np.testing.assert_array_equal(read_rows(parts, np.array([3, 450, 1499])), X[[3, 450, 1499]])
    for rows in ([5, 3], [1, 1], [n], [-1]):
        with pytest.raises(ValueError, match="rows must be increasing row numbers"):
            read_rows(parts, np.array(rows))
    with pytest.raises(ValueError, match="skip_rows must be row numbers"):
        store_topk(store, X[:2], 5, skip_rows=[-1])


@pytest.mark.parametrize("bad", [0, -1.0, "4GB", [4]])
def test_memory_budget_parameter_is_checked_by_name(bad):
    with pytest.raises(ValueError, match="memory_budget_gb"):
        E.check_params(datasets=["cifar10:resnet56-cifar10"], report_columns={"cifar10": "cifar10"}, n_queries=None,
                       n_gallery=None, n_threads=1, memory_budget_gb=bad)


def test_over_budget_rule():
    assert gallery_gb(1_281_167, 1280) == pytest.approx(6.56, abs=0.01)  # ImageNet-1k, EfficientNet-Lite0
    assert over_budget(1_281_167, 1280, 4.0) and not over_budget(50_000, 1280, 4.0)
    assert not over_budget(10**9, 1280, None)


def test_native_stdout_is_silenced_only_inside_the_block(capfd):
    from zsl_lib.progress import native_stdout_silenced

    with native_stdout_silenced():
        os.write(1, b"from compiled code\n")
    os.write(1, b"after\n")
    out = capfd.readouterr().out
    assert "from compiled code" not in out and "after" in out


def test_an_empty_table_is_a_sentence_not_an_empty_grid():
    from zsl_lib.experiments.verdicts import EMPTY_TABLE, md_table

    assert md_table(pd.DataFrame()) == EMPTY_TABLE == md_table(pd.DataFrame({"a": []}))
    assert md_table(pd.DataFrame({"a": [1]})).startswith("| a |")


@pytest.mark.notebook
def test_notebook_04_searches_a_store_over_its_memory_budget_on_disk(tmp_path):
    """Notebook 04 at smoke size on a store given as the user's data with a tiny memory budget,
    beside a lab dataset held in RAM: the store's exact search and FAISS IVF are recorded, its other
    methods are listed as left out, and the page passes the hygiene scan."""
    from zsl_lib import runner
    from zsl_lib.pages import page_problems, render_page

    X, y = _clustered(600, 64, 10, noise=0.8)
    store = _store(tmp_path / "s", X, y, shard_size=250)
    run = runner.run_notebook("04-lsh-comparison", profile="smoke", workdir=tmp_path / "run", parameters={
        "datasets": ["cifar10:resnet56-cifar10", "user"], "user_embeddings": str(store.path),
        "user_query_fraction": 0.2, "report_columns": {"cifar10": "cifar10", "user": "cifar10"},
        "memory_budget_gb": 5e-5})
    assert run.status == "ok", run.error
    res = run.results
    assert 0 < res["exact.user-embeddings.p_at_10"] <= 100
    assert 0 < res["user-embeddings.faiss-ivf.nprobe1.nlist8.recall_at_10"] <= 100
    assert not any(k.startswith("user-embeddings.kmeans") for k in res)
    assert "best.cifar10-resnet56-cifar10.kmeans.p_at_10" in res  # the lab's dataset still runs every method
    page = render_page(run.output_path, tmp_path / "page", "04-lsh-comparison").read_text()
    assert page_problems(page) == []
    assert "exceeds the memory budget" in page and "lists.ivfdata" not in page
