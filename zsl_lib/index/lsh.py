"""Random-hyperplane LSH (Charikar's SimHash): H hyperplanes per table, L tables.

As in the report (method 2): each table draws ``n_bits`` Gaussian hyperplanes through the origin;
an item's code is the sign pattern of its dot products with them; a query's candidates are the
union of the gallery items sharing its code in any table; candidates are ranked by cosine.
"""

from __future__ import annotations

import numpy as np

from ..validation import check_matrix, check_positive_ints
from .buckets import BucketIndex, bits_to_keys


class RandomHyperplaneLSH(BucketIndex):
    """Random-hyperplane LSH index.

    Parameters
    ----------
    n_bits : H, hyperplanes (bits) per table.
    n_tables : L, number of independent hash tables.
    center : subtract the gallery mean before hashing (not in the report: its hyperplanes pass
        through the origin, which for non-negative ReLU features gives unbalanced buckets).
    random_state : seed of the hyperplanes.
    batch_size : queries probed together.
    """

    def __init__(
        self,
        n_bits: int = 8,
        n_tables: int = 3,
        *,
        center: bool = False,
        random_state: int | None = 0,
        batch_size: int = 256,
    ):
        check_positive_ints(n_bits=n_bits, n_tables=n_tables, batch_size=batch_size)
        self.n_bits = int(n_bits)
        self.n_tables = int(n_tables)
        self.center = bool(center)
        self.random_state = random_state
        self.batch_size = int(batch_size)

    def _fit_keys(self, X, y):
        rng = np.random.default_rng(self.random_state)
        d = X.shape[1]
        # (d, L*H): column t*H + j is hyperplane j of table t
        self.hyperplanes_ = rng.standard_normal((d, self.n_tables * self.n_bits)).astype(np.float32)
        self.offset_ = X.mean(axis=0) if self.center else np.zeros(d, dtype=np.float32)
        return bits_to_keys(self._bits(X))

    def _bits(self, X: np.ndarray) -> np.ndarray:
        proj = ((X - self.offset_) if self.center else X) @ self.hyperplanes_
        return (proj > 0).reshape(X.shape[0], self.n_tables, self.n_bits)

    def hash(self, X) -> np.ndarray:
        """Binary codes of ``X`` (n, d): bool array (n, n_tables, n_bits)."""
        if not hasattr(self, "hyperplanes_"):
            raise RuntimeError("RandomHyperplaneLSH is not fitted yet; call fit(X) first")
        X = check_matrix("X", X, dim=self.hyperplanes_.shape[0], min_rows=0)
        return self._bits(X)

    def _query_keys(self, Q):
        return bits_to_keys(self._bits(Q))
