"""``bad_images`` in every notebook that reads a user's image folder (issue 22 item 8).

Each notebook's driver passes the parameter to the loader, whose up-front check decodes every
image in full: a truncated JPEG (header intact, so ``Image.open`` + ``verify()`` passed it) and a
text file named ``.jpg`` stop the run before any extraction, named with their paths ("raise", the
default), or are left out with a warning ("skip"). The folder comes from
:func:`conftest.folder_with_bad_jpegs` (6 files, 2 unreadable).
"""

from __future__ import annotations

import ast
import json
import re

import numpy as np
import pytest
from conftest import folder_with_bad_jpegs

from zsl_lib import config

BAD = [r"2 of 6 images cannot be read", r"cut\.jpg \(OSError: image file is truncated", r"notes\.jpg"]


def _no_extraction(*args, **kwargs):
    raise AssertionError("feature extraction started before the image check")


def _raises_naming_both(call):
    with pytest.raises(ValueError) as e:
        call()
    for pattern in BAD:
        assert re.search(pattern, str(e.value)), (pattern, str(e.value))
    assert "bad_images='skip'" in str(e.value)


@pytest.fixture
def folder(tmp_path):
    return folder_with_bad_jpegs(tmp_path / "photos")


# --- notebook 04: user_image_dir --------------------------------------------------------------

def test_04_user_task_checks_the_folder_before_extraction_and_can_skip(folder, monkeypatch):
    from zsl_lib import encoders
    from zsl_lib.experiments import lsh as E

    user = {"image_dir": str(folder), "encoder": "efficientnet-lite0", "query_fraction": 0.5}
    monkeypatch.setattr(encoders, "embed", _no_extraction)
    _raises_naming_both(lambda: E.load_user_task(user, progress=False, device="cpu"))
    monkeypatch.setattr(encoders, "embed", lambda ds, *a, **k: np.eye(len(ds.items), 4, dtype=np.float32))
    # skip: the 4 readable images are embedded; 2 of them are too few a gallery, which is named
    with pytest.warns(UserWarning, match="skipping 2 of 6"), pytest.raises(ValueError, match="gallery holds 2 items"):
        E.load_user_task({**user, "bad_images": "skip"}, progress=False, device="cpu")
    with pytest.raises(ValueError, match="parameter bad_images 'ignore'"):
        E.check_user({**user, "bad_images": "ignore"})


# --- notebook 03: user_image_dir --------------------------------------------------------------

def test_03_user_split_checks_the_folder_before_extraction_and_can_skip(folder, monkeypatch):
    from zsl_lib.encoders import semantics
    from zsl_lib.experiments import cvae as E

    monkeypatch.setattr(semantics, "embed", _no_extraction)
    _raises_naming_both(lambda: semantics.load_user_zsl_split(image_dir=str(folder), progress=False))
    # skip: the images left are loaded (4 items, 2 classes: too few for a seen/unseen split, named)
    with pytest.warns(UserWarning, match="skipping 2 of 6"), pytest.raises(AssertionError, match="extraction"):
        semantics.load_user_zsl_split(image_dir=str(folder), bad_images="skip", progress=False)
    with pytest.raises(ValueError, match="parameter bad_images 'ignore'"):
        E.check_parameters(**{**_call_kwargs("03-cvae-clusterable-features", "E.check_parameters"), "bad_images": "ignore"})


# --- notebook 02: user_images -----------------------------------------------------------------

def test_02_setup_checks_the_folder_and_can_skip(folder):
    from zsl_lib.experiments import tourney as E

    base = {**_call_kwargs("02-pairwise-tourney", "E.check_parameters"), "source": "user",
            "user_images": str(folder), "example_pair": [], "user_binary_group": []}
    _raises_naming_both(lambda: E.check_parameters(**base))
    with pytest.warns(UserWarning, match="skipping 2 of 6"):
        E.check_parameters(**{**base, "bad_images": "skip"})
    with pytest.raises(ValueError, match="parameter bad_images 'ignore'"):
        E.check_parameters(**{**base, "bad_images": "ignore"})


# --- notebook 05: user_csv --------------------------------------------------------------------

