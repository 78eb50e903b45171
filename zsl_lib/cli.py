"""``zsl-lab``: the lab's command line (installed by ``pip install -e .``).

Commands::

    zsl-lab list                       notebooks (with their profiles), datasets and encoders
    zsl-lab data [--keep-going]        check / fetch the files the default notebooks use
    zsl-lab run [NAME ...] [--profile P] [--log-output]
                                       run notebooks (all by default) with a parameter profile
    zsl-lab results                    the published headline numbers beside the sources'
    zsl-lab embed SOURCE --encoder NAME --out STORE [--engine local|ray] [--address ADDR]
                  [--shard-size N] [--bad-images error|skip]
                                       embed an image folder, a CSV of path,label or a
                                       dataset split (cifar10:test) into a sharded store
    zsl-lab index STORE --kind ivf|ivfpq|bliss [--engine local|ray] [--address A] [--nlist N] [--out DIR]
                                       an index of an embedding store, built shard by shard

``zsl-lab run`` is ``python -m zsl_lib.runner``; only its default profile publishes to
``results/`` and ``figures/``.
"""

from __future__ import annotations

import argparse
import sys

from . import config, prepare, runner


def _cmd_list(_args) -> int:
    print("notebooks (profiles: default, smoke, paper):")
    for stem in runner.list_notebooks():
        profiles = [p for p in ("smoke", "paper") if runner.params_file(stem, p) is not None]
        print(f"  {stem:32s} default, {', '.join(profiles)}")
    from .data import list_datasets  # noqa: PLC0415  (imports the loaders only when asked)
    from .encoders import list_encoders  # noqa: PLC0415  (imports torch)

    print("datasets (zsl_lib.data.load_dataset names; see data/README.md):")
    print("  " + ", ".join(list_datasets()))
    print("encoders (zsl_lib.encoders.create_encoder names):")
    print("  " + ", ".join(list_encoders()))
    print(f"results: {config.results_dir()}  figures: {config.figures_dir()}")
    return 0


def _cmd_data(args) -> int:
    return prepare.main(["--keep-going"] if args.keep_going else [])


def _cmd_run(args) -> int:
    argv = [*args.notebooks, "--profile", args.profile]
    if args.log_output:
        argv.append("--log-output")
    return runner.main(argv)


def _cmd_results(args) -> int:
    from . import results  # noqa: PLC0415

    return results.main(args.rest)


def _cmd_index(args) -> int:
    """``zsl-lab index`` with bad input reported as one ``error:`` line and exit status 2."""
    try:
        return _build_index(args)
    except (ValueError, FileNotFoundError, ImportError, RuntimeError) as e:
        print(f"zsl-lab index: error: {e}", file=sys.stderr)
        return 2


def _build_index(args) -> int:
    """``zsl-lab index``: IVF / IVF-PQ merged on disk, or BLISS trained on a sample with the whole
    store assigned shard by shard (see :mod:`zsl_lib.index.ondisk`)."""
    import json  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from .data.store import Store  # noqa: PLC0415
    from .index.ondisk import OnDiskIVF, assign_store, store_parts, store_sample  # noqa: PLC0415

    store = Store.open(args.store)
    out = Path(args.out or Path(args.store) / f"index-{args.kind}")
    run = {"engine": args.engine, "address": args.address, "num_cpus": args.num_cpus}
    if args.kind in ("ivf", "ivfpq"):
        ix = OnDiskIVF(kind="flat" if args.kind == "ivf" else "pq", n_lists=args.nlist, n_probe=args.nprobe,
                       pq_m=args.pq_m, train_size=args.train_size, directory=out, random_state=args.seed,
                       progress=True, **run).fit(store)
        print(f"{args.kind}: {ix.n_gallery_} vectors, {args.nlist} lists, built in {ix.build_seconds_:.1f} s -> {out}")
        return 0
    import numpy as np  # noqa: PLC0415
    import torch  # noqa: PLC0415

    from .index.bliss_fixed import FAST_DEFAULTS, fixed_bliss  # noqa: PLC0415

    _, parts, n, _ = store_parts(store, 10_000)
    sample = store_sample(parts, n, args.train_size, args.seed)
    model = fixed_bliss(**{**FAST_DEFAULTS, "n_buckets": args.nlist, "n_probe": args.nprobe, "distance": "cosine",
                           "train_size": None, "random_state": args.seed}).fit(sample)
    A = assign_store(model, store, progress=True, **run)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "assignments.npy", A)
    torch.save(model.scorer(), out / "bliss_model.pt")
    (out / "bliss.json").write_text(json.dumps({"n_items": n, "train_items": len(sample), "params": model.get_params(),
                                                "store": store.content_identity()},  # what its rows are
                                               indent=1, default=str))
    print(f"bliss: {n} vectors in {args.nlist} buckets x {model.n_repetitions} repetitions, trained on "
          f"{len(sample)} -> {out}")
    return 0


