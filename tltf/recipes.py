"""Fine-tuning recipes on an ``ActivationCache``'s activations, one regulariser at a time.

A ``Recipe`` is stage 2 of the course's fine-tuning (the top blocks and the head, BatchNorm frozen,
warm-up + cosine rate) with each regulariser of notebook 09 as one field. ``Grid.run`` trains it on
the cached activations of the frozen lower part (``tltf.cache.ActivationCache``), so that one run at 10
photos per class costs seconds: augmentation reads cached augmented views (one per epoch), MixUp
and CutMix mix the photos first (Keras's layers) and pass the mixed photos through the lower part.
Stage 1 (the head on frozen features) is trained once per subset and seed and shared by every
recipe, which makes the comparisons between recipes paired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np

from tltf import loop, models, stages, train
from tltf.cache import ActivationCache
from tltf.settings import settings

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
    model that trains it. Side effect: sets ``variable.regularizer``."""
    for variable in variables:
        variable.regularizer = L2SP(alpha, keras.ops.convert_to_numpy(variable))


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

    @property
    def max_epochs(self) -> int:
        """The schedule's length in epochs: ``epochs``, twice as many with ``early_stopping``."""
        return 2 * self.epochs if self.early_stopping else self.epochs

    def schedule(self, steps: int) -> keras.optimizers.schedules.CosineDecay:
        """The rate for ``steps`` updates an epoch: warm-up over the first epoch, cosine over the rest
        of ``max_epochs``."""
        return train.warmup_cosine(self.peak_lr, total_steps=steps * self.max_epochs, warmup_steps=steps)

    def optimizer(self, schedule: keras.optimizers.schedules.LearningRateSchedule) -> keras.optimizers.Optimizer:
        """Adam on ``schedule`` (``Recipe.schedule``); AdamW with ``weight_decay``."""
        if not self.weight_decay:
            return keras.optimizers.Adam(schedule)
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=self.weight_decay)
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
        return optimizer

    def loss(self) -> keras.losses.Loss:
        """Cross-entropy on one-hot (or mixed) labels; Keras's sparse loss has no smoothing."""
        return keras.losses.CategoricalCrossentropy(label_smoothing=self.label_smoothing)


