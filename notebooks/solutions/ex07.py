"""Solutions to the exercises of notebook 07 (far domains: chest X-rays)."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
from sklearn.metrics import roc_curve

from tltf import calibration, data, models, probes, stats


def _features(extractor: keras.Model, splits: data.Splits, interpolation: str) -> dict[str, dict[str, np.ndarray]]:
    return {
        split: probes.extract_by_depth(
            extractor, data.make_dataset(getattr(splits, split), (224, 224), interpolation=interpolation)
        )
        for split in ("train", "val")
    }


def interpolation_on_validation(
    splits: data.Splits, base: keras.Model, methods: Sequence[str] = ("bilinear", "bicubic", "area")
) -> dict[str, dict]:
    """Exercise 1: per resize method, the validation accuracy (Wilson interval) of the last-layer
    probe of MobileNetV2 ``base`` on X-rays upsampled that way. The test split is not used."""
    extractor = probes.depth_extractor("mobilenet_v2", base, ["out_relu"])
    result = {}
    for method in methods:
        features = _features(extractor, splits, method)
        _, _, val_acc = probes.linear_probe(
            features["train"]["out_relu"], splits.train.labels, features["val"]["out_relu"], splits.val.labels
        )
        result[method] = stats.from_accuracy(val_acc, len(splits.val))
    return result


def imagenet_minus_random(
    splits: data.Splits, layers: Sequence[str] = probes.MOBILENET_V2_DEPTHS, *, seed: int = 0
) -> dict[str, float]:
    """Exercise 2: per layer, validation accuracy of the probe on ImageNet features minus that on
    the features of a randomly initialised MobileNetV2 (seeded), in points."""
    accuracy = {}
    for weights in ("imagenet", None):
        keras.utils.set_random_seed(seed)
        base = models.load_backbone("mobilenet_v2", weights=weights)
        features = _features(probes.depth_extractor("mobilenet_v2", base, layers), splits, "bilinear")
        accuracy[weights] = {
            layer: probes.linear_probe(
                features["train"][layer], splits.train.labels, features["val"][layer], splits.val.labels
            )[2]
            for layer in layers
        }
    return {layer: round(100 * (accuracy["imagenet"][layer] - accuracy[None][layer]), 1) for layer in layers}


def threshold_for_sensitivity(labels: np.ndarray, scores: np.ndarray, target: float = 0.95) -> float:
    """Exercise 3: the highest threshold at which ``scores >= threshold`` finds at least ``target`` of
    the positives in (labels, scores): choose it on validation, then read test at it."""
    _, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    return float(min(thresholds[np.argmax(tpr >= target)], 1.0))


def screening_reading(
    val: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], target: float = 0.95
) -> dict[str, dict]:
    """Exercise 3, the reading: test sensitivity and specificity at the validation-chosen threshold
    for ``target`` sensitivity, next to those at Youden's threshold. ``val``/``test``: (labels, scores)."""
    chosen = {
        "screening": threshold_for_sensitivity(*val, target),
        "youden": calibration.youden_threshold(*val),
    }
    return {name: {"threshold": t, **calibration.sensitivity_specificity(*test, t)} for name, t in chosen.items()}
