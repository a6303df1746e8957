"""Solutions to the exercises of notebook 08 (shifted domains: corrupted flowers)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
from sklearn.model_selection import StratifiedKFold, cross_val_score

from lessons import shifted_domains
from tltf import adapt, train
from tltf.data import corruptions


def drop_under(
    model: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    names: Sequence[str] = ("shot_noise", "motion_blur"),
    *,
    severity: int = 3,
    seed: int = 0,
) -> dict[str, float]:
    """Exercise 1: accuracy of ``model`` on the clean uint8 ``images`` (n, h, w, 3) and under each
    corruption in ``names`` at ``severity`` (fixed, seeded copies)."""
    result = {"clean": train.accuracy(model, images, labels)}
    for name in names:
        result[name] = train.accuracy(model, corruptions.corrupt(images, name, severity, seed=seed), labels)
    return result


def accuracy_by_target_count(
    model: keras.Model, images: np.ndarray, labels: np.ndarray, counts: Sequence[int | None] = (1, 4, 16, 64, None)
) -> dict[int, float]:
    """Exercise 2: accuracy on all target ``images`` after re-estimating the BatchNorm statistics from
    the first n of them, for each n in ``counts`` (None: all). The model's weights are restored after
    each count, and at the end."""
    weights, result = model.get_weights(), {}
    try:
        for n in counts:
            adapt.reestimate_batchnorm(model, images[:n])
            result[len(images) if n is None else n] = train.accuracy(model, images, labels)
            model.set_weights(weights)
    finally:
        model.set_weights(weights)
    return result


def null_domain_accuracy(clean: np.ndarray, *, seed: int = 0, folds: int = 5) -> float:
    """Exercise 3: the domain classifier's cross-validated accuracy between two random halves of
    the clean features (n, d): what "no shift" scores (about 0.5, plus noise)."""
    halves = np.random.default_rng(seed).permutation(np.arange(len(clean)) % 2)
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    return float(cross_val_score(shifted_domains.domain_classifier(), clean, halves, cv=cv).mean())


def flag_shifts(clean: np.ndarray, shifted: Mapping[str, np.ndarray], *, margin: float = 0.05) -> list[str]:
    """Exercise 3: the shifted sets (name -> features (n, d), the same photos as ``clean``) whose
    domain-classifier accuracy exceeds the no-shift accuracy by more than ``margin``."""
    threshold = null_domain_accuracy(clean) + margin
    return [name for name, x in shifted.items() if shifted_domains.domain_accuracy(clean, x) > threshold]
