"""Notebook 11's plumbing: overlays of maps on images, the randomisation and deletion plots, their tables,
the share of a map on an image's border, and the README tables of ``benchmarks/interpretability.json``.

Maps are (n, h, w) in [0, 1] (``tltf.explain``); images [0, 255] (n, h, w, 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import stats
from tltf.tables import Table, measures

#: The benchmark whose record this lesson shows beside its runs.
NAME = "interpretability"
#: The record's name of each method, and how the tables name it.
METHODS = {"gradcam": "Grad-CAM", "gradient": "gradient saliency", "integrated_gradients": "integrated gradients"}
#: A method passes the randomisation check when its maps' mean rank correlation with the trained model's,
#: after the head and the fine-tuned top blocks are re-initialised, is at most this.
PASS_SPEARMAN = 0.3


def overlay(images: np.ndarray, maps: np.ndarray | None, titles: Sequence[str], *, columns: int = 4) -> plt.Figure:
    """Each image with its map laid over it (jet colours, 45 % opaque; ``maps=None``: the images alone),
    titled, ``columns`` per row."""
    rows = -(-len(images) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, image, title) in enumerate(zip(axes.flat, images, titles, strict=False)):
        ax.imshow(np.asarray(image, "uint8"))
        if maps is not None:
            ax.imshow(maps[i], cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def methods_figure(images: np.ndarray, maps: Mapping[str, np.ndarray], titles: Sequence[str]) -> plt.Figure:
    """One row per image: the image, then each method's map (``maps``: method -> (n, h, w)) on its own."""
    fig, axes = plt.subplots(len(images), 1 + len(maps), figsize=(2.6 * (1 + len(maps)), 2.6 * len(images)))
    axes = np.atleast_2d(axes)
    for row, (image, title) in enumerate(zip(images, titles, strict=True)):
        axes[row, 0].imshow(np.asarray(image, "uint8"))
        axes[row, 0].set_title(title, fontsize=9)
        for col, (method, values) in enumerate(maps.items(), start=1):
            axes[row, col].imshow(values[row], cmap="inferno", vmin=0, vmax=1)
            axes[row, col].set_title(METHODS.get(method, method), fontsize=9)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout()
    return fig


def top_blocks_step(steps: Sequence[str], blocks: int) -> str:
    """The cascade step after which the head, the top layers and the top ``blocks`` blocks are re-initialised."""
    return [step for step in steps if step.startswith("block_")][blocks - 1]


def plot_randomisation(spearman: Mapping[str, Sequence[Mapping]], steps: Sequence[str], marked: str) -> plt.Figure:
    """Mean rank correlation with the trained model's maps (95 % band over images) at each cascade step of
    ``steps``, one line per method (``spearman``: method -> [{"step", "mean", "ci95"}, ...]); ``marked`` dashed."""
    fig, ax = plt.subplots(figsize=(9, 4))
    for method, rows in spearman.items():
        x = [steps.index(r["step"]) for r in rows]
        ax.plot(x, [r["mean"] for r in rows], marker="o", label=METHODS.get(method, method))
        if all(r["ci95"] for r in rows):
            ax.fill_between(x, *zip(*[r["ci95"] for r in rows], strict=True), alpha=0.2)
    ax.set_xticks(range(len(steps)), [f"+ {s}" if i else s for i, s in enumerate(steps)], rotation=45, ha="right")
    ax.axvline(steps.index(marked), color="grey", linestyle="--", linewidth=1)
    ax.axhline(PASS_SPEARMAN, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="re-initialised, from the top down", ylabel="Spearman with the trained map", ylim=(-0.2, 1.05))
    ax.legend()
    fig.tight_layout()
    return fig


