"""``python -m zsl_lib.prepare``: check (and where possible download) the data the default
notebooks use, and print what is present, where it was found, and how to get what is missing.

Every dataset is checked and reported (one missing file never hides the others). Exit status 1
when anything is missing, so ``make reproduce`` stops before running notebooks that would fail;
``--keep-going`` (``make reproduce KEEP_GOING=1``) exits 0 anyway: the notebooks that need a
missing dataset then fail with the loader's own message and the others run.
"""

from __future__ import annotations

import argparse
import sys
import time

from zsl_lib.data import load_dataset

# (dataset, load_dataset kwargs) that the default notebook profiles read.
DEFAULT_DATA: list[tuple[str, dict]] = [
    ("cifar10", {"split": "train"}),
    ("cifar10", {"split": "test"}),
    ("tiny-imagenet", {"split": "train"}),
    ("tiny-imagenet", {"split": "val"}),
    ("fashion-products", {"split": "all"}),
    ("mulan-scene", {"split": "train"}),
    ("mulan-scene", {"split": "test"}),
]


def check(entries: list[tuple[str, dict]] = DEFAULT_DATA) -> list[dict]:
    """Load each entry once (which resolves, downloads and verifies its files)."""
    rows = []
    for name, kwargs in entries:
        t0 = time.perf_counter()
        try:
            ds = load_dataset(name, **kwargs)
            rows.append({"dataset": name, **kwargs, "status": "ok", "items": len(ds),
                         "seconds": round(time.perf_counter() - t0, 1), "problem": ""})
        except Exception as exc:  # noqa: BLE001  (report every dataset, then decide)
            rows.append({"dataset": name, **kwargs, "status": "missing", "items": 0,
                         "seconds": round(time.perf_counter() - t0, 1),
                         "problem": f"{type(exc).__name__}: {exc}"})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-going", action="store_true",
                        help="exit 0 even if something is missing (the notebooks that need it will fail)")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 if anything is missing (the default; kept for old scripts)")
    args = parser.parse_args(argv)
    rows = check(DEFAULT_DATA)
    for r in rows:
        print(f"{r['status']:8s} {r['dataset']:17s} {r.get('split', ''):6s} {r['items']:7d} items "
              f"{r['seconds']:6.1f}s")
    for r in rows:
        if r["problem"]:
            print(f"\n{r['dataset']} ({r.get('split', '')}): {r['problem']}")
    missing = any(r["status"] != "ok" for r in rows)
    if missing and args.keep_going:
        print("\nSome datasets are missing: the notebooks that need them will fail; the others run.")
    elif missing:
        print("\nSome datasets are missing (see above), so `make reproduce` stops here. Provide them "
              "(data/README.md) or run `make reproduce KEEP_GOING=1` to run the notebooks anyway "
              "(those that need them will fail).")
    return 1 if (missing and not args.keep_going) else 0


if __name__ == "__main__":
    sys.exit(main())
