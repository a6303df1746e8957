"""The course's one training loop on arrays in memory (cached features, cached activations, small
images): one Keras ``fit`` per epoch on exactly the rows the caller hands it, the validation split
scored after each epoch, and optional early stopping that keeps the best epoch's weights.

Why our own loop: the runs on cached data need each epoch's rows to be chosen by the run itself (a
seeded order, augmented views, MixUp pools), and their validation probabilities after every epoch
(notebook 09 reads curves and folds from them). A single ``fit`` over a ``keras.utils.PyDataset``
that swapped its arrays per epoch did not reproduce the same loop written by hand (Keras shuffles
and prefetches its batches), while ``fit(x, y, epochs=1, shuffle=False)`` per epoch does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np

#: make(epoch) -> (inputs, labels) of that epoch, in the order to train on.
Epochs = Callable[[int], tuple[np.ndarray, np.ndarray]]


def epoch_order(rows: int, min_rows: int, seed: int, epoch: int) -> np.ndarray:
    """Positions for one epoch over ``rows`` items: ``range(rows)`` repeated up to ``min_rows`` (when
    smaller), shuffled by a generator seeded with (``seed``, ``epoch``); shape (max(rows, min_rows),)."""
    return np.random.default_rng([seed, epoch]).permutation(np.resize(np.arange(rows), max(rows, min_rows)))


def steps_per_epoch(rows: int, min_rows: int, batch_size: int = 32) -> int:
    """Updates per epoch of ``epoch_order(rows, min_rows, ...)`` in batches of ``batch_size``."""
    return -(-max(rows, min_rows) // batch_size)


def rows_by_epoch(x: np.ndarray, y: np.ndarray, rows: np.ndarray, min_rows: int, seed: int) -> Epochs:
    """``make(epoch)`` for the items ``rows`` of (x, y): a fresh seeded order each epoch (``epoch_order``)."""

    def make(epoch: int) -> tuple[np.ndarray, np.ndarray]:
        order = rows[epoch_order(len(rows), min_rows, seed, epoch)]
        return x[order], y[order]

    return make


@dataclass
class Fit:
    """What ``fit_epochs`` measured. ``history`` has, per epoch: "loss" and "accuracy" (training, as
    Keras reports them), "val_loss" (cross-entropy of the true class), "val_accuracy" and "seconds"
    (that epoch's wall-clock, validation included)."""

    history: dict[str, list[float]]
    #: The validation probabilities after every epoch, each (n_val, classes).
    val_probs: list[np.ndarray]
    #: The epoch (0-based) whose weights the model holds at the end.
    kept: int

    @property
    def epochs(self) -> int:
        return len(self.val_probs)


def fit_epochs(
    model: keras.Model,
    make: Epochs,
    val: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    patience: int | None = None,
    monitor: str = "val_loss",
    keep: str = "best",
    batch_size: int = 32,
) -> Fit:
    """Train a compiled ``model`` for up to ``epochs`` epochs, one ``fit`` each on ``make(epoch)``
    (batches of ``batch_size``, in the order given), scoring ``val`` = (inputs, integer labels) after
    each. ``patience``: stop when ``monitor`` ("val_loss", lowest is best, or "val_accuracy") has not
    improved for that many epochs (None: never stop early). ``keep="best"`` puts the best epoch's
    weights back at the end (as Keras's ``EarlyStopping(restore_best_weights=True)``); "last" keeps
    the last epoch's. Side effect: trains ``model`` in place."""
    if monitor not in ("val_loss", "val_accuracy") or keep not in ("best", "last"):
        raise ValueError(f"monitor must be val_loss or val_accuracy and keep best or last, got {monitor}, {keep}.")
    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": [], "seconds": []}
    val_probs: list[np.ndarray] = []
    sign = 1.0 if monitor == "val_loss" else -1.0  # lower is better after the sign
    best, best_weights = 0, None
    for epoch in range(epochs):
        start = time.perf_counter()
        x, y = make(epoch)
        logs = model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0).history
        probs = model.predict(val[0], batch_size=100, verbose=0)
        picked = np.clip(probs[np.arange(len(val[1])), val[1]], 1e-7, 1.0)
        for key, value in (
            ("loss", logs["loss"][0]),
            ("accuracy", logs["accuracy"][0]),
            ("val_loss", -np.log(picked).mean()),
            ("val_accuracy", (probs.argmax(axis=1) == val[1]).mean()),
            ("seconds", time.perf_counter() - start),
        ):
            history[key].append(float(value))
        val_probs.append(probs)
        if epoch == 0 or sign * history[monitor][-1] < sign * history[monitor][best]:
            best = epoch
            best_weights = model.get_weights() if keep == "best" else None
        elif patience is not None and epoch - best >= patience:
            break
    if keep == "last" or best == len(val_probs) - 1:
        return Fit(history, val_probs, len(val_probs) - 1)
    model.set_weights(best_weights)
    return Fit(history, val_probs, best)
