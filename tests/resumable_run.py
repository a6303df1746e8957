"""A small training run for tests/test_resume.py: ``python resumable_run.py FOLDER OUT SOURCE [KILL_AT]``.

Trains a dense classifier with dropout on fixed random data whose labels (a linear rule, 10% flipped) take several
epochs to learn, then overfit: the best epoch, whose weights early stopping keeps, comes after KILL_AT, so the
weights depend on the epochs trained after a crash. Saves the final weights, the number of epochs and the
validation losses to OUT (.npz). SOURCE: ``arrays``: ``tltf.train.train_head`` with a backup (``EpochBatches``
fed to ``fit``: the course's code path); ``tfdata``: ``EpochOrder`` through ``tltf.resume.callbacks`` (backup in
FOLDER); ``keras``: Keras alone (a shuffled ``fit``, ``EarlyStopping`` and ``BackupAndRestore``). With KILL_AT, the
process kills itself (SIGKILL, as a crash would) at the end of that epoch, after the backup is written.
"""

import os
import signal
import sys

import keras
import numpy as np
import tensorflow as tf

from tltf import resume, train

folder, out, source = sys.argv[1], sys.argv[2], sys.argv[3]
kill_at = int(sys.argv[4]) if len(sys.argv) > 4 else None
rng = np.random.default_rng(0)
rule = rng.normal(size=8)


def examples(n):
    x = rng.normal(size=(n, 8)).astype("float32")
    return x, ((x @ rule > 0) ^ (rng.random(n) < 0.1)).astype("int64")  # learnable, with 10% of labels flipped


(x, y), (xv, yv) = examples(96), examples(32)
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.3)])
model.add(keras.layers.Dense(2, activation="softmax"))


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


if source == "arrays":  # train_head's own fit call; the crash rides on tltf.resume.callbacks, after the backup
    chosen = resume.callbacks
    resume.callbacks = lambda *args, **kwargs: [*chosen(*args, **kwargs), Crash()]
    history = train.train_head(
        model, (x, y), (xv, yv), epochs=30, learning_rate=5e-3, batch_size=16, patience=4, backup=folder, seed=5
    )
else:
    model.compile(keras.optimizers.Adam(5e-3), "sparse_categorical_crossentropy")
    if source == "tfdata":
        order = resume.EpochOrder(len(y), seed=5)
        batches = order.indices().map(lambda i: (tf.gather(x, i), tf.gather(y, i))).batch(16)
        chosen = resume.callbacks(folder, seed=5, orders=[order], patience=4)
    else:
        batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96, seed=5).batch(16)
        stop = keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)
        chosen = [stop, keras.callbacks.BackupAndRestore(folder)]
    history = model.fit(batches, validation_data=(xv, yv), epochs=30, callbacks=[*chosen, Crash()], verbose=0)
losses = history.history["val_loss"]
np.savez(out, *model.get_weights(), epochs=len(losses), val_loss=losses)
