"""``zsl-lab embed``: sources (folder, CSV, dataset split), the store it writes, and clear errors."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from zsl_lib import cli
from zsl_lib.data import load_dataset
from zsl_lib.data.store import Store
from zsl_lib.encoders import create_encoder
from zsl_lib.encoders.distribute import load_source

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(1)
    root = tmp_path / "imgs"
    for c in ("cat", "dog"):
        (root / c).mkdir(parents=True)
        for k in range(3):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(root / c / f"{k}.png")
    return root


def test_embed_folder_writes_a_store_equal_to_the_encoder(folder, tmp_path, capsys):
    out = tmp_path / "store"
    assert cli.main(["embed", str(folder), "--encoder", "resnet20-cifar10", "--out", str(out),
                     "--shard-size", "4", "--quiet"]) == 0
    assert "6 rows x 64 (resnet20-cifar10) in 2 shards" in capsys.readouterr().out
    store = Store.open(out)
    assert store.done_shards() == [0, 1] and store.manifest["source"]["kind"] == "image-folder"
    ds = load_dataset("embeddings", path=str(out))  # user data of notebooks 01 / 04
    assert ds.class_names == ["cat", "dog"] and list(ds.y) == [0, 0, 0, 1, 1, 1]
    ref = create_encoder("resnet20-cifar10").encode_images([Image.open(p).convert("RGB") for p in sorted(
        str(f) for f in folder.rglob("*.png"))])
    np.testing.assert_allclose(ds.X, ref, atol=1e-5)
    # a second run with another encoder into the same store is refused
    assert cli.main(["embed", str(folder), "--encoder", "resnet32-cifar10", "--out", str(out), "--quiet"]) == 2
    assert "made with encoder 'resnet20-cifar10', not 'resnet32-cifar10'" in capsys.readouterr().err


def test_embed_csv_source(folder, tmp_path):
    csv = tmp_path / "list.csv"
    csv.write_text("path,label\nimgs/cat/0.png,cat\nimgs/dog/1.png,dog\nimgs/dog/2.png,\n")
    ds, src = load_source(str(csv))
    assert src["kind"] == "csv" and ds.class_names == ["cat", "dog"] and list(ds.labels) == [0, 1, -1]
    out = tmp_path / "s"
    assert cli.main(["embed", str(csv), "--encoder", "resnet20-cifar10", "--out", str(out), "--quiet"]) == 0
    meta = Store.open(out).meta()
    assert meta["label"].isna().tolist() == [False, False, True]


def test_csv_source_has_the_folder_loaders_checks(folder, tmp_path, capsys):
    """The CSV source is the data loader ``labelled-csv``: as a loader it reports an unreadable
    image up front with its path (or skips it with its row); ``zsl-lab embed`` leaves that to its
    workers, which decode every image anyway (no second decoding pass over the collection): the
    shard holding it fails naming the path while the other shards are written, or with
    ``--bad-images skip`` the image is left out and listed in its shard's marker. An image listed
    twice is warned about, and a store made from the CSV is refused once an image's content
    changed (the fingerprint covers contents, as the folder loader's does: it covered paths and
    labels only, and a rerun kept the stale embeddings)."""
    (folder / "dog" / "bad.png").write_bytes(b"not a png")
    csv = tmp_path / "bad.csv"
    csv.write_text("path,label\nimgs/cat/0.png,cat\nimgs/dog/bad.png,dog\nimgs/dog/1.png,dog\n")
    with pytest.raises(ValueError, match=r"1 of 3 images cannot be read: .*dog/bad\.png"):
        load_dataset("labelled-csv", path=str(csv))
    with pytest.warns(UserWarning, match=r"skipping 1 of 3 unreadable images: .*dog/bad\.png"):
        ds = load_dataset("labelled-csv", path=str(csv), bad_images="skip")
    assert [p.rsplit("/", 2)[-2:] for p in ds.items] == [["cat", "0.png"], ["dog", "1.png"]]
    assert list(ds.labels) == [0, 1] and ds.class_names == ["cat", "dog"]
    assert len(load_source(str(csv))[0].items) == 3  # embed's source: not decoded up front
    capsys.readouterr()
    out = tmp_path / "bad-store"
    assert cli.main(["embed", str(csv), "--encoder", "resnet20-cifar10", "--out", str(out), "--shard-size", "1",
                     "--quiet"]) == 2
    assert re.search(r"shard 1: 1 unreadable image\(s\): .*dog/bad\.png", capsys.readouterr().err)
    assert Store.open(out).done_shards() == [0, 2]  # the other shards are written
    with pytest.warns(UserWarning, match="1 unreadable image"):
        assert cli.main(["embed", str(csv), "--encoder", "resnet20-cifar10", "--out", str(tmp_path / "skip"),
                         "--bad-images", "skip", "--quiet"]) == 0
    skipped = Store.open(tmp_path / "skip")
    assert len(skipped) == 2 and skipped.marker(0)["skipped"][0][0].endswith("dog/bad.png")
    twice = tmp_path / "twice.csv"
    twice.write_text("path,label\nimgs/cat/0.png,cat\nimgs/dog/1.png,dog\nimgs/cat/0.png,cat\n")
    with pytest.warns(UserWarning, match="1 image\\(s\\) listed more than once"):
        load_dataset("labelled-csv", path=str(twice))

    good = tmp_path / "good.csv"
    good.write_text("path,label\nimgs/cat/0.png,cat\nimgs/dog/1.png,dog\n")
    fp = load_source(str(good))[0].fingerprint
    out = tmp_path / "s"
    assert cli.main(["embed", str(good), "--encoder", "resnet20-cifar10", "--out", str(out), "--quiet"]) == 0
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / "cat" / "0.png")
    assert load_source(str(good))[0].fingerprint != fp
    capsys.readouterr()
    assert cli.main(["embed", str(good), "--encoder", "resnet20-cifar10", "--out", str(out), "--quiet"]) == 2
    assert "other file contents" in capsys.readouterr().err


def test_dataset_split_source_names_the_registered_split():
    ds, src = load_source("cifar10:test")
    assert len(ds) == 10_000 and src == {"kind": "dataset", "name": "cifar10", "split": "test"}


@pytest.mark.parametrize("argv, message", [
    (["embed", "/no/such/folder", "--encoder", "resnet20-cifar10", "--out", "X"], "neither an image folder"),
    (["embed", "FOLDER", "--encoder", "no-such-encoder", "--out", "X"], "--encoder: unknown encoder 'no-such-encoder'"),
    (["embed", "FOLDER", "--encoder", "resnet20-cifar10", "--out", "X", "--engine", "local", "--bad-images", "skip",
      "--shard-size", "0"], "--shard-size: must be a positive integer, got '0'"),
])
def test_embed_errors_are_clear(argv, message, folder, tmp_path, capsys):
    argv = [str(folder) if a == "FOLDER" else str(tmp_path / "o") if a == "X" else a for a in argv]
    try:
        rc = cli.main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    assert rc == 2
    assert message in capsys.readouterr().err


def test_a_deleted_manifest_is_said_and_the_same_command_rebuilds_it(folder, tmp_path, capsys):
    out = tmp_path / "store"
    argv = ["embed", str(folder), "--encoder", "resnet20-cifar10", "--out", str(out), "--shard-size", "4", "--quiet"]
    assert cli.main(argv) == 0
    X = Store.open(out).to_array()
    (out / "manifest.json").unlink()
    capsys.readouterr()
    with pytest.raises(ValueError, match="manifest.json is missing, but the folder holds a store's files"):
        load_dataset("embeddings", path=str(out))  # user data of notebooks 01 / 04: the store's own message
    assert cli.main(["index", str(out)]) == 2
    assert "manifest.json is missing" in capsys.readouterr().err
    # another encoder cannot adopt the shards
    assert cli.main([*argv[:3], "resnet32-cifar10", *argv[4:]]) == 2
    assert "shard 0's done marker records encoder 'resnet20-cifar10', not 'resnet32-cifar10'" in capsys.readouterr().err
    # the same command rebuilds the manifest and keeps the verified shards
    assert cli.main(argv) == 0
    assert "this run: 0 shard(s)" in capsys.readouterr().out
    np.testing.assert_array_equal(Store.open(out).to_array(), X)
