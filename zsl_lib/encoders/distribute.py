"""Sharded, resumable extraction of a collection into a :class:`~zsl_lib.data.store.Store`.

One worker, two distributors:

* the worker is three plain functions over one shard's items: :func:`read_piece` (read, decode
  and preprocess images: the CPU stage), :func:`forward_piece` (the encoder's forward pass) and
  :func:`finish_shard` (write the embeddings, the meta and the done marker last).
  :func:`extract_shard` runs them in sequence for one shard.
* ``engine="local"`` (default, no extra dependency): the shards in this process, one after the
  other (what runs on a laptop and in the notebooks).
* ``engine="ray"`` (``pip install -e .[scale]``): a Ray Data pipeline. The images of the missing
  shards are decoded by CPU tasks (:func:`read_piece`), a pool of actors runs the forward pass
  (:class:`ForwardActor`: the encoder is loaded once per actor, one GPU per actor where the
  cluster has GPUs), and the driver writes each shard once all its rows are back
  (:func:`finish_shard`), so the shard files are the same whichever engine ran. ``ray.init()``
  starts a local Ray by default; ``address=`` (or ``RAY_ADDRESS``) joins an existing cluster
  (the store folder must then be on a file system the driver writes). :func:`ray_resources`
  plans the two stages per node (every node keeps a CPU to decode and holds actors) and keeps
  their resource requests apart (Ray Data would fuse them into one stage); the manifest's
  ``stats["ray"]`` records the rows each node decoded and forwarded and the operators Ray ran.

A rerun skips done shards (:meth:`Store.missing_shards`: a shard with a truncated or damaged file
is extracted again). A shard whose worker raised is retried ``retries`` times; shards that still
fail, and unreadable images with ``bad_images="error"``, are reported together at the end with
their paths after every other shard was written. ``bad_images="skip"`` leaves unreadable images
out (listed in the shard's done marker and the manifest's ``stats``).

Per-stage seconds (read/decode, forward, write) and images/s per worker are shown in the progress
bar and recorded in every done marker and in the manifest's ``stats``.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from zsl_lib.data.base import ImageDataset
from zsl_lib.data.store import DEFAULT_SHARD_SIZE, Store, default_worker
from zsl_lib.engine import ray_module
from zsl_lib.validation import check_choice, check_int

from .base import Encoder, create_encoder
from .embedding import torch_threads

ENGINES = ("local", "ray")
BAD_IMAGES = ("error", "skip")
SCALE_HINT = "pip install -e .[scale]"


class ShardErrors(RuntimeError):
    """Some shards could not be written (their reasons, with image paths, are in the message);
    every other shard was written and a rerun extracts only the failed ones."""

    def __init__(self, failures: dict[int, str]):
        self.failures = dict(sorted(failures.items()))
        lines = "; ".join(f"shard {i}: {why}" for i, why in list(self.failures.items())[:10])
        more = f"; ... {len(self.failures) - 10} more" if len(self.failures) > 10 else ""
        super().__init__(f"{len(self.failures)} shard(s) not written: {lines}{more}. To keep the done shards, run "
                         "again with bad_images='skip' (--bad-images skip): unreadable images are left out and listed "
                         "in their shard's marker. Fixing or removing the files changes the collection, which this "
                         "store refuses: then start a new store (another --out)")


class UnreadableImages(ValueError):
    """A shard holds images that cannot be read (``bad_images="error"``); the message names them."""


def _encoder(encoder: str | Encoder, device: str = "cpu") -> Encoder:
    return encoder if isinstance(encoder, Encoder) else create_encoder(encoder, device=device)


def item_frame(dataset: ImageDataset) -> pd.DataFrame:
    """The store items of ``dataset`` in its order: ``id`` (the item), ``path`` (the file, or
    ``<archive>::<member>``), ``label`` (None where the item has no single label)."""
    src = getattr(dataset.source, "path", None)
    paths = [f"{src}::{it}" for it in dataset.items] if src is not None else list(dataset.items)
    labels = pd.array(np.asarray(dataset.labels), dtype="Int64")
    labels[np.asarray(dataset.labels) < 0] = pd.NA
    return pd.DataFrame({"id": list(dataset.items), "path": paths, "label": labels})


def plan_store(out: str | Path, dataset: ImageDataset, encoder: str | Encoder,
               shard_size: int = DEFAULT_SHARD_SIZE, source: dict | None = None) -> Store:
    """Plan (or reopen, to resume) the store of ``dataset`` embedded by ``encoder`` at ``out``."""
    enc = _encoder(encoder)
    if "image" not in enc.modality:
        raise ValueError(f"encoder {enc.name!r} is a {enc.modality} encoder: a store needs an image encoder")
    if getattr(enc, "base_image_encoder", None) is not None:
        raise ValueError(f"encoder {enc.name!r} is derived from {enc.base_image_encoder!r}: store the base "
                         "encoder's embeddings and apply its projection when reading")
    return Store.create(out, encoder=enc.name, dim=enc.dim, shard_size=shard_size, items=item_frame(dataset),
                        preprocess=enc.cache_key, class_names=dataset.class_names,
                        source=dict(source or {}, dataset=dataset.name, split=dataset.split,
                                    fingerprint=dataset.fingerprint))


# ---- the worker ------------------------------------------------------------------------------
def read_piece(dataset: ImageDataset, positions: np.ndarray, preprocess) -> tuple[torch.Tensor, np.ndarray, list, float]:
    """Read, decode and preprocess the images at ``positions`` of ``dataset``.

    Returns ``(pixels (k, ...), kept positions (k,), bad [(path, reason)], seconds)``: unreadable
    images are returned in ``bad`` with the path and the reason, never raised."""
    t0 = time.perf_counter()
    tensors, kept, bad = [], [], []
    src = getattr(dataset.source, "path", None)
    with torch.inference_mode(), torch_threads(1):  # one thread: 3-30x faster small per-image ops (see extract())
        for p in np.asarray(positions, dtype=np.int64):
            try:
                tensors.append(preprocess(dataset.get_image(int(p))))
                kept.append(int(p))
            except Exception as e:  # noqa: BLE001 - any unreadable image is reported with its path
                item = dataset.items[int(p)]
                bad.append((f"{src}::{item}" if src is not None else item, f"{type(e).__name__}: {e}"))
    pixels = torch.stack(tensors) if tensors else torch.zeros((0,))
    return pixels, np.asarray(kept, dtype=np.int64), bad, time.perf_counter() - t0


def forward_piece(encoder: Encoder, pixels: torch.Tensor, threads: int | None = None) -> tuple[np.ndarray, float]:
    """The encoder's forward pass over ``pixels`` with ``threads`` torch / ONNX threads (None:
    unchanged); returns ``(float32 (k, dim), seconds)``."""
    t0 = time.perf_counter()
    if len(pixels) == 0:
        return np.zeros((0, encoder.dim), np.float32), 0.0
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    try:
        with torch.inference_mode():
            y = encoder.forward(pixels.to(encoder.device)).float().cpu().numpy()
    finally:
        torch.set_num_threads(old)
    return np.ascontiguousarray(y, dtype=np.float32), time.perf_counter() - t0


def finish_shard(store: Store, i: int, X: np.ndarray, kept: np.ndarray, bad: list, bad_images: str,
                 seconds: dict, worker: str) -> dict:
    """Write shard ``i`` from its rows (``kept``: positions in the item list, in any order) and
    return its done marker. With ``bad_images="error"`` and unreadable images, nothing is written
    and a ValueError names the paths."""
    if bad and bad_images == "error":
        listing = "; ".join(f"{p} ({r})" for p, r in bad[:5]) + (f"; ... {len(bad) - 5} more" if len(bad) > 5 else "")
        raise UnreadableImages(f"{len(bad)} unreadable image(s): {listing}")
    order = np.argsort(kept, kind="stable")
    a, _ = store.shard_range(i)
    meta = store.shard_items(i).iloc[np.asarray(kept)[order] - a]
    return store.write_shard(i, np.asarray(X)[order], meta, seconds=seconds, worker=worker,
                             skipped=sorted(bad) if bad else None)


def extract_shard(store: Store, i: int, dataset: ImageDataset, encoder: Encoder, *, batch_size: int | None = None,
                  bad_images: str = "error", threads: int | None = None, worker: str | None = None) -> dict:
    """Extract shard ``i`` in this process (read, forward, write, done marker); returns the marker."""
    a, b = store.shard_range(i)
    bs = int(batch_size or encoder.default_batch_size)
    secs = {"read": 0.0, "forward": 0.0}
    parts, kept, bad = [], [], []
    encoder.model  # noqa: B018 - load the model before timing
    for s in range(a, b, bs):
        pixels, k, bd, t_read = read_piece(dataset, np.arange(s, min(s + bs, b)), encoder.preprocess)
        y, t_fwd = forward_piece(encoder, pixels, threads)
        parts.append(y)
        kept.append(k)
        bad += bd
        secs["read"] += t_read
        secs["forward"] += t_fwd
    X = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
    return finish_shard(store, i, X, np.concatenate(kept), bad, bad_images, secs, worker or default_worker())


def _check_plan(store: Store, dataset: ImageDataset, encoder: Encoder) -> None:
    if store.encoder != encoder.name or store.manifest.get("preprocess") != encoder.cache_key:
        raise ValueError(f"store {store.path} holds {store.encoder!r} embeddings; refusing to add {encoder.name!r} "
                         "ones (one store per encoder): write to another folder")
    if store.n_items != len(dataset):
        raise ValueError(f"store {store.path} plans {store.n_items} items, the collection has {len(dataset)}")


def _postfix(stats: dict) -> dict:
    s = stats["seconds"]
    busy = sum(s.values()) or 1e-9
    return {"read": f"{s['read'] / busy:.0%}", "fwd": f"{s['forward'] / busy:.0%}", "write": f"{s['write'] / busy:.0%}"}


def _finish(store: Store, failures: dict[int, str], wall: float, engine: str, n_done: int, extra: dict) -> Store:
    stats = store.summary_stats()
    stats.update(engine=engine, wall_s=round(wall, 3), shards_extracted_last_run=n_done,
                 images_per_s_wall=round(stats["rows"] / wall, 2) if wall > 0 and n_done else None,
                 skipped_images=[s for i in store.done_shards() for s in store.marker(i).get("skipped", [])][:1000],
                 **extra)
    store.update_stats(stats)
    skipped = stats["skipped"]
    if skipped:
        warnings.warn(f"store {store.path}: {skipped} unreadable image(s) skipped (listed in the manifest's stats "
                      "and the shards' done markers)", stacklevel=3)
    if failures:
        raise ShardErrors(failures)
    return store


def extract_to_store(dataset: ImageDataset, encoder: str | Encoder, out: str | Path, *, engine: str = "local",
                     shard_size: int = DEFAULT_SHARD_SIZE, bad_images: str = "error", batch_size: int | None = None,
                     retries: int = 1, progress: bool = True, address: str | None = None,
                     num_actors: int | None = None, threads: int | None = None, device: str = "cpu",
                     source: dict | None = None) -> Store:
    """Embed every image of ``dataset`` with ``encoder`` into the store at ``out`` (created, or
    resumed: only missing shards are extracted). Returns the :class:`Store`.

    ``engine``: ``"local"`` or ``"ray"`` (see the module docstring; ``address``, ``num_actors``
    apply to Ray). ``bad_images``: ``"error"`` (shards with an unreadable image are not written;
    their paths are reported after every other shard is done) or ``"skip"``. ``retries``: times a
    shard whose worker raised is tried again in the same run. ``threads``: torch / ONNX threads
    of each forward pass (default: unchanged locally, the actor's CPUs on Ray).
    """
    check_choice("engine", engine, ENGINES, "extract_to_store")
    check_choice("bad_images", bad_images, BAD_IMAGES, "extract_to_store")
    check_int("shard_size", shard_size, minimum=1)
    check_int("retries", retries, minimum=0)
    if not isinstance(dataset, ImageDataset):
        raise TypeError(f"extract_to_store expects an ImageDataset, got {type(dataset).__name__}")
    enc = _encoder(encoder, device)
    store = plan_store(out, dataset, enc, shard_size, source)
    _check_plan(store, dataset, enc)
    todo = store.missing_shards()
    t0 = time.perf_counter()
    if engine == "local":
        failures = _run_local(store, dataset, enc, todo, batch_size, bad_images, retries, progress, threads)
        extra = {}
    else:
        failures, extra = run_ray(store, dataset, encoder if isinstance(encoder, Encoder) else enc.name, todo,
                                  batch_size=batch_size, bad_images=bad_images, retries=retries, progress=progress,
                                  address=address, num_actors=num_actors, threads=threads, device=device)
    return _finish(store, failures, time.perf_counter() - t0, engine, len(todo) - len(failures), extra)


def _run_local(store, dataset, enc, todo, batch_size, bad_images, retries, progress, threads) -> dict[int, str]:
    failures: dict[int, str] = {}
    n_rows = sum(b - a for a, b in map(store.shard_range, todo))
    acc = {"seconds": {"read": 0.0, "forward": 0.0, "write": 0.0}}
    with tqdm(total=n_rows, unit="img", desc=f"{enc.name} -> {store.path.name} (local)", disable=not progress) as bar:
        for i in todo:
            for attempt in range(retries + 1):
                try:
                    m = extract_shard(store, i, dataset, enc, batch_size=batch_size, bad_images=bad_images,
                                      threads=threads)
                    failures.pop(i, None)
                    break
                except UnreadableImages as e:  # retrying cannot help
                    failures[i] = str(e)
                    break
                except Exception as e:  # noqa: BLE001 - a failed worker: retried, then reported
                    failures[i] = f"{type(e).__name__}: {e} (after {attempt + 1} attempt(s))"
            a, b = store.shard_range(i)
            bar.update(b - a)
            if i not in failures:
                for k in acc["seconds"]:
                    acc["seconds"][k] += m["seconds"].get(k, 0.0)
                bar.set_postfix(_postfix(acc) | {"img/s": m["images_per_s"]})
    return failures


# ---- Ray -------------------------------------------------------------------------------------
def import_ray():
    """``ray`` with Ray Data (:func:`zsl_lib.engine.ray_module`), or an ImportError naming the extra."""
    return ray_module(data=True)


def decode_stage(batch: dict, dataset: ImageDataset, encoder: str | Encoder) -> dict:
    """Ray Data CPU stage (tasks): pieces of shards in (``shard``, ``start``, ``stop``), one row per
    image out: ``pixels`` (zeros for an unreadable image), its position ``pos``, ``bad`` (``"path\treason"``
    for an unreadable image, else ``""``) and its share of the read seconds ``t_read``."""
    preprocess = _encoder(encoder).preprocess
    shard, pos, pieces, bad, t_read = [], [], [], [], []
    for sh, start, stop in zip(batch["shard"], batch["start"], batch["stop"]):
        want = np.arange(int(start), int(stop))
        px, kept, bd, dt = read_piece(dataset, want, preprocess)
        lost = np.setdiff1d(want, kept)  # read_piece reports bad images in position order
        shard += [int(sh)] * len(want)
        pos += kept.tolist() + lost.tolist()
        pieces.append((px.numpy(), len(lost)))
        bad += [""] * len(kept) + [f"{p}\t{why}" for p, why in bd]
        t_read += [dt / len(want)] * len(want)
    shape = next((px.shape[1:] for px, _ in pieces if len(px)), None)
    if shape is None:  # every image of this batch unreadable: zeros of the encoder's real input shape,
        # so that Ray can stack these rows with good ones in the forward stage's batch
        from PIL import Image  # noqa: PLC0415

        shape = tuple(preprocess(Image.new("RGB", (32, 32))).shape)
    pixels = np.concatenate([np.concatenate([px.reshape((-1, *shape)), np.zeros((n_lost, *shape), np.float32)])
                             for px, n_lost in pieces]) if pieces else np.zeros((0, *shape), np.float32)
    import ray  # noqa: PLC0415

    node = ray.get_runtime_context().get_node_id()
    return {"shard": np.asarray(shard, np.int64), "pos": np.asarray(pos, np.int64), "pixels": pixels,
            "bad": np.asarray(bad, dtype=object), "t_read": np.asarray(t_read, np.float64),
            "reader": np.full(len(pos), f"read@node:{node[:12]}", dtype=object),
            "read_node": np.full(len(pos), node, dtype=object)}


class ForwardActor:
    """Ray Data actor stage: the encoder is built once per actor; each batch of decoded images is
    run through its forward pass. A failure is returned in the ``error`` column (the driver
    retries the shard) instead of failing the whole job."""

    def __init__(self, encoder: str | Encoder, threads: int | None = None, device: str = "cpu"):
        import ray  # noqa: PLC0415

        self.encoder = _encoder(encoder, device)
        self.threads = threads
        self.encoder.model  # noqa: B018 - load once per actor
        self.node = ray.get_runtime_context().get_node_id()
        self.worker = f"node:{self.node[:12]}/{default_worker()}"

    def __call__(self, batch: dict) -> dict:
        n = len(batch["pos"])
        ok = np.asarray([b == "" for b in batch["bad"]], dtype=bool)
        emb = np.zeros((n, self.encoder.dim), np.float32)
        error, t_fwd = "", 0.0
        try:
            if ok.any():
                y, t_fwd = forward_piece(self.encoder, torch.from_numpy(np.ascontiguousarray(batch["pixels"][ok])),
                                         self.threads)
                emb[ok] = y
        except Exception as e:  # noqa: BLE001 - reported per shard, retried by the driver
            error = f"{type(e).__name__}: {e}"
        return {"shard": batch["shard"], "pos": batch["pos"], "bad": batch["bad"], "t_read": batch["t_read"],
                "reader": batch["reader"], "read_node": batch["read_node"],
                "fwd_node": np.full(n, self.node, dtype=object), "emb": emb, "t_forward": np.full(n, t_fwd / max(int(ok.sum()), 1)) * ok,
                "error": np.full(n, error, dtype=object), "worker": np.full(n, self.worker, dtype=object)}


def ray_resources(ray, num_actors: int | None, threads: int | None) -> dict:
    """The plan of the two Ray Data stages: forward actors (how many, CPUs and GPUs each, torch
    threads, device) and the CPUs of each decode task.

    * GPUs in the cluster: one actor per GPU (1 CPU, 1 GPU), decode tasks of 1 CPU.
    * CPUs only: planned per node, from the smallest node (``c`` CPUs), so that every node keeps
      room to decode: one CPU per node is left to the decode tasks (half a CPU on a node of fewer
      than 2), the rest is the forward share, cut into actors of 1 CPU (2 actors of half of it
      where it is 1 CPU or less: the 2-CPU default gets 2 actors of 0.5 CPU). Actors on every
      node: a node full of actors decodes nothing, and Ray Data sends a decoded batch to an actor
      on the node that decoded it, so a pool packed on one node would leave the other node idle
      (measured here on a simulated 2-node cluster). Ray Data spreads the pool over the nodes
      (its default scheduling strategy for actors, SPREAD).
    * Ray Data fuses two adjacent map stages that ask for the same resources into one
      (ray-project/ray#54433: decoding would then run inside the actors, one stage): where the
      forward actors ask for the decode tasks' CPUs, the decode tasks ask for half, two of them
      sharing the node's decode CPU.

    ``num_actors`` overrides the number of actors (their CPUs shrink to fit, at least 0.25);
    ``threads`` the torch threads of each (default: its CPUs, at least 1)."""
    res = ray.cluster_resources()
    gpus = int(res.get("GPU", 0))
    if gpus:
        n = int(num_actors or gpus)
        if n > gpus:
            raise ValueError(f"num_actors={n}: the Ray cluster has {gpus} GPU(s), one per actor; pass at most {gpus}")
        return {"actors": n, "num_cpus": 1.0, "num_gpus": 1, "threads": threads or 1, "device": "cuda",
                "decode_cpus": 1.0}
    nodes = [float(n.get("Resources", {}).get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    nodes = [c for c in nodes if c > 0] or [float(res.get("CPU", 1))]
    c = min(nodes)
    decode = 1.0 if c >= 2 else 0.5
    share = c - decode  # forward CPUs per node
    per = share / 2 if share <= 1 else share / int(share)
    per_node = [int((ci - decode) / per + 1e-9) for ci in nodes]
    n = int(num_actors or sum(per_node))
    per = max(0.25, min(per, sum(ci - decode for ci in nodes) / n))
    fit = sum(int((ci - decode) / 0.25 + 1e-9) for ci in nodes)
    if n > fit:  # the pool would never be complete (the pass waits for every actor)
        raise ValueError(f"num_actors={n}: the Ray cluster's {len(nodes)} node(s) of {c:g}+ CPUs hold at most {fit} "
                         "actors of 0.25 CPU beside the decode tasks; pass a smaller num_actors (or none)")
    if per == decode:
        decode /= 2
    return {"actors": n, "num_cpus": per, "num_gpus": 0, "threads": threads or max(1, int(per)), "device": "cpu",
            "decode_cpus": decode}


def run_ray(store: Store, dataset: ImageDataset, encoder: str | Encoder, todo: list[int], *, batch_size=None,
            bad_images="error", retries=1, progress=True, address=None, num_actors=None, threads=None,
            device="cpu") -> tuple[dict[int, str], dict]:
    """Extract shards ``todo`` with Ray Data (see the module docstring); returns ``(failures, stats)``."""
    ray = import_ray()
    started = False
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        except Exception as e:  # noqa: BLE001 - add the way out to Ray's startup error
            raise RuntimeError(
                f"engine='ray': could not {'join the Ray cluster at ' + address if address else 'start a local Ray'} "
                f"({type(e).__name__}: {e}). On a busy machine a local raylet can time out waiting for its agents: "
                "start one with `ray start --head --num-cpus N --metrics-export-port P` and pass --address auto"
            ) from e
        started = True
    try:
        enc = _encoder(encoder)
        bs = int(batch_size or enc.default_batch_size)
        r = ray_resources(ray, num_actors, threads)
        failures: dict[int, str] = {}
        remaining = list(todo)
        work = {"decode": {}, "forward": {}, "operators": []}
        for attempt in range(retries + 1):
            if not remaining:
                break
            # unreadable images are final: keep them across passes (a later pass reruns only failed workers)
            failures = {**{i: why for i, why in failures.items() if why.startswith("unreadable")},
                        **_ray_pass(ray, store, dataset, encoder, remaining, bs, bad_images, r, progress, attempt,
                                    work)}
            remaining = [i for i, why in failures.items() if not why.startswith("unreadable")]
        stats = {"ray": {"actors": r["actors"], "cpus_per_actor": r["num_cpus"], "gpus_per_actor": r["num_gpus"],
                         "threads_per_actor": r["threads"], "cpus_per_decode_task": r["decode_cpus"],
                         "nodes": sum(bool(n.get("Alive")) for n in ray.nodes()),
                         "decode_nodes": len(work["decode"]), "forward_nodes": len(work["forward"]),
                         "rows_per_node": {k: {n[:12]: v for n, v in sorted(work[k].items())}
                                           for k in ("decode", "forward")},
                         "operators": work["operators"]}}
        return {i: why.removeprefix("unreadable ") for i, why in failures.items()}, stats
    finally:
        if started:
            ray.shutdown()


@contextlib.contextmanager
def _data_context(**values):
    """Ray Data's (process-wide) DataContext with ``values`` set for one pass, restored after."""
    from ray.data import DataContext  # noqa: PLC0415

    ctx = DataContext.get_current()
    old = {k: getattr(ctx, k) for k in values}
    try:
        for k, v in values.items():
            setattr(ctx, k, v)
        yield ctx
    finally:
        for k, v in old.items():
            setattr(ctx, k, v)


def _operators(ds) -> list[str]:
    """The operators Ray Data ran for ``ds`` (from ``ds.stats()``; fused stages are one name
    joined by ``->``)."""
    import re  # noqa: PLC0415

    return re.findall(r"^Operator \d+ (.+?): ", ds.stats(), flags=re.M)


def _ray_pass(ray, store, dataset, encoder, todo, bs, bad_images, r, progress, attempt, work) -> dict[int, str]:
    """One Ray Data pass over the pieces of shards ``todo``; returns the failed shards. ``work``
    collects the rows decoded and forwarded per node and the operators Ray Data ran."""
    # the whole pool is up before the first batch: on a cluster, actors that start late would see
    # the early batches go to the first ready node
    with _data_context(enable_progress_bars=False, wait_for_min_actors_s=600):
        return _ray_pass_in(ray, store, dataset, encoder, todo, bs, bad_images, r, progress, attempt, work)


def _ray_pass_in(ray, store, dataset, encoder, todo, bs, bad_images, r, progress, attempt, work) -> dict[int, str]:
    from ray.data import ActorPoolStrategy  # noqa: PLC0415

    rows = [{"shard": i, "start": s, "stop": min(s + bs, store.shard_range(i)[1])}
            for i in todo for s in range(*store.shard_range(i)[:2], bs)]
    ds = ray.data.from_items(rows, override_num_blocks=min(len(rows), 200))
    ds = ds.map_batches(decode_stage, fn_kwargs={"dataset": dataset, "encoder": encoder}, batch_size=1,
                        num_cpus=r["decode_cpus"])
    ds = ds.map_batches(ForwardActor, fn_constructor_kwargs={"encoder": encoder, "threads": r["threads"],
                                                               "device": r["device"]},
                        batch_size=bs, compute=ActorPoolStrategy(size=r["actors"]), num_cpus=r["num_cpus"],
                        num_gpus=r["num_gpus"] or None)
    need = {i: store.shard_range(i)[1] - store.shard_range(i)[0] for i in todo}
    got: dict[int, dict] = {}
    failures: dict[int, str] = {}
    acc = {"seconds": {"read": 0.0, "forward": 0.0, "write": 0.0}}
    desc = f"{Path(str(store.path)).name} (ray, {r['actors']} actors)" + (f" retry {attempt}" if attempt else "")
    with tqdm(total=sum(need.values()), unit="img", desc=desc, disable=not progress) as bar:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            for j, shard in enumerate(batch["shard"]):
                shard = int(shard)
                g = got.setdefault(shard, {"n": 0, "kept": [], "emb": [], "bad": [], "t_read": 0.0,
                                           "t_forward": 0.0, "workers": set(), "readers": set(), "error": ""})
                g["n"] += 1
                g["t_read"] += float(batch["t_read"][j])
                g["t_forward"] += float(batch["t_forward"][j])
                g["error"] = g["error"] or str(batch["error"][j])
                g["readers"].add(str(batch["reader"][j]))
                node = str(batch["read_node"][j])
                work["decode"][node] = work["decode"].get(node, 0) + 1
                if batch["bad"][j]:
                    g["bad"].append(tuple(str(batch["bad"][j]).split("\t", 1)))
                else:
                    g["kept"].append(int(batch["pos"][j]))
                    g["emb"].append(batch["emb"][j])
                    g["workers"].add(str(batch["worker"][j]))
                    node = str(batch["fwd_node"][j])
                    work["forward"][node] = work["forward"].get(node, 0) + 1
                bar.update(1)
                if g["n"] == need[shard]:
                    _ray_write(store, shard, g, bad_images, failures, acc)
                    bar.set_postfix(_postfix(acc))
                    del got[shard]
    for shard in set(need) - set(failures) - set(store.done_shards()):
        failures[shard] = "rows missing from the Ray pipeline"
    work["operators"] = _operators(ds)
    return failures


def _ray_write(store, shard, g, bad_images, failures, acc) -> None:
    """Write one shard whose rows all came back from the actors (the driver's write stage)."""
    if g["error"]:
        failures[shard] = f"worker raised {g['error']}"
        return
    X = np.stack(g["emb"]) if g["emb"] else np.zeros((0, store.dim), np.float32)
    try:
        m = finish_shard(store, shard, X, np.asarray(g["kept"], np.int64), sorted(g["bad"]), bad_images,
                         {"read": g["t_read"], "forward": g["t_forward"]}, ",".join(sorted(g["workers"]) + sorted(g["readers"])) or "ray")
    except UnreadableImages as e:
        failures[shard] = f"unreadable {e}"
        return
    for k in acc["seconds"]:
        acc["seconds"][k] += m["seconds"].get(k, 0.0)


# ---- sources -----------------------------------------------------------------------------------
def load_source(source: str, bad_images: str = "error") -> tuple[ImageDataset, dict]:
    """The collection named by ``source``: an image folder (``<dir>/<class>/<image>``), a CSV of
    ``path,label``, or a registered dataset split ``name:split`` (e.g. ``cifar10:test``).
    Returns ``(dataset, description for the manifest)``. Images are not decoded here: the
    extraction's workers report (``bad_images="error"``: the shard fails, listing the paths, the
    other shards are written) or skip (``"skip"``: listed in the shard's marker) unreadable images
    as they decode them, so a collection is decoded once, not twice."""
    from zsl_lib.data import list_datasets, load_dataset  # noqa: PLC0415

    check_choice("bad_images", bad_images, BAD_IMAGES, "embed")
    p = Path(source).expanduser()
    if p.is_dir():
        return load_dataset("image-folder", root=str(p), check_images=False), {"kind": "image-folder",
                                                                               "root": str(p.resolve())}
    if p.suffix.lower() == ".csv":
        return load_dataset("labelled-csv", path=str(p), check_images=False), {"kind": "csv", "path": str(p.resolve())}
    name, sep, split = str(source).partition(":")
    if sep and name in list_datasets():
        return load_dataset(name, split=split), {"kind": "dataset", "name": name, "split": split}
    raise FileNotFoundError(
        f"embed: SOURCE {source!r} is neither an image folder (<dir>/<class>/<image>), a CSV of path,label, nor a "
        f"registered dataset split name:split (datasets: {', '.join(list_datasets())}; e.g. cifar10:test)"
    )
