"""Class prompts and class words for the pairwise-tourney notebook (kept in the library, not in
notebooks, like open_clip's ``zero_shot_metadata``).

* Prompt sets map a class key to the phrase that names it; :func:`make_prompts` turns a phrase into
  the image-side prompt (``"a photo of {}"``, the author's) and the text-side prompt (``"{}"``,
  the author's code embeds the bare phrase for the text side).
* :data:`FASHION_CLASS_WORDS` lists, per fashion-products ``articleType``, the words a product
  title uses to name the class; :func:`zsl_lib.data.text.mask_words` removes them so
  that the text side cannot read the label off the title.

Only strings live here; embedding the prompts is the driver's part
(:mod:`zsl_lib.experiments.tourney_inputs`, e.g. ``clip_text_embed`` for the paper setting).
"""

from __future__ import annotations

__all__ = [
    "FASHION_13",
    "FASHION_PHRASES",
    "FASHION_CLASS_WORDS",
    "FASHION_BINARY",
    "SQID_CLOTHING_13",
    "SQID_BINARY",
    "PROMPT_SETS",
    "make_prompts",
    "get_prompt_set",
    "fashion_class_words",
]

IMAGE_TEMPLATE = "a photo of {}"
TEXT_TEMPLATE = "{}"

# The 13 fashion-products articleTypes of the offline default: the 14 apparel and footwear
# articleTypes with at least 170 items with image and title (data README counts), minus Formal
# Shoes (183 items, the smallest footwear class and a near-duplicate of Casual Shoes), giving the
# article's 13 classes. Eight apparel, five footwear classes.
FASHION_13 = [
    "Tshirts", "Shirts", "Tops", "Kurtas", "Sweaters", "Sweatshirts", "Trousers", "Jeans",
    "Casual Shoes", "Sports Shoes", "Heels", "Sandals", "Flip Flops",
]  # fmt: skip
FASHION_APPAREL = FASHION_13[:8]
FASHION_FOOTWEAR = FASHION_13[8:]

# articleType -> the phrase in the prompt
FASHION_PHRASES = {
    "Tshirts": "t-shirt",
    "Shirts": "shirt",
    "Tops": "women's top",
    "Kurtas": "kurta",
    "Sweaters": "sweater",
    "Sweatshirts": "sweatshirt",
    "Trousers": "trousers",
    "Jeans": "jeans",
    "Casual Shoes": "casual shoes",
    "Sports Shoes": "sports shoes",
    "Heels": "heels",
    "Sandals": "sandals",
    "Flip Flops": "flip flops",
    "Formal Shoes": "formal shoes",
    "Watches": "watch",
    "Handbags": "handbag",
    "Sunglasses": "sunglasses",
    "Wallets": "wallet",
    "Belts": "belt",
    "Jackets": "jacket",
    "Shorts": "shorts",
    "Socks": "socks",
}

# articleType -> words titles use for it (singular; plurals and t-shirt/tshirt variants are
# matched by mask_class_words). Masking removes the words of ALL classes from every title.
FASHION_CLASS_WORDS = {
    "Tshirts": ["t-shirt", "tshirt", "tee", "polo"],
    "Shirts": ["shirt"],
    "Tops": ["top", "tunic"],
    "Kurtas": ["kurta", "kurti"],
    "Sweaters": ["sweater", "cardigan", "pullover"],
    "Sweatshirts": ["sweatshirt", "hoodie", "hooded"],
    "Trousers": ["trouser", "pant", "chino"],
    "Jeans": ["jean", "denim"],
    "Casual Shoes": ["casual shoe", "shoe", "sneaker", "loafer", "moccasin"],
    "Sports Shoes": ["sports shoe", "sport shoe", "running shoe", "shoe", "trainer"],
    "Heels": ["heel", "stiletto", "pump", "wedge"],
    "Sandals": ["sandal", "floater"],
    "Flip Flops": ["flip flop", "flip-flop", "slipper", "chappal"],
    "Formal Shoes": ["formal shoe", "shoe", "oxford", "derby"],
}

# The offline binary stage (analogue of the article's clothing vs household): apparel vs footwear
# within the 13 classes; truth = fashion-products masterCategory.
FASHION_BINARY = {
    "apparel": "clothing such as a shirt, t-shirt, top, sweater or trousers",
    "footwear": "footwear such as shoes, sandals, heels or flip flops",
}

# The author's SQID configuration (doc1000/pairwise_classification, crossdev_dim.py).
SQID_CLOTHING_13 = {
    "dress or skirt": "dress or skirt",
    "footwear": "footwear such as boots, shoes, slippers",
    "pants": "pants, leggings or jeans",
    "shirt or blouse": "shirt or blouse",
    "jewelry": "jewelry such as earrings, rings, necklaces",
    "eyewear": "eyewear such as glasses or sunglasses",
    "coat": "coat, wrap or shawl",
    "shorts": "shorts",
    "hat": "hat",
    "bag or purse": "bag or purse",
    "phone": "phone",
    "belt": "belt",
    "socks": "socks",
}
SQID_BINARY = {"clothing": "people wearing clothing", "household": "general household items"}

PROMPT_SETS = {
    "fashion13": {c: FASHION_PHRASES[c] for c in FASHION_13},
    "fashion-apparel-vs-footwear": FASHION_BINARY,
    "sqid-clothing13": SQID_CLOTHING_13,
    "sqid-clothing-vs-household": SQID_BINARY,
}


def get_prompt_set(name: str) -> dict[str, str]:
    """Class key -> phrase of a named prompt set (copy)."""
    if name not in PROMPT_SETS:
        raise ValueError(f"unknown prompt set {name!r}; accepted: {', '.join(PROMPT_SETS)}")
    return dict(PROMPT_SETS[name])


def make_prompts(
    phrases, image_template: str = IMAGE_TEMPLATE, text_template: str = TEXT_TEMPLATE
) -> tuple[list[str], list[str]]:
    """Image-side and text-side prompts for each phrase (the author's ``create_prompts``):
    ``("a photo of t-shirt", ...)`` and ``("t-shirt", ...)``; phrases are stripped and
    lower-cased."""
    for t, name in ((image_template, "image_template"), (text_template, "text_template")):
        if "{}" not in t:
            raise ValueError(f"{name} must contain '{{}}' where the class phrase goes; got {t!r}")
    clean = [str(p).strip().lower() for p in phrases]
    return [image_template.format(p) for p in clean], [text_template.format(p) for p in clean]


def fashion_class_words(classes=None) -> list[str]:
    """Every title word naming one of ``classes`` (default: every known articleType)."""
    classes = list(FASHION_CLASS_WORDS) if classes is None else list(classes)
    words: list[str] = []
    for c in classes:
        words += FASHION_CLASS_WORDS.get(c, [c.lower()])
        words.append(c.lower())
    return sorted(set(words))
