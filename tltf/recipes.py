"""Fine-tuning recipes on an ``Experiment``'s cached activations, one regulariser at a time.

A ``Recipe`` is stage 2 of the course's fine-tuning (the top blocks and the head, BatchNorm frozen,
warm-up + cosine rate) with each regulariser of notebook 09 as one field. ``Grid.run`` trains it on
the cached activations of the frozen lower part (``curves.Experiment``), so that one run at 10
photos per class costs seconds: augmentation reads cached augmented views (one per epoch), MixUp
and CutMix mix the photos first (Keras's layers) and pass the mixed photos through the lower part.
Stage 1 (the head on frozen features) is trained once per subset and seed and shared by every
recipe, which makes the comparisons between recipes paired.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np

from tltf import curves, models, train

#: A fold of cross-validation inside the training split: (training rows, validation rows).
Fold = tuple[np.ndarray, np.ndarray]

#: One change from the plain recipe per technique (notebook 09's grid).
TECHNIQUES: dict[str, dict] = {
    "flip_rotate_zoom": {"augment": "flip_rotate_zoom"},
    "randaugment": {"augment": "randaugment"},
    "dropout": {"dropout": 0.5},
    "weight_decay": {"weight_decay": 0.05},
    "label_smoothing": {"label_smoothing": 0.1},
    "mixup": {"mix": "mixup"},
    "cutmix": {"mix": "cutmix"},
    "fewer_blocks": {"blocks": 3},
    "early_stopping": {"early_stopping": True},
    "l2_sp": {"l2_sp": 0.1},
}


@keras.saving.register_keras_serializable(package="tltf")
class L2SP(keras.regularizers.Regularizer):
    """L2-SP (Li, Grandvalet & Davoine, ICML 2018): ``alpha * sum((w - reference) ** 2)``.

    Keras's ``L2`` pulls a weight toward zero; this pulls it toward ``reference``, its pre-trained
    value (an array of the weight's shape), so it is 0 at the pre-trained weights and grows with the
    squared distance from them. Keras has no such regularizer; ``attach_l2_sp`` puts one on each
    variable of a built model.
    """

    def __init__(self, alpha: float, reference):
        self.alpha = float(alpha)
        self.reference = np.asarray(reference, dtype="float32")

    def __call__(self, x):
        return self.alpha * keras.ops.sum(keras.ops.square(x - self.reference))

    def get_config(self) -> dict:
        return {"alpha": self.alpha, "reference": self.reference.tolist()}


def attach_l2_sp(variables: Sequence[keras.Variable], alpha: float) -> None:
    """Give every variable an ``L2SP`` regularizer toward its current value (call it while the
    weights are the pre-trained ones). Keras adds a variable's ``regularizer`` to the loss of any
    model that trains it; ``detach_regularizers`` takes them off again. Side effect: sets
    ``variable.regularizer``."""
    for variable in variables:
        variable.regularizer = L2SP(alpha, keras.ops.convert_to_numpy(variable))


def detach_regularizers(variables: Sequence[keras.Variable]) -> None:
    """Remove what ``attach_l2_sp`` put on ``variables``."""
    for variable in variables:
        variable.regularizer = None


@dataclass(frozen=True)
class Recipe:
    """Stage 2 of fine-tuning: ``epochs`` of a warm-up (one epoch) + cosine rate peaking at
    ``peak_lr`` (Adam; AdamW with ``weight_decay``, BatchNorm and biases excluded), the top
    ``blocks`` blocks and the head trained, BatchNorm frozen. The plain recipe is the default;
    every other field is one regulariser: ``augment`` (cached views: "flip_rotate_zoom",
    "randaugment"), ``mix`` ("mixup", "cutmix"), head ``dropout``, ``label_smoothing``,
    ``early_stopping`` (a schedule twice as long, stopped when the validation loss has not improved
    for 2 epochs, best weights kept) and ``l2_sp`` (its alpha)."""

    epochs: int = 5
    peak_lr: float = 1e-4
    augment: str | None = None
    mix: str | None = None
    dropout: float = 0.0
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    blocks: int = 6
    early_stopping: bool = False
    l2_sp: float = 0.0

    def but(self, **changes) -> Recipe:
        """This recipe with ``changes`` (``plain.but(**TECHNIQUES["mixup"])``)."""
        return dataclasses.replace(self, **changes)

    def optimizer(self, steps: int) -> keras.optimizers.Optimizer:
        """The optimizer for ``steps`` updates in all (the schedule's length)."""
        epochs = 2 * self.epochs if self.early_stopping else self.epochs
        schedule = train.warmup_cosine(self.peak_lr, total_steps=steps * epochs, warmup_steps=steps)
        if not self.weight_decay:
            return keras.optimizers.Adam(schedule)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=self.weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer

    def loss(self) -> keras.losses.Loss:
        """Cross-entropy on one-hot (or mixed) labels; Keras's sparse loss has no smoothing."""
        return keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)


@dataclass
class Result:
    """One run of a recipe on one subset and seed; probabilities are (photos, classes)."""

    recipe: Recipe
    per_class: int
    seed: int
    val_acc: float
    test_acc: float
    seconds: float
    #: Per epoch: "loss", "accuracy" (training, as Keras reports them), "val_loss", "val_accuracy".
    history: dict[str, list[float]]
    #: The validation probabilities after every epoch, and the test probabilities of the kept weights.
    val_probs: list[np.ndarray] = field(repr=False)
    test_probs: np.ndarray = field(repr=False)
    #: The epoch (0-based) whose weights were kept: the last, or early stopping's best.
    kept: int = -1

    @property
    def kept_val_probs(self) -> np.ndarray:
        """The validation probabilities of the kept weights, (photos, classes)."""
        return self.val_probs[self.kept]

    @property
    def best_epoch(self) -> int:
        """The epoch (1-based) with the highest validation accuracy."""
        return int(np.argmax(self.history["val_accuracy"])) + 1


class Grid:
    """Every recipe at every subset and seed on one ``curves.Experiment``.

    ``views`` maps an ``augment`` name to cached activations of augmented training photos, shape
    (views, n_train, *activation shape); ``images`` are the training photos, uint8 (n_train, size,
    size, 3), which MixUp and CutMix mix before the lower part. Side effects: ``run`` trains the
    experiment's shared top blocks (reset to the pre-trained weights first) and keeps each subset's
    stage-1 head and mixed activations in memory. ``before_mix``, a layer, transforms the photos
    before they are mixed (None: MixUp and CutMix alone, as notebook 09 measures them).
    """

    def __init__(
        self,
        experiment: curves.Experiment,
        images: np.ndarray,
        views: dict[str, np.ndarray],
        *,
        before_mix: keras.layers.Layer | None = None,
    ):
        self.experiment, self.images, self.views, self.before_mix = experiment, images, views, before_mix
        self.num_classes = experiment.num_classes
        #: The training labels one-hot, float32 (n_train, classes): the recipes' loss takes one-hot labels.
        self.onehot = keras.utils.to_categorical(experiment.labels("train"), self.num_classes).astype("float32")
        self._heads: dict[tuple, keras.Model] = {}
        self._mixed: dict[tuple[str, int | None, int], tuple[np.ndarray, np.ndarray]] = {}
        self._runs: dict[tuple, Result] = {}

    def rows(self, per_class: int | None, seed: int, fold: Fold | None = None) -> np.ndarray:
        """Training rows of this subset (``Experiment.subset``), or of the fold's training part."""
        return self.experiment.subset(per_class, seed) if fold is None else fold[0]

    def head(self, per_class: int | None, seed: int, fold: Fold | None = None) -> keras.Model:
        """Stage 1 for this subset (or fold) and seed (``Experiment.head``), trained once and shared."""
        key = (per_class, seed, None if fold is None else tuple(fold[1]))
        if key not in self._heads:
            val_rows = None if fold is None else fold[1]
            self._heads[key] = self.experiment.head(self.rows(per_class, seed, fold), seed, val_rows=val_rows)[0]
        return self._heads[key]

    def mixed(self, mix: str, per_class: int | None, seed: int, pools: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """``pools`` epochs of mixed training photos for this subset, through the lower part:
        (activations (pools, rows, ...), soft labels (pools, rows, classes)). With all photos the
        subset is the same for every seed, so the pools are made once (like the augmented views)."""
        key = (mix, per_class, seed if per_class is not None else 0)
        if key not in self._mixed:
            exp = self.experiment
            rows = exp.subset(per_class, key[2])
            layer = {"mixup": keras.layers.MixUp, "cutmix": keras.layers.CutMix}[mix](seed=key[2])
            x, y = [], []
            for pool in range(pools):
                order = rows[curves.epoch_order(len(rows), exp.epoch_rows, key[2] * 100 + pool)]
                for start in range(0, len(order), 32):
                    batch = order[start : start + 32]
                    images = self.images[batch].astype("float32")
                    if self.before_mix is not None:
                        images = self.before_mix(images, training=True)
                    out = layer({"images": images, "labels": self.onehot[batch]})
                    x.append(exp.lower.predict_on_batch(out["images"]))
                    y.append(keras.ops.convert_to_numpy(out["labels"]))
            shape = (pools, len(order))
            self._mixed[key] = (
                np.concatenate(x).reshape(*shape, *x[0].shape[1:]),
                np.concatenate(y).reshape(*shape, self.num_classes),
            )
        return self._mixed[key]

    def _epochs(self, recipe: Recipe, rows: np.ndarray, per_class: int | None, seed: int):
        """(make(epoch) -> (x, y), rows per epoch) for this recipe's training data."""
        exp = self.experiment
        if recipe.mix:
            x, y = self.mixed(recipe.mix, per_class, seed)
            return (lambda epoch: (x[epoch % len(x)], y[epoch % len(y)])), x.shape[1]
        views = self.views[recipe.augment] if recipe.augment else exp.cut["train"][None]

        def make(epoch: int):
            order = rows[curves.epoch_order(len(rows), exp.epoch_rows, seed * 100 + epoch)]
            return views[epoch % len(views)][order], self.onehot[order]

        return make, max(len(rows), exp.epoch_rows)

    def run(self, recipe: Recipe, per_class: int | None, seed: int, *, fold: Fold | None = None) -> Result:
        """Stage 2 with ``recipe`` from this subset's stage-1 head; scores on validation and test.
        With ``fold``, trains on its training rows and validates on its validation rows instead
        (cross-validation inside the training split; not with ``mix``). Runs are deterministic, so a
        run this grid has made is returned again, not repeated."""
        if fold is not None and recipe.mix:
            raise ValueError("Cross-validation folds are not supported with MixUp or CutMix.")
        key = (recipe, per_class, seed, None if fold is None else tuple(map(tuple, fold)))
        if key not in self._runs:
            self._runs[key] = self._run(recipe, per_class, seed, fold)
        return self._runs[key]

    def _run(self, recipe: Recipe, per_class: int | None, seed: int, fold: Fold | None) -> Result:
        exp = self.experiment
        rows = self.rows(per_class, seed, fold)
        stage1 = self.head(per_class, seed, fold)
        start = time.perf_counter()
        train.seed_everything(seed)
        exp.reset_top()
        head = models.make_head(exp.spec.feature_size, self.num_classes, normalize=True, dropout=recipe.dropout)
        head.set_weights(stage1.get_weights())
        model = keras.Sequential([keras.Input(exp.cut["train"].shape[1:]), exp.top, head])
        models.unfreeze(exp.base, blocks=recipe.blocks)
        if recipe.l2_sp:
            attach_l2_sp(exp.top.trainable_weights, recipe.l2_sp)
        make, epoch_rows = self._epochs(recipe, rows, per_class, seed)
        model.compile(optimizer=recipe.optimizer(-(-epoch_rows // 32)), loss=recipe.loss(), metrics=["accuracy"])
        try:
            history, val_probs, kept = _fit(
                model, make, recipe, exp.validation(None if fold is None else fold[1], exp.cut)
            )
        finally:
            detach_regularizers(exp.top.trainable_weights)
            exp.base.trainable = False
        test_probs = model.predict(exp.cut["test"], batch_size=100, verbose=0)
        return Result(
            recipe=recipe,
            per_class=round(len(rows) / self.num_classes),
            seed=seed,
            val_acc=history["val_accuracy"][kept],
            test_acc=float((test_probs.argmax(axis=1) == exp.labels("test")).mean()),
            seconds=round(time.perf_counter() - start, 2),
            history=history,
            val_probs=val_probs,
            test_probs=test_probs,
            kept=kept,
        )


def _fit(model: keras.Model, make, recipe: Recipe, val: tuple[np.ndarray, np.ndarray]) -> tuple[dict, list, int]:
    """Train ``model`` one epoch at a time on ``make(epoch) -> (x, y)`` (batches of 32, in order),
    scoring ``val`` (activations, labels) after each; with ``recipe.early_stopping``, for up to twice
    ``recipe.epochs``, stopping when the validation loss has not improved for 2 epochs and putting
    the best epoch's weights back. One ``fit`` per epoch, on exactly the rows ``make`` returns, as
    notebook 09 writes it by hand (Keras's ``EarlyStopping`` would need one ``fit`` over all epochs,
    whose data pipeline gave other numbers than that loop). Returns (history per epoch, validation
    probabilities per epoch, the kept epoch, 0-based)."""
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    val_probs, best, best_weights = [], 0, None
    for epoch in range(2 * recipe.epochs if recipe.early_stopping else recipe.epochs):
        x, y = make(epoch)
        logs = model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0).history
        probs = model.predict(val[0], batch_size=100, verbose=0)
        val_probs.append(probs)
        picked = np.clip(probs[np.arange(len(val[1])), val[1]], 1e-7, 1.0)
        for key, value in (
            ("loss", logs["loss"][0]),
            ("accuracy", logs["accuracy"][0]),
            ("val_loss", -np.log(picked).mean()),
            ("val_accuracy", (probs.argmax(axis=1) == val[1]).mean()),
        ):
            history[key].append(round(float(value), 4))
        if not recipe.early_stopping:
            continue
        if history["val_loss"][-1] < history["val_loss"][best] or epoch == 0:
            best, best_weights = epoch, model.get_weights()
        elif epoch - best >= 2:
            break
    if not recipe.early_stopping:
        return history, val_probs, len(val_probs) - 1
    model.set_weights(best_weights)
    return history, val_probs, best
