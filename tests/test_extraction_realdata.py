"""The default (ONNX Runtime) EfficientNet-Lite0 features equal eager PyTorch's on real images
(``@pytest.mark.realdata``; no cache involved, a few seconds)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import real_file
from zsl_lib.data import load_dataset
from zsl_lib.encoders import create_encoder, onnx_runtime
from zsl_lib.encoders import embedding as emb

pytestmark = [pytest.mark.realdata,
              pytest.mark.skipif(not onnx_runtime.onnxruntime_available(), reason="onnxruntime/onnx not installed")]


@pytest.mark.parametrize("name,split,files", [
    ("fashion-products", "all", ["fashion-products/styles.csv", "fashion-products/images.zip"]),
    ("tiny-imagenet", "val", ["tiny-imagenet/tiny-imagenet-200-subset.zip"]),
])
def test_default_runtime_equals_eager_on_real_images(name, split, files):
    for f in files:
        real_file(f)
    ds = load_dataset(name, split=split)
    sub = ds.subset(np.random.default_rng(0).choice(len(ds), 12, replace=False))
    fast = create_encoder("efficientnet-lite0")
    eager = create_encoder("efficientnet-lite0", runtime="torch")
    assert fast.active_runtime == "onnxruntime" and fast.cache_key == eager.cache_key
    A = emb.extract(sub, fast, batch_size=8, progress=False, num_workers=0)
    B = emb.extract(sub, eager, batch_size=8, progress=False, num_workers=0)
    np.testing.assert_allclose(A, B, rtol=1e-4, atol=1e-4)
    # nearest neighbours (what every notebook consumes) are the same
    D = lambda X: ((X[:, None] - X[None]) ** 2).sum(-1) + np.diag(np.full(len(X), np.inf))  # noqa: E731
    np.testing.assert_array_equal(D(A).argmin(1), D(B).argmin(1))
