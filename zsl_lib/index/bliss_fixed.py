"""The fixed BLISS of notebook 01: BLISS's learned partition and power-of-K-choices balance, made
to use its buckets.

Why BLISS collapses (measured in notebook 01, figure ``mechanism``): the official start is a
random partition, so the bucket of a point's true neighbours carries no information about the
point; the best the network can learn from such targets is each bucket's base rate, which is the
same for every input. After the first re-assignment every item therefore has (nearly) the same
top-K buckets, and the greedy pass spreads all items evenly over exactly those K buckets (one set
of K per region where the top-K is constant). From then on the targets only ever name those
buckets, the network drives the other logits down everywhere, and the state is absorbing.

The fix keeps both ideas of BLISS and changes what feeds them:

* ``assign_init="kmeans"``: the first targets come from a partition whose buckets already hold
  near neighbours together (k-means, a different seed per repetition), so the network learns an
  input-dependent ranking from the first epoch;
* ``capacity``: the greedy least-loaded-of-top-K pass keeps its rule but closes buckets that hold
  ``capacity * n / B`` items; an item whose K choices are all full goes to its best-ranked bucket
  with room. This bounds max/mean load by ``capacity`` and forces at least ``B / capacity``
  buckets to be used, whatever the network predicts;
* Kaiming initialisation and standardised inputs, so that logits depend on the input at the start.
"""

from __future__ import annotations

from .bliss import BLISS

__all__ = ["FIXED_DEFAULTS", "FAST_DEFAULTS", "fixed_bliss"]

#: Parameters that turn the official BLISS into the fixed one (everything else unchanged).
FIXED_DEFAULTS = {
    "assign_init": "kmeans",
    "capacity": 1.05,
    "init": "kaiming",
    "standardize": True,
    "rebalance": "least_loaded_of_topk",
    "loss": "cross_entropy",
}

#: A cheaper fixed BLISS for a gallery of about 10k items of 64-d features (``bench_bliss_vs_ivf.py``,
#: ``bliss_fixed_fast``): FAISS k-means starts, R = 3 networks of 128 hidden units trained 4 epochs
#: (batch 256, lr 0.01), 2 choices under a 1.2 capacity; a query probes its top 2 buckets in each
#: repetition and re-ranks their union (min_freq 1, about 6% of the gallery). Measured on CIFAR-10
#: ResNet-56 features: recall@10 0.938-0.945 over seeds 0-3, above FAISS IVF's 0.924 at 5% scanned
#: (notebook 01's setting: 0.929), for a sixth of notebook 01's build time and about half its query time.
FAST_DEFAULTS = {
    **FIXED_DEFAULTS,
    "assign_init": "faiss_kmeans",
    "n_repetitions": 3,
    "hidden_dim": 128,
    "epochs": 4,
    "batch_size": 256,
    "lr": 0.01,
    "k_choices": 2,
    "capacity": 1.2,
    "n_probe": 2,
    "min_freq": 1,
    "n_rerank": None,
}


def fixed_bliss(**params) -> BLISS:
    """A :class:`~zsl_lib.index.bliss.BLISS` with :data:`FIXED_DEFAULTS`, overridden by ``params``."""
    return BLISS(**{**FIXED_DEFAULTS, **params})
