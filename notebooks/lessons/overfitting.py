"""Plumbing for notebook 09 (overfitting): the grid's effects, the forest plot, the fold analyses.

``results`` everywhere maps (recipe name, per-class count or None) to the ``tltf.stages.Run`` (made
by ``tltf.recipes.Grid``) of each seed, in seed order, so that two recipes at one size are paired by seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import recipes, recorded, stats
from tltf.tables import Table

#: The benchmark whose record (``benchmarks/overfitting.json``) this lesson shows beside its runs.
NAME = "overfitting"

#: Techniques that change the training photos: at most one of them enters the combined recipe.
DATA_TECHNIQUES = ("flip_rotate_zoom", "randaugment", "mixup", "cutmix")


def size_name(per_class: int | None) -> str:
    """``10`` or ``all``: how the JSON keys and tables name a training-set size."""
    return "all" if per_class is None else str(per_class)


def accuracies(runs: Sequence, split: str) -> np.ndarray:
    """Per seed: the kept weights' accuracy on ``split`` ("val" or "test")."""
    return np.array([r.val_acc if split == "val" else r.test_acc for r in runs])


def effects(results: dict, techniques: Sequence[str], sizes: Sequence, split: str) -> dict:
    """{(technique, size): stats.paired summary, in points} of technique minus plain, paired by seed."""
    return {
        (t, k): stats.paired(100 * accuracies(results[t, k], split), 100 * accuracies(results["plain", k], split))
        for t in techniques
        for k in sizes
    }


def effect_table(val: dict, test: dict) -> pd.DataFrame:
    """One row per technique, validation and test effect (points, 95 % interval) at each size."""
    rows: dict[str, dict] = {}
    for (t, k), value in test.items():
        rows.setdefault(t, {})[f"val, {size_name(k)}"] = stats.format_interval(val[t, k], digits=1)
        rows[t][f"test, {size_name(k)}"] = stats.format_interval(value, digits=1)
    table = pd.DataFrame(rows).T
    return table[sorted(table.columns, key=lambda c: (c.split(", ")[1] != "10", c))]


def forest_plot(test: dict, sizes: Sequence, *, title: str = "effect on test accuracy (points)", label: str = ""):
    """One panel per size: each technique's paired effect on test accuracy, mean and 95 % interval
    (a dot alone without one), against the dashed zero line (no effect); ``label`` says whose effects
    they are ("your run", "recorded study"). A (technique, size) that ``test`` lacks is left blank.
    Returns the figure."""
    techniques = list(dict.fromkeys(t for t, _ in test))
    fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 0.45 * len(techniques) + 1.2), sharey=True)
    for ax, k in zip(np.atleast_1d(axes), sizes, strict=True):
        for y, t in enumerate(techniques):
            value = test.get((t, k))
            if value is None:
                continue
            low, high = value["ci95"] or (value["mean"], value["mean"])
            ax.plot([low, high], [y, y], color="tab:blue")
            ax.plot(value["mean"], y, "o", color="tab:blue")
        ax.axvline(0, color="grey", linestyle="--")
        ax.set(title=f"{size_name(k)} photos per class", xlabel=title)
        ax.set_yticks(range(len(techniques)), techniques)
    np.atleast_1d(axes)[0].invert_yaxis()
    if label:
        fig.suptitle(label)
    fig.tight_layout()
    return fig


def recorded_effects(sizes: Sequence, stored: dict | None = None) -> dict:
    """The recorded study's test effects, ``{(technique, size): {"mean", "ci95"}}`` in points, as
    ``effects`` gives them (for ``forest_plot``); ``stored`` defaults to ``tltf.recorded.study(NAME)``.
    A technique or size the record lacks is left out."""
    stored = recorded.study(NAME) if stored is None else stored
    out = {}
    for t in recipes.TECHNIQUES:
        for k in sizes:
            key = f"effect_points_{t}_{size_name(k)}"
            if f"{key}_mean" in stored:
                out[t, k] = {"mean": stored[f"{key}_mean"], "ci95": stored.get(f"{key}_ci95")}
    return out


def by_record_key(effects: dict, sizes: Sequence, prefix: str = "effect_points") -> dict:
    """Every technique at every size under its record key (``effect_points_dropout_10``): this run's
    effect, or None where it did not measure it (``tltf.recorded.beside`` shows those as recorded only)."""
    return {f"{prefix}_{t}_{size_name(k)}": effects.get((t, k)) for t in recipes.TECHNIQUES for k in sizes}


def beside_values(yours: dict, keys: Sequence[str], stored: dict | None = None) -> pd.DataFrame:
    """``tltf.recorded.beside`` for record entries that are not numbers (choices, epochs, lists): one
    row per key, this run's value (``yours[key]``; missing: not run in this mode) beside the recorded
    study's, both as text. ``stored`` defaults to ``tltf.recorded.study(NAME)``."""
    stored = recorded.study(NAME) if stored is None else stored
    rows = {
        key: {
            recorded.yours(): str(yours[key]) if key in yours else recorded.RECORDED_ONLY,
            "recorded study": str(stored[key]) if key in stored else recorded.NOT_RECORDED,
        }
        for key in keys
    }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = recorded.source(NAME, stored)
    return table