def _add_index_parser(sub) -> None:
    p = sub.add_parser("index", help="index an embedding store shard by shard (IVF / IVF-PQ on disk, BLISS)")
    p.add_argument("store", help="an embedding store directory (zsl-lab embed ... --out STORE)")
    p.add_argument("--kind", choices=("ivf", "ivfpq", "bliss"), default="ivf")
    p.add_argument("--engine", choices=("local", "ray"), default="local")
    p.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS or a local cluster)")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs of a new local Ray cluster")
    p.add_argument("--nlist", type=int, default=100, help="IVF lists / BLISS buckets")
    p.add_argument("--nprobe", type=int, default=4, help="lists / buckets probed per query (stored default)")
    p.add_argument("--pq-m", type=int, default=8, help="IVF-PQ sub-quantisers (must divide the dimension)")
    p.add_argument("--train-size", type=int, default=100_000, help="items of the seeded training sample")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="output directory (default: STORE/index-KIND)")
    p.set_defaults(func=_cmd_index)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _cmd_embed(args) -> int:
    from .encoders import check_encoder_name  # noqa: PLC0415  (imports torch)
    from .encoders.distribute import ShardErrors, extract_to_store, load_source  # noqa: PLC0415

    try:
        check_encoder_name("--encoder", args.encoder)
        dataset, source = load_source(args.source, args.bad_images)
        store = extract_to_store(dataset, args.encoder, args.out, engine=args.engine, address=args.address,
                                 shard_size=args.shard_size, bad_images=args.bad_images, batch_size=args.batch_size,
                                 source=source, progress=not args.quiet)
    except (ValueError, FileNotFoundError, ImportError, RuntimeError, ShardErrors) as e:
        print(f"zsl-lab embed: error: {e}", file=sys.stderr)
        return 2
    st = store.manifest["stats"]
    s = st["seconds"]
    print(f"{store.path}: {st['rows']} rows x {store.dim} ({store.encoder}) in {store.n_shards} shards; "
          f"this run: {st['shards_extracted_last_run']} shard(s) in {st['wall_s']:.1f} s; stage seconds "
          f"read {s['read']:.1f}, forward {s['forward']:.1f}, write {s['write']:.1f}"
          + (f"; {st['skipped']} unreadable image(s) skipped" if st["skipped"] else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zsl-lab", description="The zero-shot similarity lab: notebooks, data and results.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog="\n\n".join(__doc__.split("\n\n")[1:3]),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    p = sub.add_parser("list", help="notebooks, datasets and encoders")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("data", help="check / fetch the dataset files the default notebooks use")
    p.add_argument("--keep-going", action="store_true",
                   help="exit 0 even if files are missing (the notebooks that need them will fail)")
    p.set_defaults(func=_cmd_data)
    p = sub.add_parser("run", help="run notebooks with a parameter profile")
    p.add_argument("notebooks", nargs="*", help="notebook stems (default: all)")
    p.add_argument("--profile", default="default", choices=runner.PROFILES)
    p.add_argument("--log-output", action="store_true", help="stream cell output")
    p.set_defaults(func=_cmd_run)
    p = sub.add_parser("embed", help="embed a collection into a sharded, resumable store")
    p.add_argument("source", metavar="SOURCE",
                   help="image folder <dir>/<class>/<image>, CSV of path,label, or dataset split (cifar10:test)")
    p.add_argument("--encoder", required=True, help="image encoder name (zsl-lab list)")
    p.add_argument("--out", required=True, help="store folder (created; an existing store of the same plan is resumed)")
    p.add_argument("--engine", default="local", choices=("local", "ray"),
                   help="local: this process (default); ray: Ray Data (pip install -e .[scale])")
    p.add_argument("--address", default=None, help="Ray cluster address (default: RAY_ADDRESS, else a local Ray)")
    p.add_argument("--shard-size", type=_positive_int, default=10_000, help="items per shard (default 10000)")
    p.add_argument("--bad-images", default="error", choices=("error", "skip"),
                   help="unreadable images: report them with their paths (default) or skip them")
    p.add_argument("--batch-size", type=_positive_int, default=None, help="images per forward pass")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_embed)
    p = sub.add_parser("results", help="published headline numbers beside the sources'")
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_cmd_results)
    _add_index_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
