"""A small run for tests/test_workers.py: ``python workers_run.py OUT BACKUP [KILL_AT]``, alone or as one of several
workers (``TF_CONFIG``). A dense classifier with an L2 penalty on fixed random data (200 rows: the last global
batch is short), trained by ``tltf.workers.train`` (global batch 32, 6 epochs, backup in BACKUP); the chief saves
the final weights to OUT (.npz). With KILL_AT, the
chief kills itself (SIGKILL) right after writing the backup of that many epochs.
"""

import os
import signal
import sys

import keras
import numpy as np

from tltf import workers

out, backup = sys.argv[1], sys.argv[2]
kill_at = int(sys.argv[3]) if len(sys.argv) > 3 else None
strategy = workers.strategy()
rng = np.random.default_rng(0)
x, y = rng.normal(size=(200, 8)).astype("float32"), rng.integers(0, 3, 200)
xv, yv = rng.normal(size=(40, 8)).astype("float32"), rng.integers(0, 3, 40)
keras.utils.set_random_seed(1)
with strategy.scope():
    hidden = keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-3))
    model = keras.Sequential([keras.Input((8,)), hidden, keras.layers.Dense(3)])
    model.add(keras.layers.Softmax())
    optimizer = keras.optimizers.Adam(1e-2)

if kill_at is not None:
    save = workers._save

    def save_then_crash(path, *args):
        save(path, *args)
        if len(args[-1]["loss"]) == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    workers._save = save_then_crash

history = workers.train(
    model, optimizer, (x, y), (xv, yv), epochs=6, batch_size=32, seed=3, strategy=strategy, backup=backup
)
if workers.is_chief():
    np.savez(out, *model.get_weights(), best_epoch=history["best_epoch"], epochs=len(history["loss"]))
print("replicas", strategy.num_replicas_in_sync, "worker", workers.index(), flush=True)
