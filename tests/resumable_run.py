"""A small training run for tests/test_resume.py: ``python resumable_run.py FOLDER OUT SOURCE [KILL_AT]``.

Trains a dense classifier with dropout on fixed random data, saves its final weights to OUT (.npz). SOURCE:
``arrays`` (``EpochBatches``) or ``tfdata`` (``EpochOrder``) through ``tltf.resume.callbacks`` (backup in FOLDER);
``keras``: Keras alone (a shuffled ``fit``, ``EarlyStopping`` and ``BackupAndRestore``). With KILL_AT, the process
kills itself (SIGKILL, as a crash would) at the end of that epoch, after the backup is written.
"""

import os
import signal
import sys

import keras
import numpy as np
import tensorflow as tf

from tltf import resume

folder, out, source = sys.argv[1], sys.argv[2], sys.argv[3]
kill_at = int(sys.argv[4]) if len(sys.argv) > 4 else None
rng = np.random.default_rng(0)
x, y = rng.normal(size=(96, 8)).astype("float32"), rng.integers(0, 2, 96)  # random labels: validation loss rises
xv, yv = rng.normal(size=(32, 8)).astype("float32"), rng.integers(0, 2, 32)
keras.utils.set_random_seed(1)
model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.3)])
model.add(keras.layers.Dense(2, activation="softmax"))
model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
if source == "arrays":
    train = resume.EpochBatches(x, y, batch_size=16, seed=5)
    batches = train
elif source == "tfdata":
    train = resume.EpochOrder(len(y), seed=5)
    batches = train.indices().map(lambda i: (tf.gather(x, i), tf.gather(y, i))).batch(16)
else:
    batches = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(96, seed=5).batch(16)


class Crash(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


if source == "keras":
    stop = keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)
    chosen = [stop, keras.callbacks.BackupAndRestore(folder)]
else:
    chosen = resume.callbacks(folder, seed=5, orders=[train], patience=4)
history = model.fit(batches, validation_data=(xv, yv), epochs=30, callbacks=[*chosen, Crash()], verbose=0)
np.savez(out, *model.get_weights(), epochs=len(history.history["loss"]))
