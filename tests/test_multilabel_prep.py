"""Data preparation (thesis 3.1.2) and keyword datasets."""

import numpy as np
import pandas as pd
import pytest
from conftest import real_file

from zsl_lib.data.keywords import (
    automatic_name,
    fashion_translation_table,
    hypernym_keywords,
    keywords_from_columns,
    user_keywords,
)
from zsl_lib.zeroshot.multilabel_prep import (
    deduplicate,
    fit_duplicate_thresholds,
    max_softmax_similarity,
    prepare,
    scaling_stats,
    stratified_split,
)


def test_dedup_removes_suspected_and_merges_certain_keywords():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 32)).astype(np.float32)
    X[1] = X[0] + 1e-4 * rng.normal(size=32)  # certain duplicate of 0
    X[3] = X[2] + 0.25 * rng.normal(size=32)  # suspected only (cos ~0.97)
    Y = np.eye(6, dtype=np.float32)
    c23 = float(X[2] @ X[3] / np.linalg.norm(X[2]) / np.linalg.norm(X[3]))
    keep, Yk, info = deduplicate(X, Y, suspected=c23 - 0.01, certain=0.999, chunk_size=2)
    np.testing.assert_array_equal(keep, [0, 2, 4, 5])
    np.testing.assert_array_equal(Yk[0], [1, 1, 0, 0, 0, 0])  # merged from item 1
    np.testing.assert_array_equal(Yk[1], [0, 0, 1, 0, 0, 0])  # suspected: removed, not merged
    assert info["n_removed"] == 2 and info["n_merged_groups"] == 1


def test_fit_duplicate_thresholds_recovers_logistic_points():
    rng = np.random.default_rng(0)
    s = rng.uniform(0.8, 1.0, 4000)
    p = 1 / (1 + np.exp(-(200 * (s - 0.93))))
    y = rng.random(4000) < p
    lo, hi = fit_duplicate_thresholds(s, y)
    assert lo == pytest.approx(0.93 - np.log(99) / 200, abs=0.004)
    assert hi == pytest.approx(0.93 + np.log(99) / 200, abs=0.004)
    with pytest.raises(ValueError, match="both"):
        fit_duplicate_thresholds(s, np.zeros(4000))


def test_max_softmax_similarity_matches_dense():
    X = np.random.default_rng(1).normal(size=(50, 8)).astype(np.float32)
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.fill_diagonal(S, -np.inf)
    ref = (np.exp(S) / np.exp(S).sum(1, keepdims=True)).max(1)
    np.testing.assert_allclose(max_softmax_similarity(X, chunk_size=7), ref, rtol=1e-5)


def test_stratified_split_proportions_and_strata():
    v = np.random.default_rng(0).random(1000)
    tr, va, te = stratified_split(v)
    assert (len(tr), len(va), len(te)) == (600, 200, 200)
    assert len(np.intersect1d(tr, va)) == 0 and len(np.union1d(np.union1d(tr, va), te)) == 1000
    bins = pd.qcut(v, 10, labels=False)
    np.testing.assert_array_equal(np.bincount(bins[va], minlength=10), 20)


def test_prepare_pipeline_drops_unlabelled_rare_and_splits():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 16)).astype(np.float32)
    Y = (rng.random((400, 6)) < 0.3).astype(np.float32)
    Y[:, 5] = 0
    Y[:3, 5] = 1  # rare keyword
    Y[10:20] = 0  # unlabelled items
    d = prepare(X, Y, list("abcdef"), suspected=0.99, certain=0.999, min_count=5)
    assert d.keywords == list("abcde")
    assert d.info["n_unlabelled_dropped"] >= 10
    for Yp in (d.Y_train, d.Y_val, d.Y_test):
        assert (Yp.sum(1) > 0).all()
    assert len(np.intersect1d(d.idx_train, d.idx_test)) == 0
    np.testing.assert_array_equal(d.X_train, X[d.idx_train])


def test_prepare_deduplicates_on_the_scaled_features_and_can_skip_it():
    # all-positive numeric features: raw cosines are near 1, so the default 0.98 threshold called
    # almost every item a duplicate; on the standardised features the models see, only real
    # duplicates are found
    rng = np.random.default_rng(1)
    X = (5.0 + rng.random((300, 20))).astype(np.float32)
    X[150:160] = X[:10]  # ten exact copies
    Y = (rng.random((300, 4)) < 0.5).astype(np.float32)
    Y[Y.sum(1) == 0, 0] = 1
    Y[150:160] = Y[:10]
    kws = list("abcd")
    _, _, raw = deduplicate(X, Y, 0.98, 0.995)
    assert raw["n_removed"] > 250  # the defect: on raw features nearly everything is a duplicate
    with pytest.raises(ValueError, match=r"de-duplication kept \d+ of 300 labelled items .*Scale the features"):
        prepare(X, Y, kws, suspected=0.98, certain=0.995, min_count=2)
    for how in ("standard", "minmax"):
        d = prepare(X, Y, kws, suspected=0.98, certain=0.995, min_count=2, scaling=how)
        assert d.info["n_removed"] == 10 and d.info["n_merged_items"] == 10, d.info
        assert d.info["dedup_scaling"] == how and d.info["deduplicated"]
        np.testing.assert_array_equal(d.X_train, X[d.idx_train])  # features returned unscaled
    off = prepare(X, Y, kws, suspected=0.98, certain=0.995, min_count=2, deduplicate_items=False)
    assert off.info["n_removed"] == 0 and off.info["n_merged_items"] == 0 and not off.info["deduplicated"]
    assert len(off.idx_train) + len(off.idx_val) + len(off.idx_test) == 300
    # a given split: statistics come from its training items
    split = np.where(np.arange(300) < 240, "train", "test")
    g = prepare(X, Y, kws, suspected=0.98, certain=0.995, min_count=2, scaling="standard", split=split)
    assert g.info["n_removed"] == 10
    with pytest.raises(ValueError, match="scaling='zscore'"):
        prepare(X, Y, kws, scaling="zscore")


