"""The task runner of :mod:`zsl_lib.engine`: the local loop and Ray tasks return the same results
in task order, retry a task that raises once, name a task that keeps failing; a two-node Ray
cluster simulated on this machine (``ray.cluster_utils.Cluster``, Ray's own test tool) runs tasks
on both nodes. One Ray cluster for the whole module (it takes seconds to start)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from zsl_lib.engine import TaskError, run_tasks


def _square_sum(task):
    return float((np.arange(task, dtype=np.float64) ** 2).sum())


def _fail_once(task):
    """Raises the first time it runs for ``task`` (a marker file tells a retry apart)."""
    marker = Path(task["dir"]) / f"seen_{task['i']}"
    if not marker.exists():
        marker.write_text("x")
        raise RuntimeError(f"first attempt of task {task['i']} fails")
    return task["i"] * 10


def _always_fails(task):
    if task == 3:
        raise ValueError("bad shard 3")
    return task


def _node_of(_task):
    import ray

    time.sleep(0.4)  # long enough that one node alone cannot take every task first
    return ray.get_runtime_context().get_node_id()


def test_local_runs_every_task_in_order():
    assert run_tasks(_square_sum, [5, 1, 9, 0], progress=False) == [_square_sum(t) for t in [5, 1, 9, 0]]


def test_local_retries_a_task_that_raises_once(tmp_path):
    tasks = [{"dir": str(tmp_path), "i": i} for i in range(3)]
    assert run_tasks(_fail_once, tasks, progress=False) == [0, 10, 20]
    with pytest.raises(TaskError, match=r"task 1 .*'i': 7.*1 attempt"):  # no retries: the first failure is final
        run_tasks(_fail_once, [{"dir": str(tmp_path), "i": 0}, {"dir": str(tmp_path), "i": 7}], max_retries=0,
                  progress=False)


def test_local_reports_the_failing_task_after_its_retries():
    with pytest.raises(TaskError, match=r"task 3 \(3\) failed after 3 attempt\(s\): ValueError: bad shard 3") as e:
        run_tasks(_always_fails, range(5), progress=False, max_retries=2)
    assert e.value.index == 3 and e.value.task == 3


@pytest.mark.parametrize("kw, match", [({"engine": "spark"}, "engine must be one of local, ray"),
                                       ({"max_retries": -1}, "max_retries must be an integer >= 0")])
def test_bad_arguments_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        run_tasks(_square_sum, [1], progress=False, **kw)


def test_missing_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ImportError, match=r"pip install -e \.\[scale\]"):
        run_tasks(_square_sum, [1], engine="ray", progress=False)


@pytest.fixture(scope="module")
def cluster():
    ray = pytest.importorskip("ray")
    from ray_cluster import local_ray_cluster

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    with local_ray_cluster(1, 1) as c:
        yield c


def test_ray_equals_local(cluster):
    tasks = [7, 0, 3, 12, 5]
    assert run_tasks(_square_sum, tasks, engine="ray", address=cluster.address, progress=False) == \
        run_tasks(_square_sum, tasks, progress=False)


def test_ray_retries_a_task_that_raises_once(cluster, tmp_path):
    tasks = [{"dir": str(tmp_path), "i": i} for i in range(4)]
    assert run_tasks(_fail_once, tasks, engine="ray", progress=False) == [0, 10, 20, 30]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"seen_{i}" for i in range(4)]


def test_ray_reports_the_failing_task(cluster):
    with pytest.raises(TaskError, match=r"task 3 \(3\) failed after 2 attempt\(s\).*bad shard 3"):
        run_tasks(_always_fails, range(5), engine="ray", max_retries=1, progress=False)


def test_two_simulated_nodes_both_run_tasks(cluster):
    import ray

    assert len(ray.nodes()) == 2
    nodes = run_tasks(_node_of, range(8), engine="ray", progress=False)
    assert len(set(nodes)) == 2, nodes


def test_ondisk_index_built_on_ray_equals_local(cluster, tmp_path):
    from zsl_lib.index.ondisk import OnDiskIVF

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 16)).astype(np.float32)
    Q = rng.normal(size=(40, 16)).astype(np.float32)
    params = dict(n_lists=16, n_probe=3, shard_size=500, train_size=1000)
    local = OnDiskIVF(**params, directory=tmp_path / "local").fit(X).search(Q, 10)
    remote = OnDiskIVF(**params, engine="ray", directory=tmp_path / "ray").fit(X).search(Q, 10)
    np.testing.assert_array_equal(local[1], remote[1])
    np.testing.assert_allclose(local[0], remote[0], rtol=1e-6)
