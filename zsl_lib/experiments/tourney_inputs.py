"""Inputs of notebook 02 (pairwise tourney), one :class:`TourneyInputs` per source.

* ``fashion-products`` (offline default): ``eval`` items of 13 apparel and footwear classes,
  images through an image->text aligned encoder (``lit-fashion``), titles (class words masked with
  :func:`zsl_lib.data.text.mask_words`) and prompts through MiniLM;
* ``sqid`` (the article's setting): SQID ``product_features.parquet`` CLIP ViT-L/14 embeddings,
  prompts embedded by the matching open_clip text tower (:func:`clip_text_embed`);
* ``user`` (a user's own data, :func:`load_user_inputs`): an image folder ``root/<class>/<image>``
  (images through an image->text aligned encoder) or an ``.npz`` of precomputed image embeddings
  (``X``, ``y``, optional ``class_names``) in the text encoder's space; the class names are the
  prompts; titles from an optional ``path,title`` / ``index,title`` CSV (file names otherwise).

The driver :mod:`zsl_lib.experiments.tourney` runs the notebook's steps on these inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from zsl_lib import config
from zsl_lib.data import load_dataset
from zsl_lib.data.sqid import embedding_matrix
from zsl_lib.data.text import mask_words
from zsl_lib.encoders import embed, embed_texts
from zsl_lib.validation import check_choice
from zsl_lib.zeroshot.prompts import (
    FASHION_13,
    FASHION_PHRASES,
    fashion_class_words,
    get_prompt_set,
    make_prompts,
)

__all__ = ["SOURCES", "TourneyInputs", "load_fashion_inputs", "load_sqid_inputs", "load_user_inputs", "load_inputs",
           "clip_text_embed"]

SOURCES = ("fashion-products", "sqid", "user")


@dataclass
class TourneyInputs:
    """Everything a pairwise-tourney experiment needs, aligned row by row.

    image, text : float32 (n, d) item embeddings in one space with the prompts (text = titles,
        masked when requested); text_unmasked : (n, d) or None; image_prompts, text_prompts :
        (C, d) class prompts for each side; binary_* : the same for the 2-class stage; labels,
        binary_labels : int64 (n,) true labels or None (SQID has none); titles, masked_titles:
        lists of str or None; info : dict describing the source.
    """

    source: str
    class_names: list[str]
    image: np.ndarray
    text: np.ndarray
    image_prompts: np.ndarray
    text_prompts: np.ndarray
    binary_names: list[str]
    binary_image_prompts: np.ndarray
    binary_text_prompts: np.ndarray
    labels: np.ndarray | None = None
    binary_labels: np.ndarray | None = None
    text_unmasked: np.ndarray | None = None
    titles: list[str] | None = None
    masked_titles: list[str] | None = None
    prompts: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.image)

    def subset(self, mask) -> TourneyInputs:
        """The items where ``mask`` (bool (n,) or int indices) holds; prompts unchanged."""
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask)

        def pick(v):
            if v is None:
                return None
            return v[idx] if isinstance(v, np.ndarray) else [v[i] for i in idx]

        return TourneyInputs(
            source=self.source, class_names=self.class_names, image=self.image[idx],
            text=self.text[idx], image_prompts=self.image_prompts, text_prompts=self.text_prompts,
            binary_names=self.binary_names, binary_image_prompts=self.binary_image_prompts,
            binary_text_prompts=self.binary_text_prompts, labels=pick(self.labels),
            binary_labels=pick(self.binary_labels), text_unmasked=pick(self.text_unmasked),
            titles=pick(self.titles), masked_titles=pick(self.masked_titles),
            prompts=dict(self.prompts), info=dict(self.info, subset=int(len(idx))),
        )


def _prompt_rows(E: np.ndarray, C: int) -> dict[str, np.ndarray]:
    """The prompt embeddings of one batched text call, split by role: rows ``[image prompts (C),
    text prompts (C), binary image prompts (2), binary text prompts (2)]``."""
    if E.shape[0] != 2 * C + 4:
        raise ValueError(f"expected {2 * C + 4} prompt rows (2 x {C} class + 2 x 2 binary prompts), got {E.shape[0]}")
    return {"image_prompts": E[:C], "text_prompts": E[C : 2 * C],
            "binary_image_prompts": E[2 * C : 2 * C + 2], "binary_text_prompts": E[2 * C + 2 :]}


def _phrases(prompt_set: str, classes=None) -> tuple[list[str], list[str]]:
    ps = get_prompt_set(prompt_set)
    if classes is None:
        return list(ps), list(ps.values())
    return list(classes), [ps.get(c, FASHION_PHRASES.get(c, c.lower())) for c in classes]


def load_fashion_inputs(
    classes=None,
    prompt_set: str = "fashion13",
    binary_prompt_set: str = "fashion-apparel-vs-footwear",
    image_encoder: str = "lit-fashion",
    text_encoder: str = "minilm",
    image_template: str = "a photo of {}",
    text_template: str = "{}",
    mask_titles: bool = True,
    split: str = "eval",
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
) -> TourneyInputs:
    """The offline default: fashion-products ``eval`` items of ``classes`` (default: the 13 of
    :data:`zsl_lib.zeroshot.prompts.FASHION_13`), images through ``image_encoder`` (an image->text
    aligned encoder, "lit-fashion"), titles and prompts through ``text_encoder`` (MiniLM, the
    space lit-fashion maps into). Binary truth: masterCategory Apparel (0) vs Footwear (1).
    ``limit`` keeps a seeded random subset of the items (smoke runs). ``device``: torch device of
    the image and text encoders (:func:`zsl_lib.config.resolve_device`; "cpu" by default)."""
    device = config.resolve_device(device)  # an absent device fails before any extraction
    classes = list(FASHION_13 if classes is None else classes)
    ds = load_dataset("fashion-products", split=split, classes=classes)
    names, phrases = _phrases(prompt_set, classes)
    bnames, bphrases = _phrases(binary_prompt_set)
    img_p, txt_p = make_prompts(phrases, image_template, text_template)
    bimg_p, btxt_p = make_prompts(bphrases, image_template, text_template)
    all_prompts = img_p + txt_p + bimg_p + btxt_p
    E = embed_texts(all_prompts, text_encoder, device=device)
    C = len(img_p)
    titles = list(ds.texts)
    masked = mask_words(titles, fashion_class_words(classes))
    text_unmasked = embed_texts(titles, text_encoder, device=device)
    text = embed_texts(masked, text_encoder, device=device) if mask_titles else text_unmasked
    image = embed(ds, image_encoder, progress=progress, device=device)
    master = ds.meta["masterCategory"].to_numpy()
    binary_labels = np.where(master == "Apparel", 0, np.where(master == "Footwear", 1, -1))
    inputs = TourneyInputs(
        source="fashion-products",
        class_names=names,
        image=image,
        text=text,
        binary_names=bnames,
        **_prompt_rows(E, C),
        labels=np.asarray(ds.labels, dtype=np.int64),
        binary_labels=binary_labels.astype(np.int64),
        text_unmasked=text_unmasked,
        titles=titles,
        masked_titles=masked,
        prompts={"image": img_p, "text": txt_p, "binary_image": bimg_p, "binary_text": btxt_p},
        info={"split": split, "image_encoder": image_encoder, "text_encoder": text_encoder,
              "mask_titles": mask_titles, "fingerprint": ds.fingerprint},
    )
    if limit is not None and limit < len(ds):
        # embeddings are computed (and cached) for the whole split, then subset: a smoke run
        # reuses the default run's cache instead of extracting a differently keyed subset
        inputs = inputs.subset(np.sort(np.random.default_rng(seed).choice(len(ds), limit, replace=False)))
    return inputs


def load_sqid_inputs(
    path: str | None = None,
    prompt_set: str = "sqid-clothing13",
    binary_prompt_set: str = "sqid-clothing-vs-household",
    clip_arch: str = "ViT-L-14",
    clip_pretrained: str | None = "openai",
    image_template: str = "a photo of {}",
    text_template: str = "{}",
    limit: int | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> TourneyInputs:
    """The article's configuration: SQID ``product_features.parquet`` (CLIP ViT-L/14 image and
    title embeddings, 768-d), products without an image dropped (as the author's ``dropna``), class
    prompts embedded with the matching open_clip text tower. ``path``: a parquet of that schema
    (None: the registry's file, downloaded where allowed). No true labels exist. ``device``: torch
    device of the open_clip text tower."""
    device = config.resolve_device(device)
    if path:
        df = pd.read_parquet(path, columns=["product_id", "clip_text_features",
                                            "clip_image_features"])
    else:
        df = load_dataset("sqid")
    df = df.dropna(subset=["clip_text_features", "clip_image_features"]).reset_index(drop=True)
    if len(df) == 0:
        raise ValueError("sqid: no product has both a text and an image embedding")
    if limit is not None and limit < len(df):
        idx = np.sort(np.random.default_rng(seed).choice(len(df), size=limit, replace=False))
        df = df.iloc[idx].reset_index(drop=True)
    image = embedding_matrix(df, "clip_image_features")
    text = embedding_matrix(df, "clip_text_features")
    names, phrases = _phrases(prompt_set)
    bnames, bphrases = _phrases(binary_prompt_set)
    img_p, txt_p = make_prompts(phrases, image_template, text_template)
    bimg_p, btxt_p = make_prompts(bphrases, image_template, text_template)
    E = clip_text_embed(img_p + txt_p + bimg_p + btxt_p, clip_arch, clip_pretrained, device=device)
    C = len(img_p)
    return TourneyInputs(
        source="sqid",
        class_names=names,
        image=image,
        text=text,
        binary_names=bnames,
        **_prompt_rows(E, C),
        prompts={"image": img_p, "text": txt_p, "binary_image": bimg_p, "binary_text": btxt_p},
        info={"clip": f"{clip_arch}/{clip_pretrained}", "n_products": len(df)},
    )


def user_path(value, parameter: str) -> Path:
    """A user's file or folder given as a notebook parameter: :func:`zsl_lib.config.resolve_user_path`
    (relative paths resolve against the directory the command was run from, as in every notebook)."""
    if not value:
        raise ValueError(f"parameter {parameter} is empty: give the path of your data")
    return config.resolve_user_path(parameter, value, folder=None)


def user_class_names(images, bad_images: str = "raise") -> list[str]:
    """The classes of a user's data, in the loader's order (folder names / the .npz's names); a
    folder's images are all decoded (unreadable ones: ``bad_images`` "raise" or "skip")."""
    path = user_path(images, "user_images")
    if path.suffix == ".npz":
        return list(load_dataset("embeddings", path=path).class_names)
    return list(load_dataset("image-folder", root=path, bad_images=bad_images).class_names)


def _user_titles(csv, items: list[str] | None, n: int, root: Path | None) -> list[str]:
    """Titles of a user's items from a CSV (``path,title``: path relative to the image folder or
    absolute; ``index,title``: row of the .npz), or the image file names without extension."""
    if not csv:
        if items is None:
            raise ValueError("parameter user_titles_csv is empty: precomputed embeddings (.npz) have no file names "
                             "to use as titles; give a CSV with columns index,title")
        return [Path(i).stem.replace("_", " ").replace("-", " ") for i in items]
    path = user_path(csv, "user_titles_csv")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    key = "path" if items is not None else "index"
    if list(df.columns[:2]) != [key, "title"]:
        raise ValueError(f"parameter user_titles_csv: {path} must have the header '{key},title' for "
                         f"{'an image folder' if key == 'path' else 'an .npz'}; got {list(df.columns)}")
    if key == "path":
        names = [str(Path(p).relative_to(root)) for p in items]
        rel = [str(Path(p).relative_to(root) if Path(p).is_absolute() else Path(p)) for p in df["path"].str.strip()]
        by = dict(zip(rel, df["title"]))
    else:
        names = [str(i) for i in range(n)]
        by = dict(zip(df["index"].str.strip(), df["title"]))
    missing = [k for k in names if k not in by]
    if missing:
        raise ValueError(f"parameter user_titles_csv: {path} has no title for {len(missing)} of {len(names)} "
                         f"items, e.g. {key} {missing[0]!r}; give one row per item")
    return [by[k] for k in names]


def load_user_inputs(
    images,
    titles_csv: str = "",
    binary_group: list | None = None,
    image_encoder: str = "lit-fashion",
    text_encoder: str = "minilm",
    image_template: str = "a photo of {}",
    text_template: str = "{}",
    mask_titles: bool = True,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    device: str = "cpu",
    bad_images: str = "raise",
) -> TourneyInputs:
    """A user's own data: ``images`` is an image folder ``root/<class>/<image>`` (embedded with
    ``image_encoder``, which must map images into ``text_encoder``'s space, e.g. ``lit-fashion``
    with ``minilm`` or ``openclip:<arch>/<tag>`` with the same name) or an ``.npz`` with ``X`` (n, d)
    image embeddings already in ``text_encoder``'s space, ``y`` and optional ``class_names``.
    Prompts are the class names (``_`` read as a space) in the templates; titles come from
    ``titles_csv`` (see :func:`_user_titles`), masked of the class-name words when ``mask_titles``.
    Binary stage: the classes in ``binary_group`` (default: the first half, by name) against the
    rest, each side prompted by the mean of its classes' prompt embeddings; the truth follows
    the labels. ``device``: torch device of the image and text encoders. ``bad_images``: unreadable
    images of the folder stop the run, all listed ("raise"), or are left out with a warning ("skip")."""
    path = user_path(images, "user_images")
    device = config.resolve_device(device)
    if path.suffix == ".npz":
        ds = load_dataset("embeddings", path=path)
        items, root = None, None
    else:
        ds = load_dataset("image-folder", root=path, bad_images=bad_images)
        items, root = list(ds.items), path
    names = list(ds.class_names)
    if len(names) < 2:
        raise ValueError(f"parameter user_images: {path} holds {len(names)} class; the tourney needs at least 2")
    labels = np.asarray(ds.labels if items is not None else ds.y, dtype=np.int64)
    titles = _user_titles(titles_csv, items, len(labels), root)
    group = list(binary_group or names[: (len(names) + 1) // 2])
    unknown = [g for g in group if g not in names]
    if unknown or not 0 < len(group) < len(names):
        raise ValueError(f"parameter user_binary_group={group!r}: give between 1 and {len(names) - 1} of the "
                         f"classes {names}" + (f"; unknown {unknown}" if unknown else ""))
    phrases = [n.replace("_", " ") for n in names]
    img_p, txt_p = make_prompts(phrases, image_template, text_template)
    E = embed_texts(img_p + txt_p, text_encoder, progress=progress, device=device)
    image = ds.X if items is None else embed(ds, image_encoder, progress=progress, device=device)
    if image.shape[1] != E.shape[1]:
        raise ValueError(f"parameter user_images: image embeddings are {image.shape[1]}-d but {text_encoder!r} "
                         f"embeds texts in {E.shape[1]}-d; they must share one space (an aligned encoder pair)")
    C = len(names)
    in_group = np.isin(names, group)
    bnames = [" / ".join(group), " / ".join(n for n in names if n not in group)]

    def _binary(P):
        B = np.stack([P[in_group].mean(0), P[~in_group].mean(0)])
        return (B / np.linalg.norm(B, axis=1, keepdims=True)).astype(np.float32)

    masked = mask_words(titles, phrases)
    text_unmasked = embed_texts(titles, text_encoder, progress=progress, device=device)
    text = embed_texts(masked, text_encoder, progress=progress, device=device) if mask_titles else text_unmasked
    inputs = TourneyInputs(
        source="user", class_names=names, image=np.asarray(image, dtype=np.float32), text=text,
        image_prompts=E[:C], text_prompts=E[C:], binary_names=bnames,
        binary_image_prompts=_binary(E[:C]), binary_text_prompts=_binary(E[C:]),
        labels=labels, binary_labels=np.where(in_group[labels], 0, 1).astype(np.int64),
        text_unmasked=text_unmasked, titles=titles, masked_titles=masked,
        prompts={"image": img_p, "text": txt_p, "binary_image": [f"mean of: {bnames[0]}", f"mean of: {bnames[1]}"],
                 "binary_text": bnames},
        info={"images": str(path), "image_encoder": image_encoder if items is not None else "precomputed",
              "text_encoder": text_encoder, "mask_titles": mask_titles, "fingerprint": ds.fingerprint},
    )
    if limit is not None and limit < len(inputs):
        inputs = inputs.subset(np.sort(np.random.default_rng(seed).choice(len(inputs), limit, replace=False)))
    return inputs


def load_inputs(source: str, **options) -> TourneyInputs:
    """Dispatch to :func:`load_fashion_inputs`, :func:`load_sqid_inputs` or
    :func:`load_user_inputs` by ``source``."""
    check_choice("source", source, SOURCES)
    if source == "fashion-products":
        return load_fashion_inputs(**options)
    if source == "user":
        return load_user_inputs(**options)
    return load_sqid_inputs(**options)


def clip_text_embed(
    prompts, arch: str = "ViT-L-14", pretrained: str | None = "openai", batch_size: int = 64,
    device: str = "cpu",
) -> np.ndarray:
    """Embed prompts with an open_clip text tower: list of str (n,) -> float32 (n, embed_dim),
    not normalised (cosines normalise). ``pretrained=None`` builds the architecture with random
    weights (tests); ``"openai"`` downloads the OpenAI weights on first use (the paper setting).
    ``arch`` may also be the path of an open_clip model-config JSON (registered under its file
    stem), e.g. a tiny random tower for offline tests. ``device``: torch device of the tower
    (:func:`zsl_lib.config.resolve_device`); random weights are drawn on the CPU before the move,
    so they do not depend on it."""
    import open_clip  # noqa: PLC0415  (heavy, only for the paper setting)
    import torch  # noqa: PLC0415

    if str(arch).endswith(".json"):
        cfg = Path(arch)
        if not cfg.exists():
            raise FileNotFoundError(f"open_clip model config {cfg} does not exist")
        open_clip.add_model_config(cfg)
        arch = cfg.stem
    if arch not in open_clip.list_models():
        raise ValueError(
            f"unknown open_clip architecture {arch!r}; see open_clip.list_models(), e.g. 'ViT-L-14'"
        )
    device = config.resolve_device(device)
    model = open_clip.create_model(arch, pretrained=pretrained or None, device="cpu").to(device)
    model.eval()
    tokenizer = open_clip.get_tokenizer(arch)
    out = []
    with torch.no_grad():
        for s in range(0, len(prompts), batch_size):
            tokens = tokenizer(list(prompts[s : s + batch_size])).to(device)
            out.append(model.encode_text(tokens).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)
