"""Keyword-labelled (multi-label) datasets for notebook 05 (Bynke 2022 analogues).

* :func:`fashion_keywords` -- Fashion Product Images: each product's keywords are its
  ``articleType``, ``subCategory``, ``baseColour``, ``gender``, ``usage`` and ``season`` values
  (identical strings from different columns are one keyword). :func:`fashion_translation_table`
  gives the analogue of the thesis's label translation: ``original`` = the catalogue value,
  ``automatic`` = a mechanical rewrite (camel case split, lower case, naive singular -- with the
  kind of slips machine translation makes), ``manual`` = hand-written descriptive names.
* :func:`tiny_imagenet_keywords` -- Tiny-ImageNet: the fine keyword is the class's WordNet name,
  coarse keywords are the names of its first ``coarse_levels`` hypernyms; each item keeps each
  coarse keyword only with probability ``1 - coarse_drop`` (seeded) to mimic the thesis's
  inconsistent labelling ("truck" present on only some truck images).
* :func:`mulan_scene` -- the Mulan scene benchmark (features and 6 labels given).
* :func:`user_keywords` -- a user's image folder with a ``path,keywords`` CSV (keywords separated
  by ``|`` or ``;``, the rule of ``zsl_lib.data.user.split_keywords``), the thesis's own setting.

Every function returns a :class:`KeywordData`: an ``(n, C)`` {0, 1} matrix ``Y`` plus the keyword
names, the source dataset (for images / embedding) and, for feature datasets, ``X``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from zsl_lib.data import wordnet
from zsl_lib.data.base import ImageDataset, fingerprint_of
from zsl_lib.data.loaders import load_dataset

FASHION_KEYWORD_COLUMNS = ("articleType", "subCategory", "baseColour", "gender", "usage", "season")
TINY_IMAGENET_COARSE_DROP = 0.5  # documented default fraction of coarse keywords dropped per item


@dataclass
class KeywordData:
    name: str
    Y: np.ndarray  # (n, C) uint8
    keywords: list[str]
    dataset: ImageDataset | None = None
    X: np.ndarray | None = None
    keyword_source: dict | None = None  # keyword -> the column / level it came from

    def __len__(self) -> int:
        return len(self.Y)

    def sample(self, n: int, seed: int = 0) -> KeywordData:
        """A seeded random sample of ``n`` items in their original order (all items if ``n`` is 0
        or not smaller than the collection)."""
        if not n or n >= len(self):
            return self
        return self.subset(np.sort(np.random.default_rng(seed).choice(len(self), int(n), replace=False)))

    def subset(self, idx) -> KeywordData:
        """The items at ``idx`` (keywords that no longer occur are kept as empty columns)."""
        idx = np.asarray(idx, dtype=np.int64)
        return KeywordData(self.name, self.Y[idx], list(self.keywords),
                           self.dataset.subset(idx) if self.dataset is not None else None,
                           self.X[idx] if self.X is not None else None, self.keyword_source)


def keywords_from_columns(df: pd.DataFrame, columns=FASHION_KEYWORD_COLUMNS) -> tuple[np.ndarray, list[str], dict]:
    """Indicator matrix (n, C) of the values of ``columns`` (NaN / empty values give no keyword)."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"columns {missing} not in the table; available: {list(df.columns)}")
    long = df[list(columns)].reset_index(drop=True).stack().dropna().astype(str).str.strip()
    long = long[(long != "") & (long.str.lower() != "nan")]
    source = {}
    for (_, col), v in long.items():
        source.setdefault(v, col)
    keywords = sorted(source)
    col_of = {k: i for i, k in enumerate(keywords)}
    Y = np.zeros((len(df), len(keywords)), np.uint8)
    Y[long.index.get_level_values(0).to_numpy(), long.map(col_of).to_numpy()] = 1
    return Y, keywords, source


def fashion_keywords(split: str = "eval", columns=FASHION_KEYWORD_COLUMNS) -> KeywordData:
    """Fashion products of ``split`` ("eval" for evaluation; "align" trains lit-fashion only)."""
    ds = load_dataset("fashion-products", split=split)
    Y, kws, src = keywords_from_columns(ds.meta, columns)
    return KeywordData("fashion-products", Y, kws, dataset=ds, keyword_source=src)