def randomisation_table(spearman: Mapping[str, Sequence[Mapping]], marked: str) -> pd.DataFrame:
    """For each method: the rank correlation after the head alone, after the top blocks (``marked``) and after
    everything, with intervals, whether it passes (mean at most ``PASS_SPEARMAN`` after the top blocks), and
    the share of empty maps there (a row's optional "empty")."""
    rows = {}
    for method, steps in spearman.items():
        at = {r["step"]: r for r in steps}
        rows[METHODS.get(method, method)] = {
            "head re-initialised": stats.format_interval(steps[0]),
            f"+ top blocks (to {marked})": stats.format_interval(at[marked]),
            "everything": stats.format_interval(steps[-1]),
            "passes": "yes" if at[marked]["mean"] <= PASS_SPEARMAN else "no",
            "empty maps (+ top blocks)": f"{at[marked].get('empty', 0):.0%}",
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def plot_deletion(curves: Mapping[str, np.ndarray]) -> plt.Figure:
    """Mean probability of the class (95 % band over images) against the share of patches deleted, one line
    per order (``curves``: name -> (n, points))."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in curves.items():
        x = np.linspace(0, 1, values.shape[1])
        summaries = [stats.mean_ci(column, bounds=(0, 1)) for column in values.T]
        ax.plot(x, [m for m, _ in summaries], label=METHODS.get(name, name))
        if values.shape[0] > 1:
            ax.fill_between(x, *zip(*[ci for _, ci in summaries], strict=True), alpha=0.15)
    ax.set(xlabel="share of the image deleted (most salient first)", ylabel="probability of the class", ylim=(0, 1))
    ax.legend()
    fig.tight_layout()
    return fig


def deletion_table(areas: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Area under each order's deletion curve (mean over images, 95 %), and each method minus random order
    (paired over the same images) with its verdict. ``areas``: name -> (n,), "random" among them."""
    rows = {}
    for name, values in areas.items():
        row = {"area under the curve": stats.format_interval(stats.summary(values, bounds=(0, 1)))}
        if name != "random":
            gap = stats.paired(values, areas["random"], bounds=(0, 1))
            row |= {"minus random order (paired)": stats.format_interval(gap), "verdict": stats.verdict(gap["ci95"])}
        rows[METHODS.get(name, name)] = row
    return pd.DataFrame.from_dict(rows, orient="index").fillna("")


def border_share(maps: np.ndarray, fraction: float = 0.125) -> np.ndarray:
    """The share of each map's total (n, h, w) that lies in the image's outer band, ``fraction`` of the
    height and width on each side: (n,) in [0, 1]. An even map gives the band's share of the area."""
    n, h, w = maps.shape
    inner = np.zeros((h, w), bool)
    dh, dw = round(h * fraction), round(w * fraction)
    inner[dh : h - dh, dw : w - dw] = True
    total = maps.reshape(n, -1).sum(axis=1)
    return np.divide(maps[:, ~inner].sum(axis=1), total, out=np.zeros(n), where=total > 0)


def bottom_share(maps: np.ndarray, fraction: float = 0.25) -> np.ndarray:
    """The share of each map's total (n, h, w) in the image's bottom ``fraction`` of rows: (n,) in [0, 1]."""
    n, h, _ = maps.shape
    total = maps.reshape(n, -1).sum(axis=1)
    bottom = maps[:, h - round(h * fraction) :].reshape(n, -1).sum(axis=1)
    return np.divide(bottom, total, out=np.zeros(n), where=total > 0)


def shares_by_class(maps: np.ndarray, predicted: np.ndarray, names: Sequence[str]) -> dict[str, dict]:
    """``{"border_CLASS": summary, "bottom_CLASS": summary}`` (``tltf.stats.summary`` over the images
    predicted as each class, bounded to [0, 1]) of ``border_share`` and ``bottom_share``; a class no image
    was predicted as is left out."""
    result = {}
    for k, name in enumerate(names):
        if (predicted == k).any():
            result[f"border_{name}"] = stats.summary(border_share(maps[predicted == k]), bounds=(0, 1))
            result[f"bottom_{name}"] = stats.summary(bottom_share(maps[predicted == k]), bounds=(0, 1))
    return result


README_TABLES: list[Table] = [
    Table(
        [
            (
                label,
                (
                    f"randomisation_spearman_{m}_head",
                    f"randomisation_spearman_{m}_top_blocks",
                    f"randomisation_spearman_{m}_all",
                    f"deletion_auc_{m}",
                    f"deletion_auc_{m}_minus_random",
                ),
                3,
            )
            for m, label in METHODS.items()
        ],
        (
            "flowers model, 50 test images (95 % over images)",
            "Spearman with trained map, head re-initialised",
            "+ top 6 blocks",
            "everything",
            "deletion AUC",
            "minus random order (paired)",
        ),
    ),
    measures(
        ("deletion AUC, random order", "deletion_auc_random", 3),
        ("integrated gradients: completeness error (relative), adaptive steps", "ig_completeness_error", 4),
        ("integrated gradients: completeness error (relative), 16 equal steps", "ig_completeness_error_equal_steps", 4),
        ("integrated gradients: gradients per image", "ig_gradients_per_image", 0),
        ("flowers model: test accuracy", "flowers_test_acc", 3),
        ("X-ray model: test accuracy", "xray_test_acc", 3),
        ("X-rays: share of Grad-CAM on the outer eighth of each side (area share 0.44)", "xray_border_share", 3),
        ("X-rays predicted normal: share of Grad-CAM on the border", "xray_border_normal", 3),
        ("X-rays predicted pneumonia: share of Grad-CAM on the border", "xray_border_pneumonia", 3),
        ("X-rays predicted normal: share of Grad-CAM in the bottom quarter", "xray_bottom_normal", 3),
        ("X-rays predicted pneumonia: share of Grad-CAM in the bottom quarter", "xray_bottom_pneumonia", 3),
        ("flowers model: training seconds (once, then loaded)", "flowers_model_train_seconds", 0),
    ),
]
