"""Stateless training stages on an ``ActivationCache``: each call builds its own model, trains it with
``tltf.loop.fit_epochs`` and returns one ``Run``; no call changes the cache or another run.

- ``head``: stage 1, a new head on the frozen backbone's cached features;
- ``feature_extraction``: stage 1 alone, scored;
- ``fine_tuned``: stage 1, then a copy of the top blocks trained with the head on the cached
  activations (BatchNorm frozen, warm-up + cosine rate);
- ``scratch``: a small CNN trained from random weights on the small images;
- ``classifier``: the whole trained transfer model of a run, as a new Keras model.
Sizes and epoch counts come from ``tltf.settings`` (read at call time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from tltf import data, loop, models, train
from tltf.cache import ActivationCache
from tltf.settings import settings

APPROACHES = ("feature_extraction", "fine_tuned", "scratch")


@dataclass
class Run:
    """One training run on one subset and seed; probabilities are (images, classes)."""

    approach: str  # "feature_extraction", "fine_tuned", "scratch"
    per_class: int  # labelled training images per class (for "all": the mean over classes, rounded)
    seed: int
    test_acc: float
    seconds: float  # wall-clock of the training itself (fine-tuning: both stages)
    epochs: int
    trainable_params: int
    #: Validation accuracy of the kept weights.
    val_acc: float | None = None
    #: Per epoch of every stage, in order: loss, accuracy, val_loss, val_accuracy, seconds (``loop.Fit``).
    history: dict[str, list[float]] = field(default_factory=dict, repr=False)
    #: The validation probabilities after every epoch of every stage, and the epoch whose weights were kept
    #: (0-based, counted over all stages).
    val_probs: list[np.ndarray] = field(default_factory=list, repr=False)
    kept: int = -1
    #: ROC AUC on the test split (two classes only; None otherwise)
    test_auc: float | None = None
    #: The kept weights' class probabilities on the validation and test splits, {"val": (n_val, classes), "test": ...}
    probs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: The trained head, and for ``fine_tuned`` the top blocks' weights (``classifier`` rebuilds the model)
    head: keras.Model | None = field(default=None, repr=False)
    top_weights: list[np.ndarray] | None = field(default=None, repr=False)
    #: What else made this run (a ``tltf.recipes.Recipe``), if anything.
    recipe: Any = None

    @property
    def val_curve(self) -> list[tuple[float, float]]:
        """(seconds since training started, validation accuracy) after every epoch of every stage."""
        times = np.cumsum(self.history.get("seconds", []))
        return [(round(float(t), 2), a) for t, a in zip(times, self.history.get("val_accuracy", []), strict=True)]

    @property
    def kept_val_probs(self) -> np.ndarray:
        """The kept weights' probabilities on what the run validated on (the validation split or a fold)."""
        return self.val_probs[self.kept]

    @property
    def test_probs(self) -> np.ndarray:
        return self.probs["test"]

    @property
    def best_epoch(self) -> int:
        """The epoch (1-based, over all stages) with the highest validation accuracy."""
        return int(np.argmax(self.history["val_accuracy"])) + 1


def scores(model: keras.Model, val: np.ndarray, test: np.ndarray, test_labels: np.ndarray) -> dict:
    """The ``Run`` fields that score a trained model on validation and test inputs: ``test_acc``,
    ``test_auc`` (two classes) and ``probs``."""
    probs = {
        "val": model.predict(val, batch_size=100, verbose=0),
        "test": model.predict(test, batch_size=100, verbose=0),
    }
    two = probs["test"].shape[1] == 2
    return {
        "test_acc": float((probs["test"].argmax(axis=1) == test_labels).mean()),
        "test_auc": float(roc_auc_score(test_labels, probs["test"][:, 1])) if two else None,
        "probs": probs,
    }


def scored_run(
    approach: str,
    cache: ActivationCache,
    rows: np.ndarray,
    seed: int,
    model: keras.Model,
    fits: list[loop.Fit],
    inputs: str,
    trainable_params: int,
    **fields,
) -> Run:
    """A ``Run`` of ``model`` trained by ``fits`` (one per stage, in order) on the training images at
    ``rows``, scored on the cache's validation and test arrays ``inputs`` ("features", "cut", "small")."""
    arrays, last = getattr(cache, inputs), fits[-1]
    return Run(
        approach=approach,
        per_class=round(len(rows) / cache.num_classes),
        seed=seed,
        seconds=round(sum(sum(fit.history["seconds"]) for fit in fits), 2),
        epochs=sum(fit.epochs for fit in fits),
        trainable_params=trainable_params,
        val_acc=last.history["val_accuracy"][last.kept],
        history={key: [v for fit in fits for v in fit.history[key]] for key in last.history},
        val_probs=[p for fit in fits for p in fit.val_probs],
        kept=sum(fit.epochs for fit in fits[:-1]) + last.kept,
        **scores(model, arrays["val"], arrays["test"], cache.labels("test")),
        **fields,
    )