def plot_curves(runs: dict, heads: dict):
    """Training vs validation accuracy per epoch: a panel per size for fine-tuning (``runs``: size ->
    Run) and for feature extraction (``heads``: size -> the history dict of stage 1, ``tltf.loop.Fit.history``).
    Returns the figure."""
    fig, axes = plt.subplots(2, len(runs), figsize=(5 * len(runs), 6.5), squeeze=False)
    for col, k in enumerate(runs):
        for row, (name, history) in enumerate((("fine-tuning", runs[k].history), ("feature extraction", heads[k]))):
            ax = axes[row, col]
            epochs = np.arange(1, len(history["accuracy"]) + 1)
            ax.plot(epochs, history["accuracy"], label="training")
            ax.plot(epochs, history["val_accuracy"], label="validation")
            turn = int(np.argmin(history["val_loss"])) + 1
            ax.axvline(turn, color="grey", linestyle=":", label=f"lowest validation loss (epoch {turn})")
            ax.set(title=f"{name}, {size_name(k)} photos per class", xlabel="epoch", ylabel="accuracy")
            ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def overfitting(history: dict) -> dict:
    """The gap (training minus validation accuracy at the last epoch) and the epoch (1-based) with the
    lowest validation loss, where validation turns."""
    return {
        "gap": round(history["accuracy"][-1] - history["val_accuracy"][-1], 4),
        "turn_epoch": int(np.argmin(history["val_loss"])) + 1,
        "epochs": len(history["loss"]),
    }


def choose(val: dict, sizes: Sequence) -> list[str]:
    """The combined recipe's techniques, from validation effects only: each whose mean effect over
    the sizes is above zero, and of the photo-changing ones (``DATA_TECHNIQUES``) only the best."""
    mean = {t: np.mean([val[t, k]["mean"] for k in sizes]) for t in dict.fromkeys(t for t, _ in val)}
    helped = [t for t, m in mean.items() if m > 0]
    data = [t for t in helped if t in DATA_TECHNIQUES]
    return [t for t in helped if t not in DATA_TECHNIQUES] + ([max(data, key=mean.get)] if data else [])


def fold_accuracy(probs: np.ndarray, labels: np.ndarray, folds: Sequence[np.ndarray]) -> np.ndarray:
    """Accuracy of (photos, classes) probabilities on each fold's rows; shape (folds,)."""
    right = probs.argmax(axis=1) == labels
    return np.array([right[rows].mean() for rows in folds])


def best_epoch_per_fold(run, labels: np.ndarray, folds: Sequence[np.ndarray]) -> list[int]:
    """For each fold of the validation split: the epoch (1-based) a run would stop at if that fold
    were the whole validation split (highest accuracy; the first of ties)."""
    per_epoch = np.array([fold_accuracy(p, labels, folds) for p in run.val_probs])  # (epochs, folds)
    return [int(e) + 1 for e in per_epoch.argmax(axis=0)]


def best_technique_per_fold(results: dict, names: Sequence[str], k, labels, folds) -> list[str]:
    """For each fold of the validation split: the recipe with the highest mean (over seeds)
    validation accuracy on that fold alone."""
    scores = np.array(
        [np.mean([fold_accuracy(r.kept_val_probs, labels, folds) for r in results[n, k]], axis=0) for n in names]
    )
    return [names[i] for i in scores.argmax(axis=0)]


def overfitting_table(fine_tuned: dict, feature_extraction: dict) -> dict:
    """``overfitting`` of each size's fine-tuning Run and stage-1 history, keyed
    ``fine_tuned_10``, ``feature_extraction_10``, ``fine_tuned_all``, ..."""
    return {
        f"{how}_{size_name(k)}": overfitting(history)
        for k in fine_tuned
        for how, history in (("fine_tuned", fine_tuned[k].history), ("feature_extraction", feature_extraction[k]))
    }


def compare(test_acc: dict, sizes: Sequence, n_test: int | None = None) -> dict:
    """Test accuracy of "recipe", "plain" and "fe" (``test_acc[name, size]``: one per seed) and the
    recipe's paired gains over the other two, in points, as ``stats`` summaries keyed for the record.
    With one seed and ``n_test`` (the test split's size), an accuracy's interval is the test split's
    alone (Wilson, ``stats.from_accuracy``); a gain of one seed has none."""

    def accuracy(values: np.ndarray) -> dict:
        if len(values) == 1 and n_test:
            return stats.from_accuracy(values[0], n_test)
        return stats.summary(values, bounds=(0, 1))

    out = {}
    for k in sizes:
        size = size_name(k)
        out |= {f"{name}_test_acc_{size}": accuracy(test_acc[name, k]) for name in ("recipe", "plain", "fe")}
        out[f"recipe_gain_points_{size}"] = stats.paired(100 * test_acc["recipe", k], 100 * test_acc["plain", k])
        out[f"recipe_minus_fe_points_{size}"] = stats.paired(100 * test_acc["recipe", k], 100 * test_acc["fe", k])
    return out


