"""Datasets: a registry of official files (checksums, sources, licences) and their loaders.

    >>> from zsl_lib.data import list_datasets, load_dataset
    >>> ds = load_dataset("cifar10", split="test")        # ImageDataset, 10,000 images
    >>> ds = load_dataset("tiny-imagenet", split="val")   # WordNet class names
    >>> ds = load_dataset("fashion-products", split="eval", min_items=100)

See ``data/README.md`` for each dataset's source, licence and where its files go.
"""

from zsl_lib.data.base import FeatureDataset, ImageDataset, ZipImageSource, fingerprint_of
from zsl_lib.data.loaders import list_datasets, load_dataset, loader_options
from zsl_lib.data.registry import ChecksumMismatchError, fetch, list_files

__all__ = [
    "ChecksumMismatchError",
    "FeatureDataset",
    "ImageDataset",
    "ZipImageSource",
    "fetch",
    "fingerprint_of",
    "list_datasets",
    "list_files",
    "load_dataset",
    "loader_options",
]
