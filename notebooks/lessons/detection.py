"""Notebook 13's plumbing: photos with their boxes drawn, the tables of the single-box models and the detectors
(intervals over folds or seeds, or over the photos of one fold in a lesson), the learning-curve and
precision-recall plots, and the README tables of ``benchmarks/detection.json``.

A single-box run is a dict ``{"iou": (n,) float, "correct": (n,) bool}`` over the n test photos of one fold;
a detector run is ``tltf.detection.average_precision``'s dict for one seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import detection, stats
from tltf.tables import Table, measures

#: The benchmark whose record this lesson shows beside its runs.
NAME = "detection"
#: The single-box models, as the tables name them.
METHODS = {
    "frozen": "ImageNet backbone, frozen",
    "finetuned": "ImageNet backbone, fine-tuned",
    "scratch": "from scratch",
}
#: The detectors' backbones.
BACKBONES = {"imagenet": "ImageNet MobileNetV2", "scratch": "MobileNetV2 from scratch"}
TRUE_COLOUR, PREDICTED_COLOUR = (0, 200, 0), (255, 0, 0)


def draw(
    images: np.ndarray,
    boxes: Sequence[np.ndarray],
    labels: Sequence[np.ndarray],
    names: Sequence[str],
    colour=TRUE_COLOUR,
) -> np.ndarray:
    """``images`` (n, h, w, 3) with their ragged rel_xyxy ``boxes`` and ``labels`` drawn, named by ``names``
    (``keras.visualization.draw_bounding_boxes``): a new uint8 array, the images untouched."""
    dense = detection.pad(boxes, labels, size=1)
    dense["labels"] = dense["labels"].astype("int32")
    drawn = keras.visualization.draw_bounding_boxes(
        np.array(images, "uint8"), dense, "rel_xyxy", class_mapping=dict(enumerate(names)), color=colour, font_scale=0.4
    )
    return np.asarray(drawn).astype("uint8")


def draw_single(
    images: np.ndarray, true: np.ndarray, labels: np.ndarray, predicted: dict, names: Sequence[str]
) -> np.ndarray:
    """Photos (n, h, w, 3) with the true box (n, 4) rel_xyxy and class (n,) in green and a single-box model's
    prediction (``{"box": (n, 4), "class": (n, classes)}``) in red."""
    drawn = draw(images, true[:, None], labels[:, None], names)
    return draw(drawn, predicted["box"][:, None], predicted["class"].argmax(axis=1)[:, None], names, PREDICTED_COLOUR)


def show(images: np.ndarray, titles: Sequence[str] | None = None, columns: int = 4) -> None:
    """A grid of ``images`` (n, h, w, 3) uint8, each with its title."""
    rows = -(-len(images) // columns)
    _, axes = plt.subplots(rows, columns, figsize=(2.6 * columns, 2.6 * rows), squeeze=False)
    for ax, i in zip(axes.flat, range(rows * columns), strict=True):
        ax.axis("off")
        if i < len(images):
            ax.imshow(images[i])
            ax.set_title(titles[i] if titles else "", fontsize=8)
    plt.tight_layout()
    plt.show()


def mean_interval(per_fold: Sequence[np.ndarray], share: bool = False) -> dict:
    """``{"mean", "ci95"}`` of a per-photo value: over the folds' means when there are several (Student t),
    else over the photos of the one fold (a share, such as IoU >= 0.5 or a right class: Wilson; a
    mean IoU: Student t). Bounded to [0, 1]."""
    if len(per_fold) > 1:
        return stats.summary([float(np.mean(v)) for v in per_fold], bounds=(0, 1))
    values = np.asarray(per_fold[0])
    if share:
        return stats.single(values.astype(bool))
    return {k: v for k, v in stats.summary(values, bounds=(0, 1)).items() if k != "values"}  # not every photo


def minus(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> dict:
    """A minus B, paired: over the folds' (or seeds') means when there are several, else over the photos."""
    if len(a) > 1:
        return stats.paired([float(np.mean(v)) for v in a], [float(np.mean(v)) for v in b], bounds=(0, 1))
    return stats.paired(np.asarray(a[0], float), np.asarray(b[0], float), bounds=(0, 1))


def iou_differences(runs: Mapping[str, Sequence[dict]]) -> dict:
    """Record key -> the paired mean-IoU difference (``minus``) of fine-tuned, frozen and scratch."""
    iou = {method: [r["iou"] for r in folds] for method, folds in runs.items()}
    pairs = (("finetuned", "scratch"), ("frozen", "scratch"), ("finetuned", "frozen"))
    return {f"{a}_minus_{b}_iou": minus(iou[a], iou[b]) for a, b in pairs}


def single_box_scores(runs: Mapping[str, Sequence[dict]]) -> dict:
    """Method -> ``{"iou", "iou50", "acc"}`` intervals (``mean_interval``) from each method's runs (one per fold)."""
    return {
        method: {
            "iou": mean_interval([r["iou"] for r in folds]),
            "iou50": mean_interval([r["iou"] >= 0.5 for r in folds], share=True),
            "acc": mean_interval([r["correct"] for r in folds], share=True),
        }
        for method, folds in runs.items()
    }


