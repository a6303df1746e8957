"""Solutions to the exercises of notebook 06 (audio)."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def level_normalised_baseline(train: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> float:
    """Exercise 1: test accuracy of the mean-log-mel baseline after subtracting each clip's mean level.

    ``train`` and ``test`` are (patches (n, 96, 64), labels (n,))."""

    def summary(patches: np.ndarray) -> np.ndarray:
        means = patches.mean(axis=1)
        return means - means.mean(axis=1, keepdims=True)

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000)).fit(summary(train[0]), train[1])
    return float(model.score(summary(test[0]), test[1]))


def most_confused(labels: np.ndarray, predictions: np.ndarray) -> tuple[int, int, int]:
    """Exercise 2: (true digit, predicted digit, count) of the most frequent mistake."""
    matrix = confusion_matrix(labels, predictions, labels=np.arange(10))
    np.fill_diagonal(matrix, 0)
    true, predicted = np.unravel_index(matrix.argmax(), matrix.shape)
    return int(true), int(predicted), int(matrix[true, predicted])


def speaker_accuracy(labels: np.ndarray, predictions: np.ndarray, speakers: np.ndarray) -> dict[str, float]:
    """Exercise 3: accuracy per speaker."""
    return {
        str(s): round(float((predictions[speakers == s] == labels[speakers == s]).mean()), 4)
        for s in np.unique(speakers)
    }
