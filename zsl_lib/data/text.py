"""Text helpers shared by the notebooks: removing class words from product titles."""

from __future__ import annotations

import re

__all__ = ["mask_words"]


def mask_words(texts, words, mask: str = "") -> list[str]:
    """Remove (or replace by ``mask``) every occurrence of the given class words in ``texts``.

    Matching is case-insensitive on whole words; a word also matches its plural ("shirt" matches
    "Shirts") and hyphen/space variants ("t-shirt" matches "T-Shirt", "Tshirt", "T Shirt").
    Longer words are matched first ("sports shoes" before "shoes"). Extra spaces are collapsed.
    texts : sequence of str (n,); words : iterable of str. Returns list of str (n,).
    """
    words = sorted({w.strip().lower() for w in words if w and w.strip()}, key=len, reverse=True)
    if not words:
        return list(texts)
    alts = []
    for w in words:
        parts = [re.escape(p) for p in re.split(r"[\s\-]+", w) if p]
        alts.append(r"[\s\-]?".join(parts) + r"(?:e?s)?")
    pattern = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(alts) + r")(?![A-Za-z0-9])", re.I)
    out = []
    for t in texts:
        if not isinstance(t, str):
            raise TypeError(f"texts must be strings; got {type(t).__name__}")
        s = pattern.sub(mask, t)
        out.append(" ".join(s.split()))
    return out
