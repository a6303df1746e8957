"""Training that survives a crash: a run killed mid-way and started again the same way resumes where it
stopped, and ends with the same weights as a run that was never interrupted.

Keras's ``BackupAndRestore`` writes the model's weights, its optimizer's state and the epoch count after every
epoch, and restores them when ``fit`` starts again. Two things it does not keep would still make the resumed run
differ, so this module keeps them too:

- **the randomness of each epoch.** A shuffled dataset, or a dropout or augmentation layer, continues one random
  stream from the start of the run, and a resumed run restarts it: its epoch 5 would see epoch 0's order. Here
  each epoch's batch order and each random layer's generator are set from (seed, epoch) when the epoch begins
  (``EpochSeeds``), so an epoch draws the same whether a crash came before it or not. ``EpochBatches`` (arrays)
  and ``EpochOrder`` (a ``tf.data`` pipeline) take their order from it.
- **early stopping's memory** (the best value so far, the epochs since, the best weights), which Keras's
  ``EarlyStopping`` holds in memory only: ``ResumableEarlyStopping`` writes it beside the backup after every
  epoch and reads back the copy that matches the backup's epoch.

``callbacks(folder, seed, ...)`` gives the three, in the order they must run. The backup folder is deleted when
``fit`` ends normally. Resumed runs are bit-identical on CPU, where TensorFlow's kernels are deterministic
(tested); on a GPU they are not promised. A ``tf.data`` pipeline must not ``repeat()``: its order is read as
each epoch's iterator starts.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

STATE, METADATA = "early_stopping_{}.json", "training_metadata.json"


def _epoch_rng(seed: int, epoch: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch])


class EpochBatches(keras.utils.PyDataset):
    """(x, y) arrays in batches of ``batch_size``, in an order drawn from (seed, epoch) by ``set_epoch``."""

    def __init__(self, x: np.ndarray, y: np.ndarray, *, batch_size: int = 32, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.order = _epoch_rng(self.seed, epoch).permutation(len(self.y))

    def __len__(self) -> int:
        return -(-len(self.y) // self.batch_size)

    def __getitem__(self, index: int):
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]


class EpochOrder:
    """A permutation of ``range(n)`` drawn from (seed, epoch) by ``set_epoch``, held in a variable that a
    ``tf.data`` pipeline reads while it runs (``indices``): each epoch's order without ``shuffle``."""

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed = n, seed
        self.variable = tf.Variable(np.arange(n, dtype="int64"), trainable=False)

    def set_epoch(self, epoch: int) -> None:
        self.variable.assign(_epoch_rng(self.seed, epoch).permutation(self.n))

    def indices(self) -> tf.data.Dataset:
        """The positions of one epoch, in this epoch's order (int64 scalars)."""
        return tf.data.Dataset.range(self.n).map(lambda i: self.variable[i])


def reseed(model: keras.Model, seed: int, epoch: int) -> None:
    """Set the state of every random generator in ``model`` (the ``seed_generator_state`` variables of Dropout,
    augmentation and other random layers, however deeply nested) from (seed, epoch, its position)."""
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for i, state in enumerate(states):
        state.assign(np.array([seed * 1_000_003 + epoch, i], state.dtype))


class EpochSeeds(keras.callbacks.Callback):
    """When an epoch begins: every ``orders`` object's ``set_epoch(epoch)``, and ``reseed`` of the model."""

    def __init__(self, seed: int, orders=()):
        super().__init__()
        self.seed, self.orders = seed, list(orders)

    def on_epoch_begin(self, epoch, logs=None):
        for order in self.orders:
            order.set_epoch(epoch)
        reseed(self.model, self.seed, epoch)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` whose state survives a crash: after every epoch it is written to ``folder`` (the
    ``BackupAndRestore`` folder) under its epoch count, keeping the one before too; when training starts again,
    the state of the backup's epoch count is read back. Takes EarlyStopping's arguments."""

    def __init__(self, folder: str | Path, **kwargs):
        super().__init__(**kwargs)
        self.folder = Path(folder)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        metadata = self.folder / METADATA
        if not metadata.exists():
            return
        path = self.folder / STATE.format(json.loads(metadata.read_text())["epoch"])
        if not path.exists():
            return  # a backup from before the first epoch's end: nothing to remember yet
        state = json.loads(path.read_text())
        self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
        if state["best_weights"]:
            with np.load(self.folder / state["best_weights"]) as stored:
                self.best_weights = [stored[f"w{i}"] for i in range(len(stored.files))]

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self.folder.mkdir(parents=True, exist_ok=True)
        best_weights = f"best_{self.best_epoch}.npz" if self.best_weights is not None else None
        if best_weights and not (self.folder / best_weights).exists():
            _atomic(
                self.folder / best_weights,
                lambda f: np.savez(f, **{f"w{i}": w for i, w in enumerate(self.best_weights)}),
            )
        state = {"wait": self.wait, "best": _plain(self.best), "best_epoch": self.best_epoch}
        _atomic(
            self.folder / STATE.format(epoch + 1),
            lambda f: f.write(json.dumps({**state, "best_weights": best_weights}).encode()),
        )
        (self.folder / STATE.format(epoch - 2)).unlink(missing_ok=True)  # keep the states of the last backups


def _plain(value):
    return None if value is None else float(value)


def _atomic(path: Path, write) -> None:
    """Write ``path`` through a temporary file and a rename, so that a crash never leaves half a file."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        write(f)
    os.replace(partial, path)


def callbacks(
    folder: str | Path, seed: int, *, orders=(), patience: int = 5, monitor: str = "val_loss"
) -> list[keras.callbacks.Callback]:
    """``EpochSeeds``, ``ResumableEarlyStopping`` (best weights restored) and ``BackupAndRestore`` writing to
    ``folder`` after every epoch, in the order they must run (the early-stopping state is written before the
    backup, and only the copy whose epoch matches the backup's is read back)."""
    return [
        EpochSeeds(seed, orders),
        ResumableEarlyStopping(folder, monitor=monitor, patience=patience, restore_best_weights=True),
        keras.callbacks.BackupAndRestore(str(folder)),
    ]


def claim(folder: str | Path, fingerprint: dict) -> str:
    """Make ``folder`` the backup folder of the run described by ``fingerprint`` (a JSON-able dict: its data and
    options). Backups left there by the same run are kept (it resumes from them); backups of another run (other
    data or options) are removed, so that a changed command never continues an old run. Returns what happened,
    in words ("" for a fresh start)."""
    folder, mark = Path(folder), Path(folder) / "run.json"
    note = ""
    if folder.exists():
        if mark.exists() and json.loads(mark.read_text()) == json.loads(json.dumps(fingerprint)):
            return f"Resuming from the backups in {folder}: this command was interrupted before."
        shutil.rmtree(folder)
        note = f"{folder} held the backups of another run (other data or options): starting over."
    folder.mkdir(parents=True)
    mark.write_text(json.dumps(fingerprint))
    return note
