"""Notebook 10's plumbing: pictures of the views, the pre-training curves, the grid's tables and record keys.

A grid result is one dict per run: ``{"domain", "method", "per_class", "seed", "test_acc", "seconds"}``
(``per_class`` None means every labelled training image), where ``method`` is one of ``METHODS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import recorded, stats
from tltf.tables import Table, measures

#: The benchmark whose record (``benchmarks/without-labels.json``) this lesson shows beside its runs.
NAME = "without-labels"
DOMAINS = {"flowers": "flowers (64 px)", "xray": "X-rays (28 px)"}
#: The record's name of each method, and what it is.
METHODS = {
    "ssl": "self-supervised encoder, frozen + linear probe",
    "random": "the same encoder with random weights, frozen + linear probe",
    "imagenet": "ImageNet MobileNetV2, frozen + linear probe",
    "scratch": "the same CNN trained from scratch (all weights, labels only)",
    "ssl_finetune": "self-supervised encoder, fine-tuned (all weights)",
}
#: The recorded study's points: labelled training images per class, or all of them.
POINTS = (10, 50, "all")


def size_name(per_class: int | str | None) -> str:
    """``10`` or ``all``: how the keys and tables name a number of labels per class."""
    return "all" if per_class in (None, "all") else str(per_class)


def key(domain: str, method: str, per_class: int | str | None) -> str:
    """The record's name of one grid point: ``flowers_ssl_probe_10``, ``xray_scratch_probe_all`` (the
    scratch CNN's supervised accuracy), ``flowers_ssl_finetune_50``."""
    kind = method if method == "ssl_finetune" else f"{method}_probe"
    return f"{domain}_{kind}_{size_name(per_class)}"


def result(domain: str, method: str, per_class: int | None, seed: int, test_acc: float, seconds: float) -> dict:
    """One grid result (a row of ``results``), as the tables, keys and costs read it."""
    return {
        "domain": domain,
        "method": method,
        "per_class": per_class,
        "seed": seed,
        "test_acc": float(test_acc),
        "seconds": round(float(seconds), 2),
    }


def grid_keys() -> list[str]:
    """Every grid key of the recorded study, domain by domain, method by method."""
    return [key(d, m, k) for d in DOMAINS for m in METHODS for k in POINTS]


def show_views(images: np.ndarray, views: keras.Layer, *, n_views: int = 5, title: str = "") -> plt.Figure:
    """One row per image of ``images`` (n, h, w, 3) in [0, 255]: the image, then ``n_views`` random views
    of it from ``views`` (called with ``training=True``; advances the layer's random state)."""
    n = len(images)
    fig, axes = plt.subplots(n, n_views + 1, figsize=(1.6 * (n_views + 1), 1.6 * n), squeeze=False)
    drawn = [np.asarray(views(images.astype("float32"), training=True)) for _ in range(n_views)]
    for row in range(n):
        for col, picture in enumerate([images[row], *(d[row] for d in drawn)]):
            axes[row, col].imshow(np.clip(picture, 0, 255).astype("uint8"))
            axes[row, col].set_axis_off()
            if row == 0:
                axes[row, col].set_title("original" if col == 0 else f"view {col}", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_pretraining(runs: Mapping[str, Sequence[dict]], seeds: Sequence[int]) -> plt.Figure:
    """Per domain (a column): the contrastive loss per epoch (top) and the validation accuracy of the
    probe that watched it (bottom), one line per seed. ``runs[domain]`` is a list of the notebook's
    pre-training summaries, one per seed of ``seeds``, each with "loss" (per epoch) and "probe"
    ([(epochs, accuracy)])."""
    fig, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 6), squeeze=False)
    for col, (domain, by_seed) in enumerate(runs.items()):
        for seed, run in zip(seeds, by_seed, strict=True):
            axes[0, col].plot(np.arange(1, len(run["loss"]) + 1), run["loss"], label=f"seed {seed}")
            epochs, accuracy = zip(*run["probe"], strict=True)
            axes[1, col].plot(epochs, accuracy, marker="o", label=f"seed {seed}")
        axes[0, col].set(title=DOMAINS[domain], ylabel="contrastive loss", xlabel="epoch")
        axes[1, col].set(ylabel="validation accuracy of a linear probe", xlabel="epochs of pre-training")
        axes[1, col].legend(fontsize=8)
    fig.tight_layout()
    return fig


def scores(results: Sequence[dict], domain: str, method: str, per_class) -> dict[int, float]:
    """{seed: test accuracy} of the runs of one grid point, in seed order."""
    chosen = (r for r in results if (r["domain"], r["method"], r["per_class"]) == (domain, method, per_class))
    return {r["seed"]: r["test_acc"] for r in sorted(chosen, key=lambda r: r["seed"])}


def spread(values: Sequence[float], *, bounds: tuple[float, float], n: int | None = None) -> dict:
    """``stats.summary`` of per-seed values, except when every seed gave the same value (a probe on
    features that do not depend on the seed, with every label): that is one result, not a certainty, so
    it gets one run's Wilson interval on ``n`` test items (an accuracy), or no interval when ``n`` is None."""
    values = np.asarray(values, dtype=float)
    if len(values) > 1 and np.all(values == values[0]):
        return stats.from_accuracy(values[0], n) if n else {"mean": round(float(values[0]), 4), "ci95": None}
    return stats.accuracies(values, n) if n else stats.summary(values, bounds=bounds)