def head(
    cache: ActivationCache, rows: np.ndarray, seed: int, *, val_rows: np.ndarray | None = None
) -> tuple[keras.Model, loop.Fit]:
    """Stage 1: a new head (unit-length features, rate 1e-2) trained on the cached features of every
    view of the training images at ``rows`` for up to ``settings().head_epochs`` epochs, early-stopped
    on the validation loss (patience 10, best weights kept), validated on the validation split or on
    the training images at ``val_rows`` (a fold of cross-validation). Returns (head, fit)."""
    s = settings()
    train.seed_everything(seed)
    model = models.make_head(cache.spec.feature_size, cache.num_classes, normalize=True)
    train.compile_classifier(model, 1e-2)
    views = cache.view_rows(rows)
    y = np.tile(cache.labels("train")[rows], cache.views)
    make = loop.rows_by_epoch(cache.features["train"][views], y, np.arange(len(views)), s.epoch_rows, seed)
    fit = loop.fit_epochs(model, make, cache.validation("features", val_rows), epochs=s.head_epochs, patience=10)
    return model, fit


def feature_extraction(cache: ActivationCache, per_class: int | None, seed: int) -> Run:
    """A head trained on the frozen backbone's cached features (``head``), scored."""
    rows = cache.subset(per_class, seed)
    model, fit = head(cache, rows, seed)
    params = models.count_params(model.trainable_weights)
    return scored_run("feature_extraction", cache, rows, seed, model, [fit], "features", params, head=model)


def fine_tuned(cache: ActivationCache, per_class: int | None, seed: int, *, peak_lr: float = 1e-4) -> Run:
    """Stage 1 (``head``), then a copy of the top ``cache.blocks`` blocks and the head trained together
    on every view's cached activations for ``settings().fine_tune_epochs`` epochs (BatchNorm frozen;
    Adam on a one-epoch warm-up + cosine rate peaking at ``peak_lr``); the weights of the epoch with
    the lowest validation loss are kept."""
    s = settings()
    rows = cache.subset(per_class, seed)
    stage1, fit1 = head(cache, rows, seed)
    top = cache.new_top()
    report = models.unfreeze(top, blocks=cache.blocks)
    model = keras.Sequential([keras.Input(cache.cut["train"].shape[1:]), top, stage1])
    views = cache.view_rows(rows)
    y = np.tile(cache.labels("train")[rows], cache.views)
    steps = loop.steps_per_epoch(len(views), s.epoch_rows)
    schedule = train.warmup_cosine(peak_lr, total_steps=steps * s.fine_tune_epochs, warmup_steps=steps)
    model.compile(keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    make = loop.rows_by_epoch(cache.cut["train"][views], y, np.arange(len(views)), s.epoch_rows, seed)
    fit2 = loop.fit_epochs(model, make, cache.validation("cut"), epochs=s.fine_tune_epochs)
    params = report.trainable_params + models.count_params(stage1.trainable_weights)
    return scored_run(
        "fine_tuned", cache, rows, seed, model, [fit1, fit2], "cut", params, head=stage1, top_weights=top.get_weights()
    )


def scratch(cache: ActivationCache, per_class: int | None, seed: int, *, epochs: int | None = None) -> Run:
    """``models.scratch_cnn`` on the small images with augmentation, dropout and weight decay, trained
    for ``epochs`` (default ``settings().scratch_epochs``) with AdamW on a rate decaying from 2e-3
    (cosine), on at least half ``settings().epoch_rows`` rows an epoch; the weights of the epoch with
    the best validation accuracy are kept (its validation loss is too noisy to choose by)."""
    s = settings()
    rows = cache.subset(per_class, seed)
    epochs = epochs or s.scratch_epochs
    train.seed_everything(seed)
    model = models.scratch_cnn(cache.num_classes, cache.small["train"].shape[1:3], augment=data.augmentation(seed))
    schedule = keras.optimizers.schedules.CosineDecay(
        2e-3, decay_steps=loop.steps_per_epoch(len(rows), s.epoch_rows // 2) * epochs
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    make = loop.rows_by_epoch(cache.small["train"], cache.labels("train"), rows, s.epoch_rows // 2, seed)
    fit = loop.fit_epochs(model, make, cache.validation("small"), epochs=epochs, monitor="val_accuracy")
    return scored_run("scratch", cache, rows, seed, model, [fit], "small", models.count_params(model.trainable_weights))


def classifier(cache: ActivationCache, run: Run, *, from_activations: bool = False) -> keras.Model:
    """The whole trained transfer model of ``run`` (``feature_extraction`` or ``fine_tuned``), a new
    model with copies of the cache's lower part and top blocks: [0, 255] images (batch, size, size, 3)
    -> probabilities (batch, classes); with ``from_activations``, the lower part's activations ->
    probabilities. Changing it (``tltf.adapt``, training) changes neither the cache nor the run."""
    if run.head is None:
        raise ValueError(f"A {run.approach} run has no transfer model to rebuild.")
    head = keras.models.clone_model(run.head)
    head.set_weights(run.head.get_weights())
    top = cache.new_top(run.top_weights)
    if from_activations:
        return keras.Sequential([keras.Input(cache.cut["train"].shape[1:]), top, head])
    return keras.Sequential([keras.Input((*cache.spec.image_size, 3)), cache.new_lower(), top, head])