class Grid:
    """Every recipe at every subset and seed on one ``ActivationCache``.

    ``views`` maps an ``augment`` name to cached activations of augmented training photos, shape
    (views, n_train, *activation shape); ``images`` are the training photos, uint8 (n_train, size,
    size, 3), which MixUp and CutMix mix before the lower part. ``before_mix``, a layer, transforms
    the photos before they are mixed (None: MixUp and CutMix alone, as notebook 09 measures them);
    each subset and seed gets a fresh copy of it, so its random draws do not depend on the order in
    which the pools are made. Side effects: keeps each subset's stage-1 head, mixed activations and
    runs in memory, and one compiled model per architecture, reset before each run (``_Trainer``):
    a run trains a copy of the top blocks (``ActivationCache.new_top``), never the cache's. Setting
    ``views`` forgets the runs made on the views it replaces.
    """

    def __init__(
        self,
        cache: ActivationCache,
        images: np.ndarray,
        views: dict[str, np.ndarray],
        *,
        before_mix: keras.layers.Layer | None = None,
    ):
        self.cache, self.images, self.before_mix = cache, images, before_mix
        self.num_classes = cache.num_classes
        #: The training labels one-hot, float32 (n_train, classes): the recipes' loss takes one-hot labels.
        self.onehot = keras.utils.to_categorical(cache.labels("train"), self.num_classes).astype("float32")
        self._heads: dict[tuple, tuple[keras.Model, loop.Fit]] = {}
        self._mixed: dict[tuple[str, int | None, int], tuple[np.ndarray, np.ndarray]] = {}
        self._runs: dict[tuple, stages.Run] = {}
        self._trainers: dict[tuple, _Trainer] = {}
        self.views = views

    @property
    def views(self) -> dict[str, np.ndarray]:
        """The cached augmented views, by ``augment`` name."""
        return self._views

    @views.setter
    def views(self, views: dict[str, np.ndarray]) -> None:
        """New views: the runs made on the old ones are forgotten (a run's memo key names the view, not its data)."""
        self._views = views
        self._runs = {key: run for key, run in self._runs.items() if not key[0].augment}

    def rows(self, per_class: int | None, seed: int, fold: Fold | None = None) -> np.ndarray:
        """Training rows of this subset (``ActivationCache.subset``), or of the fold's training part."""
        return self.cache.subset(per_class, seed) if fold is None else fold[0]

    def stage1(self, per_class: int | None, seed: int, fold: Fold | None = None) -> tuple[keras.Model, loop.Fit]:
        """Stage 1 for this subset (or fold) and seed (``tltf.stages.head``): (head, its ``loop.Fit``),
        trained once and shared (read only: each run trains a copy of the head)."""
        key = (per_class, seed, None if fold is None else tuple(fold[1]))
        if key not in self._heads:
            val_rows = None if fold is None else fold[1]
            self._heads[key] = stages.head(self.cache, self.rows(per_class, seed, fold), seed, val_rows=val_rows)
        return self._heads[key]

    def head(self, per_class: int | None, seed: int, fold: Fold | None = None) -> keras.Model:
        """The stage-1 head of this subset (or fold) and seed (``stage1``)."""
        return self.stage1(per_class, seed, fold)[0]

    def mixed(self, mix: str, per_class: int | None, seed: int, pools: int = 2) -> tuple[np.ndarray, np.ndarray]:
        """``pools`` epochs of mixed training photos for this subset, through the lower part:
        (activations (pools, rows, ...), soft labels (pools, rows, classes)). With all photos the
        subset is the same for every seed, so the pools are made once (like the augmented views)."""
        key = (mix, per_class, seed if per_class is not None else 0)
        if key not in self._mixed:
            rows = self.cache.subset(per_class, key[2])
            layer = {"mixup": keras.layers.MixUp, "cutmix": keras.layers.CutMix}[mix](seed=key[2])
            before = None if self.before_mix is None else _fresh(self.before_mix)
            x, y = [], []
            for pool in range(pools):
                order = rows[loop.epoch_order(len(rows), settings().epoch_rows, key[2], 1000 + pool)]
                for start in range(0, len(order), 32):
                    batch = order[start : start + 32]
                    images = self.images[batch].astype("float32")
                    if before is not None:
                        images = before(images, training=True)
                    out = layer({"images": images, "labels": self.onehot[batch]})
                    x.append(self.cache.lower.predict_on_batch(out["images"]))
                    y.append(keras.ops.convert_to_numpy(out["labels"]))
            shape = (pools, len(order))
            self._mixed[key] = (
                np.concatenate(x).reshape(*shape, *x[0].shape[1:]),
                np.concatenate(y).reshape(*shape, self.num_classes),
            )
        return self._mixed[key]

    def _epochs(self, recipe: Recipe, rows: np.ndarray, per_class: int | None, seed: int):
        """(make(epoch) -> (x, y), rows per epoch) for this recipe's training data."""
        if recipe.mix:
            x, y = self.mixed(recipe.mix, per_class, seed)
            return (lambda epoch: (x[epoch % len(x)], y[epoch % len(y)])), x.shape[1]
        views = self.views[recipe.augment] if recipe.augment else self.cache.cut["train"][None]
        min_rows = settings().epoch_rows

        def make(epoch: int):
            order = rows[loop.epoch_order(len(rows), min_rows, seed, epoch)]
            return views[epoch % len(views)][order], self.onehot[order]

        return make, max(len(rows), min_rows)

    def run(self, recipe: Recipe, per_class: int | None, seed: int, *, fold: Fold | None = None) -> stages.Run:
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

    def _run(self, recipe: Recipe, per_class: int | None, seed: int, fold: Fold | None) -> stages.Run:
        cache = self.cache
        rows = self.rows(per_class, seed, fold)
        train.seed_everything(seed)  # for any unseeded random layer in the mixing of photos
        make, epoch_rows = self._epochs(recipe, rows, per_class, seed)
        trainer = self._trainer(recipe)
        trainer.reset(self.head(per_class, seed, fold), recipe.schedule(loop.steps_per_epoch(epoch_rows, 0)), seed)
        fit = loop.fit_epochs(
            trainer.model,
            make,
            cache.validation("cut", None if fold is None else fold[1]),
            epochs=recipe.max_epochs,
            patience=2 if recipe.early_stopping else None,
            keep="best" if recipe.early_stopping else "last",
        )
        return stages.scored_run(
            "recipe", cache, rows, seed, trainer.model, [fit], "cut", trainer.params, recipe=recipe
        )

    def _trainer(self, recipe: Recipe) -> _Trainer:
        """The compiled model of this recipe's architecture, built on first use (``_Trainer``): every
        field but those that only choose the data and the schedule's length (a new field gets its own)."""
        key = recipe.but(epochs=1, early_stopping=False, augment=None, mix=None)
        if key not in self._trainers:
            self._trainers[key] = _Trainer(self.cache, recipe)
        return self._trainers[key]