def grid_record(results: Sequence[dict], n_test: Mapping[str, int]) -> dict:
    """{``key(...)``: summary} for every grid point that ``results`` holds: the mean over seeds with its
    bounded t interval, or one run's Wilson interval on the ``n_test[domain]`` test images (one seed, or
    seeds that all gave the same accuracy: see ``spread``)."""
    points = dict.fromkeys((r["domain"], r["method"], r["per_class"]) for r in results)
    return {key(*p): spread(list(scores(results, *p).values()), bounds=(0, 1), n=n_test[p[0]]) for p in points}


def grid_table(summary: Mapping[str, dict], domain: str) -> pd.DataFrame:
    """One row per method, one column per number of labels per class: test accuracy (95 % interval);
    blank where the grid has no such point."""
    rows = {}
    for method, label in METHODS.items():
        rows[label] = {
            size_name(k): stats.format_interval(summary[key(domain, method, k)])
            for k in POINTS
            if key(domain, method, k) in summary
        }
    table = pd.DataFrame(rows).T.fillna("")
    table.index.name, table.columns.name = f"{DOMAINS[domain]}: test accuracy", "labels per class"
    return table


def differences(results: Sequence[dict], pairs: Sequence[tuple[str, str]]) -> dict:
    """{f"{domain}_{a}_minus_{b}_{size}": ``stats.paired`` in points} for each pair of methods (a, b) at
    each point that both ran, paired by seed. Raises ValueError when the two ran different seeds."""
    found = {}
    for domain in DOMAINS:
        for a, b in pairs:
            for k in dict.fromkeys(r["per_class"] for r in results if r["domain"] == domain):
                first, second = scores(results, domain, a, k), scores(results, domain, b, k)
                if not (first and second):
                    continue
                if list(first) != list(second):
                    raise ValueError(f"{domain}, {k} per class: {a} ran seeds {list(first)}, {b} {list(second)}.")
                name = f"{domain}_{a}_minus_{b}_{size_name(k)}"
                found[name] = stats.paired(
                    100 * np.array(list(first.values())), 100 * np.array(list(second.values())), bounds=(0, 100)
                )
    return found


def difference_table(found: Mapping[str, dict]) -> pd.DataFrame:
    """One row per paired difference: the mean in points, its interval and the verdict."""
    return pd.DataFrame(
        {
            name: {"points (95 % interval)": stats.format_interval(d, digits=1), "verdict": stats.verdict(d["ci95"])}
            for name, d in found.items()
        }
    ).T


def beside(mine: Mapping[str, dict], extra: Sequence[str] = ()) -> pd.DataFrame:
    """Your run's grid (and ``extra`` keys) beside the recorded study's; "recorded only" where you did not run."""
    return recorded.beside(NAME, **{k: mine.get(k) for k in [*grid_keys(), *extra]})


README_TABLES: list[Table] = [
    *(
        Table(
            [(label, tuple(key(domain, m, k) for k in POINTS), 3) for m, label in METHODS.items()],
            (f"{label}, test accuracy, mean over 3 seeds", "10 per class", "50 per class", "all"),
        )
        for domain, label in DOMAINS.items()
    ),
    measures(
        ("flowers: self-supervised minus random probe, all labels, points (paired)", "flowers_ssl_minus_random_all", 1),
        ("X-rays: self-supervised minus random probe, all labels, points (paired)", "xray_ssl_minus_random_all", 1),
        (
            "flowers: ImageNet minus self-supervised probe, all labels, points (paired)",
            "flowers_imagenet_minus_ssl_all",
            1,
        ),
        ("X-rays: ImageNet minus self-supervised probe, all labels, points (paired)", "xray_imagenet_minus_ssl_all", 1),
        (
            "flowers: fine-tuned self-supervised minus scratch, all labels, points (paired)",
            "flowers_ssl_finetune_minus_scratch_all",
            1,
        ),
        (
            "X-rays: fine-tuned self-supervised minus scratch, all labels, points (paired)",
            "xray_ssl_finetune_minus_scratch_all",
            1,
        ),
        ("flowers: k-means on ImageNet features, adjusted Rand index", "flowers_cluster_ari_imagenet", 3),
        ("flowers: k-means on self-supervised features, adjusted Rand index", "flowers_cluster_ari_ssl", 3),
        ("flowers: k-means on random-encoder features, adjusted Rand index", "flowers_cluster_ari_random", 3),
        ("flowers: k-means on ImageNet features, NMI", "flowers_cluster_nmi_imagenet", 3),
        ("flowers: k-means on self-supervised features, NMI", "flowers_cluster_nmi_ssl", 3),
        (
            "pre-training seconds, flowers, every seed together (probes watching excluded)",
            "pretrain_seconds_flowers",
            0,
        ),
        ("pre-training seconds, X-rays, every seed together (probes watching excluded)", "pretrain_seconds_xray", 0),
    ),
]