def interval_table(values: dict) -> pd.DataFrame:
    """One row per summary: "mean (low to high)"."""
    return pd.DataFrame({key: {"mean (95 % interval)": stats.format_interval(v)} for key, v in values.items()}).T


def fold_choices(long: dict, results: dict, names: Sequence[str], labels, folds) -> pd.DataFrame:
    """One row per validation fold: its best epoch of each size's long plain run and its best recipe."""
    sizes = list(long)
    epochs = {f"best epoch, {size_name(k)}": best_epoch_per_fold(long[k], labels, folds) for k in sizes}
    winners = {f"best recipe, {size_name(k)}": best_technique_per_fold(results, names, k, labels, folds) for k in sizes}
    return pd.DataFrame(epochs | winners)


def fold_spread(per_fold: pd.DataFrame, long: dict, results: dict, names: Sequence[str]) -> dict:
    """Per size: the range of the folds' best epochs, the number of distinct winning recipes, and the
    share of folds that agree with the whole validation split's choice of each."""
    spread = {}
    for k in long:
        size = size_name(k)
        epochs, winners = per_fold[f"best epoch, {size}"], per_fold[f"best recipe, {size}"]
        best = max(names, key=lambda n: np.mean(accuracies(results[n, k], "val")))
        spread[size] = {
            "best epochs (min-max)": f"{epochs.min()}-{epochs.max()}",
            "folds agreeing on the epoch": float((epochs == long[k].best_epoch).mean()),
            "distinct winning recipes": int(winners.nunique()),
            "folds agreeing on the recipe": float((winners == best).mean()),
        }
    return spread


def regret(reference: Sequence[float], chosen: Sequence[int]) -> list[float]:
    """Points of accuracy lost on the ``reference`` curve (accuracy per epoch) by stopping at each
    ``chosen`` epoch (1-based) instead of its best."""
    curve = np.asarray(reference)
    return [round(100 * float(curve.max() - curve[e - 1]), 1) for e in chosen]


#: The README's label of each technique of ``tltf.recipes.TECHNIQUES``, filled in from its change to the
#: plain recipe (and ``plain_blocks``, the plain recipe's number of blocks).
TECHNIQUE_LABELS = {
    "flip_rotate_zoom": "flip, rotate, zoom (cached views)",
    "randaugment": "RandAugment (cached views)",
    "dropout": "head dropout {dropout}",
    "weight_decay": "weight decay {weight_decay} (AdamW, not BatchNorm or biases)",
    "label_smoothing": "label smoothing {label_smoothing}",
    "mixup": "MixUp",
    "cutmix": "CutMix",
    "fewer_blocks": "top {blocks} blocks trained instead of {plain_blocks}",
    "early_stopping": "early stopping on a schedule twice as long",
    "l2_sp": "L2-SP, alpha {l2_sp}",
}


def technique_label(technique: str) -> str:
    """The README's label of one technique of ``tltf.recipes.TECHNIQUES``, e.g. "head dropout 0.5"."""
    return TECHNIQUE_LABELS[technique].format(**recipes.TECHNIQUES[technique], plain_blocks=recipes.Recipe().blocks)


def _at_sizes(key: str) -> tuple[str, ...]:
    """``key`` at 10 photos per class and at all of them: the record's keys of one README row."""
    return tuple(f"{key}_{size_name(k)}" for k in (10, None))


def headline(comparison: dict, keys: Sequence[str]) -> dict:
    """``keys`` (the record's names of ``compare``'s results) at both sizes, with this run's values or
    None where it did not run that size: ``tltf.recorded.beside``'s arguments."""
    return {key: comparison.get(key) for name in keys for key in _at_sizes(name)}


#: The README's tables of this lesson's benchmark (``python -m tltf.bench overfitting``), one row per technique.
README_TABLES: list[Table] = [
    Table(
        [(technique_label(t), _at_sizes(f"effect_points_{t}"), 1) for t in recipes.TECHNIQUES],
        (
            "one change from the plain recipe: test accuracy minus plain, points (paired)",
            "10 photos per class (5 seeds)",
            "all photos (3 seeds)",
        ),
    ),
    Table(
        [
            ("plain recipe (fine-tuned, top 6 blocks)", _at_sizes("plain_test_acc"), 3),
            ("combined recipe, chosen on validation: {combined_recipe}", _at_sizes("recipe_test_acc"), 3),
            ("feature extraction (stage 1 alone)", _at_sizes("fe_test_acc"), 3),
            ("combined minus plain, points (paired)", _at_sizes("recipe_gain_points"), 1),
            ("combined minus feature extraction, points (paired)", _at_sizes("recipe_minus_fe_points"), 1),
        ],
        ("flowers, MobileNetV2 at 144 px, test accuracy", "10 photos per class", "all photos"),
    ),
]
