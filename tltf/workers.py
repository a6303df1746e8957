"""Training in several worker processes with ``tf.distribute.MultiWorkerMirroredStrategy``.

Each worker holds a copy of the model; every step, each takes its share of the global batch and the workers
add their gradients up (an all-reduce), so they all apply the same update: the same result as one process
with the same global batch. On one machine ``launch`` can keep each worker to its own share of the cores.

The workers find each other through ``TF_CONFIG``: a JSON object naming every worker's address and this
process's index. ``launch`` starts N copies of a command on this machine with free loopback ports; on several
machines, each host sets its own ``TF_CONFIG`` (``tf_config``) and runs the same command.

Keras 3's ``fit`` does not run under this strategy (it fails building the model on a batch that it tries to
average across the workers: keras-team/keras#20585, tensorflow/tensorflow#72388), so ``train`` is a small
training loop of its own: ``strategy.run`` of one step (a ``GradientTape`` and the Keras optimizer, which adds
the workers' gradients up), each epoch's order drawn from (seed, epoch) as ``tltf.resume`` does, the epoch with
the best validation loss kept, and a backup after every epoch that only the chief writes (Keras 3's callbacks
do not know which worker is the chief, so none are used here) and every worker reads back after a crash.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tltf import resume

BACKUP = "workers_backup.npz"


def free_addresses(n: int) -> list[str]:
    """``n`` loopback addresses ``127.0.0.1:port`` with ports that are free now."""
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:
        s.close()
    return addresses


def tf_config(addresses: list[str], index: int) -> str:
    """The ``TF_CONFIG`` of worker ``index`` of a cluster of ``addresses`` (worker 0 is the chief)."""
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def index() -> int:
    """This process's worker index (0 without ``TF_CONFIG``: a single process is its own chief)."""
    return int(json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0))


def is_chief() -> bool:
    """Whether this process writes checkpoints and the model: worker 0, or a single process."""
    return index() == 0


def strategy() -> tf.distribute.Strategy:
    """``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster, else TensorFlow's default strategy."""
    return tf.distribute.MultiWorkerMirroredStrategy() if "TF_CONFIG" in os.environ else tf.distribute.get_strategy()


def allowed_cores() -> list[int] | None:
    """The cores this process may run on, sorted; None where the system can neither say nor pin a process to cores
    (macOS, Windows: there ``os.cpu_count()`` is all there is, and ``pin`` is never used)."""
    return sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def core_shares(workers: int) -> list[set[int]] | None:
    """``allowed_cores`` split into ``workers`` disjoint shares of (nearly) equal size, or None where the system
    cannot pin a process to cores (only Linux can) or has fewer cores than ``workers``."""
    cores = allowed_cores()
    if cores is None or len(cores) < workers:
        return None
    return [{int(c) for c in share} for share in np.array_split(cores, workers)]


def pin(process: subprocess.Popen, cores: set[int] | None) -> None:
    """Keep a process that has just started to ``cores`` (Linux only; nothing for None). Done at once, before it has
    imported TensorFlow, which sizes its thread pools to the cores it may use (its threads inherit the setting)."""
    if cores is not None:
        os.sched_setaffinity(process.pid, cores)


def launch(
    arguments: list[str], workers: int, *, timeout: float = 600, capture: bool = True, pin_cores: bool = False
) -> subprocess.CompletedProcess:
    """Run ``python ARGUMENTS`` (``["-m", "tltf", "fit", ...]``) in ``workers`` processes on this machine, each with
    its ``TF_CONFIG``; with ``pin_cores``, where the system allows, each on its own share of the cores
    (``core_shares``; TensorFlow sizes its thread pools to the cores a process may use). Unpinned workers share all
    the cores, which let the gradient exchange overlap the computation: on 2 cores it was the faster of the two
    (notebook 15's record).

    Returns the chief's exit status (or 1 when another worker failed or time ran out), its stdout and stderr
    when ``capture`` (else the chief writes to this process's own, as it runs), with the reason of a failure
    added to stderr. The other workers' output goes to files in a temporary folder, named in that reason (and
    removed after a success). When a worker fails, the others get 10 s to stop, then are stopped, as they are
    when ``timeout`` seconds pass or this process is interrupted: none is left waiting for a dead one.
    """
    addresses, shares = free_addresses(workers), core_shares(workers) if pin_cores else None
    logs = Path(tempfile.mkdtemp(prefix="tltf-workers-"))
    processes, files = [], []
    for i in range(workers):
        env = dict(os.environ, TF_CONFIG=tf_config(addresses, i))
        if i == 0 and not capture:  # this process's own streams (its stderr may be a copy of descriptor 2)
            out, err = (stream if hasattr(stream, "fileno") else None for stream in (sys.stdout, sys.stderr))
        else:
            out, err = (open(logs / f"worker{i}.{kind}", "w") for kind in ("out", "err"))  # noqa: SIM115
            files += [out, err]
        args = [sys.executable, *arguments]
        processes.append(subprocess.Popen(args, env=env, stdout=out, stderr=err, text=True))
        pin(processes[-1], None if shares is None else shares[i])
    deadline, grace, stopped = time.monotonic() + timeout, None, set()
    try:
        while any(p.poll() is None for p in processes) and time.monotonic() < (grace or deadline):
            time.sleep(0.2)
            if grace is None and any(p.poll() not in (None, 0) for p in processes):
                grace = time.monotonic() + 10  # one failed: give the others a moment to stop on their own
    finally:  # also on Ctrl-C: a worker would wait for the others for ever
        for i, p in enumerate(processes):
            if p.poll() is None:
                p.kill()
                stopped.add(i)
        codes = [p.wait() for p in processes]
        for f in files:
            f.close()
    read = (lambda kind: (logs / f"worker0.{kind}").read_text()) if capture else (lambda kind: "")
    out, err = read("out"), read("err")
    failed = [i for i, code in enumerate(codes) if code != 0 and i not in stopped]
    if failed:
        why = f"worker {failed[0]} failed, so the others were stopped (exit statuses {codes}; their output: {logs})"
    elif stopped:
        why = f"the workers did not finish within {timeout:.0f} s, so they were stopped (their output: {logs})"
    else:
        why = ""
        shutil.rmtree(logs, ignore_errors=True)
    code = codes[0] if codes[0] > 0 and 0 not in stopped else (1 if why else 0)
    return subprocess.CompletedProcess(args, code, out, err + why)


