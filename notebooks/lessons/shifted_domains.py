"""Notebook 08's plumbing: names for the shifted test sets, accuracy over seeds per set, the tables and
plots of the drop, and the shift detector's cross-validation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tltf import stats
from tltf.data.corruptions import CORRUPTIONS, SEVERITIES
from tltf.tables import Table, measures

CLEAN = "clean"


def set_name(corruption: str, severity: int) -> str:
    """The key of one shifted test set, e.g. ``"gaussian_noise/3"``."""
    return f"{corruption}/{severity}"


def show_corruptions(
    clean: np.ndarray, sets: Mapping, corruptions: Sequence[str], severities: Sequence[int], index: int = 0
) -> plt.Figure:
    """One test photo (``clean[index]``, uint8 (h, w, 3)) as it is and under every corruption (rows)
    and severity (columns); ``sets`` maps (corruption, severity) to Examples with an images column."""
    fig, axes = plt.subplots(
        len(corruptions), 1 + len(severities), figsize=(1.6 * (1 + len(severities)), 1.6 * len(corruptions))
    )
    axes = np.atleast_2d(axes)
    for row, corruption in zip(axes, corruptions, strict=True):
        row[0].imshow(clean[index])
        row[0].set_ylabel(corruption.replace("_", " "), fontsize=8)
        for ax, severity in zip(row[1:], severities, strict=True):
            ax.imshow(sets[corruption, severity].images[index])
    for ax, title in zip(axes[0], ["clean", *(f"severity {s}" for s in severities)], strict=True):
        ax.set_title(title, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def accuracies(probabilities: Mapping[str, np.ndarray], labels: np.ndarray) -> dict[str, float]:
    """Accuracy per test set from class probabilities (n, classes) per set."""
    return {name: float((p.argmax(1) == labels).mean()) for name, p in probabilities.items()}


def mean_over(per_set: Mapping[str, float], names: Sequence[str]) -> float:
    """The mean of one seed's accuracies over the sets ``names`` (e.g. every corruption at severity 3)."""
    return float(np.mean([per_set[name] for name in names]))


def over_seeds(per_seed: Sequence[Mapping[str, float]]) -> dict[str, dict]:
    """``stats.summary`` per set of one method's accuracies, one mapping per seed."""
    return {name: stats.summary([seed[name] for seed in per_seed], bounds=(0, 1)) for name in per_seed[0]}


def table(methods: Mapping[str, Sequence[Mapping[str, float]]], names: Sequence[str]) -> pd.DataFrame:
    """Mean accuracy over seeds with its 95 % interval: a row per test set, a column per method."""
    cells = {
        method: {name: stats.format_interval(s) for name, s in over_seeds(per_seed).items() if name in names}
        for method, per_seed in methods.items()
    }
    return pd.DataFrame(cells).loc[list(names)]


def differences(gains: Mapping[str, dict], source: str) -> pd.DataFrame:
    """Paired differences in points (``stats.paired`` dicts, one per row) with their 95 % interval and
    verdict; ``source`` says whose they are ("this run", "recorded study") and heads the rows."""
    rows = {
        what: {"points (95 % interval)": stats.format_interval(g, digits=1), "verdict": stats.verdict(g.get("ci95"))}
        for what, g in gains.items()
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = source
    return table


def plot_severity(
    methods: Mapping[str, Sequence[Mapping[str, float]]], corruptions: Sequence[str], severities: Sequence[int]
) -> plt.Figure:
    """Accuracy against severity (0: clean), a panel per corruption, a line per method (the mean over
    seeds, the band from the worst seed to the best)."""
    fig, axes = plt.subplots(1, len(corruptions), figsize=(2.6 * len(corruptions), 2.8), sharey=True)
    for ax, corruption in zip(np.atleast_1d(axes), corruptions, strict=True):
        names = [CLEAN, *(set_name(corruption, s) for s in severities)]
        for method, per_seed in methods.items():
            values = np.array([[seed[n] for n in names] for seed in per_seed])
            ax.plot([0, *severities], values.mean(0), marker="o", label=method)
            ax.fill_between([0, *severities], values.min(0), values.max(0), alpha=0.2)
        ax.set_title(corruption.replace("_", " "), fontsize=9)
        ax.set_xlabel("severity")
        ax.set_ylim(0, 1)
    np.atleast_1d(axes)[0].set_ylabel("test accuracy")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def confidence(probabilities: np.ndarray) -> dict[str, float]:
    """Mean top probability and mean entropy (nats) of predictions (n, classes)."""
    p = np.clip(probabilities, 1e-12, 1.0)
    return {"max_prob": float(p.max(1).mean()), "entropy": float(-(p * np.log(p)).sum(1).mean())}


def domain_classifier():
    """Standardised features, then an L2-regularised logistic regression (scikit-learn)."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))


def domain_accuracy(clean: np.ndarray, shifted: np.ndarray, *, folds: int = 5) -> float:
    """How well a logistic regression tells shifted features from clean ones (n, d) each, the same
    images in both: 5-fold cross-validated accuracy, an image's two copies always in the same fold
    (scikit-learn's GroupKFold), so it cannot match a photo with itself. 0.5: no visible shift."""
    x = np.concatenate([clean, shifted])
    y = np.repeat([0, 1], len(clean))
    groups = np.tile(np.arange(len(clean)), 2)
    return float(cross_val_score(domain_classifier(), x, y, groups=groups, cv=GroupKFold(folds)).mean())


#: The methods of notebook 08's overview, with the README's label for each: (label, record key's suffix).
README_METHODS = (
    ("feature extraction", "fe"),
    ("fine-tuned (the course's recipe)", "ft"),
    ("fine-tuned with RandAugment", "ft_augmented"),
    ("fine-tuned, statistics re-estimated on the target photos (fails; one seed)", "ft_bn_naive"),
    ("fine-tuned with flower statistics (unadapted)", "ft_source"),
    ("**the same, statistics re-estimated on the target photos**", "ft_bn_adapted"),
    ("the same, re-estimated, then TENT", "ft_tent"),
)

#: The README's tables of this lesson's benchmark (``python -m tltf.bench shifted-domains``): the corruptions
#: and severities are ``tltf.data.corruptions``'s.
README_TABLES: list[Table] = [
    Table(
        [(label, (f"clean_acc_{m}", f"mean_corruption_acc_{m}"), 3) for label, m in README_METHODS],
        (
            "flowers, MobileNetV2 at {input_px} px, mean over 3 seeds",
            "clean test photos",
            f"severity 3, {len(CORRUPTIONS)} corruptions",
        ),
    ),
    Table(
        [(c.replace("_", " "), tuple(f"acc_ft_{c}_{s}" for s in SEVERITIES), 3) for c in CORRUPTIONS],
        ("fine-tuned, test accuracy under", *(f"severity {s}" for s in SEVERITIES)),
    ),
    measures(
        (
            "best label-free adaptation minus the unadapted fine-tuned model, points (paired)",
            "adaptation_gain_points",
            1,
        ),
        ("share of the fine-tuned model's loss at severity 3 won back", "recovered_fraction", 2),
        ("TENT minus re-estimation alone, points (paired)", "tent_minus_bn_points", 1),
        ("relative drop at severity 3, fine-tuned", "relative_drop_ft", 3),
        (
            "Spearman rho, label-free domain-classifier accuracy vs accuracy lost (18 sets)",
            "rho_domain_accuracy_drop",
            2,
        ),
    ),
]
