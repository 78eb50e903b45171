"""WordNet 3.0 noun synsets read straight from the database files (``data.noun``).

ImageNet / Tiny-ImageNet class ids are WordNet noun offsets: ``n02124075`` is the synset whose
line starts at byte 2124075 of ``data.noun``. A line reads (see ``man 5 wndb``)::

    02124075 05 n 01 Egyptian_cat 0 001 @ 02121808 n 0000 | a domestic cat of Egypt

i.e. offset, lexicographer file, part of speech, word count (hex), the words (each followed by a
lex id), the pointer count and pointers (symbol, target offset, part of speech, source/target),
and after `` | `` the gloss. ``@`` (hypernym) and ``@i`` (instance hypernym) point upwards.

The database is located, in order, from ``ZSL_WORDNET_DIR``, the Debian/Ubuntu package path
(``apt-get install wordnet-base`` -> ``/usr/share/wordnet``), or NLTK's ``wordnet`` corpus
(``python -m nltk.downloader wordnet``; a folder or its zip under ``NLTK_DATA`` or ``~/nltk_data``;
NLTK itself is not needed to read it).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

__all__ = ["Synset", "database_path", "hypernym_chain", "readable_name", "synset"]

_DEBIAN_DIRS = ("/usr/share/wordnet", "/usr/share/wordnet/dict", "/usr/local/share/wordnet")


@dataclass(frozen=True)
class Synset:
    """One noun synset.

    wnid : ``"n" + 8-digit offset``. words : lemmas with spaces (``["Egyptian cat"]``).
    gloss : definition and examples. hypernym_ids : wnids of its ``@``/``@i`` hypernyms (in file
    order; the first one defines :func:`hypernym_chain`).
    """

    wnid: str
    words: list[str]
    gloss: str
    hypernym_ids: list[str]

    @property
    def name(self) -> str:
        """Readable name: the first lemma (underscores already turned into spaces)."""
        return self.words[0]

    @property
    def hypernyms(self) -> list[Synset]:
        return [synset(h) for h in self.hypernym_ids]

    def __repr__(self) -> str:
        return f"Synset({self.wnid}, {self.name!r})"


def _candidates() -> list[str]:
    out = []
    env = os.environ.get("ZSL_WORDNET_DIR", "").strip()
    if env:
        out.append(env)
    out.extend(_DEBIAN_DIRS)
    return out


@lru_cache(maxsize=4)
def _load_data_noun(env_key: str) -> tuple[bytes, str]:
    tried = []
    for d in _candidates():
        p = Path(d).expanduser() / "data.noun"
        tried.append(str(p))
        if p.is_file():
            return p.read_bytes(), str(p)
    # NLTK's corpus, folder or zip, found without importing NLTK (NLTK_DATA, ~/nltk_data, ...)
    nltk_roots = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    nltk_roots += [str(Path.home() / "nltk_data"), "/usr/share/nltk_data", "/usr/local/share/nltk_data",
                   "/usr/lib/nltk_data", "/usr/local/lib/nltk_data"]
    for r in nltk_roots:
        folder = Path(r) / "corpora" / "wordnet"
        zpath = Path(r) / "corpora" / "wordnet.zip"
        if (folder / "data.noun").is_file():
            return (folder / "data.noun").read_bytes(), str(folder / "data.noun")
        if zpath.is_file():
            with zipfile.ZipFile(zpath) as zf:
                names = [n for n in zf.namelist() if n.endswith("/data.noun") or n == "data.noun"]
                if names:
                    return zf.read(names[0]), f"{zpath}:{names[0]}"
        tried.append(str(folder) + "[.zip]")
    raise FileNotFoundError(
        "WordNet 3.0 database (data.noun) not found. Tried: "
        + ", ".join(tried)
        + ". Install it with `apt-get install wordnet-base` (Debian/Ubuntu), or "
        "`pip install nltk && python -m nltk.downloader wordnet`, or set ZSL_WORDNET_DIR to the "
        "folder holding data.noun."
    )


def _data() -> tuple[bytes, str]:
    return _load_data_noun(os.environ.get("ZSL_WORDNET_DIR", ""))


def database_path() -> str:
    """Where ``data.noun`` was read from."""
    return _data()[1]


def _parse_wnid(wnid: str) -> int:
    s = str(wnid).strip()
    if len(s) == 9 and s[0] == "n" and s[1:].isdigit():
        return int(s[1:])
    raise ValueError(f"invalid WordNet noun id {wnid!r}: expected 'n' + 8 digits, e.g. 'n02124075'")


@cache
def _synset_cached(wnid: str, env_key: str) -> Synset:
    data, where = _load_data_noun(env_key)
    off = _parse_wnid(wnid)
    if off >= len(data) or (off > 0 and data[off - 1 : off] != b"\n"):
        raise KeyError(f"{wnid}: no noun synset starts at byte {off} of {where}")
    end = data.find(b"\n", off)
    line = data[off : end if end >= 0 else len(data)].decode("utf-8", errors="replace")
    head, _, gloss = line.partition(" | ")
    f = head.split()
    if f[0] != f"{off:08d}":
        raise KeyError(f"{wnid}: no noun synset starts at byte {off} of {where}")
    n_words = int(f[3], 16)
    words = [f[4 + 2 * i].replace("_", " ") for i in range(n_words)]
    # Adjective markers like "(a)" only occur in data.adj; strip defensively.
    words = [w.split("(")[0] if w.endswith(")") else w for w in words]
    i = 4 + 2 * n_words
    n_ptr = int(f[i])
    hyper = []
    for k in range(n_ptr):
        sym, target, pos = f[i + 1 + 4 * k], f[i + 2 + 4 * k], f[i + 3 + 4 * k]
        if sym in ("@", "@i") and pos == "n":
            hyper.append("n" + target)
    return Synset(wnid=f"n{off:08d}", words=words, gloss=gloss.strip(), hypernym_ids=hyper)


def synset(wnid: str) -> Synset:
    """The noun synset with this WordNet id (``"n02124075"``).

    Raises ValueError for a malformed id, KeyError when no synset has that offset,
    FileNotFoundError (with install instructions) when no WordNet database is found.
    """
    return _synset_cached(str(wnid).strip(), os.environ.get("ZSL_WORDNET_DIR", ""))


def hypernym_chain(wnid: str) -> list[Synset]:
    """The class itself followed by its first-hypernym path up to the root (``entity``)."""
    chain = [synset(wnid)]
    seen = {chain[0].wnid}
    while chain[-1].hypernym_ids:
        nxt = chain[-1].hypernym_ids[0]
        if nxt in seen:  # defensive: the database has no cycles
            break
        seen.add(nxt)
        chain.append(synset(nxt))
    return chain


def readable_name(wnid: str) -> str:
    """First lemma of the synset, underscores as spaces (``"Egyptian cat"``)."""
    return synset(wnid).name
