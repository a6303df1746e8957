"""Adapting a trained classifier to a new domain with unlabelled images only: BatchNorm statistics
re-estimated on the target images (Schneider et al., NeurIPS 2020) and test-time entropy
minimisation of the BatchNorm scale and shift (TENT, Wang et al., ICLR 2021).

Keras has neither; both are a few lines here, tested in tests/test_adapt.py. Both change a model in
place: copy the weights first (``model.get_weights()``) to go back.
"""

from __future__ import annotations

from collections.abc import Iterator

import keras
import numpy as np
import tensorflow as tf
from keras import ops


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
    augmentation (dropout after the last BatchNorm layer does not matter). Runs eagerly (the momentum
    changes every batch): about twice the time of a predict pass.
    """
    layers = batchnorm_layers(model)
    saved = [(layer.momentum, layer.trainable) for layer in layers]
    seen = 0
    try:
        for layer in layers:
            layer.trainable = True  # a frozen BatchNormalization layer ignores training=True
        for batch in _batches(images, batch_size):
            n = int(batch.shape[0])
            for layer in layers:
                layer.momentum = seen / (seen + n)  # new = old * seen/(seen+n) + batch * n/(seen+n)
            model(batch, training=True)
            seen += n
    finally:
        for layer, (momentum, trainable) in zip(layers, saved, strict=True):
            layer.momentum, layer.trainable = momentum, trainable
    if seen == 0:
        raise ValueError("reestimate_batchnorm got no images; pass at least one target image.")
    return len(layers)


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
    passes over ``images`` in order.
    Returns the mean entropy of each step's batch before its update. Side effects: only the
    BatchNorm scales and shifts change; no ``trainable`` flag is touched.
    """
    variables = [v for layer in batchnorm_layers(model) for v in (layer.gamma, layer.beta) if v is not None]
    optimizer = optimizer or keras.optimizers.Adam(learning_rate)
    optimizer.build(variables)

    @tf.function(reduce_retracing=True)
    def step(batch):
        with tf.GradientTape() as tape:
            tape.watch([v.value for v in variables])
            loss = entropy(model(batch, training=False))
        optimizer.apply(tape.gradient(loss, [v.value for v in variables]), variables)
        return loss

    return [float(step(batch)) for _ in range(epochs) for batch in _batches(images, batch_size)]
