"""ESZSL closed form against a direct (Kronecker) solve of its normal equations."""

import numpy as np
import pytest
import torch

from zsl_lib.data.zsl_splits import make_synthetic_zsl
from zsl_lib.metrics.zsl import per_class_accuracy
from zsl_lib.zeroshot.eszsl import ESZSL, tune_eszsl


def _data(seed=0, n=40, d=6, a=4, z=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.arange(n) % z
    S = rng.normal(size=(z + 2, a))  # two extra (unseen) classes
    return X, y, S


def test_closed_form_matches_kronecker_solve():
    X, y, S = _data()
    gamma, lam = 0.7, 2.0
    model = ESZSL(gamma=gamma, lambda_=lam).fit(X, y, S)
    Sz = S[:5]
    Y = -np.ones((len(y), 5))
    Y[np.arange(len(y)), y] = 1
    A = X.T @ X + gamma * np.eye(X.shape[1])
    C = Sz.T @ Sz + lam * np.eye(Sz.shape[1])
    B = X.T @ Y @ Sz
    # A V C = B  <=>  (C^T kron A) vec(V) = vec(B) (column-major vec)
    vecV = np.linalg.solve(np.kron(C.T, A), B.reshape(-1, order="F"))
    V_ref = vecV.reshape(A.shape[0], C.shape[0], order="F")
    np.testing.assert_allclose(model.V_, V_ref, rtol=1e-8, atol=1e-10)


def test_closed_form_is_a_stationary_point_of_the_objective():
    X, y, S = _data(seed=1)
    gamma, lam = 0.3, 1.5
    V = ESZSL(gamma=gamma, lambda_=lam).fit(X, y, S).V_
    Sz = torch.tensor(S[:5])
    Xt = torch.tensor(X)
    Y = -torch.ones(len(y), 5, dtype=torch.float64)
    Y[torch.arange(len(y)), torch.tensor(y)] = 1
    Vt = torch.tensor(V, requires_grad=True)
    obj = (
        ((Xt @ Vt @ Sz.T - Y) ** 2).sum()
        + gamma * ((Vt @ Sz.T) ** 2).sum()
        + lam * ((Xt @ Vt) ** 2).sum()
        + gamma * lam * (Vt**2).sum()
    )
    obj.backward()
    assert Vt.grad.abs().max().item() < 1e-8


def test_hand_computed_one_dimensional_example():
    # d = a = 1, two classes with semantics 1 and -1, x = +1 for class 0, -1 for class 1
    X = np.array([[1.0], [-1.0]])
    y = np.array([0, 1])
    S = np.array([[1.0], [-1.0]])
    # A = 2 + g, B = X^T Y S = [1,-1] @ [[1,-1],[-1,1]] @ [1,-1]^T = 4, C = 2 + l
    m = ESZSL(gamma=1.0, lambda_=2.0).fit(X, y, S)
    assert m.V_[0, 0] == pytest.approx(4 / (3 * 4))
    np.testing.assert_array_equal(m.predict(np.array([[2.0], [-0.5]]), S), [0, 1])


def test_zero_shot_on_synthetic_data_beats_chance():
    sp = make_synthetic_zsl(n_classes=20, n_unseen=5, noise=0.5, seed=0)
    m = ESZSL(gamma=1.0, lambda_=1.0).fit(sp.X_train, sp.y_train, sp.semantics)
    pred = m.predict(sp.X_test_unseen, sp.semantics, classes=sp.unseen_classes)
    assert set(np.unique(pred)) <= set(sp.unseen_classes.tolist())
    assert per_class_accuracy(sp.y_test_unseen, pred) > 0.5  # chance is 0.2


def test_tune_returns_grid_point():
    sp = make_synthetic_zsl(n_classes=20, n_unseen=5, seed=0)
    best, scores = tune_eszsl(sp.X_train, sp.y_train, sp.semantics, gammas=(0.1, 10), lambdas=(0.1, 10))
    assert (best["gamma"], best["lambda_"]) in scores
    assert scores[(best["gamma"], best["lambda_"])] == max(scores.values())


def test_bad_inputs():
    X, y, S = _data()
    with pytest.raises(ValueError, match="semantics has 3 rows"):
        ESZSL().fit(X, y, S[:3])
    Xn = X.copy()
    Xn[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ESZSL().fit(Xn, y, S)
    with pytest.raises(ValueError, match="gamma"):
        ESZSL(gamma=0).fit(X, y, S)
    with pytest.raises(RuntimeError, match="not fitted"):
        ESZSL().predict(X, S)
    m = ESZSL().fit(X, y, S)
    with pytest.raises(ValueError, match="attributes"):
        m.predict(X, S[:, :2])
