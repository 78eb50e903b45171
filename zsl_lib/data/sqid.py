"""SQID (Shopping Queries Image Dataset) product embeddings.

``sqid/product_features.parquet`` from
https://huggingface.co/datasets/crossingminds/shopping-queries-image-dataset (``data/``; MIT),
the SQID release (Al Ghossein, Chen, Tang, SIGIR eCom 2024; code at
https://github.com/Crossing-Minds/shopping-queries-image-dataset). Schema: ``product_id`` (str,
the ESCI ASIN), ``clip_text_features`` and ``clip_image_features`` (lists of 768 float32: CLIP
ViT-L/14 embeddings of the product title and the product image; the image one is missing for
products without an image). 164,900 products, ~0.9 GB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zsl_lib.data import registry
from zsl_lib.validation import check_choice

REL = "sqid/product_features.parquet"
COLUMNS = ["product_id", "clip_text_features", "clip_image_features"]
DIM = 768


def load_sqid(columns: list[str] | None = None, dropna: bool = False) -> pd.DataFrame:
    """The SQID product features as a DataFrame (columns as in the parquet file).

    columns : subset of ``product_id, clip_text_features, clip_image_features`` to read (None: all).
    dropna : drop products without an image (or text) embedding among the read columns.
    Use :func:`embedding_matrix` to get a float32 (n, 768) array of one embedding column.
    """
    cols = list(COLUMNS if columns is None else columns)
    for c in cols:
        check_choice("column", c, COLUMNS, "sqid")
    if "product_id" not in cols:
        cols = ["product_id", *cols]
    path = registry.fetch("sqid", REL)
    import pyarrow.parquet as pq

    schema = pq.read_schema(path)
    missing = [c for c in cols if c not in schema.names]
    if missing:
        raise ValueError(f"{path}: not the SQID product_features.parquet (missing columns {missing}; has {schema.names})")
    df = pd.read_parquet(path, columns=cols)
    if dropna:
        df = df.dropna(subset=[c for c in cols if c != "product_id"]).reset_index(drop=True)
    df.attrs["file"] = str(path)
    return df


def embedding_matrix(df: pd.DataFrame, column: str = "clip_image_features") -> np.ndarray:
    """Stack one embedding column into float32 (n, 768); rows with a missing embedding are NaN."""
    check_choice("column", column, COLUMNS[1:], "sqid")
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(df[column].to_numpy(), type=pa.list_(pa.float32()), from_pandas=True)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    lengths = pc.list_value_length(arr).to_numpy(zero_copy_only=False)[valid]
    if lengths.size and not np.all(lengths == DIM):
        raise ValueError(f"sqid: {column} has vectors of length {sorted(set(lengths.tolist()))[:5]}, expected {DIM}")
    out = np.full((len(arr), DIM), np.nan, dtype=np.float32)
    out[valid] = pc.list_flatten(arr).to_numpy().reshape(-1, DIM)
    return out
