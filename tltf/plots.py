"""Plots for the notebooks: training curves by stage, confusion matrix, prediction grid, learning curves,
linear probes by depth."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import ConfusionMatrixDisplay


def _as_dict(history) -> Mapping[str, Sequence[float]]:
    return history.history if hasattr(history, "history") else history


def plot_history(stages: Mapping[str, object], metrics: Sequence[str] = ("loss", "accuracy")) -> plt.Figure:
    """Training curves of consecutive stages on one epoch axis, with a dashed line where each
    stage after the first starts.

    ``stages`` maps a stage name to a Keras History (or its ``.history`` dict) with ``metric``
    and ``val_<metric>`` lists. Returns the figure (one panel per metric).
    """
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        start = 0
        for i, (stage, history) in enumerate(stages.items()):
            h = _as_dict(history)
            epochs = np.arange(start, start + len(h[metric])) + 1
            ax.plot(epochs, h[metric], color=f"C{i}", label=f"{stage}: train")
            if f"val_{metric}" in h:
                ax.plot(epochs, h[f"val_{metric}"], color=f"C{i}", linestyle=":", label=f"{stage}: val")
            if i > 0:
                ax.axvline(start + 0.5, color="grey", linestyle="--")
                ax.annotate(
                    f"{stage} starts", (start + 0.6, 0.02), xycoords=("data", "axes fraction"), fontsize=8, color="grey"
                )
            start += len(h[metric])
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> plt.Figure:
    """scikit-learn's confusion matrix display: rows are true classes, columns predictions."""
    display = ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(range(len(class_names))),
        display_labels=class_names,
        xticks_rotation=45,
        colorbar=False,
    )
    display.figure_.tight_layout()
    return display.figure_


def plot_predictions(
    images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str], *, columns: int = 6
) -> plt.Figure:
    """A grid of images titled "predicted (true)"; wrong predictions in red with a red frame.

    ``images``: (n, h, w, 3) in [0, 255]; labels are class indices.
    """
    rows = int(np.ceil(len(images) / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.axis("off")
    for ax, image, true, pred in zip(axes.flat, images, y_true, y_pred, strict=True):
        wrong = true != pred
        ax.axis("on")
        ax.imshow(np.clip(image, 0, 255).astype("uint8"))
        title = class_names[pred] + (f"\n(true: {class_names[true]})" if wrong else "")
        ax.set_title(title, color="red" if wrong else "black", fontsize=9)
        for spine in ax.spines.values():
            spine.set_edgecolor("red" if wrong else "white")
            spine.set_linewidth(3 if wrong else 0)
    fig.tight_layout()
    return fig


def plot_lr_finder(lrs: Sequence[float], losses: Sequence[float], suggestion: float) -> plt.Figure:
    """Smoothed training loss against learning rate (log scale), the suggested rate marked."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    ax.plot(lrs, losses)
    ax.axvline(suggestion, color="C1", linestyle="--", label=f"suggested {suggestion:.1e}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss (smoothed)")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_learning_curves(summary: Sequence[Mapping], *, chance: float | None = None) -> plt.Figure:
    """Test accuracy against labelled images per class (log axis), one line per approach: the mean
    over seeds with the band from the worst to the best seed.

    ``summary``: rows with ``approach``, ``per_class``, ``mean``, ``min``, ``max`` (as
    ``tltf.curves.summarize`` returns). ``chance``: a dotted line at that accuracy.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, approach in enumerate(dict.fromkeys(row["approach"] for row in summary)):
        rows = sorted((r for r in summary if r["approach"] == approach), key=lambda r: r["per_class"])
        k = [r["per_class"] for r in rows]
        ax.plot(k, [r["mean"] for r in rows], marker="o", color=f"C{i}", label=approach.replace("_", " "))
        ax.fill_between(k, [r["min"] for r in rows], [r["max"] for r in rows], color=f"C{i}", alpha=0.2)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle=":", label="chance")
    return _accuracy_axes(
        fig, ax, "labelled training images per class", "test accuracy (mean; band: min to max over seeds)"
    )


def add_recorded_curves(fig: plt.Figure, curves: Mapping[str, tuple[Sequence, Sequence]]) -> plt.Figure:
    """Draws on ``fig``'s first axes (``plot_learning_curves``'s) each approach's curve of a recorded
    study, ``{approach: (x, means)}``, dashed and labelled "APPROACH, recorded study", in colour ``C{i}``,
    i its place in ``curves`` (give the approaches in the plot's order; an empty curve is skipped but
    keeps its colour). Returns ``fig``."""
    ax = fig.axes[0]
    for i, (approach, (x, means)) in enumerate(curves.items()):
        if len(x):
            label = f"{approach.replace('_', ' ')}, recorded study"
            ax.plot(x, means, linestyle="--", marker="x", color=f"C{i}", alpha=0.6, label=label)
    ax.legend(fontsize=7)
    return fig


def plot_accuracy_over_time(
    curves: Mapping[str, Sequence[tuple[float, float]]], *, target: float | None = None
) -> plt.Figure:
    """Validation accuracy against wall-clock seconds (log axis), one line per approach.

    ``curves`` maps an approach to its (seconds, accuracy) points, e.g. a run's ``val_curve``
    shifted by the approach's preparation time. ``target``: a dashed line at that accuracy.
    """
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (approach, points) in enumerate(curves.items()):
        seconds, acc = zip(*points, strict=True)
        ax.plot(seconds, acc, marker=".", color=f"C{i}", label=approach.replace("_", " "))
    if target is not None:
        ax.axhline(target, color="grey", linestyle="--", label=f"target {target:.2f}")
    return _accuracy_axes(fig, ax, "wall-clock seconds (log)", "validation accuracy")


def plot_probes_by_depth(rows: Mapping[str, Sequence[Mapping]]) -> plt.Figure:
    """Test accuracy of a linear probe after each tapped layer (early to last), one line per domain,
    with each probe's 95 % interval as error bars. ``rows`` maps a domain to ``probes.probe_by_depth``'s rows."""
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (domain, points) in enumerate(rows.items()):
        x = np.arange(len(points)) + 0.06 * (i - (len(rows) - 1) / 2)  # side by side, not on top
        mean = np.array([p["acc_mean"] for p in points])
        low, high = (np.array([p["acc_ci95"][j] for p in points]) for j in (0, 1))
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3, color=f"C{i}", label=domain)
    ax.set_xticks(range(len(points)), [p["block"] for p in points], rotation=30)
    ax.set_xlabel("features pooled after (early to last)")
    ax.set_ylabel("test accuracy of a linear probe (95 % interval)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def _accuracy_axes(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str) -> plt.Figure:
    """Log x axis, accuracy from 0 to 1, labels and legend; returns the figure."""
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