_SEASON = {"Fall": "autumn", "Winter": "winter", "Summer": "summer", "Spring": "spring"}
_GENDER = {"Men": "men's", "Women": "women's", "Unisex": "unisex", "Boys": "boys'", "Girls": "girls'"}
_MANUAL = {
    "Tshirts": "t-shirt", "Tops": "women's top", "Kurtas": "kurta, a long indian tunic",
    "Kurtis": "kurti, a short indian tunic", "Innerwear Vests": "undershirt vest",
    "Flip Flops": "flip-flops", "Flats": "flat shoes", "Heels": "high heels", "Briefs": "underwear briefs",
    "Trunk": "boxer trunks underwear", "Capris": "capri pants", "Topwear": "top garment",
    "Bottomwear": "trousers, jeans or skirt", "Innerwear": "underwear", "Eyewear": "sunglasses",
    "Headwear": "cap or hat", "Sandal": "sandals", "Shoes": "shoes", "Bags": "bag",
    "Fragrance": "perfume", "Accessory Gift Set": "accessory gift set", "Mufflers": "muffler scarf",
    "Free Gifts": "free gift", "Loungewear and Nightwear": "nightwear", "Dupatta": "dupatta shawl",
    "Perfume and Body Mist": "perfume bottle", "Track Pants": "track pants", "Multi": "multicoloured",
    "Casual": "casual wear", "Formal": "formal wear", "Sports": "sportswear", "Ethnic": "indian ethnic wear",
    "Smart Casual": "smart casual wear", "Travel": "travel gear", "Apparel": "clothing",
}


def automatic_name(keyword: str) -> str:
    """Mechanical 'translation': split camel case, lower case, drop a trailing plural s."""
    words = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", keyword).lower().split()
    if words and len(words[-1]) > 3 and words[-1].endswith("s") and not words[-1].endswith("ss"):
        words[-1] = words[-1][:-1]
    return " ".join(words)


def manual_name(keyword: str, source: str | None = None) -> str:
    """Hand-written descriptive name (colours and seasons get their column as context)."""
    if keyword in _MANUAL:
        return _MANUAL[keyword]
    if source == "gender":
        return f"{_GENDER.get(keyword, keyword.lower())} fashion"
    if source == "season":
        return f"{_SEASON.get(keyword, keyword.lower())} clothing"
    if source == "baseColour":
        return f"{keyword.lower()} coloured"
    return keyword.lower()


def fashion_translation_table(keywords, source: dict | None = None) -> pd.DataFrame:
    """Mapping ``original -> automatic, manual`` for fashion keywords (write it with ``to_csv``)."""
    source = source or {}
    return pd.DataFrame({"original": list(keywords),
                         "automatic": [automatic_name(k) for k in keywords],
                         "manual": [manual_name(k, source.get(k)) for k in keywords]})


