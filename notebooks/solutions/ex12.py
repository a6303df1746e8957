"""Solutions to the exercises of notebook 12 (deployment)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tltf import distill, export, privacy


def calibration_agreement(
    saved: str | Path, pool: np.ndarray, counts, val_images: np.ndarray, reference: np.ndarray, seed: int = 0
) -> dict[int, float]:
    """1. For each number of calibration images in ``counts`` (drawn from the training images ``pool``), the
    full-int8 file's top-1 agreement with the Keras model's probabilities ``reference`` on the validation
    images ``val_images`` (a choice: never made on the test photos)."""
    rng = np.random.default_rng(seed)
    found = {}
    for count in counts:
        chosen = pool[rng.choice(len(pool), count, replace=False)]
        lite = export.LiteModel(export.to_litert(saved, "int8", chosen))
        found[count] = export.agreement(lite.predict(val_images), reference)
    return found


def mixed_targets(labels: np.ndarray, teacher_probs: np.ndarray, alpha: float, temperature: float) -> np.ndarray:
    """2. A mixture as targets (n, classes): ``alpha`` one-hot labels + (1 - alpha) softened teacher. Cross-entropy
    is linear in its targets, so training on these is training on the mixed loss, both terms with the student
    at the same temperature (Hinton et al. take the label term at temperature 1)."""
    onehot = np.eye(teacher_probs.shape[1], dtype="float32")[labels]
    return alpha * onehot + (1 - alpha) * distill.soften(teacher_probs, temperature)


def mixed_students(features, labels, teacher_probs, val_features, val_labels, *, alphas=(0, 0.5, 1), **fit):
    """2. Validation accuracy of a student trained on ``mixed_targets`` for each alpha (``fit``: ``temperature``,
    ``epochs``, ``seed`` ... of ``distill.train_student``): alpha is a choice, made on validation."""
    temperature = fit.get("temperature", 1.0)
    accuracy = {}
    for alpha in alphas:
        head = distill.train_student(features, mixed_targets(labels, teacher_probs, alpha, temperature), **fit)
        accuracy[alpha] = float((head.predict(val_features, verbose=0).argmax(axis=1) == val_labels).mean())
    return accuracy


def confidence_attack(member_probs: np.ndarray, nonmember_probs: np.ndarray, **bootstrap) -> dict:
    """3. The membership attack that needs no labels: a photo is called a member when the model's largest
    probability is high. ``{"mean", "ci95"}`` as ``privacy.membership_auc``."""
    return privacy.membership_auc(-member_probs.max(axis=1), -nonmember_probs.max(axis=1), **bootstrap)


def thread_latency(content: bytes, image: np.ndarray, threads=(1, 2), repeats: int = 50) -> dict[int, float]:
    """4. Median single-image latency (ms) of a LiteRT file with each number of interpreter threads."""
    return {n: export.LiteModel(content, threads=n).latency_ms(image, repeats=repeats)["median"] for n in threads}
