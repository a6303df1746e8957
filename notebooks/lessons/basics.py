"""Notebook 00's README table: k-NN accuracy on pre-trained features against random weights."""

from __future__ import annotations

from tltf.tables import Table, measures

#: The README's tables of this lesson's benchmark (``python -m tltf.bench basics``), rendered by ``tltf.tables``.
README_TABLES: list[Table] = [
    measures(
        ("5-NN accuracy, pre-trained MobileNetV2 features (5-fold cross-validation)", "knn_pretrained", 3),
        ("5-NN accuracy, the same network with random weights", "knn_random", 3),
        ("difference, pre-trained minus random (paired over the same folds), points", "knn_gain_points", 1),
    )
]
