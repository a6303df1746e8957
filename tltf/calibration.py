"""Do a classifier's probabilities mean what they say? Calibration error, temperature scaling, and
an operating threshold for a two-class screen.

Probabilities are arrays of shape (n, classes), rows summing to 1; labels are (n,) class indices.
scikit-learn gives the ROC curve, the Brier score and the reliability diagram
(``CalibrationDisplay``); it has no expected calibration error and no temperature scaling, so those
two are written here, each a few lines on NumPy and SciPy.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special, stats
from sklearn.metrics import confusion_matrix, roc_curve

from tltf.stats import CONFIDENCE


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> float:
    """ECE in [0, 1]: the confidence (top probability) of each prediction is put in one of ``bins``
    equal-width bins; ECE is the mean over items of |accuracy - mean confidence| of their bin."""
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == labels
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        members = which == b
        error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def ece_interval(
    probs: np.ndarray, labels: np.ndarray, *, bins: int = 10, seed: int = 0, resamples: int = 1000
) -> dict:
    """``{"mean", "ci95"}``: the ECE of the whole split and a percentile bootstrap interval over its
    items (``scipy.stats.bootstrap``; items resampled with their labels)."""
    result = stats.bootstrap(
        (np.arange(len(labels)),),
        lambda i: expected_calibration_error(probs[i], labels[i], bins),
        vectorized=False,
        method="percentile",
        confidence_level=CONFIDENCE,
        n_resamples=resamples,
        random_state=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return {
        "mean": round(expected_calibration_error(probs, labels, bins), 4),
        "ci95": [round(float(interval.low), 4), round(float(interval.high), 4)],
    }


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T > 0 minimising the negative log-likelihood of ``softmax(log(probs) / T)``
    on these items (fit it on validation, never on test). T > 1 softens over-confident probabilities."""
    logits = np.log(np.clip(probs, 1e-12, 1.0))

    def nll(log_t: float) -> float:
        return -special.log_softmax(logits / np.exp(log_t), axis=1)[np.arange(len(labels)), labels].mean()

    return float(np.exp(optimize.minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded").x))


def scale_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / temperature)``: same ranking, same predicted class, other confidences."""
    return special.softmax(np.log(np.clip(probs, 1e-12, 1.0)) / temperature, axis=1)


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """The score threshold maximising sensitivity + specificity - 1 (Youden's J) on these items
    (choose it on validation). ``scores`` (n,) is the probability of the positive class 1."""
    fpr, tpr, thresholds = roc_curve(labels, scores)
    return float(min(thresholds[np.argmax(tpr - fpr)], 1.0))


def sensitivity_specificity(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict:
    """Calling "positive" when ``scores >= threshold``: ``{"sensitivity", "specificity", "tn", "fp",
    "fn", "tp"}`` (sensitivity: share of positives found; specificity: share of negatives cleared)."""
    tn, fp, fn, tp = confusion_matrix(labels, (scores >= threshold).astype(int), labels=[0, 1]).ravel()
    return {
        "sensitivity": round(float(tp / (tp + fn)), 4),
        "specificity": round(float(tn / (tn + fp)), 4),
        **{name: int(v) for name, v in zip(("tn", "fp", "fn", "tp"), (tn, fp, fn, tp), strict=True)},
    }
