"""Notebook 07's plumbing: the side-by-side pictures, the grid's tables and its record keys, and a
choice of the lesson beside the recorded study's."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import data, plots, recorded, stats
from tltf.curves import Run
from tltf.probes import MOBILENET_V2_DEPTHS
from tltf.tables import Table, measures

#: The record's names for notebook 04's approaches.
METHOD_NAMES = {"feature_extraction": "frozen", "fine_tuned": "finetuned", "scratch": "scratch"}
#: The recorded study's points of the grid, as its keys name them: labelled X-rays per class, or all of them.
GRID_POINTS = (10, 50, "all")


def show_examples(xrays: data.Examples, flowers: data.Examples, class_names: Sequence[str], n: int = 8) -> plt.Figure:
    """``n`` X-rays of each class (rows 1-2) above ``n`` flower photos shrunk to the X-rays' 28 px (row 3)."""
    flower_images = np.concatenate([x for x, _ in data.make_dataset(flowers.take(np.arange(n)), (28, 28))])
    fig, axes = plt.subplots(3, n, figsize=(1.5 * n, 4.8))
    for row, label in enumerate(class_names):
        for ax, image in zip(axes[row], xrays.images[xrays.labels == row][:n], strict=True):
            ax.imshow(image, cmap="gray")
            ax.set_title(label, fontsize=8)
    for ax, image in zip(axes[2], flower_images, strict=True):
        ax.imshow(image.astype("uint8"))
        ax.set_title("flower, 28 px", fontsize=8)
    for ax in axes.flat:
        ax.axis("off")
    return fig


def show_upsampling(example: data.Examples, size: tuple[int, int], methods: Sequence[str]) -> plt.Figure:
    """The first image of ``example`` as stored, then resized to ``size`` by each of ``methods``."""
    fig, axes = plt.subplots(1, 1 + len(methods), figsize=(3 * (1 + len(methods)), 3.2))
    axes[0].imshow(example.images[0], cmap="gray")
    axes[0].set_title(f"{example.images.shape[1]} px, as stored")
    for ax, method in zip(axes[1:], methods, strict=True):
        image, _ = next(iter(data.make_dataset(example.take(np.arange(1)), size, interpolation=method)))
        ax.imshow(image[0].numpy().astype("uint8"))
        ax.set_title(f"{size[0]} px, {method}")
    for ax in axes:
        ax.axis("off")
    return fig


def scores(runs: Sequence[Run], approach: str, per_class: int, key: str = "test_acc") -> np.ndarray:
    """One number per seed (``test_acc`` or ``test_auc``) of the runs of ``approach`` at ``per_class``."""
    return np.array([getattr(r, key) for r in runs if r.approach == approach and r.per_class == per_class])


def grid_table(summary: Sequence[dict]) -> pd.DataFrame:
    """``curves.summarize``'s rows as a table: accuracy and AUC with their intervals, and seconds."""
    return pd.DataFrame(
        {
            "test accuracy": [stats.format_interval(row) for row in summary],
            "test AUC": [stats.format_interval(row["auc"]) for row in summary],
            "seconds": [row["seconds"] for row in summary],
        },
        index=pd.MultiIndex.from_tuples(
            [(row["approach"], row["per_class"]) for row in summary], names=["approach", "per class"]
        ),
    )


def gap_table(gap: dict) -> pd.DataFrame:
    """Paired differences ``{per_class: {"test_acc": summary, "test_auc": summary}}`` in points, with verdicts."""
    columns = {}
    for key, name in (("test_acc", "accuracy points"), ("test_auc", "AUC points")):
        columns[f"minus scratch, {name}"] = [stats.format_interval(g[key], digits=1) for g in gap.values()]
        columns[f"verdict ({name.split()[0]})"] = [stats.verdict(g[key]["ci95"]) for g in gap.values()]
    return pd.DataFrame(columns, index=pd.Index(list(gap), name="per class"))


