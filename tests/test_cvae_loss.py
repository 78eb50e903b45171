"""The CVAE loss terms of ClusterableCVAE against the same terms computed by hand in numpy.

Reductions (as in :func:`zsl_lib.zeroshot.cvae.cvae_loss_terms`, used by the training loop):

* reconstruction: squared error summed over feature dimensions, then the mean over the batch;
* KL: ``-0.5 * sum_j (1 + logvar - mu^2 - exp(logvar))`` summed over latent dimensions, then the
  mean over the batch;
* classification (eq. 2 / eq. 3): cross-entropy of C on x' = M(x) and on the reconstruction,
  mean over the batch.

The hand computation uses only the model's encoder outputs (mu, logvar), decoder output and the
classifier's weights, in float64, so a changed sign or reduction in the library makes it fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zsl_lib.zeroshot import cvae as cvae_mod
from zsl_lib.zeroshot.cvae import ClusterableCVAE, cvae_loss_terms

TINY = dict(hidden_size=8, projection_dim=5, use_gaussian=False, noise_alpha=0.0, epochs=1,
            n_synth_per_class=3, clf_epochs=1, progress=False, device="cpu", random_state=0)


def _data():
    rng = np.random.RandomState(0)
    X = rng.rand(12, 6).astype(np.float32)
    y = np.repeat([0, 1, 2], 4)
    S = rng.rand(5, 3).astype(np.float32)  # classes 3 and 4 unseen
    return X, y, S


def _hand_recon(target, xr):
    return np.mean(np.sum((xr - target) ** 2, axis=1))


def _hand_kl(mu, logvar):
    return np.mean(-0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1))


def _hand_ce(logits, labels):
    m = logits.max(1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(logits - m).sum(1))
    return np.mean(lse - logits[np.arange(len(labels)), labels])


@pytest.fixture(scope="module")
def model():
    X, y, S = _data()
    return ClusterableCVAE(**TINY).fit(X, y, S), X, y, S


def test_loss_terms_match_hand_computation(model):
    m, X, y, S = model
    rows = [0, 5, 9, 11]  # a 4-row batch with all three seen classes
    x = torch.from_numpy(X[rows])
    att = torch.from_numpy(S[y[rows]])
    labels = np.searchsorted(m.seen_classes_, y[rows])
    eps = torch.from_numpy(np.random.RandomState(1).randn(4, m.latent_dim_).astype(np.float32))
    with torch.no_grad():
        xp = m.mapping_(x)
        mu, logvar = m.encoder_(torch.cat([xp, att], 1))
        xr = m.decoder_(torch.cat([mu + torch.exp(0.5 * logvar) * eps, att], 1))
        terms = cvae_loss_terms(xp, xr, mu, logvar, m.cls_, xp, torch.from_numpy(labels))
    assert set(terms) == {"recon", "kl", "cls", "cls_rec"}
    t, r, mu_, lv = (a.numpy().astype(np.float64) for a in (xp, xr, mu, logvar))
    assert np.abs(mu_).max() > 1e-3 and np.abs(lv).max() > 1e-3  # a non-trivial KL
    W = m.cls_.weight.detach().numpy().astype(np.float64)
    b = m.cls_.bias.detach().numpy().astype(np.float64)
    expected = {
        "recon": _hand_recon(t, r),
        "kl": _hand_kl(mu_, lv),
        "cls": _hand_ce(t @ W.T + b, labels),
        "cls_rec": _hand_ce(r @ W.T + b, labels),
    }
    for k, v in expected.items():
        assert float(terms[k]) == pytest.approx(v, rel=1e-5, abs=1e-7), k
    # without a classifier (the "NA" variant) only the CVAE terms of eq. 1
    assert set(cvae_loss_terms(xp, xr, mu, logvar)) == {"recon", "kl"}


def test_kl_by_hand_on_fixed_numbers():
    """One row worked out on paper: mu=(1, 0), logvar=(0, log 2)."""
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, np.log(2.0)], [0.0, 0.0]], dtype=torch.float64)
    x = torch.zeros(2, 3, dtype=torch.float64)
    xr = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]], dtype=torch.float64)
    terms = cvae_loss_terms(x, xr, mu, logvar)
    # row 1: -0.5 * [(1 + 0 - 1 - 1) + (1 + log 2 - 0 - 2)] = 1 - 0.5 log 2; row 2 (N(0, I)): 0
    assert float(terms["kl"]) == pytest.approx((1 - 0.5 * np.log(2.0)) / 2, rel=1e-12)
    # squared error per row summed over features (5 and 9), mean over the 2 rows
    assert float(terms["recon"]) == pytest.approx(7.0, rel=1e-12)


def test_training_loop_records_these_terms(monkeypatch):
    """With one batch and one epoch, history_ holds the terms of that single training step; they
    equal the hand computation from the tensors the loop passed (so the loop uses these terms)."""
    seen = []

    def spy(target, recon_x, mu, logvar, *rest):
        seen.append([a.detach().numpy().astype(np.float64) for a in (target, recon_x, mu, logvar)])
        return cvae_loss_terms(target, recon_x, mu, logvar, *rest)

    monkeypatch.setattr(cvae_mod, "cvae_loss_terms", spy)
    X, y, S = _data()
    m = ClusterableCVAE(**{**TINY, "batch_size": 64}).fit(X, y, S)
    assert len(seen) == 1
    t, r, mu, lv = seen[0]
    assert m.history_["recon"][0] == pytest.approx(_hand_recon(t, r), rel=1e-5)
    assert m.history_["kl"][0] == pytest.approx(_hand_kl(mu, lv), rel=1e-5)