def single_box_table(scores: Mapping[str, dict]) -> pd.DataFrame:
    """The single-box models side by side: mean IoU, share with IoU >= 0.5, class accuracy, each with its interval."""
    columns = {"iou": "mean IoU", "iou50": "IoU ≥ 0.5", "acc": "class accuracy"}
    return pd.DataFrame(
        {columns[k]: [stats.format_interval(s[k]) for s in scores.values()] for k in columns},
        index=[METHODS[m] for m in scores],
    )


def curve_points(
    curve: Mapping[tuple[str, float], Sequence[dict]], runs: Mapping[str, Sequence[dict]], fractions
) -> dict:
    """Method -> mean-IoU intervals at each share of ``fractions`` (runs in ``curve[method, share]``), then at all
    the training photos over the same folds (the first ones of ``runs[method]``, in the order they ran)."""
    folds = len(next(iter(curve.values())))
    return {
        method: [mean_interval([r["iou"] for r in curve[method, f]]) for f in fractions]
        + [mean_interval([r["iou"] for r in runs[method][:folds]])]
        for method in runs
    }


def curve_plot(fractions: Sequence[float], by_method: Mapping[str, Sequence[dict]]) -> None:
    """Mean IoU (with its interval) against the share of training photos, one line per method."""
    _, ax = plt.subplots(figsize=(5.5, 3.5))
    for method, points in by_method.items():
        means = [p["mean"] for p in points]
        ax.plot(fractions, means, marker="o", label=METHODS[method])
        lows = [p["ci95"][0] if p["ci95"] else p["mean"] for p in points]
        highs = [p["ci95"][1] if p["ci95"] else p["mean"] for p in points]
        ax.fill_between(fractions, lows, highs, alpha=0.2)
    ax.set(xlabel="share of the training photos", ylabel="mean IoU on the test photos", ylim=(0, 1), xticks=fractions)
    ax.legend(fontsize=8)
    plt.show()


def seeds_interval(values: Sequence[float]) -> dict:
    """``{"mean", "ci95"}`` of one number per seed, bounded to [0, 1]: Student t, or no interval for one seed."""
    return stats.summary(list(values), bounds=(0, 1))


def backbone_gain(runs: Mapping[str, Sequence[dict]], key: str) -> dict:
    """The ImageNet detector's ``key`` (``"ap50"``, ``"ap"``) minus the scratch one's, paired seed by seed."""
    return stats.paired([r[key] for r in runs["imagenet"]], [r[key] for r in runs["scratch"]], bounds=(0, 1))


def single_box_records(scores: Mapping[str, dict], points: Mapping[str, Sequence[dict]], fractions) -> dict:
    """Record keys of the single-box results: ``single_box_{iou,iou50,acc}_<method>`` and the learning curve's
    ``single_box_iou_<method>_f<percent>``."""
    found = {f"single_box_{k}_{m}": s[k] for m, s in scores.items() for k in ("iou", "iou50", "acc")}
    for method, values in points.items():
        found |= {f"single_box_iou_{method}_f{round(f * 100)}": v for f, v in zip(fractions, values, strict=True)}
    return found


