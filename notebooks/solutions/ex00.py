"""Solutions to the exercises of notebook 00 (what is transfer learning)."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from tltf import assets, data


def top5(classifier: keras.Model, path: str | Path) -> list[tuple[str, float]]:
    """Exercise 1: the five most likely ImageNet labels of one image file, with probabilities.

    ``classifier`` is a with-top MobileNet (224 × 224 input, mobilenet preprocessing).
    """
    image = data.load_image(str(path), (224, 224)).numpy().astype("float32")[None]
    probabilities = classifier.predict(keras.applications.mobilenet.preprocess_input(image), verbose=0)
    return [(name, float(p)) for _, name, p in keras.applications.mobilenet.decode_predictions(probabilities, top=5)[0]]


def layer_features(base: keras.Model, layer_name: str) -> keras.Model:
    """Exercise 2: a model from the backbone's input to one inner layer, average-pooled to a vector."""
    pooled = keras.layers.GlobalAveragePooling2D()(base.get_layer(layer_name).output)
    return keras.Model(base.input, pooled, name=f"{layer_name}_features")


def knn_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    """Exercises 2 and 3: 5-fold cross-validated 5-nearest-neighbour accuracy of a feature set."""
    return float(cross_val_score(KNeighborsClassifier(5), features, labels, cv=5).mean())


def small_backbone_features() -> keras.Model:
    """Exercise 3: MobileNet v1 (width 0.25) features, 256 per image, for [0, 255] input."""
    assets.fetch("mobilenet_025_notop", quiet=True)
    base = keras.applications.MobileNet(
        alpha=0.25, include_top=False, weights="imagenet", input_shape=(224, 224, 3), pooling="avg"
    )
    base.trainable = False
    inputs = keras.Input((224, 224, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1)(inputs)  # what mobilenet.preprocess_input does
    return keras.Model(inputs, base(x, training=False))
