"""One progress bar for the lab: rate and ETA in the terminal, a widget in JupyterLab.

:func:`bar` takes tqdm's arguments. Where it draws depends on ``ZSL_PROGRESS``:

- unset / ``auto``: ``tqdm.auto`` (an ipywidgets bar in JupyterLab, text in a terminal);
- ``terminal``: text on the process's original stderr (``sys.__stderr__``). The runner sets it
  for ``make reproduce``: a papermill kernel's original stderr is the terminal the user watches,
  so extraction, training and grid loops show their rate and ETA there while they run;
- ``off``: no bar.
"""

from __future__ import annotations

import contextlib
import os
import sys

MODES = ("auto", "terminal", "off")


def mode() -> str:
    value = os.environ.get("ZSL_PROGRESS", "").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(
            f"ZSL_PROGRESS={value!r} is not supported; use one of {', '.join(MODES)} (or unset it)"
        )
    return value


def bar(iterable=None, *, desc: str | None = None, total=None, unit: str = "it",
        disable: bool = False, leave: bool = False, **kwargs):
    """A tqdm progress bar (same arguments) drawn where the user looks (see the module doc)."""
    m = mode()
    if m == "terminal":
        from tqdm import tqdm  # noqa: PLC0415

        kwargs.setdefault("mininterval", 2.0)
        return tqdm(iterable, desc=desc, total=total, unit=unit, leave=True,
                    disable=disable, file=sys.__stderr__, dynamic_ncols=False, **kwargs)
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(iterable, desc=desc, total=total, unit=unit, leave=leave,
                disable=disable or m == "off", **kwargs)


@contextlib.contextmanager
def native_stdout_silenced():
    """Drop what compiled code prints to the process's standard output (file descriptor 1) inside
    the block: FAISS's on-disk index code prints its temporary file paths with ``printf``, which
    a notebook kernel forwards into the cell's output. Python's own ``print`` is not affected
    where ``sys.stdout`` is not fd 1 (a notebook), and is flushed first otherwise."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        try:
            sys.stdout.flush()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
