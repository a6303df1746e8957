"""Reading a classifier's mistakes: the most confident errors, the class pairs it confuses most, and each
class's precision and recall (from scikit-learn). Inputs are probabilities (n, classes) and labels (n,)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report, confusion_matrix


def losses(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each image's cross-entropy, -log p(true class): (n,), 0 for a certain right answer."""
    return -np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, 1.0))


def top_losses(probs: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` images with the highest loss (fastai's ``top_losses``), worst first: the most
    confident mistakes, or the least confident right answers when there are fewer than ``k`` mistakes."""
    return np.argsort(-losses(probs, labels), kind="stable")[:k]


def confused_pairs(labels: np.ndarray, predicted: np.ndarray, names: Sequence[str], k: int = 5) -> pd.DataFrame:
    """The ``k`` (true, predicted) pairs of different classes with the most images, most first; the share is
    of the true class's images (fastai's ``most_confused``)."""
    matrix = confusion_matrix(labels, predicted, labels=range(len(names)))
    rows = [
        {
            "true": names[t],
            "predicted": names[p],
            "images": int(matrix[t, p]),
            "share of true": matrix[t, p] / matrix[t].sum(),
        }
        for t in range(len(names))
        for p in range(len(names))
        if t != p and matrix[t, p]
    ]
    table = pd.DataFrame(rows, columns=["true", "predicted", "images", "share of true"])
    return table.sort_values("images", ascending=False, kind="stable").head(k).reset_index(drop=True)


def per_class(labels: np.ndarray, predicted: np.ndarray, names: Sequence[str]) -> pd.DataFrame:
    """Precision, recall, F1 and the number of images of each class (rows), from ``classification_report``."""
    report = classification_report(
        labels, predicted, labels=range(len(names)), target_names=list(names), output_dict=True, zero_division=0
    )
    table = pd.DataFrame({name: report[name] for name in names}).T.rename(columns={"support": "images"})
    return table.astype({"images": int})