def detector_records(runs: Mapping[str, Sequence[dict]]) -> dict:
    """``detector_{ap,ap50,ap75}_<backbone>`` over the seeds (``seeds_interval``)."""
    return {
        f"detector_{k}_{b}": seeds_interval([r[k] for r in rs])
        for b, rs in runs.items()
        for k in ("ap", "ap50", "ap75")
    }


def detector_table(runs: Mapping[str, Sequence[dict]]) -> pd.DataFrame:
    """Backbone -> COCO AP, AP50 and AP75 of the detectors (mean over seeds with its interval)."""
    rows = {
        BACKBONES[b]: {k: stats.format_interval(seeds_interval([r[k] for r in seeds])) for k in ("ap", "ap50", "ap75")}
        for b, seeds in runs.items()
    }
    return pd.DataFrame(rows).T.rename(columns={"ap": "AP (IoU 0.50 to 0.95)", "ap50": "AP50", "ap75": "AP75"})


def pr_plot(runs: Mapping[str, dict]) -> None:
    """Precision against recall at IoU 0.5, per class, for one run of each backbone."""
    _, axes = plt.subplots(1, len(runs), figsize=(5 * len(runs), 3.3), squeeze=False)
    for ax, (backbone, run) in zip(axes[0], runs.items(), strict=True):
        for name, precision in run["precision50"].items():
            ax.plot(run["recall"], np.where(precision < 0, np.nan, precision), label=name)
        ax.set(
            title=f"{BACKBONES[backbone]}: AP50 {run['ap50']:.3f}", xlabel="recall", ylabel="precision", ylim=(0, 1.02)
        )
        ax.legend(fontsize=8)
    plt.tight_layout()
    plt.show()


def detections(predicted: dict, index: int, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The boxes (k, 4) pixels and labels (k,) that a detector's ``predict`` output keeps for image ``index``
    at confidence ``threshold`` or more."""
    count = int(predicted["num_detections"][index])
    keep = np.asarray(predicted["confidence"][index][:count]) >= threshold
    return np.asarray(predicted["boxes"][index][:count])[keep], np.asarray(predicted["labels"][index][:count])[keep]


def _single_rows() -> list:
    return [
        (
            f"{label}: mean IoU, IoU ≥ 0.5, class accuracy",
            tuple(f"single_box_{k}_{m}" for k in ("iou", "iou50", "acc")),
            3,
        )
        for m, label in METHODS.items()
    ]


README_TABLES: list[Table] = [
    Table(_single_rows(), ("single box, 5 folds of the 296 photos", "mean IoU (95 %)", "IoU ≥ 0.5", "class accuracy")),
    measures(
        ("fine-tuned minus scratch, mean IoU (paired over folds)", "finetuned_minus_scratch_iou", 3),
        ("frozen minus scratch, mean IoU (paired)", "frozen_minus_scratch_iou", 3),
        ("fine-tuned minus frozen, mean IoU (paired)", "finetuned_minus_frozen_iou", 3),
    ),
    Table(
        [
            (f"{label}: 25 %, 50 %, all training photos", tuple(f"single_box_iou_{m}_f{f}" for f in (25, 50, 100)), 3)
            for m, label in METHODS.items()
        ],
        ("mean IoU with a share of the training photos (3 folds)", "25 %", "50 %", "all"),
    ),
    Table(
        [
            (label, (f"detector_ap_{b}", f"detector_ap50_{b}", f"detector_ap75_{b}"), 3)
            for b, label in BACKBONES.items()
        ],
        ("detector on held-out mosaics (seeds)", "AP (IoU 0.50 to 0.95)", "AP50", "AP75"),
    ),
    measures(
        ("ImageNet minus scratch backbone, AP50 (paired over seeds)", "imagenet_minus_scratch_ap50", 3),
        ("ImageNet minus scratch backbone, AP (paired)", "imagenet_minus_scratch_ap", 3),
    ),
]
