"""Solutions to the exercises of notebook 02 (fine-tuning). All compare on validation data."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from tltf import models, train


def weight_change_by_block(before: keras.Model, after: keras.Model) -> dict[str, float]:
    """Exercise 1: how far fine-tuning moved each block of a backbone.

    ``before`` and ``after`` are the same architecture (e.g. a fresh ImageNet base and the
    fine-tuned one). Returns, per block (bottom to top), ||after - before|| / ||before|| over the
    block's kernels: 0 for a frozen block. BatchNormalization statistics are left out.
    """
    change: dict[str, list[float]] = {}
    for old, new in zip(before.layers, after.layers, strict=True):
        block = models.block_of(new.name)
        if block is None or isinstance(new, keras.layers.BatchNormalization):
            continue
        for w0, w1 in zip(old.weights, new.weights, strict=True):
            w0, w1 = np.asarray(w0), np.asarray(w1)
            sums = change.setdefault(block, [0.0, 0.0])
            sums[0] += float(np.sum((w1 - w0) ** 2))
            sums[1] += float(np.sum(w0**2))
    return {block: float(np.sqrt(diff / total)) for block, (diff, total) in change.items()}


def gradual_unfreeze(
    model: keras.Model,
    base: keras.Model,
    train_data: tf.data.Dataset,
    val_data: tf.data.Dataset,
    *,
    max_blocks: int = 3,
    epochs_per_block: int = 1,
    learning_rate: float = 1e-4,
) -> list[float]:
    """Exercise 2: gradual unfreezing (Howard & Ruder, 2018, ULMFiT), one more block per stage.

    Stage k (k = 1..max_blocks) unfreezes the top k blocks of ``base`` (inside ``model``; BatchNorm
    stays frozen), compiles again (a change of ``trainable`` only takes effect on compile) and
    trains ``epochs_per_block`` epochs. Returns the validation accuracy after each stage.
    """
    accuracies = []
    for blocks in range(1, max_blocks + 1):
        models.unfreeze(base, blocks=blocks)
        train.compile_classifier(model, learning_rate)
        model.fit(train_data, epochs=epochs_per_block, verbose=0)
        accuracies.append(float(model.evaluate(val_data, verbose=0, return_dict=True)["accuracy"]))
    return accuracies
