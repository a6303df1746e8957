"""tltf.mistakes: top losses, confused pairs and per-class precision / recall on a known case."""

import numpy as np
import pytest

from tltf import mistakes

PROBS = np.array([[0.9, 0.1, 0.0], [0.2, 0.8, 0.0], [0.1, 0.1, 0.8], [0.7, 0.2, 0.1], [0.6, 0.3, 0.1]])
LABELS = np.array([0, 0, 2, 1, 1])
NAMES = ["a", "b", "c"]


def test_top_losses_are_the_most_confident_mistakes_first():
    assert list(mistakes.top_losses(PROBS, LABELS, 3)) == [1, 3, 4]
    assert mistakes.losses(PROBS, LABELS)[0] == pytest.approx(-np.log(0.9))


def test_confused_pairs_count_true_then_predicted():
    table = mistakes.confused_pairs(LABELS, PROBS.argmax(axis=1), NAMES)
    assert table.iloc[0][["true", "predicted", "images"]].tolist() == ["b", "a", 2]
    assert table.iloc[0]["share of true"] == 1.0 and len(table) == 2


def test_per_class_precision_and_recall():
    table = mistakes.per_class(LABELS, PROBS.argmax(axis=1), NAMES)
    assert table.loc["a", "precision"] == pytest.approx(1 / 3) and table.loc["a", "recall"] == 0.5
    assert table.loc["c", "recall"] == 1.0 and table.loc["b", "images"] == 2
