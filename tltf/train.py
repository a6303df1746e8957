"""Training plumbing: reproducible seeds, feature caching, callbacks, timing, learning-rate tools."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm
from tqdm.keras import TqdmCallback

from tltf import resume
from tltf.models import UnfreezeReport, unfreeze

# Keras 3.15 warns on every fit() over a tf.data.Dataset that its default shuffle=True is ignored;
# our datasets shuffle in tf.data (tltf.data.make_dataset), so the warning only misleads learners.
warnings.filterwarnings("ignore", message="`shuffle=True` was passed, but will be ignored")


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic.

    After this call, the same code on the same CPU gives the same metrics run to run.
    Side effect: enables ``tf.config.experimental.enable_op_determinism`` for the process.
    """
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def extract_features(
    model: keras.Model,
    dataset: tf.data.Dataset,
    *,
    augment: keras.layers.Layer | None = None,
    views: int = 1,
    progress: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over ``(images, labels)`` batches; returns (features, labels) as NumPy.

    Features have shape (n * views, feature_size), float32; labels (n * views,). The first view
    is the images as they are. With ``augment``, each further view passes the dataset again
    through ``augment(images, training=True)``: a cache of augmented copies, so that a head
    trained on cached features still benefits from augmentation. Batches go through
    ``model.predict_on_batch`` (Keras's compiled predict function: about half the time and a third
    of the memory of eager calls on CPU). ``progress`` (a label) shows a progress bar over the batches.
    """
    if views > 1 and augment is None:
        raise ValueError("views > 1 needs an augment layer: un-augmented views would be identical.")
    # Through a tf.function: the same random draws as eager calls, and per-image layers
    # (data.PerImage) about ten times faster.
    transform = tf.function(lambda images: augment(images, training=True)) if views > 1 else None
    batches = int(dataset.cardinality())
    bar = tqdm(total=views * batches if batches > 0 else None, desc=progress, unit="batch", disable=progress is None)
    features, labels = [], []
    for view in range(views):
        for images, y in dataset:
            if view > 0:
                images = transform(images)
            features.append(model.predict_on_batch(images))
            labels.append(np.asarray(y))
            bar.update()
    bar.close()
    return np.concatenate(features), np.concatenate(labels)


def _bar(progress: bool, desc: str) -> list[keras.callbacks.Callback]:
    """tqdm's epoch progress bar as a callback list (empty unless ``progress``)."""
    return [TqdmCallback(verbose=0, desc=desc)] if progress else []


class EpochTimer(keras.callbacks.Callback):
    """Records the wall-clock seconds of every epoch in ``self.seconds``."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class TimeBudget(keras.callbacks.Callback):
    """Stops training once ``seconds`` of wall-clock time have passed (checked after every batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self._start >= self.seconds:
            self.model.stop_training = True


def callbacks(
    checkpoint: str | Path | None = None, *, patience: int = 5, monitor: str = "val_loss"
) -> list[keras.callbacks.Callback]:
    """Early stopping on the validation split that restores the best weights, plus (optionally)
    the best model saved as a ``.keras`` file at ``checkpoint``."""
    chosen = [keras.callbacks.EarlyStopping(monitor=monitor, patience=patience, restore_best_weights=True)]
    if checkpoint is not None:
        chosen.append(keras.callbacks.ModelCheckpoint(str(checkpoint), monitor=monitor, save_best_only=True))
    return chosen


def accuracy(model: keras.Model, inputs, labels: np.ndarray) -> float:
    """Share of ``inputs`` (images, features or a dataset of them) whose most probable class is the label."""
    return float((model.predict(inputs, verbose=0).argmax(axis=1) == labels).mean())


def compile_classifier(model: keras.Model, learning_rate: float = 1e-3) -> keras.Model:
    """Adam, sparse categorical cross-entropy (integer labels), accuracy; returns the model."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    return model


def train_head(
    head: keras.Model,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int = 50,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    checkpoint: str | Path | None = None,
    patience: int = 5,
    verbose: int = 0,
    progress: bool = False,
    backup: str | Path | None = None,
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
) -> keras.callbacks.History:
    """Compile and fit a head on cached (features, labels); the validation split picks the epoch.

    The best weights (lowest validation loss) are restored at the end; the history has an
    ``epoch_seconds`` list. ``progress`` shows a bar over the epochs (tqdm). With ``backup`` (a folder), the
    run is resumable (``tltf.resume``): killed and started again, it ends with the weights of an uninterrupted
    run; each epoch's batch order is then drawn from (``seed``, epoch). With a multi-worker ``strategy``
    (``tltf.workers``), a copy of the head built in its scope trains in every worker (every epoch, no early
    stop: the best epoch is kept), and ``head`` gets its weights.
    """
    if strategy is not None:
        history = _in_workers(head, train, val, epochs, batch_size, backup, seed, strategy, learning_rate)
        compile_classifier(head, learning_rate)
        return history
    compile_classifier(head, learning_rate)
    timer = EpochTimer()
    if backup is None:
        data, chosen = (
            {"x": train[0], "y": train[1], "batch_size": batch_size},
            callbacks(checkpoint, patience=patience),
        )
    else:
        batches = resume.EpochBatches(*train, batch_size=batch_size, seed=seed)
        data, chosen = {"x": batches}, resume.callbacks(backup, seed, orders=[batches], patience=patience)
    history = head.fit(
        **data,
        validation_data=val,
        epochs=epochs,
        shuffle=backup is None,  # a resumable run's batches come in the order of their epoch: Keras must keep it
        callbacks=[*chosen, timer, *_bar(progress, "training the head")],
        verbose=verbose,
    )
    history.history["epoch_seconds"] = timer.seconds
    return history


def _in_workers(model, train, val, epochs, batch_size, backup, seed, strategy, rate, weight_decay=None):
    """Train a copy of ``model`` built in ``strategy``'s scope with ``tltf.workers.train`` (Adam, or AdamW with
    ``weight_decay``, at ``rate``: a number or a schedule); ``model`` gets its weights. Returns a History."""
    from tltf import workers

    with strategy.scope():
        copy = keras.models.clone_model(model)  # the trainable flags come along in the layers' configs
        copy.set_weights(model.get_weights())
        optimizer = (
            keras.optimizers.AdamW(rate, weight_decay=weight_decay) if weight_decay else keras.optimizers.Adam(rate)
        )
    found = workers.train(
        copy, optimizer, train, val, epochs=epochs, batch_size=batch_size, seed=seed, strategy=strategy, backup=backup
    )
    model.set_weights(copy.get_weights())
    history = keras.callbacks.History()
    history.history = found
    return history


# --- learning-rate tools for fine-tuning ------------------------------------------------------


@keras.saving.register_keras_serializable(package="tltf")
class DiscriminativeAdam(keras.optimizers.Adam):
    """Adam with its learning rate scaled per variable: discriminative learning rates.

    ``multipliers`` pairs lists of variables with a factor, e.g.
    ``[(early_layer.trainable_weights, 0.1), (late_layer.trainable_weights, 0.3)]``; every other
    variable (the head) gets the plain rate. Keras 3 has no per-variable rate, and scaling
    gradients would not work with Adam (its step does not depend on the gradient's scale), so
    the rate itself is scaled inside each variable's update. The factors are not saved with a
    model; a reloaded optimizer uses one rate.
    """

    def __init__(self, learning_rate=1e-3, multipliers=(), **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        # Keras's own variable key (private, listed in tests/test_private_apis.py): update_step receives
        # the backend's variable (a tf.Variable here), which only this key maps back to the Keras one.
        self._factors = {self._var_key(v): float(f) for variables, f in multipliers for v in variables}

    def update_step(self, gradient, variable, learning_rate):
        factor = self._factors.get(self._var_key(variable), 1.0)
        return super().update_step(gradient, variable, learning_rate * factor)


def layer_groups(base: keras.Model, factors: tuple[float, ...]) -> list[tuple[list, float]]:
    """Split the trainable layers of ``base`` into ``len(factors)`` consecutive groups, bottom to top,
    and pair each group's variables with its factor (for ``DiscriminativeAdam``)."""
    trainable = [layer for layer in base.layers if layer.trainable_weights]
    chunks = np.array_split(np.arange(len(trainable)), len(factors))
    groups = [[w for i in chunk for w in trainable[i].trainable_weights] for chunk in chunks]
    return list(zip(groups, factors, strict=True))


def warmup_cosine(peak: float, total_steps: int, warmup_steps: int) -> keras.optimizers.schedules.CosineDecay:
    """Keras's cosine decay with a linear warm-up: from peak/100 up to ``peak`` over ``warmup_steps``,
    then down to 0 over the remaining steps."""
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=peak / 100,
        decay_steps=max(1, total_steps - warmup_steps),
        warmup_target=peak,
        warmup_steps=warmup_steps,
        alpha=0.0,
    )


@dataclass
class RangeTest:
    """Result of ``lr_range_test``: the rates tried, the smoothed loss at each, a suggested rate."""

    lrs: list[float]
    losses: list[float]
    suggestion: float


def lr_range_test(
    model: keras.Model,
    dataset: tf.data.Dataset,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    steps: int = 100,
    smoothing: float = 0.9,
    divergence: float = 4.0,
) -> RangeTest:
    """A learning-rate range test ("LR finder"): train one batch at a time while the rate grows
    exponentially from ``min_lr`` to ``max_lr``, recording the smoothed loss, and stop when the loss
    exceeds ``divergence`` times its minimum.

    ``model`` must be compiled with a float learning rate. The suggestion is the rate at the lowest
    smoothed loss divided by 10 (a rate that still learns fast but is clearly stable). Side effects:
    none on the weights (restored); compile the model again before real training, since the
    optimizer's state saw the test.
    """
    weights = model.get_weights()
    lrs, losses, average = [], [], 0.0
    batches = iter(dataset.repeat())
    for step in range(steps):
        lr = min_lr * (max_lr / min_lr) ** (step / max(1, steps - 1))
        model.optimizer.learning_rate.assign(lr)
        images, labels = next(batches)
        loss = float(model.train_on_batch(images, labels, return_dict=True)["loss"])
        average = smoothing * average + (1 - smoothing) * loss  # bias-corrected moving average
        lrs.append(lr)
        losses.append(average / (1 - smoothing ** (step + 1)))
        if not np.isfinite(loss) or losses[-1] > divergence * min(losses):
            break
    model.set_weights(weights)
    best = int(np.argmin(losses))
    return RangeTest(lrs, losses, max(lrs[best] / 10, min_lr))


def fine_tune(
    model: keras.Model,
    base: keras.Model,
    train_data,
    val_data,
    *,
    blocks: int | None = 6,
    fraction: float | None = None,
    peak_lr: float = 1e-4,
    epochs: int = 15,
    warmup_steps: int | None = None,
    weight_decay: float | None = None,
    train_batchnorm: bool = False,
    factors: tuple[float, ...] | None = None,
    patience: int = 4,
    monitor: str = "val_loss",
    batch_size: int = 32,
    progress: bool = False,
    backup: str | Path | None = None,
    seed: int = 0,
    orders=(),
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[keras.callbacks.History, UnfreezeReport]:
    """Stage 2 of transfer learning, as notebook 02 does it step by step: the course's fine-tuning
    routine on datasets (images in notebook 02, sentences in 05, sounds in 06; runs on cached arrays
    use ``tltf.stages`` and ``tltf.loop`` instead).

    Unfreezes the top of ``base`` (inside ``model``, or ``model`` itself; see
    ``tltf.models.unfreeze``), compiles ``model`` with Adam (AdamW if ``weight_decay``) on a warm-up
    (``warmup_steps``, default one epoch) + cosine schedule peaking at ``peak_lr``, with
    discriminative rates if ``factors`` (one per group of unfrozen base layers, bottom to top; the
    head keeps ``peak_lr``), and fits with early stopping on ``monitor`` (best weights restored).
    ``train_data`` is a dataset of batches (``tf.data``, ``keras.utils.PyDataset``) or an (x, y) pair
    of arrays cut into ``batch_size`` batches. Returns the history (with ``epoch_seconds``) and the
    unfreeze report. ``progress`` shows a bar over the epochs. Changes ``model``'s weights in place. With
    ``backup`` (a folder) the run is resumable (``tltf.resume``): arrays are then batched in an order drawn from
    (``seed``, epoch); a dataset must take its order from ``orders`` (``tltf.resume.EpochOrder``,
    ``tltf.text.PaddedBatches``), whose ``set_epoch`` is called as each epoch begins. With a multi-worker
    ``strategy`` (``tltf.workers``; (x, y) arrays only, no ``factors``), a copy of ``model`` built in its scope
    trains in every worker for every epoch and the epoch with the lowest validation loss is kept.
    """
    report = unfreeze(base, blocks=blocks, fraction=fraction, train_batchnorm=train_batchnorm)
    arrays = isinstance(train_data, tuple)
    steps = math.ceil(len(train_data[0]) / batch_size) if arrays else len(train_data)
    schedule = warmup_cosine(
        peak_lr, total_steps=steps * epochs, warmup_steps=steps if warmup_steps is None else warmup_steps
    )
    if strategy is not None:
        if not (arrays and isinstance(val_data, tuple)) or factors:
            raise ValueError("Fine-tuning in several workers takes (x, y) arrays, and one learning rate.")
        history = _in_workers(
            model, train_data, val_data, epochs, batch_size, backup, seed, strategy, schedule, weight_decay
        )
        return history, report
    if factors:
        optimizer = DiscriminativeAdam(schedule, multipliers=layer_groups(base, factors))
    elif weight_decay:
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=weight_decay)
    else:
        optimizer = keras.optimizers.Adam(schedule)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    timer = EpochTimer()
    chosen = callbacks(patience=patience, monitor=monitor)
    if backup is not None:
        if arrays:
            train_data, arrays = resume.EpochBatches(*train_data, batch_size=batch_size, seed=seed), False
            orders = [train_data]
        elif not orders:
            raise ValueError("A resumable run on a dataset needs its order from orders= (tltf.resume.EpochOrder).")
        chosen = resume.callbacks(backup, seed, orders=orders, patience=patience, monitor=monitor)
    history = model.fit(
        *(train_data if arrays else (train_data,)),
        validation_data=val_data,
        epochs=epochs,
        batch_size=batch_size if arrays else None,
        shuffle=backup is None,  # resumable: each epoch's order is drawn from (seed, epoch), Keras must keep it
        verbose=0,
        callbacks=[*chosen, timer, *_bar(progress, "fine-tuning")],
    )
    history.history["epoch_seconds"] = timer.seconds
    return history, report
