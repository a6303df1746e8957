"""Solutions to the exercises of notebook 01 (feature extraction). All compare on validation data."""

from __future__ import annotations

import time

import keras
import numpy as np

from tltf import data, models, train


def backbone_validation_accuracy(
    backbone: str, splits: data.Splits, *, views: int = 2, epochs: int = 100
) -> tuple[float, float]:
    """Exercise 1: the cached-features recipe with any registered backbone.

    Returns (validation accuracy, seconds for extraction plus head training).
    """
    train.seed_everything(42)
    spec = models.get_backbone(backbone)
    extractor = models.feature_extractor(spec)  # the backbone's own preprocessing, frozen base
    start = time.perf_counter()
    train_xy = train.extract_features(
        extractor, data.make_dataset(splits.train, spec.image_size), augment=data.augmentation(42), views=views
    )
    val_xy = train.extract_features(extractor, data.make_dataset(splits.val, spec.image_size))
    head = models.make_head(spec.feature_size, len(splits.class_names))
    history = train.train_head(head, train_xy, val_xy, epochs=epochs, patience=10)
    best = history.history["val_accuracy"][int(np.argmin(history.history["val_loss"]))]
    return float(best), time.perf_counter() - start


def few_shot_curve(
    train_xy: tuple[np.ndarray, np.ndarray],
    val_xy: tuple[np.ndarray, np.ndarray],
    ks: list[int],
    *,
    epochs: int = 100,
    seed: int = 0,
) -> dict[int, float]:
    """Exercise 2: validation accuracy of a head trained on k cached feature rows per class."""
    x, y = train_xy
    rng = np.random.default_rng(seed)
    curve = {}
    for k in ks:
        rows = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:k] for c in np.unique(y)])
        train.seed_everything(42)
        head = models.make_head(x.shape[1], len(np.unique(y)))
        train.train_head(head, (x[rows], y[rows]), val_xy, epochs=epochs, patience=10)
        curve[k] = float(head.evaluate(*val_xy, verbose=0)[1])
    return curve


def deeper_head(feature_size: int, num_classes: int) -> keras.Sequential:
    """Exercise 3: a head with one hidden layer of 256 ReLU units."""
    return keras.Sequential(
        [
            keras.Input((feature_size,)),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(num_classes, activation="softmax"),
        ],
        name="deeper_head",
    )
