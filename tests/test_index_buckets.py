"""Bucket tables and candidate unions against dictionary-based reference implementations."""

import numpy as np
import pytest

from zsl_lib.index.buckets import (
    BucketTable,
    bits_to_keys,
    csr_topk,
    expand_ranges,
    union_candidates,
)


def test_bits_to_keys_int_and_packed():
    rng = np.random.default_rng(0)
    bits = rng.random((200, 10)) > 0.5
    keys = bits_to_keys(bits)
    ref = np.array([int("".join("1" if b else "0" for b in row[::-1]), 2) for row in bits])
    np.testing.assert_array_equal(keys, ref)
    long_bits = rng.random((200, 100)) > 0.5
    long_bits[5] = long_bits[9]
    k = bits_to_keys(long_bits)
    same = k[:, None] == k[None, :]
    ref_same = (long_bits[:, None, :] == long_bits[None, :, :]).all(-1)
    np.testing.assert_array_equal(same, ref_same)
    assert bits_to_keys(rng.random((7, 3, 5)) > 0.5).shape == (7, 3)


def test_bucket_table_matches_dict():
    keys = np.random.default_rng(1).integers(0, 20, size=500)
    table = BucketTable(keys)
    ref = {}
    for i, key in enumerate(keys):
        ref.setdefault(key, []).append(i)
    queries = np.array([3, 19, 25, -1, 0])
    start, end = table.lookup(queries)
    for q, s, e in zip(queries, start, end):
        assert table.ids[s:e].tolist() == ref.get(q, [])
    assert sorted(table.bucket_sizes().tolist()) == sorted(len(v) for v in ref.values())


def test_expand_ranges():
    owner, vals = expand_ranges(np.array([2, 5, 0, 7]), np.array([4, 5, 3, 8]))
    assert owner.tolist() == [0, 0, 2, 2, 2, 3]
    assert vals.tolist() == [2, 3, 0, 1, 2, 7]


@pytest.mark.parametrize("n_keys", [12, 400])  # few large buckets (dense mask path) / many small
@pytest.mark.parametrize("n_tables,n_probes", [(1, 1), (3, 1), (2, 3)])
def test_union_candidates_matches_sets(n_tables, n_probes, n_keys):
    rng = np.random.default_rng(2)
    n, nq = 300, 40
    gal = rng.integers(0, n_keys, size=(n, n_tables))
    qk = rng.integers(0, n_keys + 2, size=(nq, n_tables, n_probes))
    tables = [BucketTable(gal[:, t]) for t in range(n_tables)]
    indptr, idx = union_candidates(tables, qk if n_probes > 1 else qk[:, :, 0], n)
    for q in range(nq):
        ref = {
            i
            for t in range(n_tables)
            for p in range(n_probes)
            for i in np.flatnonzero(gal[:, t] == qk[q, t, p])
        }
        assert idx[indptr[q] : indptr[q + 1]].tolist() == sorted(ref)


def test_csr_topk_pads():
    indptr = np.array([0, 3, 3, 5])
    ids = np.array([4, 1, 2, 7, 0])
    sc = np.array([0.9, 0.5, 0.1, 0.8, 0.7], dtype=np.float32)
    s, i = csr_topk(indptr, ids, sc, 2)
    assert i.tolist() == [[4, 1], [-1, -1], [7, 0]]
    assert np.isneginf(s[1]).all()
