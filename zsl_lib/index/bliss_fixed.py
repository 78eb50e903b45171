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

__all__ = ["FIXED_DEFAULTS", "fixed_bliss"]

#: Parameters that turn the official BLISS into the fixed one (everything else unchanged).
FIXED_DEFAULTS = {
    "assign_init": "kmeans",
    "capacity": 1.05,
    "init": "kaiming",
    "standardize": True,
    "rebalance": "least_loaded_of_topk",
    "loss": "cross_entropy",
}


def fixed_bliss(**params) -> BLISS:
    """A :class:`~zsl_lib.index.bliss.BLISS` with :data:`FIXED_DEFAULTS`, overridden by ``params``."""
    return BLISS(**{**FIXED_DEFAULTS, **params})
