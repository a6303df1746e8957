"""Solutions to the exercises of notebook 10 (learning without labels)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from sklearn.neighbors import KNeighborsClassifier

from tltf import adapt, contrastive, probes, train

Labelled = tuple[np.ndarray, np.ndarray]  # images (n, h, w, 3) in [0, 255], labels (n,)


def pretrain(
    images: np.ndarray,
    domain: str,
    widths: Sequence[int],
    *,
    epochs: int,
    batch: int,
    seed: int = 0,
    temperature: float = 0.2,
    crop: bool = True,
    colour: bool = True,
    momentum: float = 0.9,
) -> keras.Model:
    """The notebook's ``pretrain``, with the views' parts, the temperature and batch normalisation's
    momentum as arguments: a fresh
    encoder pre-trained by SimCLR on ``images`` (no labels). Returns the encoder."""
    train.seed_everything(seed)
    encoder = contrastive.encoder(images.shape[1:3], tuple(widths), momentum=momentum)
    model = contrastive.SimCLR(
        encoder, contrastive.views(domain, seed=seed, crop=crop, colour=colour), temperature=temperature
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batches = (
        tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed).batch(batch, drop_remainder=True)
    )
    model.fit(batches, epochs=epochs, verbose=0)
    return encoder


def validation_probe(encoder: keras.Model, labelled: Labelled, val: Labelled) -> float:
    """The watching probe's score: a linear probe (C = 1) on the encoder's features of every labelled
    training image, scored on validation."""
    x_train, x_val = contrastive.features(encoder, labelled[0]), contrastive.features(encoder, val[0])
    return probes.linear_probe(x_train, labelled[1], x_val, val[1], cs=(1.0,))[2]


def views_ablation(labelled: Labelled, val: Labelled, domain: str, widths: Sequence[int], **pretraining) -> dict:
    """Exercise 1: the validation probe after pre-training with the full views, crops only, colour only."""
    parts = {"crops and colour": {}, "crops only": {"colour": False}, "colour only": {"crop": False}}
    return {
        name: validation_probe(pretrain(labelled[0], domain, widths, **kwargs, **pretraining), labelled, val)
        for name, kwargs in parts.items()
    }


def temperatures(
    labelled: Labelled, val: Labelled, domain: str, widths: Sequence[int], values=(0.1, 0.2, 0.5), **pretraining
) -> dict:
    """Exercise 2: the validation probe after pre-training at each temperature. A higher temperature
    flattens the softmax over candidates, so a hard negative (a similar other image) weighs less in the loss."""
    return {
        t: validation_probe(pretrain(labelled[0], domain, widths, temperature=t, **pretraining), labelled, val)
        for t in values
    }


def knn_accuracy(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, k: int = 5) -> float:
    """Exercise 3: validation accuracy of a k-nearest-neighbour classifier (cosine distance) on features."""
    return float(KNeighborsClassifier(k, metric="cosine").fit(x_train, y_train).score(x_val, y_val))


def momentum_and_reestimation(
    labelled: Labelled, val: Labelled, domain: str, widths: Sequence[int], **pretraining
) -> dict:
    """Exercise 4: the validation probe after pre-training with batch normalisation's momentum at 0.9 and at
    Keras's 0.99, and for 0.99 again after its moving statistics are re-estimated on the clean training
    images (``tltf.adapt.reestimate_batchnorm``). 0.99's averages lag: they reach back about a hundred steps
    of a network that changes fast, so inference normalises with statistics no trained layer produces."""
    found = {}
    for momentum in (0.9, 0.99):
        encoder = pretrain(labelled[0], domain, widths, momentum=momentum, **pretraining)
        found[f"momentum {momentum}"] = validation_probe(encoder, labelled, val)
    lagging = encoder  # the 0.99 encoder, trained last
    adapt.reestimate_batchnorm(lagging, labelled[0])
    found["momentum 0.99, statistics re-estimated"] = validation_probe(lagging, labelled, val)
    return found
