"""zsl_lib: the zero-shot similarity lab's helper library.

Data flows one way: ``zsl_lib.data`` (registry, loaders) -> ``zsl_lib.encoders`` (cached
embeddings) -> ``zsl_lib.index`` / ``zsl_lib.zeroshot`` (methods) -> ``zsl_lib.metrics`` ->
``zsl_lib.record`` / ``zsl_lib.plots`` -> notebooks.
"""

__version__ = "0.1.0"
