"""Notebook 04's time and cost: how long each approach takes to reach a validation accuracy, and
what that time costs in CPU core-hours and dollars; and the recorded study's learning curves, drawn
beside a lesson's own."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from tltf import plots
from tltf.curves import APPROACHES, Run
from tltf.settings import settings
from tltf.tables import Table, measures

#: The validation accuracy whose wall-clock time ``seconds_to_target`` reports: one that training
#: from scratch reaches on every seed here (it levels off around 0.70 on the validation split).
TARGET = 0.60
#: Illustrative on-demand cloud prices in US dollars (not measured; put in your own): one CPU core
#: for an hour, one GPU for an hour.
PRICES = {"core_hour_usd": 0.05, "gpu_hour_usd": 1.00}


def on_all_data(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """The runs on the largest training set (every training image), by approach."""
    largest = max(r.per_class for r in runs)
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        if run.per_class == largest:
            grouped.setdefault(run.approach, []).append(run)
    return grouped


def seconds_to_target(runs: Sequence[Run], target: float, prep_seconds: dict[str, float]) -> dict[str, float | None]:
    """Per approach, mean over seeds of the wall-clock until the validation accuracy first reaches
    ``target``, on the largest training set, counting the approach's preparation (caching
    features). None if some seed never reached it."""
    result = {}
    for approach, group in on_all_data(runs).items():
        times = [next((t for t, acc in run.val_curve if acc >= target), None) for run in group]
        result[approach] = None if None in times else round(prep_seconds.get(approach, 0.0) + float(np.mean(times)), 1)
    return result


def best_val_acc(runs: Sequence[Run]) -> dict[str, float]:
    """Per approach, the mean over seeds of the best validation accuracy on the largest training set."""
    return {
        approach: round(float(np.mean([max(acc for _, acc in run.val_curve) for run in group])), 4)
        for approach, group in on_all_data(runs).items()
    }


def cost(seconds: float, *, cores: int, core_hour_usd: float, gpu_hour_usd: float) -> dict[str, float]:
    """What ``seconds`` of wall-clock on ``cores`` CPU cores means in CPU core-hours and dollars, and
    what the same wall-clock would cost on one GPU at ``gpu_hour_usd`` (a GPU is usually faster on
    these models, so that is an upper bound; it was not measured here)."""
    hours = seconds / 3600
    return {
        "cpu_core_hours": round(cores * hours, 5),
        "cpu_usd": round(cores * hours * core_hour_usd, 5),
        "gpu_hours": round(hours, 5),
        "gpu_usd_same_time": round(hours * gpu_hour_usd, 5),
    }


def add_recorded_curves(fig: plt.Figure, stored: dict) -> plt.Figure:
    """Draws on ``fig`` (``tltf.plots.plot_learning_curves``'s figure) the recorded study's mean test
    accuracy of each approach at each of its points, dashed and labelled "recorded study", in the colour
    of the approach's own line. ``stored``: the record, ``tltf.recorded.study("learning-curves")``
    (nothing is drawn without one). Returns ``fig``."""
    curves = {}
    for approach in APPROACHES:
        points = [k for k in stored.get("points", []) if f"{approach}_{k}_mean" in stored]
        curves[approach] = (points, [stored[f"{approach}_{k}_mean"] for k in points])
    return plots.add_recorded_curves(fig, curves)


#: The README's label of each approach (``tltf.curves.APPROACHES``) in notebook 04's study run.
APPROACH_LABELS = {
    "feature_extraction": "feature extraction (6,405 trainable)",
    "fine_tuned": "fine-tuning, top 6 blocks (1,901,317)",
    "scratch": f"from scratch, 64 px, {settings('study').scratch_epochs} epochs (1,174,501)",
}
#: The learning curve's points in the README: the study run's photos per class, all of them (None) being 180.
README_POINTS = tuple(180 if k is None else k for k in settings("study").per_class)

#: The README's tables of this lesson's benchmark (``python -m tltf.bench learning-curves``).
README_TABLES: list[Table] = [
    Table(
        [
            (label, tuple(f"{prefix}_{k}" for k in README_POINTS), 1 if prefix.endswith("_points") else 3)
            for label, prefix in (
                *((APPROACH_LABELS[a], a) for a in APPROACHES),
                ("fine-tuning minus feature extraction, points (paired)", "fine_tuning_gain_points"),
            )
        ],
        (
            "mean test accuracy over seeds {seeds} (95 % interval)",
            *map(str, README_POINTS[:-1]),
            f"all ({README_POINTS[-1]})",
        ),
    ),
    measures(
        (
            "seconds to {target_acc} validation accuracy with all photos (mean over seeds, caching included)",
            "seconds_to_target",
            1,
        ),
        ("seconds spent once before training (caching activations and features; small images)", "prep_seconds", 1),
    ),
]