def test_05_keyword_csv_checks_every_image_and_can_skip(folder):
    from zsl_lib.data import keywords as kwd
    from zsl_lib.experiments import multilabel as E

    rows = ["path,keywords", "cat/0.jpg,cat|pet", "cat/notes.jpg,cat", "dog/0.jpg,dog|pet", "dog/cut.jpg,dog",
            "dog/1.jpg,dog"]
    (folder / "k.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"2 of 5 images cannot be read: .*notes\.jpg.*cut\.jpg"):
        kwd.user_keywords(folder / "k.csv")
    with pytest.warns(UserWarning, match="skipping 2 of 5"):
        kd = kwd.user_keywords(folder / "k.csv", bad_images="skip")
    assert kd.Y.shape == (3, 3) and kd.keywords == ["cat", "dog", "pet"]
    assert [p.rsplit("/", 2)[-2:] for p in kd.dataset.items] == [["cat", "0.jpg"], ["dog", "0.jpg"], ["dog", "1.jpg"]]
    with pytest.raises(ValueError, match="parameter bad_images 'ignore'"):
        E.Settings(datasets=["mulan-scene"], bad_images="ignore", device="cpu")


# --- every notebook reading an image folder has the parameter and passes it -------------------

IMAGE_FOLDER_NOTEBOOKS = {  # notebook: the parameter naming a user's image folder (or image CSV)
    "01-bliss-bias": "ann_user_data", "02-pairwise-tourney": "user_images",
    "03-cvae-clusterable-features": "user_image_dir", "04-lsh-comparison": "user_image_dir",
    "05-clip-multilabel": "user_csv",
}


def _cells(stem):
    return json.loads((config.notebooks_dir() / f"{stem}.ipynb").read_text())["cells"]


def _nb_parameters(stem) -> dict:
    cell = next(c for c in _cells(stem) if "parameters" in c["metadata"].get("tags", []))
    ns: dict = {}
    exec("".join(cell["source"]), {}, ns)  # literals only (test_notebook_help checks the cell)
    ns.pop("__annotations__", None)
    return ns


def _call_kwargs(stem, func) -> dict:
    """The keyword arguments of the notebook's call of ``func``, evaluated on its default parameters."""
    params = _nb_parameters(stem)
    for cell in _cells(stem):
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == func:
                return {k.arg: eval(compile(ast.Expression(k.value), stem, "eval"), dict(params)) for k in node.keywords}
    raise AssertionError(f"{stem} does not call {func}")


@pytest.mark.parametrize("stem", sorted(IMAGE_FOLDER_NOTEBOOKS))
def test_every_image_folder_notebook_has_bad_images_and_passes_it(stem):
    params = _nb_parameters(stem)
    assert IMAGE_FOLDER_NOTEBOOKS[stem] in params
    assert params.get("bad_images") == "raise", f"{stem}: no bad_images parameter (default 'raise')"
    code = "\n".join("".join(c["source"]) for c in _cells(stem) if c["cell_type"] == "code"
                     and "parameters" not in c["metadata"].get("tags", []))
    passed = [n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.keyword) and n.arg == "bad_images"
              and isinstance(n.value, ast.Name) and n.value.id == "bad_images"]
    assert passed, f"{stem}: bad_images is never passed on"


# --- the sweep of issue 22: parameters that passed silently or were named late ------------------

def test_03_repeated_seeds_are_refused():
    from zsl_lib.experiments import cvae

    base03 = _call_kwargs("03-cvae-clusterable-features", "E.check_parameters")
    with pytest.raises(ValueError, match=r"parameter seeds=\[0, 0\] repeats a seed"):  # was silent: counted twice
        cvae.check_parameters(**{**base03, "seeds": [0, 0]})


def test_05_certain_below_suspected_duplicate_is_named_in_setup():
    from zsl_lib.experiments import multilabel

    base05 = {**_call_kwargs("05-clip-multilabel", "E.Settings"), "device": "cpu"}
    with pytest.raises(ValueError, match=r"parameter certain_duplicate=0.5 must be >= suspected_duplicate=0.98"):
        multilabel.Settings(**{**base05, "certain_duplicate": 0.5})  # failed only in the preparation, unnamed


def test_02_single_class_user_data_is_named(tmp_path):
    from zsl_lib.experiments import tourney

    np.savez(tmp_path / "one.npz", X=np.ones((4, 3)), y=np.zeros(4, int))
    base02 = {**_call_kwargs("02-pairwise-tourney", "E.check_parameters"), "source": "user", "example_pair": [],
              "user_images": str(tmp_path / "one.npz")}
    with pytest.warns(UserWarning, match="only one class"), \
            pytest.raises(ValueError, match=r"parameter user_images: .*one\.npz holds 1 class"):
        tourney.check_parameters(**base02)  # was "parameter example_pair: expected two class names"
