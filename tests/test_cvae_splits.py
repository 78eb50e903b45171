"""Seen/unseen splits (zsl_lib.data.zsl_splits) and embedded splits (zsl_lib.encoders.semantics)."""

import numpy as np
import pytest
import scipy.io
import torch

from tests.conftest import real_file
from zsl_lib.data.zsl_splits import (
    ZSL_DATASETS,
    ZSLSplit,
    cap_index,
    frequent_class_split,
    holdout_seen_split,
    make_synthetic_zsl,
    seeded_class_split,
    split_by_classes,
)
from zsl_lib.encoders.semantics import load_zsl_split


def test_seeded_class_split_is_fixed_and_disjoint():
    seen, unseen = seeded_class_split(200, 50, seed=0)
    assert len(seen) == 150 and len(unseen) == 50
    assert np.intersect1d(seen, unseen).size == 0
    np.testing.assert_array_equal(np.union1d(seen, unseen), np.arange(200))
    np.testing.assert_array_equal(seeded_class_split(200, 50, seed=0)[1], unseen)
    assert not np.array_equal(seeded_class_split(200, 50, seed=1)[1], unseen)
    with pytest.raises(ValueError, match="n_unseen"):
        seeded_class_split(10, 10)


def test_split_by_classes_routes_samples():
    sp = make_synthetic_zsl(n_classes=10, n_unseen=3, n_train_per_class=4, n_test_per_class=2)
    assert set(sp.y_train) == set(sp.seen_classes) and set(sp.y_test_unseen) == set(sp.unseen_classes)
    assert set(sp.y_test_seen) == set(sp.seen_classes)
    assert sp.summary()["n_train"] == 7 * 4 and sp.summary()["n_test_unseen"] == 3 * 2


def _parts():
    rng = np.random.default_rng(0)
    X = rng.random((12, 4))
    y = np.repeat(np.arange(4), 3)
    return X, y, rng.random((4, 5)), ["a", "b", "c", "d"]


def test_semantic_matrix_with_wrong_number_of_classes():
    X, y, S, names = _parts()
    with pytest.raises(ValueError, match=r"semantic matrix has shape \(3, 5\) but there are 4 classes"):
        split_by_classes("toy", X, y, X, y, S[:3], names, [3])


def test_overlapping_seen_and_unseen_classes():
    X, y, S, names = _parts()
    with pytest.raises(ValueError, match="both seen and unseen"):
        ZSLSplit("toy", X[y < 3], y[y < 3], X[y < 3], y[y < 3], X[y == 3], y[y == 3], S, names,
                 seen_classes=[0, 1, 2], unseen_classes=[2, 3])


def test_nan_features():
    X, y, S, names = _parts()
    X[5, 1] = np.nan
    with pytest.raises(ValueError, match=r"toy: X_train contains NaN or infinite values in 1 rows \(first: \[5\]\)"):
        split_by_classes("toy", X, y, X, y, S, names, [3])


def test_unknown_dataset_name_lists_accepted_values():
    with pytest.raises(ValueError, match="unknown dataset 'cub'; accepted values"):
        load_zsl_split("cub")
    assert "tiny-imagenet" in ZSL_DATASETS


@pytest.mark.realdata
def test_xlsa17_cub_real_splits_with_generated_res101(tmp_path, monkeypatch):
    """Real att_splits.mat (CUB proposed split) + a generated res101.mat of the official layout."""
    att_path = real_file("xlsa17/CUB/att_splits.mat")
    m = scipy.io.loadmat(att_path)
    n_img = int(max(m[k].max() for k in ("trainval_loc", "test_seen_loc", "test_unseen_loc")))
    names = [str(c[0][0]) for c in m["allclasses_names"]]
    seen_names = set(real_file("xlsa17/CUB/trainvalclasses.txt").read_text().split())
    seen = np.array([i for i, c in enumerate(names) if c in seen_names])
    unseen = np.setdiff1d(np.arange(len(names)), seen)
    labels = np.zeros(n_img, dtype=np.int64)
    for key, pool in [("trainval_loc", seen), ("test_seen_loc", seen), ("test_unseen_loc", unseen)]:
        loc = m[key].ravel() - 1
        labels[loc] = pool[np.arange(len(loc)) % len(pool)]
    rng = np.random.default_rng(0)
    d = 128  # the real file has 2048; smaller keeps the test fast
    A = rng.normal(size=(d, m["att"].shape[0]))
    feats = np.maximum(m["att"].T[labels] @ A.T * 5 + rng.normal(size=(n_img, d)), 0)
    out = tmp_path / "xlsa17" / "CUB"
    out.mkdir(parents=True)
    scipy.io.savemat(out / "res101.mat", {"features": feats.T.astype(np.float32),
                                          "labels": (labels + 1)[:, None].astype(np.float64)})
    monkeypatch.setenv("ZSL_DATA_DIR", str(tmp_path))
    with pytest.warns(UserWarning):
        sp = load_zsl_split("xlsa17-CUB")
    assert sp.summary()["n_seen"] == 150 and sp.summary()["n_unseen"] == 50
    assert sp.semantics.shape == (200, 312)
    assert len(sp.y_train) == m["trainval_loc"].size and len(sp.y_test_unseen) == m["test_unseen_loc"].size

    from zsl_lib.metrics.zsl import per_class_accuracy
    from zsl_lib.zeroshot.cvae import ClusterableCVAE

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = ClusterableCVAE(hidden_size=32, projection_dim=32, epochs=2, lr=1e-2, gaussian_epochs=1,
                                gaussian_gamma=0.01, n_synth_per_class=20, clf_epochs=5, clf_lr=5e-3,
                                random_state=0, progress=False).fit(sp.X_train, sp.y_train, sp.semantics)
    finally:
        torch.set_num_threads(before)
    acc = per_class_accuracy(sp.y_test_unseen, model.predict(sp.X_test_unseen))
    assert acc > 3 / 50  # chance is 1/50