def grid_record(runs: Sequence[Run], summary: Sequence[dict]) -> dict:
    """``xray_acc_<method>_<n>`` and ``xray_auc_<method>_<n>`` (``n`` is 10, 50 or "all") for ``record``."""
    largest = max(row["per_class"] for row in summary)
    keys = {}
    for row in summary:
        point = "all" if row["per_class"] == largest else row["per_class"]
        name = f"{METHOD_NAMES[row['approach']]}_{point}"
        keys[f"xray_acc_{name}"] = stats.summary(scores(runs, row["approach"], row["per_class"]), bounds=(0, 1))
        keys[f"xray_auc_{name}"] = row["auc"]
    return keys


def grid_keys() -> list[str]:
    """The recorded study's keys of the grid (``grid_record``'s), accuracy first, then AUC."""
    return [f"xray_{metric}_{m}_{k}" for metric in ("acc", "auc") for m in METHOD_NAMES.values() for k in GRID_POINTS]


def add_recorded_curves(fig: plt.Figure, stored: dict, largest: int) -> plt.Figure:
    """Draws on ``fig`` (``tltf.plots.plot_learning_curves``'s figure) the recorded study's mean test
    accuracy of each approach at 10, 50 and all (``largest``) X-rays per class, dashed and labelled
    "recorded study", in the colour of the approach's own line. ``stored``: the record,
    ``tltf.recorded.study("far-domains")``. Nothing is drawn for a ``largest`` of 50 or fewer (quick
    mode's subset, where "all" is not the study's all) or without a record. Returns ``fig``."""
    x = [largest if k == "all" else k for k in GRID_POINTS]
    curves = {}
    for approach, method in METHOD_NAMES.items():
        keys = [f"xray_acc_{method}_{k}_mean" for k in GRID_POINTS]
        drawn = largest > 50 and all(key in stored for key in keys)
        curves[approach] = (x, [stored[key] for key in keys]) if drawn else ([], [])
    return plots.add_recorded_curves(fig, curves)


def choice_beside(mine: dict, stored: dict) -> pd.DataFrame:
    """The options of one choice, this run's score of each beside the recorded study's: ``mine`` and
    ``stored`` map an option ("nearest") to a ``tltf.stats`` summary dict; an option this run skipped
    reads "recorded only (not run in this mode)", one the record lacks "not recorded yet"."""
    rows = {}
    for option in dict.fromkeys([*stored, *mine]):
        run = stats.format_interval(mine[option]) if option in mine else recorded.RECORDED_ONLY
        study = stats.format_interval(stored[option]) if option in stored else recorded.NOT_RECORDED
        rows[option] = {recorded.yours(): run, "recorded study": study}
    return pd.DataFrame.from_dict(rows, orient="index")


#: The README's label of each approach of the grid (``METHOD_NAMES``).
METHOD_LABELS = {
    "feature_extraction": "frozen ImageNet features + head",
    "fine_tuned": "fine-tuned, top 6 blocks (BatchNorm frozen)",
    "scratch": "small CNN from scratch, 28 px, 12 epochs",
}

#: The README's tables of this lesson's benchmark (``python -m tltf.bench far-domains``), rendered by ``tltf.tables``.
README_TABLES: list[Table] = [
    *(
        Table(
            [
                (METHOD_LABELS[a], tuple(f"xray_{metric}_{m}_{k}" for k in GRID_POINTS), 3)
                for a, m in METHOD_NAMES.items()
            ],
            (f"X-rays ({{dataset}}, {{grid_input_px}} px), test {name}, mean over 3 seeds", "10", "50", "all"),
        )
        for metric, name in (("acc", "accuracy"), ("auc", "ROC AUC"))
    ),
    Table(
        [(block, (f"probe_flowers_{block}", f"probe_xray_{block}"), 3) for block in MOBILENET_V2_DEPTHS],
        ("linear probe after (224 px, Wilson interval)", "flowers (near)", "X-rays (far)"),
    ),
    measures(
        ("threshold chosen on validation (Youden), fine-tuned model, all labels, seed 0", "threshold", 3),
        ("test sensitivity at it (Wilson)", "test_sensitivity", 3),
        ("test specificity at it (Wilson)", "test_specificity", 3),
        ("test expected calibration error, as trained (bootstrap)", "ece_before", 3),
        ("test expected calibration error, temperature {temperature} fitted on validation", "ece_after", 3),
        (
            "validation minus test accuracy, fine-tuned on all labels, points (paired over seeds)",
            "val_minus_test_points",
            1,
        ),
    ),
]
