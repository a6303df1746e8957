"""Solutions to the exercises of notebook 03 (TF Hub in Keras 3)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tltf import hub_layer, models


def feature_difference(handle: str | Path, dataset: tf.data.Dataset) -> float:
    """Exercise 1: the largest |hub feature - Keras MobileNetV2 feature| over ``dataset``'s images.

    Both see the same [0, 255] photos, each with its own preprocessing: ``tltf.hub_layer.feature_extractor``
    scales to [0, 1] for the module, ``tltf.models.feature_extractor`` to [-1, 1] for Keras.
    """
    from_hub = hub_layer.feature_extractor(handle)
    from_keras = models.feature_extractor("mobilenet_v2")
    return max(
        float(np.abs(from_hub.predict_on_batch(images) - from_keras.predict_on_batch(images)).max())
        for images, _ in dataset
    )


def export_and_reload(model: keras.Model, directory: str | Path, images: np.ndarray) -> float:
    """Exercise 2: ``model.export()`` as a SavedModel, reloaded with ``keras.layers.TFSMLayer``;
    returns the largest difference between the two models' outputs on ``images``."""
    model.export(str(directory), verbose=False)
    reloaded = keras.layers.TFSMLayer(str(directory), call_endpoint="serve")
    return float(np.abs(np.asarray(reloaded(images)) - model.predict(images, verbose=0)).max())
