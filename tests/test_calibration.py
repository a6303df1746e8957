"""tltf.calibration on cases with known answers."""

import numpy as np
import pytest

from tltf import calibration


def two_class(p_positive):
    p = np.asarray(p_positive, dtype=float)
    return np.stack([1 - p, p], axis=1)


def test_ece_of_known_cases():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    # Every prediction 80 % sure of class 1 and right 40 % of the time: ECE = |0.4 - 0.8|.
    assert calibration.expected_calibration_error(two_class([0.8] * 10), labels) == pytest.approx(0.4)
    # Certain and always right: perfectly calibrated.
    assert calibration.expected_calibration_error(two_class(labels.astype(float)), labels) == 0.0
    interval = calibration.ece_interval(two_class([0.8] * 10), labels, resamples=200)
    assert interval["mean"] == pytest.approx(0.4) and interval["ci95"][0] <= 0.4 <= interval["ci95"][1]


def test_temperature_scaling_softens_overconfident_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 2000)
    # Well calibrated at 75 % correct, then sharpened by a temperature of 1/3 (logits x 3).
    calibrated = two_class(np.where(labels == 1, 0.75, 0.25))
    flip = rng.random(2000) < 0.25
    calibrated[flip] = calibrated[flip][:, ::-1]
    sharp = calibration.scale_temperature(calibrated, 1 / 3)
    t = calibration.fit_temperature(sharp, labels)
    assert t == pytest.approx(3.0, rel=0.15)
    fixed = calibration.scale_temperature(sharp, t)
    assert np.array_equal(fixed.argmax(axis=1), sharp.argmax(axis=1))  # same decisions
    assert (
        calibration.expected_calibration_error(fixed, labels)
        < 0.03
        < calibration.expected_calibration_error(sharp, labels)
    )


def test_threshold_sensitivity_and_specificity():
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.65, 0.5, 0.7, 0.9])
    threshold = calibration.youden_threshold(labels, scores)
    # At 0.5 every positive is found and 3 of 4 negatives cleared (J = 0.75); at 0.7, J = 2/3.
    assert threshold == pytest.approx(0.5)
    at = calibration.sensitivity_specificity(labels, scores, threshold)
    assert at == {"sensitivity": 1.0, "specificity": 0.75, "tn": 3, "fp": 1, "fn": 0, "tp": 3}
    assert calibration.sensitivity_specificity(labels, scores, 0.8)["sensitivity"] == 0.3333
