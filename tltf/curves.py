"""Learning curves: test accuracy against labelled images per class, for transfer learning and a
CNN trained from scratch, over several seeds, each point summarised with its interval.

``Experiment`` computes what the transfer approaches share once: the activations of the frozen
lower part of the backbone for every training image (the original and augmented views), from which
the features of feature extraction come, and on which fine-tuning trains only the top blocks.
Both are exact: a frozen lower part (BatchNorm in inference mode) gives the same output every epoch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.metrics import roc_auc_score

from tltf import QUICK, adapt, data, models, stats, train

#: Labelled training images per class on the curves; None means every training image.
PER_CLASS = (1, 5, 10, 25, 50, None) if not QUICK else (5, None)
#: One run per seed and point: the seed draws the subset and the initial weights.
SEEDS = (0, 1, 2) if not QUICK else (0, 1)
APPROACHES = ("feature_extraction", "fine_tuned", "scratch")


@dataclass
class Run:
    """One training run of one approach on one subset."""

    approach: str
    per_class: int  # labelled training images per class (for "all": the mean over classes, rounded)
    seed: int
    test_acc: float
    seconds: float  # wall-clock of the training itself (fine-tuning: both stages)
    epochs: int
    trainable_params: int
    #: (seconds since training started, validation accuracy) after every epoch
    val_curve: list[tuple[float, float]] = field(default_factory=list)
    #: ROC AUC on the test split (two classes only; None otherwise)
    test_auc: float | None = None
    #: The trained model's class probabilities, {"val": (n_val, classes), "test": (n_test, classes)}
    probs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    #: The trained head, and for ``fine_tuned`` the top blocks' weights (``Experiment.classifier``)
    head: keras.Model | None = field(default=None, repr=False)
    top_weights: list[np.ndarray] | None = field(default=None, repr=False)


def _fit(
    model: keras.Model,
    x: np.ndarray,
    y: np.ndarray,
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    patience: int,
    min_rows: int,
    seed: int,
    monitor: str = "val_loss",
) -> tuple[keras.callbacks.History, list[float]]:
    """Fit a compiled model with early stopping on ``monitor`` (best weights restored).

    A small training set is repeated, freshly shuffled, up to ``min_rows`` rows per epoch, so that
    an epoch is at least ``min_rows / 32`` updates whatever the subset's size. Returns the history
    and the seconds of each epoch (validation included).
    """
    rows = epoch_order(len(x), min_rows, seed)
    timer = train.EpochTimer()
    history = model.fit(
        x[rows],
        y[rows],
        validation_data=val,
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[*train.callbacks(patience=patience, monitor=monitor), timer],
    )
    return history, timer.seconds


def epoch_order(rows: int, min_rows: int, seed: int) -> np.ndarray:
    """Row positions for one pass of training: ``range(rows)`` repeated up to ``min_rows`` (when
    smaller), shuffled with ``seed``; shape (max(rows, min_rows),)."""
    return np.random.default_rng(seed).permutation(np.resize(np.arange(rows), max(rows, min_rows)))


def _steps_per_epoch(rows: int, min_rows: int, batch_size: int = 32) -> int:
    """Updates per epoch of ``_fit`` on ``rows`` training rows."""
    return math.ceil(max(rows, min_rows) / batch_size)


def _scores(model: keras.Model, val: np.ndarray, test: np.ndarray, test_labels: np.ndarray) -> dict:
    """The Run fields that score a trained model: test accuracy, test ROC AUC (two classes) and the
    validation and test probabilities."""
    probs = {"val": model.predict(val, verbose=0), "test": model.predict(test, verbose=0)}
    two = probs["test"].shape[1] == 2
    return {
        "test_acc": float((probs["test"].argmax(axis=1) == test_labels).mean()),
        "test_auc": float(roc_auc_score(test_labels, probs["test"][:, 1])) if two else None,
        "probs": probs,
    }


def _curve(history: keras.callbacks.History, seconds: list[float], offset: float = 0.0) -> list[tuple[float, float]]:
    times, accuracies = np.cumsum(seconds), history.history["val_accuracy"]
    return [(round(offset + t, 2), round(float(a), 4)) for t, a in zip(times, accuracies, strict=True)]


class Experiment:
    """The data and cached activations a learning-curve grid needs, computed once.

    Side effects: builds the backbone (ImageNet weights via ``tltf.assets``) and keeps in memory
    the lower part's activations of ``views`` x the training images and of the validation and test
    images (MobileNetV2, 6 blocks: 75 KB per image and view), their pooled features, and the images
    at ``scratch_size`` for the from-scratch CNN. ``interpolation``: how images are resized to the
    backbone's input (``data.make_dataset``). ``augment`` makes the extra views (default
    ``data.augmentation(42)``). ``statistics="train"`` first re-estimates the backbone's BatchNorm
    statistics on the training images (``tltf.adapt``), so that every approach learns on features
    normalised by its own domain's statistics (default "imagenet": the pre-trained ones).
    """

    def __init__(
        self,
        splits: data.Splits,
        *,
        backbone: str = "mobilenet_v2",
        blocks: int = 6,
        views: int = 3,
        scratch_size: int = 64,
        interpolation: str = "bilinear",
        augment: keras.layers.Layer | None = None,
        statistics: str = "imagenet",
        quick: bool = QUICK,
    ):
        if statistics not in ("imagenet", "train"):
            raise ValueError(f'statistics must be "imagenet" or "train", got {statistics!r}.')
        self.splits, self.views, self.quick = splits, views, quick
        #: Rows per epoch at least (a smaller training set is repeated); scratch uses half.
        self.epoch_rows = 64 if quick else 320
        #: Epochs of stage 2 of ``fine_tuned`` (the top blocks and the head together).
        self.fine_tune_epochs = 1 if quick else 3
        #: Epochs of ``scratch`` (the weights of the best epoch on validation are kept).
        self.scratch_epochs = 2 if quick else 60
        self.spec = models.get_backbone(backbone)
        self.num_classes = len(splits.class_names)
        train.seed_everything(42)
        self.base = models.load_backbone(self.spec)
        self.lower, self.top = models.split_top(self.spec, self.base, blocks)
        self.blocks = blocks
        augment = augment if augment is not None else data.augmentation(42)

        def dataset(name: str):
            return data.make_dataset(getattr(splits, name), self.spec.image_size, interpolation=interpolation)

        def activations(name: str, n_views: int = 1) -> np.ndarray:
            return train.extract_features(self.lower, dataset(name), augment=augment, views=n_views)[0]

        start = time.perf_counter()
        if statistics == "train":
            adapt.reestimate_batchnorm(keras.Sequential([self.lower, self.top]), dataset("train"))
        self._pretrained_top = self.top.get_weights()

        self.cut = {"train": activations("train", views), "val": activations("val")}
        self.features = {name: self.top.predict(self.cut[name], batch_size=64, verbose=0) for name in self.cut}
        #: Seconds each approach spends before its first epoch (caching; decoding for scratch).
        self.prep_seconds = {"feature_extraction": time.perf_counter() - start}
        self.prep_seconds["fine_tuned"] = self.prep_seconds["feature_extraction"]
        self.cut["test"] = activations("test")
        self.features["test"] = self.top.predict(self.cut["test"], batch_size=64, verbose=0)

        start = time.perf_counter()
        size = (scratch_size, scratch_size)
        self.small = {
            name: np.concatenate([x for x, _ in data.make_dataset(getattr(splits, name), size)])
            for name in ("train", "val", "test")
        }
        self.prep_seconds["scratch"] = time.perf_counter() - start

    def labels(self, name: str) -> np.ndarray:
        return getattr(self.splits, name).labels

    def subset(self, per_class: int | None, seed: int) -> np.ndarray:
        """Positions in the training split of ``per_class`` images per class (all if None)."""
        labels = self.labels("train")
        return np.arange(len(labels)) if per_class is None else data.per_class_index(labels, per_class, seed)

    def view_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows of every cached view of the training images at ``rows``."""
        n = len(self.labels("train"))
        return np.concatenate([rows + view * n for view in range(self.views)])

    def _k(self, rows: np.ndarray) -> int:
        return round(len(rows) / self.num_classes)

    def reset_top(self) -> None:
        """Put the pre-trained weights back into the top blocks (``self.top``), as every run starts."""
        self.top.set_weights(self._pretrained_top)

    def head(
        self, rows: np.ndarray, seed: int, *, val_rows: np.ndarray | None = None
    ) -> tuple[keras.Model, keras.callbacks.History, list[float]]:
        """Stage 1, shared by both transfer approaches: a new head (unit-length features) trained on
        the cached features of the training images at ``rows``, early-stopped on the validation split
        (or on the training images at ``val_rows``: a fold of cross-validation); returns (head,
        history, epoch seconds)."""
        train.seed_everything(seed)
        head = models.make_head(self.spec.feature_size, self.num_classes, normalize=True)
        train.compile_classifier(head, 1e-2)
        y = np.tile(self.labels("train")[rows], self.views)
        history, seconds = _fit(
            head,
            self.features["train"][self.view_rows(rows)],
            y,
            self.validation(val_rows, self.features),
            epochs=5 if self.quick else 100,
            patience=10,
            min_rows=self.epoch_rows,
            seed=seed,
        )
        return head, history, seconds

    def validation(self, val_rows: np.ndarray | None, cache: dict) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) to validate on: ``cache["val"]``, or the training rows ``val_rows`` of it."""
        if val_rows is None:
            return cache["val"], self.labels("val")
        return cache["train"][val_rows], self.labels("train")[val_rows]

    def feature_extraction(self, per_class: int | None, seed: int) -> Run:
        """A head trained on the frozen backbone's cached features."""
        rows = self.subset(per_class, seed)
        head, history, seconds = self.head(rows, seed)
        return Run(
            approach="feature_extraction",
            per_class=self._k(rows),
            seed=seed,
            seconds=round(sum(seconds), 2),
            epochs=len(seconds),
            trainable_params=models.count_params(head.trainable_weights),
            val_curve=_curve(history, seconds),
            head=head,
            **_scores(head, self.features["val"], self.features["test"], self.labels("test")),
        )

    def fine_tuned(self, per_class: int | None, seed: int, *, peak_lr: float = 1e-4) -> Run:
        """Stage 1 (``feature_extraction``), then the top ``blocks`` blocks and the head trained
        together on the cached lower activations, BatchNorm frozen, warm-up + cosine rate."""
        rows = self.subset(per_class, seed)
        head, history1, seconds1 = self.head(rows, seed)
        self.reset_top()
        model = keras.Sequential([keras.Input(self.cut["train"].shape[1:]), self.top, head])
        x, y = self.cut["train"][self.view_rows(rows)], np.tile(self.labels("train")[rows], self.views)
        order = epoch_order(len(x), self.epoch_rows, seed)
        history2, report = train.fine_tune(
            model,
            self.base,
            (x[order], y[order]),
            (self.cut["val"], self.labels("val")),
            blocks=self.blocks,
            peak_lr=peak_lr,
            epochs=self.fine_tune_epochs,
            patience=3,
        )
        seconds2 = history2.history["epoch_seconds"]
        scores = _scores(model, self.cut["val"], self.cut["test"], self.labels("test"))
        self.base.trainable = False
        return Run(
            approach="fine_tuned",
            per_class=self._k(rows),
            seed=seed,
            seconds=round(sum(seconds1) + sum(seconds2), 2),
            epochs=len(seconds1) + len(seconds2),
            trainable_params=report.trainable_params + models.count_params(head.trainable_weights),
            val_curve=_curve(history1, seconds1) + _curve(history2, seconds2, offset=sum(seconds1)),
            head=head,
            top_weights=self.top.get_weights(),
            **scores,
        )

    def classifier(self, run: Run, *, from_activations: bool = False) -> keras.Model:
        """The whole trained transfer model of ``run`` (``feature_extraction`` or ``fine_tuned``):
        [0, 255] images (batch, size, size, 3) -> probabilities (batch, classes); with
        ``from_activations``, the lower part's activations (``self.lower``'s output) -> probabilities.
        Built from this experiment's lower part and top blocks, which are shared, not copied: their
        weights are set to the run's (the pre-trained top for feature extraction), so the next
        ``classifier`` or ``fine_tuned`` call changes this model too."""
        if run.head is None:
            raise ValueError(f"A {run.approach} run has no transfer model to rebuild.")
        self.top.set_weights(run.top_weights if run.top_weights is not None else self._pretrained_top)
        if from_activations:
            return keras.Sequential([keras.Input(self.lower.output_shape[1:]), self.top, run.head])
        return keras.Sequential([keras.Input((*self.spec.image_size, 3)), self.lower, self.top, run.head])

    def scratch(self, per_class: int | None, seed: int, *, epochs: int | None = None) -> Run:
        """``models.scratch_cnn`` at ``scratch_size`` px with augmentation, dropout and weight decay,
        trained for ``epochs`` (default ``scratch_epochs``: 60; quick: 2) with AdamW on a rate decaying
        from 2e-3 (cosine); the weights of the epoch with the best validation accuracy are kept (its
        validation loss is too noisy to choose by)."""
        rows = self.subset(per_class, seed)
        epochs = epochs or self.scratch_epochs
        train.seed_everything(seed)
        size = self.small["train"].shape[1:3]
        model = models.scratch_cnn(self.num_classes, size, augment=data.augmentation(seed))
        steps = _steps_per_epoch(len(rows), self.epoch_rows // 2)
        schedule = keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps * epochs)
        model.compile(
            optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        history, seconds = _fit(
            model,
            self.small["train"][rows],
            self.labels("train")[rows],
            (self.small["val"], self.labels("val")),
            epochs=epochs,
            patience=epochs,
            min_rows=self.epoch_rows // 2,
            seed=seed,
            monitor="val_accuracy",
        )
        return Run(
            approach="scratch",
            per_class=self._k(rows),
            seed=seed,
            seconds=round(sum(seconds), 2),
            epochs=len(seconds),
            trainable_params=models.count_params(model.trainable_weights),
            val_curve=_curve(history, seconds),
            **_scores(model, self.small["val"], self.small["test"], self.labels("test")),
        )


def run_grid(
    experiment: Experiment,
    *,
    approaches: Sequence[str] = APPROACHES,
    per_class: Iterable[int | None] = PER_CLASS,
    seeds: Iterable[int] = SEEDS,
    done: Sequence[Run] = (),
    progress: Callable[[str], None] | None = print,
) -> list[Run]:
    """Every approach at every point and seed: ``experiment.<approach>(per_class, seed)``, except the
    runs in ``done`` (same approach, per-class count and seed), which are reused as they are."""
    known = {(r.approach, r.per_class, r.seed): r for r in done}
    runs = []
    for approach in approaches:
        for k in per_class:
            for seed in seeds:
                runs.append(known.get((approach, k, seed)) or getattr(experiment, approach)(k, seed))
                if progress:
                    last = runs[-1]
                    progress(
                        f"{approach:>18}  {last.per_class:>4} per class  seed {seed}  "
                        f"test {last.test_acc:.3f}  {last.epochs:>3} epochs  {last.seconds:7.1f} s"
                    )
    return runs


def summarize(runs: Sequence[Run]) -> list[dict]:
    """One row per approach and point: mean test accuracy over seeds with its 95 % interval
    (``ci95``, Student t; None for one seed), standard deviation, min and max, mean training seconds
    and the trainable parameters, and for two classes the test ROC AUC as ``auc`` (a ``stats.summary``);
    in the order the runs came (approach, then point)."""
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.approach, run.per_class), []).append(run)
    rows = []
    for (approach, k), group in groups.items():
        acc = np.array([r.test_acc for r in group])
        rows.append(
            {
                "approach": approach,
                "per_class": k,
                "seeds": len(group),
                "mean": round(float(acc.mean()), 4),
                "ci95": stats.summary(acc)["ci95"],
                "std": round(float(acc.std()), 4),
                "min": round(float(acc.min()), 4),
                "max": round(float(acc.max()), 4),
                "seconds": round(float(np.mean([r.seconds for r in group])), 1),
                "trainable_params": group[0].trainable_params,
                **({"auc": stats.summary([r.test_auc for r in group])} if group[0].test_auc is not None else {}),
            }
        )
    return rows