def test_scaling_stats():
    X = np.array([[1.0, 2.0], [3.0, 2.0]])
    shift, scale = scaling_stats(X, "standard")
    np.testing.assert_allclose(shift, [2, 2]) and np.testing.assert_allclose(scale, [1, 1])
    shift, scale = scaling_stats(X, "minmax")
    np.testing.assert_allclose(shift, [1, 2]) and np.testing.assert_allclose(scale, [2, 1])


def test_keywords_from_columns_and_translation():
    df = pd.DataFrame({"articleType": ["Tshirts", "Watches"], "subCategory": ["Topwear", "Watches"],
                       "baseColour": ["Navy Blue", np.nan]})
    Y, kws, src = keywords_from_columns(df, ["articleType", "subCategory", "baseColour"])
    assert kws == ["Navy Blue", "Topwear", "Tshirts", "Watches"]
    np.testing.assert_array_equal(Y, [[1, 1, 1, 0], [0, 0, 0, 1]])
    assert automatic_name("Tshirts") == "tshirt" and automatic_name("FlipFlops") == "flip flop"
    t = fashion_translation_table(kws, src)
    assert list(t.columns) == ["original", "automatic", "manual"]
    assert t.set_index("original").loc["Navy Blue", "manual"] == "navy blue coloured"


def test_hypernym_keywords_with_fake_wordnet():
    class S:
        def __init__(self, name):
            self.name = name

    chains = {"a": [S("tabby"), S("cat"), S("feline")], "b": [S("husky"), S("dog"), S("canine")]}
    fine, coarse, names = hypernym_keywords(["a", "b"], coarse_levels=1, chain_fn=chains.__getitem__)
    assert names == ["cat", "dog", "husky", "tabby"]
    np.testing.assert_array_equal(fine, [[0, 0, 0, 1], [0, 0, 1, 0]])
    np.testing.assert_array_equal(coarse, [[1, 0, 0, 0], [0, 1, 0, 0]])


def test_user_keywords_csv(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "k.csv").write_text("path,keywords\n0.png,truck;Kamaz\n1.png,truck\n2.png,\n")
    kd = user_keywords(tmp_path / "k.csv")
    assert kd.keywords == ["Kamaz", "truck"]
    np.testing.assert_array_equal(kd.Y, [[1, 1], [0, 1], [0, 0]])
    assert kd.dataset.get_image(0).size == (8, 8)
    (tmp_path / "bad.csv").write_text("file,tags\n0.png,x\n")
    with pytest.raises(ValueError, match="path,keywords"):
        user_keywords(tmp_path / "bad.csv")


@pytest.mark.realdata
def test_fashion_keywords_real():
    real_file("fashion-products/styles.csv")
    from zsl_lib.data.keywords import fashion_keywords

    kd = fashion_keywords("eval")
    assert kd.Y.shape[0] == len(kd.dataset) and kd.Y.sum(1).min() >= 5
    assert {"Tshirts", "Men", "Casual", "Black"} <= set(kd.keywords)


def test_user_keywords_share_the_separator_rule_of_multilabel_csv(tmp_path):
    """data/README.md promises ``|`` and ``;``: both loaders split a README-style CSV the same way."""
    from PIL import Image

    from zsl_lib.data.user import load_multilabel_csv

    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "k.csv").write_text("path,keywords\n0.png,red|round|large\n1.png,red; small\n2.png,round\n")
    kd = user_keywords(tmp_path / "k.csv")
    assert kd.keywords == ["large", "red", "round", "small"]  # not the compound 'red|round|large'
    np.testing.assert_array_equal(kd.Y, [[1, 1, 1, 0], [0, 1, 0, 1], [0, 0, 1, 0]])
    ds = load_multilabel_csv(tmp_path / "k.csv")
    assert ds.class_names == kd.keywords
    np.testing.assert_array_equal(ds.extra["Y"], kd.Y)


def test_user_keywords_fingerprint_changes_when_an_image_is_replaced(tmp_path):
    import os

    from PIL import Image

    for i in range(2):
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(tmp_path / f"{i}.png")
    (tmp_path / "k.csv").write_text("path,keywords\n0.png,a\n1.png,b\n")
    before = user_keywords(tmp_path / "k.csv").dataset.fingerprint
    assert user_keywords(tmp_path / "k.csv").dataset.fingerprint == before  # stable when nothing changes
    st = os.stat(tmp_path / "1.png")
    Image.new("RGB", (16, 16), (9, 200, 9)).save(tmp_path / "1.png")  # replaced in place: new size
    os.utime(tmp_path / "1.png", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert user_keywords(tmp_path / "k.csv").dataset.fingerprint != before


def test_user_keywords_on_an_arff_file_says_what_a_keyword_csv_looks_like(tmp_path):
    arff = tmp_path / "scene.arff"
    arff.write_text("@relation 'x: -C -2'\n@attribute f1 numeric\n@attribute f2 numeric\n"
                    "@attribute a {0,1}\n@attribute b {0,1}\n@data\n0.1,0.2,1,0\n0.3,0.1,0,1\n")
    with pytest.raises(ValueError, match=r"scene\.arff.*expected a header path,keywords"):
        user_keywords(arff)