def hypernym_keywords(wnids, coarse_levels: int = 3, chain_fn=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Class-level keywords from WordNet: ``(fine (n_cls, K) bool, coarse (n_cls, K) bool, names)``.

    fine = the class's own name; coarse = the names of its first ``coarse_levels`` hypernyms.
    ``chain_fn(wnid)`` returns the hypernym chain (default :func:`zsl_lib.data.wordnet.hypernym_chain`).
    """
    if chain_fn is None:
        chain_fn = wordnet.hypernym_chain
    per_class = []
    for w in wnids:  # one WordNet lookup per class (200), not per item
        chain = chain_fn(w)
        per_class.append((chain[0].name, [s.name for s in chain[1:1 + coarse_levels]]))
    names = sorted({f for f, _ in per_class} | {c for _, cs in per_class for c in cs})
    col = {k: i for i, k in enumerate(names)}
    fine = np.zeros((len(wnids), len(names)), bool)
    coarse = np.zeros_like(fine)
    for r, (f, cs) in enumerate(per_class):
        fine[r, col[f]] = True
        coarse[r, [col[c] for c in cs]] = True
    coarse &= ~fine
    return fine, coarse, names


def tiny_imagenet_keywords(split: str = "val", coarse_levels: int = 3,
                           coarse_drop: float = TINY_IMAGENET_COARSE_DROP, random_state: int = 0,
                           dataset: ImageDataset | None = None, chain_fn=None,
                           limit_per_class: int | None = None) -> KeywordData:
    """Tiny-ImageNet items with fine + coarse WordNet keywords; each item drops each of its coarse
    keywords with probability ``coarse_drop`` (seeded by ``random_state``). ``limit_per_class``
    (with seed 0) is passed to the loader: at most that many images per class."""
    if not 0 <= coarse_drop < 1:
        raise ValueError(f"coarse_drop must lie in [0, 1), got {coarse_drop}")
    if dataset is None:
        dataset = load_dataset("tiny-imagenet", split=split, limit_per_class=limit_per_class or None)
    wnids = dataset.extra.get("wnids")
    if wnids is None:
        raise ValueError("tiny-imagenet dataset lacks extra['wnids']; cannot look up WordNet hypernyms")
    fine, coarse, names = hypernym_keywords(wnids, coarse_levels, chain_fn)
    rng = np.random.default_rng(random_state)
    lab = dataset.labels
    Y = fine[lab] | (coarse[lab] & (rng.random((len(lab), len(names))) >= coarse_drop))
    src = {k: ("fine" if fine[:, i].any() else "coarse") for i, k in enumerate(names)}
    return KeywordData("tiny-imagenet", Y.astype(np.uint8), names, dataset=dataset, keyword_source=src)


def mulan_scene(split: str = "train") -> KeywordData:
    """Mulan scene (294 features, 6 labels), read by the ``mulan-scene`` loader."""
    fd = load_dataset("mulan-scene", split=split)
    return KeywordData("mulan-scene", np.asarray(fd.Y, np.uint8), list(fd.class_names), X=np.asarray(fd.X, np.float32))


def user_keywords(csv_path: str | Path, root: str | Path | None = None, bad_images: str = "raise") -> KeywordData:
    """A user's collection: CSV with columns ``path`` (relative to ``root``, default the CSV's
    folder) and ``keywords`` (separated by ``|`` or ``;``; empty = no keywords, dropped by prepare).
    Every image is decoded up front: unreadable ones stop the run, all listed (``bad_images=
    "raise"``), or are left out with their rows and a warning (``"skip"``).

    The fingerprint (embedding cache key) covers the CSV, the image paths and each image's size and
    content (SHA-256), so replacing an image gives a new embedding, even by a copy that kept the
    old modification time.
    """
    from .user import drop_bad_images, file_stat_fingerprint, split_keywords, warn_repeated_items

    csv_path = Path(csv_path)
    if not csv_path.exists():
        raise FileNotFoundError(f"keyword CSV {csv_path} does not exist")
    header_hint = ("expected a header path,keywords and one row per image (e.g. 'img/1.jpg,truck|Kamaz'; "
                   "keywords separated by | or ;)")
    try:
        df = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise ValueError(f"{csv_path} is not a keyword CSV: {header_hint}; reading it as CSV failed with: "
                         f"{str(e).strip()[:200]}") from None
    if {"path", "keywords"} - set(df.columns):
        raise ValueError(f"{csv_path}: {header_hint}; found columns {list(df.columns)[:8]}")
    if df.empty:
        raise ValueError(f"{csv_path} lists no images")
    root = Path(root) if root is not None else csv_path.parent
    paths = [str((root / p).resolve()) for p in df["path"]]
    missing = [p for p in paths if not Path(p).exists()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images listed in {csv_path} do not exist, e.g. {missing[:3]}")
    warn_repeated_items(f"keyword CSV {csv_path}", paths)
    keep = drop_bad_images(f"keyword CSV {csv_path}", paths, bad_images)
    if len(keep) < len(paths):
        df, paths = df.iloc[keep].reset_index(drop=True), [paths[i] for i in keep]
    lists = split_keywords(df["keywords"])
    keywords = sorted({k for ks in lists for k in ks})
    col = {k: i for i, k in enumerate(keywords)}
    Y = np.zeros((len(df), len(keywords)), np.uint8)
    r = np.repeat(np.arange(len(df)), lists.str.len().to_numpy())
    Y[r, [col[k] for ks in lists for k in ks]] = 1
    ds = ImageDataset(name="user-keywords", split="all", items=paths, labels=np.full(len(paths), -1),
                      class_names=[], fingerprint=fingerprint_of(csv_path.read_bytes(), paths,
                                                                 file_stat_fingerprint(paths)))
    return KeywordData("user-keywords", Y, keywords, dataset=ds)
