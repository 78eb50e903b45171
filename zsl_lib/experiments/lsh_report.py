"""The LSH comparison report's result tables (Figures 1, 2 and 4), transcribed from its text.

Source: ``04-lsh-comparison-report.txt`` (CS635 2024 assignment report). Numbers are percentages
as printed. The report's k-means and random-hyperplane runs use ResNet-18 (512-d) embeddings; its
neural LSH runs use ResNet-50 (2048-d) embeddings.

This module holds only the constant :data:`REPORT`, of one shape::

    REPORT[method][report_dataset] = {
        "param": grid parameter name,   # "K" (k-means), "H" (LSH), "J" (neural LSH)
        "values": [grid values],
        "settings": {setting: {"p_at_10": [...], "p_at_50": [...], "map": [...]}},
    }

with one number per grid value. Settings: k-means ``"none"`` / ``"248"`` (PCA dims); LSH the
number of tables (3, 6, 12); neural LSH 8 tables (J bits drawn from H = 800 outputs). The tables
are built from it by :func:`zsl_lib.experiments.lsh.report_table` / ``report_best``.
"""

from __future__ import annotations

#: Figure 1 (k-means, K clusters, on the 512-d embedding and after PCA to 248 dimensions),
#: Figure 2 (random-hyperplane LSH, H hyperplanes per table, L tables), Figure 4 (neural LSH).
REPORT = {
    "kmeans": {
        "cifar10": {
            "param": "K",
            "values": [10, 20, 100, 200, 1000],
            "settings": {
                "none": {
                    "p_at_10": [75.58, 75.12, 74.74, 74.97, 74.39],
                    "p_at_50": [71.16, 70.78, 70.7, 71.34, 69.21],
                    "map": [57.34, 60.94, 67.82, 70.72, 74.96],
                },
                "248": {
                    "p_at_10": [75.83, 75.01, 74.83, 75.53, 75.0],
                    "p_at_50": [71.69, 70.78, 71.0, 71.85, 69.73],
                    "map": [58.62, 60.83, 67.96, 71.03, 75.43],
                },
            },
        },
        "cifar100": {
            "param": "K",
            "values": [100, 200, 500, 1000, 2000],
            "settings": {
                "none": {
                    "p_at_10": [43.0, 43.81, 44.17, 43.36, 43.38],
                    "p_at_50": [35.84, 37.01, 37.15, 35.9, 37.29],
                    "map": [35.14, 39.52, 44.81, 47.24, 50.38],
                },
                "248": {
                    "p_at_10": [43.7, 44.08, 43.59, 43.75, 43.33],
                    "p_at_50": [36.57, 37.46, 36.24, 36.34, 37.19],
                    "map": [35.72, 39.85, 44.0, 47.65, 50.65],
                },
            },
        },
        "imagenet": {
            "param": "K",
            "values": [1000, 2000, 5000, 10000],
            "settings": {
                "none": {
                    "p_at_10": [36.37, 36.63, 37.18, 37.42],
                    "p_at_50": [30.96, 31.69, 32.77, 33.06],
                    "map": [26.31, 29.66, 33.9, 35.38],
                },
                "248": {
                    "p_at_10": [36.22, 36.62, 37.15, 37.37],
                    "p_at_50": [30.89, 31.85, 32.78, 33.01],
                    "map": [26.62, 29.76, 34.21, 35.56],
                },
            },
        },
    },
    "lsh": {
        "cifar10": {
            "param": "H",
            "values": [3, 4, 7, 8, 10],
            "settings": {
                3: {
                    "p_at_10": [76.25, 76.15, 74.64, 73.84, 72.0],
                    "p_at_50": [71.08, 70.82, 68.73, 67.42, 64.56],
                    "map": [39.85, 40.4, 42.93, 43.99, 45.66],
                },
                6: {
                    "p_at_10": [76.61, 76.51, 75.88, 75.77, 74.68],
                    "p_at_50": [71.5, 71.39, 70.39, 69.98, 68.44],
                    "map": [39.25, 39.83, 42.46, 43.15, 44.89],
                },
                12: {
                    "p_at_10": [76.64, 76.63, 76.5, 76.48, 76.24],
                    "p_at_50": [71.55, 71.54, 71.34, 71.26, 70.81],
                    "map": [39.02, 39.16, 41.0, 41.13, 42.74],
                },
            },
        },
        "cifar100": {
            "param": "H",
            "values": [7, 8, 9, 10, 11],
            "settings": {
                3: {
                    "p_at_10": [43.86, 42.32, 40.89, 39.53, 37.94],
                    "p_at_50": [33.65, 31.66, 29.74, 27.75, 25.73],
                    "map": [20.06, 21.13, 22.22, 23.3, 24.1],
                },
                6: {
                    "p_at_10": [45.61, 45.25, 44.28, 43.54, 42.37],
                    "p_at_50": [35.95, 35.34, 34.12, 32.87, 31.22],
                    "map": [19.24, 19.85, 20.81, 21.73, 22.52],
                },
                12: {
                    "p_at_10": [46.7, 46.64, 46.43, 46.03, 45.58],
                    "p_at_50": [37.42, 37.37, 37.04, 36.44, 35.75],
                    "map": [18.0, 18.25, 18.55, 19.5, 20.26],
                },
            },
        },
        "imagenet": {
            "param": "H",
            "values": [10, 15, 30, 100],
            "settings": {
                3: {
                    "p_at_10": [41.97, 39.21, 40.36, 42.33],
                    "p_at_50": [35.23, 37.96, 39.63, 35.66],
                    "map": [23.33, 23.17, 23.99, 25.61],
                },
                6: {
                    "p_at_10": [44.23, 44.01, 45.31, 41.98],
                    "p_at_50": [34.98, 35.36, 31.36, 33.36],
                    "map": [24.96, 24.36, 22.33, 25.79],
                },
                12: {
                    "p_at_10": [47.3, 49.36, 46.49, 50.01],
                    "p_at_50": [36.78, 37.04, 39.33, 40.36],
                    "map": [19.47, 20.79, 21.79, 22.0],
                },
            },
        },
    },
    "neural-lsh": {
        "cifar10": {
            "param": "J",
            "values": [4, 8, 16, 32],
            "settings": {
                8: {
                    "p_at_10": [79.65, 80.264, 74.49, 78.32],
                    "p_at_50": [78.19, 78.78, 73.03, 71.79],
                    "map": [42.96, 48.63, 52.09, 53.12],
                },
            },
        },
        "cifar100": {
            "param": "J",
            "values": [4, 8, 16, 32],
            "settings": {
                8: {
                    "p_at_10": [49.67, 47.12, 46.96, 38.24],
                    "p_at_50": [40.95, 40.12, 35.78, 23.73],
                    "map": [19.79, 25.39, 27.74, 33.61],
                },
            },
        },
        "imagenet": {
            "param": "J",
            "values": [20, 80, 100],
            "settings": {
                8: {
                    "p_at_10": [48.22, 48.12, 49.36],
                    "p_at_50": [40.96, 41.36, 42.01],
                    "map": [18.0, 26.33, 29.3],
                },
            },
        },
    },
}
