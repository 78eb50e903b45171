"""``device`` of the trained index / zero-shot models (issue 14): "cpu" and "auto" (= CPU on CI) give
the same numbers as before; an unknown or absent device is refused, naming it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zsl_lib.index.bliss import BLISS
from zsl_lib.index.neural_lsh import NeuralHashNetwork, NeuralLSH
from zsl_lib.zeroshot.blissnet import BLISSNet


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 6)).astype(np.float32)
    y = np.repeat(np.arange(16), 10)
    return X, y


def _bliss(X, **kw):
    m = BLISS(epochs=3, n_buckets=8, loss="triplet", init="kaiming", **kw).fit(X)
    return m.assignments_, m.decision_function(X), m.search(X[:10], 3)[1]


def _blissnet(X, y, **kw):
    net = BLISSNet(n_models=2, n_metaclasses=4, epochs=2, bliss_params={"epochs": 2}, **kw).fit(X, y)
    return net.bliss_.assignments_, net.metaclass_proba(X)


def _lsh(X, y, **kw):
    m = NeuralLSH(n_bits=3, n_tables=2, network_params={"n_hidden": 12, "epochs": 2}, **kw).fit(X, y)
    return m.network_.weight_, m.candidates(X[:10])[1]


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_cpu_and_auto_match_the_default(data, device):
    if device == "auto" and (torch.cuda.is_available() or torch.backends.mps.is_available()):
        pytest.skip("auto picks an accelerator here; CPU equality is checked on CPU-only machines")
    X, y = data
    for fit in (lambda **kw: _bliss(X, **kw), lambda **kw: _blissnet(X, y, **kw), lambda **kw: _lsh(X, y, **kw)):
        for a, b in zip(fit(), fit(device=device)):
            np.testing.assert_array_equal(a, b)
    assert BLISS(epochs=1, n_buckets=8, device=device).fit(X).device_ == "cpu"


def test_models_take_device_in_the_constructor():
    import inspect

    for cls in (BLISS, BLISSNet, NeuralLSH, NeuralHashNetwork):
        assert inspect.signature(cls).parameters["device"].default == "auto"


@pytest.mark.parametrize("device", ["tpu", "cuda:7"])
def test_bad_device_is_refused(data, device):
    if device == "cuda:7" and torch.cuda.device_count() > 7:
        pytest.skip("this machine has a cuda:7")
    X, y = data
    with pytest.raises(ValueError, match="device"):
        BLISS(epochs=1, n_buckets=8, device=device).fit(X)
    with pytest.raises(ValueError, match="device"):
        NeuralHashNetwork(n_hidden=4, epochs=1, device=device).fit(X, y)
