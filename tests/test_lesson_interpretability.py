"""Notebook 11's lesson helpers: the border share, the cascade step of the fine-tuned blocks, the tables."""

import matplotlib
import numpy as np
import pytest

from lessons import interpretability as lesson

matplotlib.use("Agg")


def test_border_share_of_an_even_and_a_centred_map():
    even = np.ones((1, 16, 16))
    assert lesson.border_share(even)[0] == pytest.approx(1 - (12 / 16) ** 2)
    centre = np.zeros((2, 16, 16))
    centre[0, 6:10, 6:10] = 1
    assert list(lesson.border_share(centre)) == [0.0, 0.0]  # the empty map counts as none on the border


def test_top_blocks_step_and_tables():
    steps = ["head", "top", "block_16", "block_15", "block_14", "stem"]
    assert lesson.top_blocks_step(steps, 2) == "block_15"
    rows = [
        {"step": s, "mean": m, "ci95": [m - 0.1, m + 0.1]}
        for s, m in zip(["head", "block_15", "stem"], [0.8, 0.25, 0.0], strict=True)
    ]
    table = lesson.randomisation_table({"gradcam": rows, "gradient": [{**r, "mean": 0.9} for r in rows]}, "block_15")
    assert table.loc["Grad-CAM", "passes"] == "yes" and table.loc["gradient saliency", "passes"] == "no"
    lesson.plot_randomisation({"gradcam": rows}, ["head", "block_15", "stem"], "block_15")
    areas = {"gradcam": np.array([0.2, 0.3, 0.25]), "random": np.array([0.5, 0.6, 0.55])}
    deletion = lesson.deletion_table(areas)
    assert deletion.loc["Grad-CAM", "verdict"] == "lower" and deletion.loc["random", "verdict"] == ""


def test_bottom_share_and_shares_by_class():
    low = np.zeros((2, 8, 8))
    low[:, 6:, :] = 1
    assert list(lesson.bottom_share(low)) == [1.0, 1.0]
    assert lesson.bottom_share(np.ones((1, 8, 8)))[0] == pytest.approx(0.25)
    shares = lesson.shares_by_class(np.concatenate([low, np.ones((1, 8, 8))]), np.array([1, 1, 0]), ["a", "b", "c"])
    assert sorted(shares) == ["border_a", "border_b", "bottom_a", "bottom_b"]
    assert shares["bottom_b"]["mean"] == 1.0 and shares["bottom_a"]["mean"] == pytest.approx(0.25)
