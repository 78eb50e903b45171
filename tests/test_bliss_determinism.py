"""Every trained method of notebooks 01/04 gives bit-identical results in separate processes with
different hash seeds and thread counts (issue 15, part 6).

Why the report's triplet settings still moved between recorded runs: their training amplifies
last-bit float differences (moving every input coordinate by one float32 ulp changes ~100 of the
512 bucket assignments and the V-measure by up to 0.01 for ``kaiming_triplet`` / ``random_triplet``,
while ``kaiming_ce`` and the fixed BLISS do not change at all; measured on the notebook's cluster
data). A different CPU or BLAS kernel rounds differently, so those two settings are reproducible on
one machine but not across machines; this test pins the on-machine part.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = r"""
import hashlib, sys
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
import faiss
faiss.omp_set_num_threads(int(sys.argv[1]))
from zsl_lib.experiments.bliss import CLUSTER_BASE, REPORT_SETTINGS, clustered_points
from zsl_lib.index.bliss import BLISS
from zsl_lib.index.neural_lsh import NeuralLSH
from zsl_lib.zeroshot.blissnet import BLISSNet

h = hashlib.sha256()
X, y = clustered_points(4, 64, seed=1)
for name in ("kaiming_triplet", "random_triplet", "kaiming_ce", "fixed"):
    m = BLISS(**{**CLUSTER_BASE, **REPORT_SETTINGS[name], "epochs": 6, "random_state": 1}).fit(X)
    h.update(m.assignments_.tobytes()); h.update(np.asarray(m.history_.loss).tobytes())
    h.update(m.decision_function(X).tobytes())
rng = np.random.default_rng(0)
F = rng.normal(size=(240, 8)).astype(np.float32)
labels = np.repeat(np.array(["c%d" % i for i in range(24)]), 10)  # string labels (hash-randomised)
net = BLISSNet(n_models=2, n_metaclasses=4, epochs=3, bliss_params={"epochs": 4}, random_state=3).fit(F, labels)
h.update(net.metaclass_proba(F).tobytes())
lsh = NeuralLSH(n_bits=4, n_tables=2, network_params={"n_hidden": 16, "epochs": 2}, random_state=2).fit(F, np.searchsorted(np.unique(labels), labels))
h.update(lsh.candidates(F[:20])[1].tobytes())
print(h.hexdigest())
"""


def _run(hash_seed: str, threads: int) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], env=env, capture_output=True, text=True,
                         timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.slow
def test_trained_methods_identical_across_processes_hash_seeds_and_threads():
    a = _run("0", 1)
    b = _run("12345", 2)
    assert len(a) == 64 and a == b


@pytest.mark.slow
def test_triplet_fit_is_sensitive_to_one_ulp_but_not_to_the_process():
    """The measurement behind the module docstring, small: one float32 ulp on every coordinate
    changes a triplet fit's partition, a second fit of the same input does not."""
    from zsl_lib.experiments.bliss import CLUSTER_BASE, REPORT_SETTINGS, clustered_points
    from zsl_lib.index.bliss import BLISS

    X, _ = clustered_points(11, 128, seed=1)
    p = {**CLUSTER_BASE, **REPORT_SETTINGS["kaiming_triplet"], "random_state": 1}
    a, b = BLISS(**p).fit(X), BLISS(**p).fit(X)
    c = BLISS(**p).fit(np.nextafter(X, np.inf).astype(X.dtype))
    np.testing.assert_array_equal(a.assignments_, b.assignments_)
    assert hashlib.sha256(a.assignments_.tobytes()).digest() != hashlib.sha256(c.assignments_.tobytes()).digest()
