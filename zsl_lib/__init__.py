"""zsl_lib: the zero-shot similarity lab's helper library.

Its packages form layers; each imports only its own layer and earlier ones, and no module imports
another's private (``_name``) helpers (``tests/test_layers.py`` checks both and holds the table):

0. ``config`` (paths), ``validation`` (shared input checks), ``fileio`` (atomic writes, hashing,
   locks)
1. ``record`` (headline numbers), ``plots`` (figure style, ``savefig``; may import ``record``):
   the platform
2. ``data``: dataset registry and loaders (never embeds)
3. ``encoders``: image / text encoders and the embedding cache
4. ``metrics``: plain functions of arrays
5. ``index``: exact and bucketed nearest-neighbour search
6. ``zeroshot``: estimators only
7. ``experiments``: one driver per notebook (bliss, tourney, cvae, lsh, multilabel)
8. ``runner``, ``prepare``, the CLI; then the notebooks and benchmarks
"""

__version__ = "0.1.0"