def _batches(x, y, rows: np.ndarray, batch_size: int, strategy: tf.distribute.Strategy):
    """The rows ``rows`` of (x, y) in global batches, split among the workers (each takes its share)."""
    data = tf.data.Dataset.from_tensor_slices((x[rows], y[rows])).batch(batch_size)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(data.with_options(options))


def train(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    train_xy: tuple[np.ndarray, np.ndarray],
    val_xy: tuple[np.ndarray, np.ndarray],
    *,
    epochs: int,
    batch_size: int = 32,
    seed: int = 0,
    strategy: tf.distribute.Strategy | None = None,
    backup: str | Path | None = None,
) -> dict:
    """Train ``model`` (probabilities out; built with ``optimizer`` under ``strategy.scope()``) on integer labels
    with sparse cross-entropy (plus the model's weight penalties), ``epochs`` passes of global batches of
    ``batch_size``, in an order drawn from (``seed``, epoch); keep the weights of the epoch with the lowest
    validation loss. With ``backup`` (a folder every worker can read), the chief writes the weights, the
    optimizer's state and the history after every epoch, and a run started again resumes from them. Returns
    ``{"loss", "val_loss", "best_epoch", "epoch_seconds"}``. Without random layers, the same result as one
    process with the same global batch (to float rounding); a dropout layer draws its own mask in each worker,
    so with dropout the results agree in distribution only.
    """
    strategy = strategy or tf.distribute.get_strategy()
    loss_fn = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    x, y = train_xy
    with strategy.scope():
        if not optimizer.built:
            optimizer.build(model.trainable_variables)

    @tf.function
    def step(batch):
        def replica(xb, yb):
            # the mean over the whole global batch (a last batch may be short) plus the weights' penalties, once
            count = tf.distribute.get_replica_context().all_reduce("SUM", tf.cast(tf.shape(yb)[0], "float32"))
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(loss_fn(yb, model(xb, training=True))) / count
                if model.losses:
                    loss += tf.add_n(model.losses) / strategy.num_replicas_in_sync
            gradients = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
            return loss

        return strategy.reduce("SUM", strategy.run(replica, args=batch), axis=None)

    history = {"loss": [], "val_loss": [], "epoch_seconds": []}
    best, best_weights = np.inf, None
    path = Path(backup) / BACKUP if backup is not None else None
    if path is not None and path.exists():
        best, best_weights, history = _restore(path, model, optimizer)
    for epoch in range(len(history["loss"]), epochs):
        start = time.perf_counter()
        resume.reseed(model, seed, epoch)  # dropout draws from (seed, epoch): a resumed run repeats them
        rows = np.random.default_rng([seed, epoch]).permutation(len(y))
        losses = [float(step(batch)) for batch in _batches(x, y, rows, batch_size, strategy)]
        val_loss = float(np.mean(loss_fn(val_xy[1], model(val_xy[0], training=False))))  # not predict: see above
        history["loss"].append(float(np.mean(losses)))
        history["val_loss"].append(val_loss)
        history["epoch_seconds"].append(time.perf_counter() - start)
        if val_loss < best:
            best, best_weights = val_loss, model.get_weights()
        if path is not None and is_chief():
            _save(path, model, optimizer, best, best_weights, history)
    if best_weights is not None:
        model.set_weights(best_weights)
    if path is not None and is_chief():
        path.unlink(missing_ok=True)
    return {**history, "best_epoch": int(np.argmin(history["val_loss"])) if history["val_loss"] else None}


def _save(path: Path, model, optimizer, best: float, best_weights, history: dict) -> None:
    """The chief's backup: weights, optimizer variables, the best epoch's weights and the history, written whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"w{i}": w for i, w in enumerate(model.get_weights())}
    arrays |= {f"o{i}": np.asarray(v) for i, v in enumerate(optimizer.variables)}
    arrays |= {f"b{i}": w for i, w in enumerate(best_weights or [])}
    partial = path.with_name(path.name + ".partial.npz")
    np.savez(partial, **arrays, best=best, history=json.dumps(history))
    os.replace(partial, path)


def _restore(path: Path, model, optimizer) -> tuple[float, list | None, dict]:
    """Read a backup written by ``_save`` into ``model`` and ``optimizer``; returns (best, best weights, history)."""
    with np.load(path) as stored:

        def arrays(prefix: str) -> list[np.ndarray]:
            return [
                stored[f"{prefix}{i}"] for i in range(sum(n[0] == prefix and n[1:].isdigit() for n in stored.files))
            ]

        model.set_weights(arrays("w"))
        for variable, value in zip(optimizer.variables, arrays("o"), strict=True):
            variable.assign(value)
        return float(stored["best"]), arrays("b") or None, json.loads(str(stored["history"]))
