"""The LSH comparison report's result tables (Figures 1, 2 and 4), transcribed from its text.

(Re-exported by :mod:`zsl_lib.experiments.lsh_report`, which renders notebook 04's prose.)

Source: ``04-lsh-comparison-report.txt`` (CS635 2024 assignment report). Numbers are percentages
as printed. The report's k-means and random-hyperplane runs use ResNet-18 (512-d) embeddings; its
neural LSH runs use ResNet-50 (2048-d) embeddings.

This module holds the report's numbers in :data:`SOURCE`, the one flat shape every driver uses
(dotted keys -> numbers), and :data:`REPORT`, the same numbers as per-grid lists derived from it
(:func:`source_grids`). Settings: k-means ``"none"`` / ``"248"`` (PCA dims); LSH the number of
tables (3, 6, 12); neural LSH 8 tables (J bits drawn from H = 800 outputs). The tables are built
by :func:`zsl_lib.experiments.lsh.report_table` / ``report_best``.
"""

from __future__ import annotations

import re

#: The report's numbers, one flat dict keyed like our grid records:
#: ``"<method>.<report dataset>.<setting>.<param><value>.<metric>"`` (percent as printed), e.g.
#: ``"kmeans.cifar10.pca-none.K10.p_at_10"``. Figure 1: k-means with K clusters on the 512-d
#: embedding (``pca-none``) and after PCA to 248 dims (``pca-248``); Figure 2: random-hyperplane
#: LSH, H hyperplanes per table, L tables; Figure 4: neural LSH, J bits per table, 8 tables.
SOURCE: dict[str, float] = {
    "kmeans.cifar10.pca-none.K10.p_at_10": 75.58, "kmeans.cifar10.pca-none.K20.p_at_10": 75.12,
    "kmeans.cifar10.pca-none.K100.p_at_10": 74.74, "kmeans.cifar10.pca-none.K200.p_at_10": 74.97,
    "kmeans.cifar10.pca-none.K1000.p_at_10": 74.39, "kmeans.cifar10.pca-none.K10.p_at_50": 71.16,
    "kmeans.cifar10.pca-none.K20.p_at_50": 70.78, "kmeans.cifar10.pca-none.K100.p_at_50": 70.7,
    "kmeans.cifar10.pca-none.K200.p_at_50": 71.34, "kmeans.cifar10.pca-none.K1000.p_at_50": 69.21,
    "kmeans.cifar10.pca-none.K10.map": 57.34, "kmeans.cifar10.pca-none.K20.map": 60.94,
    "kmeans.cifar10.pca-none.K100.map": 67.82, "kmeans.cifar10.pca-none.K200.map": 70.72,
    "kmeans.cifar10.pca-none.K1000.map": 74.96,
    "kmeans.cifar10.pca-248.K10.p_at_10": 75.83, "kmeans.cifar10.pca-248.K20.p_at_10": 75.01,
    "kmeans.cifar10.pca-248.K100.p_at_10": 74.83, "kmeans.cifar10.pca-248.K200.p_at_10": 75.53,
    "kmeans.cifar10.pca-248.K1000.p_at_10": 75.0, "kmeans.cifar10.pca-248.K10.p_at_50": 71.69,
    "kmeans.cifar10.pca-248.K20.p_at_50": 70.78, "kmeans.cifar10.pca-248.K100.p_at_50": 71.0,
    "kmeans.cifar10.pca-248.K200.p_at_50": 71.85, "kmeans.cifar10.pca-248.K1000.p_at_50": 69.73,
    "kmeans.cifar10.pca-248.K10.map": 58.62, "kmeans.cifar10.pca-248.K20.map": 60.83,
    "kmeans.cifar10.pca-248.K100.map": 67.96, "kmeans.cifar10.pca-248.K200.map": 71.03,
    "kmeans.cifar10.pca-248.K1000.map": 75.43,
    "kmeans.cifar100.pca-none.K100.p_at_10": 43.0, "kmeans.cifar100.pca-none.K200.p_at_10": 43.81,
    "kmeans.cifar100.pca-none.K500.p_at_10": 44.17, "kmeans.cifar100.pca-none.K1000.p_at_10": 43.36,
    "kmeans.cifar100.pca-none.K2000.p_at_10": 43.38, "kmeans.cifar100.pca-none.K100.p_at_50": 35.84,
    "kmeans.cifar100.pca-none.K200.p_at_50": 37.01, "kmeans.cifar100.pca-none.K500.p_at_50": 37.15,
    "kmeans.cifar100.pca-none.K1000.p_at_50": 35.9, "kmeans.cifar100.pca-none.K2000.p_at_50": 37.29,
    "kmeans.cifar100.pca-none.K100.map": 35.14, "kmeans.cifar100.pca-none.K200.map": 39.52,
    "kmeans.cifar100.pca-none.K500.map": 44.81, "kmeans.cifar100.pca-none.K1000.map": 47.24,
    "kmeans.cifar100.pca-none.K2000.map": 50.38,
    "kmeans.cifar100.pca-248.K100.p_at_10": 43.7, "kmeans.cifar100.pca-248.K200.p_at_10": 44.08,
    "kmeans.cifar100.pca-248.K500.p_at_10": 43.59, "kmeans.cifar100.pca-248.K1000.p_at_10": 43.75,
    "kmeans.cifar100.pca-248.K2000.p_at_10": 43.33, "kmeans.cifar100.pca-248.K100.p_at_50": 36.57,
    "kmeans.cifar100.pca-248.K200.p_at_50": 37.46, "kmeans.cifar100.pca-248.K500.p_at_50": 36.24,
    "kmeans.cifar100.pca-248.K1000.p_at_50": 36.34, "kmeans.cifar100.pca-248.K2000.p_at_50": 37.19,
    "kmeans.cifar100.pca-248.K100.map": 35.72, "kmeans.cifar100.pca-248.K200.map": 39.85,
    "kmeans.cifar100.pca-248.K500.map": 44.0, "kmeans.cifar100.pca-248.K1000.map": 47.65,
    "kmeans.cifar100.pca-248.K2000.map": 50.65,
    "kmeans.imagenet.pca-none.K1000.p_at_10": 36.37, "kmeans.imagenet.pca-none.K2000.p_at_10": 36.63,
    "kmeans.imagenet.pca-none.K5000.p_at_10": 37.18, "kmeans.imagenet.pca-none.K10000.p_at_10": 37.42,
    "kmeans.imagenet.pca-none.K1000.p_at_50": 30.96, "kmeans.imagenet.pca-none.K2000.p_at_50": 31.69,
    "kmeans.imagenet.pca-none.K5000.p_at_50": 32.77, "kmeans.imagenet.pca-none.K10000.p_at_50": 33.06,
    "kmeans.imagenet.pca-none.K1000.map": 26.31, "kmeans.imagenet.pca-none.K2000.map": 29.66,
    "kmeans.imagenet.pca-none.K5000.map": 33.9, "kmeans.imagenet.pca-none.K10000.map": 35.38,
    "kmeans.imagenet.pca-248.K1000.p_at_10": 36.22, "kmeans.imagenet.pca-248.K2000.p_at_10": 36.62,
    "kmeans.imagenet.pca-248.K5000.p_at_10": 37.15, "kmeans.imagenet.pca-248.K10000.p_at_10": 37.37,
    "kmeans.imagenet.pca-248.K1000.p_at_50": 30.89, "kmeans.imagenet.pca-248.K2000.p_at_50": 31.85,
    "kmeans.imagenet.pca-248.K5000.p_at_50": 32.78, "kmeans.imagenet.pca-248.K10000.p_at_50": 33.01,
    "kmeans.imagenet.pca-248.K1000.map": 26.62, "kmeans.imagenet.pca-248.K2000.map": 29.76,
    "kmeans.imagenet.pca-248.K5000.map": 34.21, "kmeans.imagenet.pca-248.K10000.map": 35.56,
    "lsh.cifar10.L3.H3.p_at_10": 76.25, "lsh.cifar10.L3.H4.p_at_10": 76.15,
    "lsh.cifar10.L3.H7.p_at_10": 74.64, "lsh.cifar10.L3.H8.p_at_10": 73.84,
    "lsh.cifar10.L3.H10.p_at_10": 72.0, "lsh.cifar10.L3.H3.p_at_50": 71.08,
    "lsh.cifar10.L3.H4.p_at_50": 70.82, "lsh.cifar10.L3.H7.p_at_50": 68.73,
    "lsh.cifar10.L3.H8.p_at_50": 67.42, "lsh.cifar10.L3.H10.p_at_50": 64.56, "lsh.cifar10.L3.H3.map": 39.85,
    "lsh.cifar10.L3.H4.map": 40.4, "lsh.cifar10.L3.H7.map": 42.93, "lsh.cifar10.L3.H8.map": 43.99,
    "lsh.cifar10.L3.H10.map": 45.66,
    "lsh.cifar10.L6.H3.p_at_10": 76.61, "lsh.cifar10.L6.H4.p_at_10": 76.51,
    "lsh.cifar10.L6.H7.p_at_10": 75.88, "lsh.cifar10.L6.H8.p_at_10": 75.77,
    "lsh.cifar10.L6.H10.p_at_10": 74.68, "lsh.cifar10.L6.H3.p_at_50": 71.5,
    "lsh.cifar10.L6.H4.p_at_50": 71.39, "lsh.cifar10.L6.H7.p_at_50": 70.39,
    "lsh.cifar10.L6.H8.p_at_50": 69.98, "lsh.cifar10.L6.H10.p_at_50": 68.44, "lsh.cifar10.L6.H3.map": 39.25,
    "lsh.cifar10.L6.H4.map": 39.83, "lsh.cifar10.L6.H7.map": 42.46, "lsh.cifar10.L6.H8.map": 43.15,
    "lsh.cifar10.L6.H10.map": 44.89,
    "lsh.cifar10.L12.H3.p_at_10": 76.64, "lsh.cifar10.L12.H4.p_at_10": 76.63,
    "lsh.cifar10.L12.H7.p_at_10": 76.5, "lsh.cifar10.L12.H8.p_at_10": 76.48,
    "lsh.cifar10.L12.H10.p_at_10": 76.24, "lsh.cifar10.L12.H3.p_at_50": 71.55,
    "lsh.cifar10.L12.H4.p_at_50": 71.54, "lsh.cifar10.L12.H7.p_at_50": 71.34,
    "lsh.cifar10.L12.H8.p_at_50": 71.26, "lsh.cifar10.L12.H10.p_at_50": 70.81,
    "lsh.cifar10.L12.H3.map": 39.02, "lsh.cifar10.L12.H4.map": 39.16, "lsh.cifar10.L12.H7.map": 41.0,
    "lsh.cifar10.L12.H8.map": 41.13, "lsh.cifar10.L12.H10.map": 42.74,
    "lsh.cifar100.L3.H7.p_at_10": 43.86, "lsh.cifar100.L3.H8.p_at_10": 42.32,
    "lsh.cifar100.L3.H9.p_at_10": 40.89, "lsh.cifar100.L3.H10.p_at_10": 39.53,
    "lsh.cifar100.L3.H11.p_at_10": 37.94, "lsh.cifar100.L3.H7.p_at_50": 33.65,
    "lsh.cifar100.L3.H8.p_at_50": 31.66, "lsh.cifar100.L3.H9.p_at_50": 29.74,
    "lsh.cifar100.L3.H10.p_at_50": 27.75, "lsh.cifar100.L3.H11.p_at_50": 25.73,
    "lsh.cifar100.L3.H7.map": 20.06, "lsh.cifar100.L3.H8.map": 21.13, "lsh.cifar100.L3.H9.map": 22.22,
    "lsh.cifar100.L3.H10.map": 23.3, "lsh.cifar100.L3.H11.map": 24.1,
    "lsh.cifar100.L6.H7.p_at_10": 45.61, "lsh.cifar100.L6.H8.p_at_10": 45.25,
    "lsh.cifar100.L6.H9.p_at_10": 44.28, "lsh.cifar100.L6.H10.p_at_10": 43.54,
    "lsh.cifar100.L6.H11.p_at_10": 42.37, "lsh.cifar100.L6.H7.p_at_50": 35.95,
    "lsh.cifar100.L6.H8.p_at_50": 35.34, "lsh.cifar100.L6.H9.p_at_50": 34.12,
    "lsh.cifar100.L6.H10.p_at_50": 32.87, "lsh.cifar100.L6.H11.p_at_50": 31.22,
    "lsh.cifar100.L6.H7.map": 19.24, "lsh.cifar100.L6.H8.map": 19.85, "lsh.cifar100.L6.H9.map": 20.81,
    "lsh.cifar100.L6.H10.map": 21.73, "lsh.cifar100.L6.H11.map": 22.52,
    "lsh.cifar100.L12.H7.p_at_10": 46.7, "lsh.cifar100.L12.H8.p_at_10": 46.64,
    "lsh.cifar100.L12.H9.p_at_10": 46.43, "lsh.cifar100.L12.H10.p_at_10": 46.03,
    "lsh.cifar100.L12.H11.p_at_10": 45.58, "lsh.cifar100.L12.H7.p_at_50": 37.42,
    "lsh.cifar100.L12.H8.p_at_50": 37.37, "lsh.cifar100.L12.H9.p_at_50": 37.04,
    "lsh.cifar100.L12.H10.p_at_50": 36.44, "lsh.cifar100.L12.H11.p_at_50": 35.75,
    "lsh.cifar100.L12.H7.map": 18.0, "lsh.cifar100.L12.H8.map": 18.25, "lsh.cifar100.L12.H9.map": 18.55,
    "lsh.cifar100.L12.H10.map": 19.5, "lsh.cifar100.L12.H11.map": 20.26,
    "lsh.imagenet.L3.H10.p_at_10": 41.97, "lsh.imagenet.L3.H15.p_at_10": 39.21,
    "lsh.imagenet.L3.H30.p_at_10": 40.36, "lsh.imagenet.L3.H100.p_at_10": 42.33,
    "lsh.imagenet.L3.H10.p_at_50": 35.23, "lsh.imagenet.L3.H15.p_at_50": 37.96,
    "lsh.imagenet.L3.H30.p_at_50": 39.63, "lsh.imagenet.L3.H100.p_at_50": 35.66,
    "lsh.imagenet.L3.H10.map": 23.33, "lsh.imagenet.L3.H15.map": 23.17, "lsh.imagenet.L3.H30.map": 23.99,
    "lsh.imagenet.L3.H100.map": 25.61,
    "lsh.imagenet.L6.H10.p_at_10": 44.23, "lsh.imagenet.L6.H15.p_at_10": 44.01,
    "lsh.imagenet.L6.H30.p_at_10": 45.31, "lsh.imagenet.L6.H100.p_at_10": 41.98,
    "lsh.imagenet.L6.H10.p_at_50": 34.98, "lsh.imagenet.L6.H15.p_at_50": 35.36,
    "lsh.imagenet.L6.H30.p_at_50": 31.36, "lsh.imagenet.L6.H100.p_at_50": 33.36,
    "lsh.imagenet.L6.H10.map": 24.96, "lsh.imagenet.L6.H15.map": 24.36, "lsh.imagenet.L6.H30.map": 22.33,
    "lsh.imagenet.L6.H100.map": 25.79,
    "lsh.imagenet.L12.H10.p_at_10": 47.3, "lsh.imagenet.L12.H15.p_at_10": 49.36,
    "lsh.imagenet.L12.H30.p_at_10": 46.49, "lsh.imagenet.L12.H100.p_at_10": 50.01,
    "lsh.imagenet.L12.H10.p_at_50": 36.78, "lsh.imagenet.L12.H15.p_at_50": 37.04,
    "lsh.imagenet.L12.H30.p_at_50": 39.33, "lsh.imagenet.L12.H100.p_at_50": 40.36,
    "lsh.imagenet.L12.H10.map": 19.47, "lsh.imagenet.L12.H15.map": 20.79, "lsh.imagenet.L12.H30.map": 21.79,
    "lsh.imagenet.L12.H100.map": 22.0,
    "neural-lsh.cifar10.L8.J4.p_at_10": 79.65, "neural-lsh.cifar10.L8.J8.p_at_10": 80.264,
    "neural-lsh.cifar10.L8.J16.p_at_10": 74.49, "neural-lsh.cifar10.L8.J32.p_at_10": 78.32,
    "neural-lsh.cifar10.L8.J4.p_at_50": 78.19, "neural-lsh.cifar10.L8.J8.p_at_50": 78.78,
    "neural-lsh.cifar10.L8.J16.p_at_50": 73.03, "neural-lsh.cifar10.L8.J32.p_at_50": 71.79,
    "neural-lsh.cifar10.L8.J4.map": 42.96, "neural-lsh.cifar10.L8.J8.map": 48.63,
    "neural-lsh.cifar10.L8.J16.map": 52.09, "neural-lsh.cifar10.L8.J32.map": 53.12,
    "neural-lsh.cifar100.L8.J4.p_at_10": 49.67, "neural-lsh.cifar100.L8.J8.p_at_10": 47.12,
    "neural-lsh.cifar100.L8.J16.p_at_10": 46.96, "neural-lsh.cifar100.L8.J32.p_at_10": 38.24,
    "neural-lsh.cifar100.L8.J4.p_at_50": 40.95, "neural-lsh.cifar100.L8.J8.p_at_50": 40.12,
    "neural-lsh.cifar100.L8.J16.p_at_50": 35.78, "neural-lsh.cifar100.L8.J32.p_at_50": 23.73,
    "neural-lsh.cifar100.L8.J4.map": 19.79, "neural-lsh.cifar100.L8.J8.map": 25.39,
    "neural-lsh.cifar100.L8.J16.map": 27.74, "neural-lsh.cifar100.L8.J32.map": 33.61,
    "neural-lsh.imagenet.L8.J20.p_at_10": 48.22, "neural-lsh.imagenet.L8.J80.p_at_10": 48.12,
    "neural-lsh.imagenet.L8.J100.p_at_10": 49.36, "neural-lsh.imagenet.L8.J20.p_at_50": 40.96,
    "neural-lsh.imagenet.L8.J80.p_at_50": 41.36, "neural-lsh.imagenet.L8.J100.p_at_50": 42.01,
    "neural-lsh.imagenet.L8.J20.map": 18.0, "neural-lsh.imagenet.L8.J80.map": 26.33,
    "neural-lsh.imagenet.L8.J100.map": 29.3,
}


def source_grids(source: dict[str, float] | None = None) -> dict:
    """The report's numbers as per-grid lists (a view of :data:`SOURCE`, for tables and figures)::

        grids[method][report_dataset] = {"param": "K" | "H" | "J", "values": [grid values],
                                         "settings": {setting: {metric: [one number per value]}}}

    Settings: k-means ``"none"`` / ``"248"`` (PCA dims), LSH and neural LSH the number of tables (int).
    """
    grids: dict = {}
    for key, value in (SOURCE if source is None else source).items():
        method, dataset, setting, point, metric = key.split(".")
        param, grid_value = re.fullmatch(r"([A-Za-z]+)(\d+)", point).groups()
        setting = setting[len("pca-"):] if method == "kmeans" else int(setting[1:])
        g = grids.setdefault(method, {}).setdefault(dataset, {"param": param, "values": [], "settings": {}})
        if int(grid_value) not in g["values"]:
            g["values"].append(int(grid_value))
        g["settings"].setdefault(setting, {}).setdefault(metric, []).append(value)
    return grids


#: :func:`source_grids` of :data:`SOURCE` (derived once; the numbers live only in SOURCE).
REPORT = source_grids()