def test_cap_per_class_keeps_at_most_cap_random_samples():
    y = np.repeat([3, 1, 7], [10, 2, 5])
    keep = cap_index(y, 4, seed=0)
    counts = {c: int(np.sum(y[keep] == c)) for c in (1, 3, 7)}
    assert counts == {1: 2, 3: 4, 7: 4}  # naive expectation: min(count, cap)
    assert np.all(np.diff(keep) > 0)
    np.testing.assert_array_equal(cap_index(y, None, 0), np.arange(len(y)))


def test_holdout_seen_split_keeps_every_unseen_item_for_testing():
    y = np.repeat(np.arange(6), 10)
    unseen = np.array([1, 4])
    tr, te = holdout_seen_split(y, unseen, test_fraction=0.3, seed=0)
    assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).size == len(y)
    assert np.all(np.diff(te) > 0)  # sorted
    assert not np.isin(y[tr], unseen).any()
    for c in range(6):  # naive count per class: 3 of 10 seen-class items held out, all unseen ones
        assert np.sum(y[te] == c) == (10 if c in unseen else 3)
    np.testing.assert_array_equal(holdout_seen_split(y, unseen, 0.3, seed=0)[0], tr)


def test_frequent_class_split_keeps_classes_with_enough_items():
    counts = [30, 5, 40, 25, 60, 20, 22, 9]  # classes 1 and 7 are below min_items=20
    y = np.concatenate([np.repeat(np.arange(8), counts), [-1, -1]])  # -1: no class
    tr, te, present, unseen = frequent_class_split(y, min_items=20, n_unseen=None, test_fraction=0.2,
                                                   max_train_per_class=8, seed=0)
    np.testing.assert_array_equal(present, [0, 2, 3, 4, 5, 6])
    assert len(unseen) == 2 and set(unseen) <= set(present)  # max(2, 6 // 4)
    assert not np.isin(y[tr], unseen).any() and set(np.unique(y[tr])) == set(present) - set(unseen)
    assert max(np.sum(y[tr] == c) for c in present) <= 8
    for c in unseen:  # every unseen item is a test item
        assert np.sum(y[te] == c) == counts[c]
    assert not np.isin(y[np.concatenate([tr, te])], [-1, 1, 7]).any()
    with pytest.raises(ValueError, match="only 3 classes have min_items=30 items.*lower min_items"):
        frequent_class_split(y, min_items=30, n_unseen=None, test_fraction=0.2, max_train_per_class=None,
                             seed=0, name="toy")


def test_user_zsl_split_from_embeddings_and_attribute_files(tmp_path):
    from zsl_lib.encoders.semantics import load_user_zsl_split, read_attribute_matrix

    rng = np.random.default_rng(0)
    names = np.array(["ant", "bee", "cat", "dog", "eel", "fox"])
    y = np.repeat(np.arange(6), 10)
    np.savez(tmp_path / "e.npz", X=rng.normal(size=(60, 5)).astype(np.float32), y=names[y])
    A = rng.normal(size=(6, 3))
    np.save(tmp_path / "a.npy", A)
    sp = load_user_zsl_split(embeddings=tmp_path / "e.npz", attributes=tmp_path / "a.npy",
                             unseen_classes=["bee", "fox"], test_fraction=0.2)
    assert [sp.class_names[c] for c in sp.unseen_classes] == ["bee", "fox"]
    assert len(sp.y_train) == 4 * 8 and len(sp.y_test_seen) == 4 * 2 and len(sp.y_test_unseen) == 20
    np.testing.assert_allclose(sp.semantics, A.astype(np.float32))
    # a CSV in another row order is put in class order by its first column
    import pandas as pd

    pd.DataFrame(A[::-1], columns=list("xyz")).assign(name=names[::-1])[["name", *"xyz"]].to_csv(
        tmp_path / "a.csv", index=False)
    np.testing.assert_allclose(read_attribute_matrix(tmp_path / "a.csv", list(names)), A.astype(np.float32))
    with pytest.raises(ValueError, match=r"has no row for classes \['zebra'\]"):
        read_attribute_matrix(tmp_path / "a.csv", [*names, "zebra"])
    with pytest.raises(ValueError, match="user_unseen_classes"):
        load_user_zsl_split(embeddings=tmp_path / "e.npz", attributes=tmp_path / "a.npy", unseen_classes=["yak"])
    with pytest.raises(ValueError, match="exactly one of user_embeddings"):
        load_user_zsl_split(attributes=tmp_path / "a.npy")
    seeded = load_user_zsl_split(embeddings=tmp_path / "e.npz", attributes=tmp_path / "a.npy", split_seed=3)
    assert len(seeded.unseen_classes) == 2  # a seeded quarter, at least 2