class _Trainer:
    """One compiled model, a copy of the top blocks and a head on the cached activations, that trains
    every run of one architecture (head dropout, trainable blocks, L2-SP, label smoothing, weight
    decay, peak rate), reset before each run to the pre-trained top blocks, the run's stage-1 head,
    a zero optimizer state, the run's schedule lengths and random draws from the run's seed: a run
    does not depend on the runs before it. Why not a new model per run: TensorFlow keeps about 40 MB
    of every traced training step for the whole process (measured on TF 2.21, with ``clear_session``
    and ``gc.collect``), so notebook 09's 100 runs would hold over 4 GB."""

    def __init__(self, cache: ActivationCache, recipe: Recipe):
        self.head = models.make_head(cache.spec.feature_size, cache.num_classes, normalize=True, dropout=recipe.dropout)
        self.top = cache.new_top()  # a copy: the cache's top never trains
        report = models.unfreeze(self.top, blocks=recipe.blocks)
        if recipe.l2_sp:
            attach_l2_sp(self.top.trainable_weights, recipe.l2_sp)
        self.pretrained = self.top.get_weights()
        #: The schedule's lengths are variables, so one traced training step serves runs of any length.
        self.schedule = recipe.schedule(1)
        self.schedule.decay_steps = keras.Variable(1.0, trainable=False, name="decay_steps")
        self.schedule.warmup_steps = keras.Variable(1.0, trainable=False, name="warmup_steps")
        self.model = keras.Sequential([keras.Input(cache.cut["train"].shape[1:]), self.top, self.head])
        self.model.compile(optimizer=recipe.optimizer(self.schedule), loss=recipe.loss(), metrics=["accuracy"])
        # Its variables now, not inside the first traced step: TensorFlow keeps, for the whole process,
        # a conditional per variable made inside a traced function.
        self.model.optimizer.build(self.model.trainable_variables)
        self.params = report.trainable_params + models.count_params(self.head.trainable_weights)

    def reset(self, head: keras.Model, schedule: keras.optimizers.schedules.CosineDecay, seed: int) -> None:
        """Start a run: the pre-trained top blocks, ``head``'s weights, a zero optimizer state, the
        lengths of ``schedule`` and every random layer's draws (dropout) seeded by ``seed``."""
        self.top.set_weights(self.pretrained)
        self.head.set_weights(head.get_weights())
        for variable in self.model.optimizer.variables:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        self.schedule.decay_steps.assign(float(schedule.decay_steps))
        self.schedule.warmup_steps.assign(float(schedule.warmup_steps))
        for i, generator in enumerate(_seed_generators(self.model)):
            generator.state.assign(np.array([seed, i], generator.state.dtype))


def _seed_generators(model: keras.Model) -> list[keras.random.SeedGenerator]:
    """The random generators of ``model``'s layers (Dropout, ...), nested models included, in layer order."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _seed_generators(layer)
        elif isinstance(getattr(layer, "seed_generator", None), keras.random.SeedGenerator):
            found.append(layer.seed_generator)
    return found


def _fresh(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A new copy of ``layer`` from its config: a seeded random layer starts its draws again."""
    return layer.__class__.from_config(layer.get_config())
