"""One task runner for the lab's embarrassingly parallel work (issue 21): map a pure, picklable
function over tasks, in this process or on Ray, results in task order.

- ``engine="local"`` (default, no extra dependency): an in-process loop with a progress bar; what
  runs on a laptop and in the notebooks.
- ``engine="ray"``: each task is a ``ray.remote`` task. Ray is imported lazily; ``ray.init()``
  starts a local cluster unless ``address=`` (or the ``RAY_ADDRESS`` environment variable) names
  an existing one, and an already initialised Ray is reused. Install it with
  ``pip install -e .[scale]``.

Both retry a task that raises (``max_retries`` more attempts; Ray's own ``max_retries`` with
``retry_exceptions=True``, which also covers a worker that died) and then raise
:class:`TaskError` naming the task. The function must be deterministic in its task for the two
engines to agree.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from .progress import bar

__all__ = ["ENGINES", "TaskError", "run_tasks", "ray_module"]

ENGINES = ("local", "ray")


class TaskError(RuntimeError):
    """A task that still failed after its retries; ``index`` and ``task`` say which."""

    def __init__(self, index: int, task, attempts: int, cause: BaseException):
        self.index, self.task, self.attempts = index, task, attempts
        super().__init__(f"task {index} ({task!r}) failed after {attempts} attempt(s): "
                         f"{type(cause).__name__}: {cause}")


def ray_module(data: bool = False):
    """``import ray`` (and Ray Data with ``data=True``), or an ImportError that says how to
    install it: the lab's one place that imports Ray."""
    try:
        import ray  # noqa: PLC0415
        if data:
            import ray.data  # noqa: F401, PLC0415
    except ImportError as err:
        raise ImportError(f"engine='ray' needs Ray{' Data' if data else ''}: pip install -e .[scale] "
                          f"(or pip install 'ray[data]'); {err}") from err
    return ray


def _check(engine: str, max_retries) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ValueError(f"max_retries must be an integer >= 0; got {max_retries!r}")


def _run_local(fn, tasks, max_retries, progress, desc):
    out = []
    for i, task in enumerate(bar(tasks, desc=desc, total=len(tasks), disable=not progress)):
        for attempt in range(max_retries + 1):
            try:
                out.append(fn(task))
                break
            except Exception as err:  # noqa: BLE001 - retried, then reported with its task
                if attempt == max_retries:
                    raise TaskError(i, task, attempt + 1, err) from err
    return out


def _run_ray(fn, tasks, max_retries, progress, desc, address, num_cpus, task_cpus):
    ray = ray_module()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        kwargs = {"address": address} if address else {"num_cpus": num_cpus}
        ray.init(**kwargs, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    # SPREAD: shards go to every node of a cluster (Ray's default packs the driver's node first)
    remote = ray.remote(num_cpus=task_cpus, max_retries=max_retries, retry_exceptions=True,
                        scheduling_strategy="SPREAD")(fn)
    refs = [remote.remote(t) for t in tasks]
    pending = {r: i for i, r in enumerate(refs)}
    with bar(total=len(refs), desc=desc, disable=not progress) as pb:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for r in done:
                i = pending.pop(r)
                try:
                    ray.get(r)
                except Exception as err:  # noqa: BLE001 - Ray retried it already
                    for other in pending:
                        ray.cancel(other)
                    cause = getattr(err, "cause", None) or err
                    raise TaskError(i, tasks[i], max_retries + 1, cause) from err
                pb.update(1)
    return ray.get(refs)


def run_tasks(
    fn: Callable,
    tasks: Sequence,
    engine: str = "local",
    address: str | None = None,
    num_cpus: int | None = None,
    progress: bool = True,
    *,
    max_retries: int = 2,
    task_cpus: float = 1,
    desc: str | None = None,
) -> list:
    """``[fn(t) for t in tasks]`` on the chosen ``engine`` (see the module doc), in task order.

    ``address``: a Ray cluster (``"ray://host:10001"`` or ``"host:6379"``); None: ``RAY_ADDRESS``
    or a new local cluster of ``num_cpus`` CPUs (None: all). ``task_cpus``: CPUs Ray reserves
    per task. ``max_retries``: further attempts of a task that raises before :class:`TaskError`.
    """
    _check(engine, max_retries)
    tasks = list(tasks)
    desc = desc or getattr(fn, "__name__", "tasks")
    if engine == "local":
        return _run_local(fn, tasks, max_retries, progress, desc)
    return _run_ray(fn, tasks, max_retries, progress, desc, address, num_cpus, task_cpus)
