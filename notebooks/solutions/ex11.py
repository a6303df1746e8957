"""Solutions to the exercises of notebook 11 (interpretability)."""

from __future__ import annotations

import keras
import numpy as np

from tltf import explain


def true_and_predicted(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """1. Grad-CAM (n, h, w) of each image for the class the model predicted, and for its true class."""
    return explain.gradcam(model, images), explain.gradcam(model, images, labels)


def head_randomisation(model: keras.Model, images: np.ndarray, layer: str, seed: int = 0) -> np.ndarray:
    """2. Each image's rank correlation (n,) between Grad-CAM at ``layer`` of the trained model and of a copy
    whose head (the cascade's first step) is re-initialised."""
    classes = explain.predicted(model, images)
    damaged = explain.randomised(model, explain.cascade(model)[0][1], seed=seed)
    trained = explain.gradcam(model, images, classes, layer=layer)
    return explain.rank_correlation(trained, explain.gradcam(damaged, images, classes, layer=layer))


def smoothgrad(
    model: keras.Model, images: np.ndarray, classes=None, *, samples: int = 16, sigma: float = 15.0, seed: int = 0
) -> np.ndarray:
    """3. SmoothGrad (Smilkov et al., 2017): gradient saliency averaged over ``samples`` copies of each image
    with Gaussian noise of ``sigma`` (on the [0, 255] scale), then scaled to [0, 1]. (n, h, w)."""
    classes = explain.predicted(model, images) if classes is None else np.asarray(classes)
    rng = np.random.default_rng(seed)
    total = np.zeros(images.shape[:3], "float32")
    for _ in range(samples):
        noisy = (images + rng.normal(0, sigma, images.shape)).astype("float32")
        grads, _ = explain.input_gradients(model, keras.ops.convert_to_tensor(noisy), classes)
        total += np.abs(keras.ops.convert_to_numpy(grads)).max(axis=-1)
    return explain.normalise(total)


def insertion_curves(
    model: keras.Model, images: np.ndarray, orders: np.ndarray, classes, *, patch: int, steps: int, fill: np.ndarray
) -> np.ndarray:
    """4. Insertion: from ``fill`` (n, h, w, 3), put the images' patches back in ``orders``; the probability of
    the class after each step, (n, steps + 1) in [0, 1]. Deleting from the fill in the same order is inserting
    the image: ``deletion_curves`` with the two swapped."""
    return explain.deletion_curves(model, fill, orders, classes, patch=patch, steps=steps, fill=images)
