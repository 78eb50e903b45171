"""Registry resolution, checksum verification and its cache, dataset names, WordNet, synthetic data."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from zsl_lib.data import (
    ChecksumMismatchError,
    fetch,
    list_datasets,
    load_dataset,
    registry,
    synthetic,
    wordnet,
)

REL = "mulan/scene-test.arff"


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Separate data dir and mirror in tmp; offline; private checksum cache."""
    data, mirror = tmp_path / "data", tmp_path / "mirror"
    data.mkdir()
    mirror.mkdir()
    monkeypatch.setenv("ZSL_DATA_DIR", str(data))
    monkeypatch.setenv("ZSL_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("ZSL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ZSL_OFFLINE", "1")
    return data, mirror


def _put(root, rel, content: bytes):
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(content)
    return p


def _expect(monkeypatch, content: bytes, rel=REL, dataset="mulan-scene", **fields):
    spec = registry.REGISTRY[dataset]
    sha = hashlib.sha256(content).hexdigest()
    files = tuple(
        dataclasses.replace(f, **({"sha256": sha, "md5": None} | fields)) if f.relpath == rel else f
        for f in spec.files
    )
    monkeypatch.setitem(registry.REGISTRY, dataset, dataclasses.replace(spec, files=files))


def test_resolution_order_data_dir_then_mirror(env, monkeypatch):
    data, mirror = env
    _expect(monkeypatch, b"same")
    m = _put(mirror, REL, b"same")
    assert fetch("mulan-scene", REL) == m
    assert fetch("mulan-scene", "scene-test.arff") == m  # relative to the dataset folder
    d = _put(data, REL, b"same")
    assert fetch("mulan-scene", REL) == d


def test_missing_file_error_names_paths_and_source(env):
    data, mirror = env
    with pytest.raises(FileNotFoundError) as e:
        fetch("mulan-scene", REL)
    msg = str(e.value)
    assert str(data / REL) in msg and str(mirror / REL) in msg
    assert "mulan.sourceforge.net" in msg and "ZSL_OFFLINE=1" in msg
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        fetch("cifar10", "cifar10/cifar-10-python.tar.gz")


def test_checksum_mismatch_names_both_hashes(env, monkeypatch):
    data, _ = env
    _expect(monkeypatch, b"expected content")
    _put(data, REL, b"tampered content")
    with pytest.raises(ChecksumMismatchError) as e:
        fetch("mulan-scene", REL)
    assert hashlib.sha256(b"expected content").hexdigest() in str(e.value)
    assert hashlib.sha256(b"tampered content").hexdigest() in str(e.value)
    assert fetch("mulan-scene", REL, verify=False) == data / REL


def test_md5_verification(env, monkeypatch):
    data, _ = env
    rel = "cifar100/cifar-100-python.tar.gz"
    _put(data, rel, b"abc")
    with pytest.raises(ChecksumMismatchError, match="expected md5 eb9058c3a382ffc7106e4002c42a8d85"):
        fetch("cifar100", rel)
    _expect(monkeypatch, b"", rel=rel, dataset="cifar100", sha256=None, md5=hashlib.md5(b"abc").hexdigest())
    assert fetch("cifar100", rel) == data / rel


def test_checksum_cache_by_size_and_mtime(env, monkeypatch, tmp_path):
    data, _ = env
    _expect(monkeypatch, b"v1")
    p = _put(data, REL, b"v1")
    fetch("mulan-scene", REL)
    cache = json.loads((tmp_path / "cache" / "checksums.json").read_text())
    assert cache[str(p.resolve())]["sha256"] == hashlib.sha256(b"v1").hexdigest()
    calls = []
    real_hash = registry.fileio.hash_file
    monkeypatch.setattr(registry.fileio, "hash_file", lambda *a, **k: calls.append(a) or real_hash(*a, **k))
    fetch("mulan-scene", REL)
    assert calls == []  # served from the cache file, not re-hashed (not even memoised in-process)
    p.write_bytes(b"v2!")  # size changes -> re-hashed -> mismatch detected
    with pytest.raises(ChecksumMismatchError):
        fetch("mulan-scene", REL)
    assert calls


def test_extract_member_from_archive(env, monkeypatch):
    import zipfile

    data, mirror = env
    payload = b"res101 bytes"
    arch = mirror / "xlsa17" / "xlsa17.zip"
    arch.parent.mkdir(parents=True)
    with zipfile.ZipFile(arch, "w") as zf:
        zf.writestr("xlsa17/data/APY/res101.mat", payload)
    _expect(monkeypatch, payload, rel="xlsa17/APY/res101.mat", dataset="xlsa17")
    with pytest.warns(UserWarning, match="unverified"):
        out = fetch("xlsa17", "xlsa17/APY/res101.mat")
    assert out == data / "xlsa17/APY/res101.mat" and out.read_bytes() == payload


def test_interrupted_extraction_leaves_nothing_behind(env, monkeypatch, tmp_path):
    import zipfile

    arch = tmp_path / "a.zip"
    with zipfile.ZipFile(arch, "w") as zf:
        zf.writestr("m.bin", b"x" * 100)

    def broken_copy(src, dst, length=0):
        dst.write(src.read(10))
        raise OSError("disk full")

    monkeypatch.setattr(registry.shutil, "copyfileobj", broken_copy)
    dest = tmp_path / "out" / "m.bin"
    with pytest.raises(OSError, match="disk full"):
        registry._extract_member(arch, "m.bin", dest)
    assert list(dest.parent.iterdir()) == []  # neither the file nor a temporary


def test_fingerprint_of_is_a_sha256_of_the_parts():
    from zsl_lib.data import fingerprint_of

    a = np.arange(6, dtype=np.int32).reshape(2, 3)[:, ::2]  # non-contiguous: hashed as C order
    ref = hashlib.sha256()
    for chunk in (repr("cifar10").encode(), b"\x00", np.ascontiguousarray(a).tobytes(), b"int32", b"\x00",
                  repr(3).encode(), b"\x00"):
        ref.update(chunk)
    assert fingerprint_of("cifar10", a, 3) == ref.hexdigest()[:16]  # cache keys depend on it
    assert fingerprint_of("cifar10", a, 4) != fingerprint_of("cifar10", a, 3)


def test_fingerprint_of_object_arrays_hashes_values_not_pointers():
    """``Series.astype(str).to_numpy()`` is an object array whose bytes are pointers: hashing them
    gave a store's item-list fingerprint another value in every process (a rerun was refused)."""
    from zsl_lib.data import fingerprint_of

    a = np.array(["".join(["lab", str(i)]) for i in range(5)], dtype=object)
    b = np.array(["".join(["lab", str(i)]) for i in range(5)], dtype=object)  # equal values, other objects
    assert a[0] is not b[0]
    assert fingerprint_of(a) == fingerprint_of(b) != fingerprint_of(b[::-1].copy())
    assert fingerprint_of(a) != fingerprint_of(a.reshape(5, 1))


def test_download_is_attempted_only_when_allowed(env, monkeypatch):
    calls = []
    monkeypatch.setattr(registry, "_download", lambda spec, dest: calls.append(spec.url) or (_ for _ in ()).throw(OSError("no network")))
    with pytest.raises(FileNotFoundError, match="ZSL_OFFLINE"):
        fetch("cifar100", "cifar100/cifar-100-python.tar.gz")
    assert calls == []
    monkeypatch.setenv("ZSL_OFFLINE", "0")
    with pytest.raises(FileNotFoundError, match="download from https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz failed: OSError: no network"):
        fetch("cifar100", "cifar100/cifar-100-python.tar.gz")
    assert calls == ["https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"]


def test_download_success_is_verified(env, monkeypatch):
    data, _ = env
    monkeypatch.setenv("ZSL_OFFLINE", "0")
    _expect(monkeypatch, b"good", rel="weights/resnet20-12fca82f.th", dataset="cifar10-resnets")

    def fake_download(spec, dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(b"good")
        return dest

    monkeypatch.setattr(registry, "_download", fake_download)
    assert fetch("cifar10-resnets", "weights/resnet20-12fca82f.th").read_bytes() == b"good"


def test_bad_extracted_member_is_removed(env, monkeypatch):
    import zipfile

    data, mirror = env
    arch = mirror / "xlsa17" / "xlsa17.zip"
    arch.parent.mkdir(parents=True)
    with zipfile.ZipFile(arch, "w") as zf:
        zf.writestr("xlsa17/data/APY/att_splits.mat", b"wrong bytes")
    with pytest.warns(UserWarning, match="unverified"), pytest.raises(ChecksumMismatchError):
        fetch("xlsa17", "xlsa17/APY/att_splits.mat")
    assert not (data / "xlsa17/APY/att_splits.mat").exists()


def test_names_and_options_are_validated():
    names = list_datasets()
    for n in ["cifar10", "cifar100", "tiny-imagenet", "fashion-products", "xlsa17", "mulan-scene",
              "sqid", "image-folder", "multilabel-csv", "labelled-csv", "embeddings"]:
        assert n in names
    with pytest.raises(ValueError, match=r"unknown dataset 'cifar-10'.*Known datasets: .*cifar10"):
        load_dataset("cifar-10")
    with pytest.raises(ValueError, match=r"has no split option"):
        load_dataset("xlsa17", split="train")
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['colour'\]"):
        load_dataset("mulan-scene", split="train", colour=1)
    with pytest.raises(ValueError, match=r"missing required option\(s\) \['root'\]"):
        load_dataset("image-folder")
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch("nope", "x")
    with pytest.raises(ValueError, match="Registered files"):
        fetch("cifar10", "cifar10/cifar10-val.zip")


def test_registry_entries_are_complete():
    for spec in registry.REGISTRY.values():
        assert spec.source and spec.licence and spec.files
        for f in spec.files:
            assert f.url or f.archive or f.how, f.relpath  # every file says where it comes from
            assert f.sha256 is None or len(f.sha256) == 64
            assert f.md5 is None or len(f.md5) == 32


# ----------------------------------------------------------------------------------- WordNet

_DATA_NOUN_HEAD = "  1 This software and database is being provided\n"


def _fake_wordnet(tmp_path):
    """A three-synset data.noun with real byte offsets; each synset's hypernym is the previous one."""
    specs = [
        ("entity", [], "that which is perceived"),
        ("big_cat cat", ["@"], "a large cat; `roars'"),
        ("Egyptian_cat", ["@i"], "a domestic cat of Egypt"),
    ]
    out, offsets = [_DATA_NOUN_HEAD], []
    pos = len(_DATA_NOUN_HEAD.encode())
    for words, ptrs, gloss in specs:
        ws = words.split()
        ptr = "".join(f" {sym} {offsets[-1]:08d} n 0000" for sym in ptrs)
        line = f"{pos:08d} 03 n {len(ws):02x} " + " ".join(f"{w} 0" for w in ws)
        line += f" {len(ptrs):03d}{ptr} | {gloss}  \n"
        offsets.append(pos)
        out.append(line)
        pos += len(line.encode())
    (tmp_path / "data.noun").write_text("".join(out))
    return [f"n{o:08d}" for o in offsets]


def test_wordnet_parser_on_generated_database(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_WORDNET_DIR", str(tmp_path))
    root, big, egy = _fake_wordnet(tmp_path)
    s = wordnet.synset(egy)
    assert s.words == ["Egyptian cat"] and s.gloss == "a domestic cat of Egypt" and s.hypernym_ids == [big]
    assert wordnet.synset(big).words == ["big cat", "cat"]
    assert [x.wnid for x in wordnet.hypernym_chain(egy)] == [egy, big, root]
    assert wordnet.readable_name(big) == "big cat"
    assert wordnet.synset(egy).hypernyms[0].name == "big cat"
    with pytest.raises(KeyError, match="no noun synset"):
        wordnet.synset("n00000005")
    with pytest.raises(ValueError, match="8 digits"):
        wordnet.synset("02124075")


def test_wordnet_missing_database_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("ZSL_WORDNET_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/nltk_data
    monkeypatch.delenv("NLTK_DATA", raising=False)
    monkeypatch.setattr(wordnet, "_DEBIAN_DIRS", ())
    with pytest.raises(FileNotFoundError, match=r"apt-get install wordnet-base.*nltk\.downloader wordnet"):
        wordnet.synset("n02124075")


# --------------------------------------------------------------------------------- synthetic


def test_bimodal_beta():
    X = synthetic.bimodal_beta(20000, seed=3)
    assert X.shape == (20000, 2) and X.min() >= 0 and X.max() <= 1
    np.testing.assert_array_equal(X, synthetic.bimodal_beta(20000, seed=3))
    ref = np.random.default_rng(3).beta(0.1, 0.1, size=(20000, 2))
    np.testing.assert_array_equal(X, ref)
    # Beta(0.1, 0.1): mean 1/2, variance ab/((a+b)^2 (a+b+1)) = 0.01/(0.04*1.2) = 0.2083
    assert abs(X.mean() - 0.5) < 0.01 and abs(X.var() - 0.01 / (0.04 * 1.2)) < 0.01
    assert ((X < 0.1) | (X > 0.9)).mean() > 0.7  # bimodal: mass near the edges
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, inf\]; got 0"):
        synthetic.bimodal_beta(5, alpha=0)
    with pytest.raises(ValueError, match=r"beta must lie in \(0, inf\]; got -1"):
        synthetic.bimodal_beta(5, beta=-1)
    with pytest.raises(ValueError, match="n must be an integer >= 1; got 0"):
        synthetic.bimodal_beta(0)


def test_gaussian_blobs():
    X, y = synthetic.gaussian_blobs(5, 4000, dim=3, seed=1)
    assert X.shape == (20000, 3) and y.tolist() == np.repeat(np.arange(5), 4000).tolist()
    means, var = synthetic.gaussian_blob_params(5, dim=3, seed=1)
    assert np.all((means >= -10) & (means <= 10)) and np.all((var >= 0.5) & (var <= 1))
    for k in range(5):
        Xk = X[y == k]
        np.testing.assert_allclose(Xk.mean(0), means[k], atol=0.06)
        np.testing.assert_allclose(Xk.var(0), var[k], rtol=0.08)
    X2, _ = synthetic.gaussian_blobs(5, 4000, dim=3, seed=1)
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="n_clusters"):
        synthetic.gaussian_blobs(0, 3)


def test_wordnet_from_nltk_zip(tmp_path, monkeypatch):
    import zipfile

    src = tmp_path / "src"
    src.mkdir()
    _, _, egy = _fake_wordnet(src)
    corpora = tmp_path / "nltk" / "corpora"
    corpora.mkdir(parents=True)
    with zipfile.ZipFile(corpora / "wordnet.zip", "w") as zf:
        zf.write(src / "data.noun", "wordnet/data.noun")
    monkeypatch.setenv("ZSL_WORDNET_DIR", str(tmp_path / "none"))
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nltk"))
    monkeypatch.setattr(wordnet, "_DEBIAN_DIRS", ())
    assert wordnet.synset(egy).name == "Egyptian cat"
    assert wordnet.database_path().endswith("wordnet.zip:wordnet/data.noun")


# --- a corrupt copy falls back to an intact one; damage in place is found and named ----------

def test_corrupt_local_copy_falls_back_to_the_intact_mirror_copy(env, monkeypatch):
    data, mirror = env
    _expect(monkeypatch, b"intact")
    _put(data, REL, b"corrupt")
    m = _put(mirror, REL, b"intact")
    with pytest.warns(UserWarning, match=f"copy at {data / REL} fails its checksum; using the intact copy at {m}"):
        assert fetch("mulan-scene", REL) == m


def test_every_copy_corrupt_offline_names_them_all(env, monkeypatch):
    data, mirror = env
    _expect(monkeypatch, b"intact")
    _put(data, REL, b"corrupt one")
    _put(mirror, REL, b"corrupt two")
    with pytest.raises(ChecksumMismatchError, match="the other copies fail too") as e:
        fetch("mulan-scene", REL)
    assert e.value.path == data / REL and str(mirror / REL) in str(e.value)


def test_damage_in_place_with_same_size_and_mtime_is_named_when_the_zip_fails(env, monkeypatch):
    import io
    import os
    import zipfile

    data, _ = env
    rel = "cifar10/cifar10-test.zip"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("test/cat/0001.jpg", b"not really a jpeg")
    good = buf.getvalue()
    _expect(monkeypatch, good, rel=rel, dataset="cifar10")
    path = _put(data, rel, good)
    assert fetch("cifar10", rel) == path  # verified; the checksum is now cached by size + mtime
    st = path.stat()
    damaged = good[:-22] + b"\0" * 22  # the end-of-central-directory record, same size
    path.write_bytes(damaged)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert fetch("cifar10", rel) == path  # the cached checksum cannot see it...
    with pytest.raises(ChecksumMismatchError, match="damaged in place") as e:
        registry.open_zip(path)  # ...but a zip that fails to open is re-hashed and named
    assert str(path) in str(e.value)
    with pytest.raises(ChecksumMismatchError):  # and the cache now knows
        fetch("cifar10", rel)


def test_unregistered_unreadable_zip_names_the_file(tmp_path):
    bad = tmp_path / "mine.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=f"{bad} is not a readable zip archive"):
        registry.open_zip(bad)
