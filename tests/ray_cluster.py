"""A Ray cluster of simulated nodes on this machine, for the tests and the benchmarks (not part
of the library): ``ray.cluster_utils.Cluster``, how Ray tests itself.

The tests import it directly (``tests/`` is on pytest's path); ``benchmarks/bench_scale.py``
adds ``tests/`` to ``sys.path``.
"""

from __future__ import annotations

import contextlib
import socket


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_ray_cluster(*cpus_per_node: int, object_store_mb: int = 400, attempts: int = 3):
    """A Ray cluster of ``len(cpus_per_node)`` simulated nodes on this machine
    (``ray.cluster_utils.Cluster``, how Ray tests itself), connected, shut down on exit.

    Every node's agent ports are given, and the head is started up to ``attempts`` times: on this
    loaded 2-core machine a raylet gave up (after ~15 s) on agents that took 16 s or more to
    start, and plain ``ray.init()`` failed that way repeatedly."""
    import ray  # noqa: PLC0415
    from ray.cluster_utils import Cluster  # noqa: PLC0415

    def node(cpus):
        return {"num_cpus": cpus, "object_store_memory": object_store_mb * 2**20,
                "metrics_agent_port": _free_port(), "metrics_export_port": _free_port(),
                "dashboard_agent_listen_port": _free_port(), "runtime_env_agent_port": _free_port()}

    for attempt in range(attempts):
        cluster = Cluster()
        try:
            cluster.add_node(**node(cpus_per_node[0]))  # the head
            break
        except Exception:  # noqa: BLE001 - a raylet that gave up on slow agents: start again
            cluster.shutdown()  # every process it started
            if attempt == attempts - 1:
                raise
    try:
        for c in cpus_per_node[1:]:
            cluster.add_node(**node(c))
        cluster.wait_for_nodes()  # every node registered before work is scheduled
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
