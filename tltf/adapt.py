"""Adapting a trained classifier to a new domain with unlabelled images only: BatchNorm statistics
re-estimated on the target images (Schneider et al., NeurIPS 2020) and test-time entropy
minimisation of the BatchNorm scale and shift (TENT, Wang et al., ICLR 2021).

Keras has neither; both are a few lines here, tested in tests/test_adapt.py. Both change a model in
place: copy the weights first (``model.get_weights()``) to go back. Each traces its pass over a batch
once per model and reuses it (``_compiled``): a notebook that adapts one model to several target sets,
restoring its weights in between, pays for one trace, not one per set.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf
from keras import ops

#: Traced functions per model (weakly: they go when the model goes), by kind and batch shape.
_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def batchnorm_layers(model: keras.Layer) -> list[keras.layers.BatchNormalization]:
    """Every BatchNormalization layer inside ``model``, nested models included, bottom to top."""
    found: dict[int, keras.layers.BatchNormalization] = {}  # by id: a shared layer counts once

    def walk(layer: keras.Layer) -> None:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.setdefault(id(layer), layer)
        for sub in getattr(layer, "layers", []):
            walk(sub)

    walk(model)
    return list(found.values())


def _batches(images: np.ndarray | tf.data.Dataset, batch_size: int) -> Iterator:
    """Float image batches from an array (n, h, w, 3) or a dataset of (images, labels) or images."""
    if isinstance(images, tf.data.Dataset):
        for batch in images:
            yield batch[0] if isinstance(batch, tuple) else batch
    else:
        for start in range(0, len(images), batch_size):
            yield ops.convert_to_tensor(images[start : start + batch_size], dtype="float32")


def _compiled(model: keras.Model, kind: str, batch: tf.Tensor, make: Callable[[Callable], Callable]) -> Callable:
    """``make(model_ref)`` as a tf.function traced for batches shaped like ``batch`` (any batch size),
    made once per model and ``kind`` and reused: a model's weights may change between calls, its
    layers may not. ``model_ref()`` gives the model (a weak reference, so that the cache does not
    keep a model alive)."""
    batch = tf.convert_to_tensor(batch)
    spec = tf.TensorSpec((None, *batch.shape[1:]), batch.dtype)
    key = (kind, tuple(spec.shape), spec.dtype.name)
    functions = _COMPILED.setdefault(model, {})
    if key not in functions:
        functions[key] = tf.function(make(weakref.ref(model)), input_signature=[spec])
    return functions[key]


def reestimate_batchnorm(model: keras.Model, images: np.ndarray | tf.data.Dataset, *, batch_size: int = 50) -> int:
    """Replace the moving mean and variance of every BatchNormalization layer in ``model`` by their
    average over ``images``; returns how many layers were re-estimated.

    ``images``: what the model reads, (n, h, w, 3) float in [0, 255], as an array or a dataset of
    batches. The model runs in training mode, so each layer normalises with the batch's statistics
    while the statistics are collected, as the re-estimation of Schneider et al. does (and PyTorch's
    cumulative moving average): the stored mean is the size-weighted mean of the batch means, the
    variance that of the batch variances. Side effects: only the moving statistics change (the
    scales, shifts and every other weight stay as they are); ``trainable`` flags and momenta are
    restored. Dropout and augmentation layers would run in training mode too: pass the model without
    augmentation (dropout after the last BatchNorm layer does not matter). Each batch goes through a
    traced training-mode pass (one trace per model, reused by later calls): under twice the time of
    a predict pass.
    """
    layers = batchnorm_layers(model)
    saved = [(layer.momentum, layer.trainable) for layer in layers]

    def make(model_ref):
        def batch_statistics(batch):
            model_ref()(batch, training=True)  # momentum 0: each layer stores this batch's statistics
            return [ops.stack([layer.moving_mean.value, layer.moving_variance.value]) for layer in layers]

        return batch_statistics

    original, seen, total = batchnorm_statistics(model), 0, None
    try:
        for layer in layers:
            layer.trainable, layer.momentum = True, 0.0  # a frozen BatchNormalization layer ignores training=True
        for batch in _batches(images, batch_size):
            n = int(batch.shape[0])
            stats = _compiled(model, "reestimate_batchnorm", batch, make)(batch)
            weighted = [n * np.asarray(s, dtype="float64") for s in stats]
            total = weighted if total is None else [t + w for t, w in zip(total, weighted, strict=True)]
            seen += n
    except BaseException:
        set_batchnorm_statistics(model, original)  # an interrupted re-estimation leaves the model as it was
        raise
    finally:
        for layer, (momentum, trainable) in zip(layers, saved, strict=True):
            layer.momentum, layer.trainable = momentum, trainable
    if seen == 0:
        raise ValueError("reestimate_batchnorm got no images; pass at least one target image.")
    for layer, (mean, variance) in zip(layers, total, strict=True):
        layer.moving_mean.assign((mean / seen).astype("float32"))
        layer.moving_variance.assign((variance / seen).astype("float32"))
    return len(layers)


def batchnorm_statistics(model: keras.Model) -> list[np.ndarray]:
    """Copies of the moving mean and variance of every BatchNormalization layer in ``model`` (bottom
    to top, each layer's mean then its variance): what ``reestimate_batchnorm`` changes, kept so that
    ``set_batchnorm_statistics`` can put them back later without re-estimating them."""
    return [
        np.array(ops.convert_to_numpy(v))
        for layer in batchnorm_layers(model)
        for v in (layer.moving_mean, layer.moving_variance)
    ]


def set_batchnorm_statistics(model: keras.Model, statistics: list[np.ndarray]) -> None:
    """Put ``statistics`` (from ``batchnorm_statistics`` of this model, or of one built the same way)
    into the model's BatchNormalization layers; nothing else changes. Raises ValueError when they do
    not fit the model's layers."""
    variables = [v for layer in batchnorm_layers(model) for v in (layer.moving_mean, layer.moving_variance)]
    shapes = [tuple(v.shape) for v in variables]
    if [tuple(np.shape(x)) for x in statistics] != shapes:
        raise ValueError("These statistics come from another model: take them with batchnorm_statistics(model).")
    for variable, value in zip(variables, statistics, strict=True):
        variable.assign(value)


def entropy(probs) -> tf.Tensor:
    """Mean prediction entropy in nats of class probabilities (batch, classes): 0 for one-hot,
    log(classes) for uniform."""
    return ops.mean(-ops.sum(probs * ops.log(ops.clip(probs, 1e-12, 1.0)), axis=-1))


def tent(
    model: keras.Model,
    images: np.ndarray | tf.data.Dataset,
    *,
    epochs: int = 1,
    learning_rate: float = 1e-3,
    batch_size: int = 50,
    optimizer: keras.optimizers.Optimizer | None = None,
) -> list[float]:
    """TENT: train only the scale and shift (gamma, beta) of the model's BatchNormalization layers
    to lower the entropy of its predictions on unlabelled ``images`` (float [0, 255], (n, h, w, 3)).

    The model runs in inference mode (the moving statistics normalise, so call
    ``reestimate_batchnorm`` on the target images first, as TENT's batch statistics would; dropout
    off). Adam at ``learning_rate`` unless an ``optimizer`` is given; one step per batch, ``epochs``
    passes over ``images`` in order. The entropy's gradients come from a traced pass (one trace per
    model, reused by later calls); the optimizer applies them.
    Returns the mean entropy of each step's batch before its update. Side effects: only the
    BatchNorm scales and shifts change; no ``trainable`` flag is touched.
    """
    variables = [v for layer in batchnorm_layers(model) for v in (layer.gamma, layer.beta) if v is not None]
    optimizer = optimizer or keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)
    watched = [v.value for v in variables]

    def make(model_ref):
        def entropy_and_gradients(batch):
            with tf.GradientTape() as tape:
                tape.watch(watched)
                loss = entropy(model_ref()(batch, training=False))
            return loss, tape.gradient(loss, watched)

        return entropy_and_gradients

    losses = []
    for _ in range(epochs):
        for batch in _batches(images, batch_size):
            loss, gradients = _compiled(model, "tent", batch, make)(batch)
            optimizer.apply(gradients, variables)
            losses.append(float(loss))
    return losses
