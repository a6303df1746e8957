"""tltf.privacy: the loss-threshold attack's AUC on known cases, and its interval."""

import numpy as np
import pytest

from tltf import privacy


def test_attack_auc_on_known_cases():
    assert privacy.attack_auc([0.1, 0.2], [0.3, 0.4]) == 1.0  # every member has the lower loss
    assert privacy.attack_auc([0.3, 0.4], [0.1, 0.2]) == 0.0
    assert privacy.attack_auc([0.1, 0.3], [0.2, 0.4]) == 0.75


def test_membership_auc_interval_covers_half_without_a_leak_and_not_with_one():
    rng = np.random.default_rng(0)
    losses = rng.exponential(1, 300)
    same = privacy.membership_auc(losses, losses.copy(), resamples=500)  # the same losses: the attack learns nothing
    assert same["mean"] == 0.5 and same["ci95"][0] < 0.5 < same["ci95"][1]
    leak = privacy.membership_auc(rng.exponential(0.3, 300), rng.exponential(1, 300), resamples=500)
    assert 0.5 < leak["ci95"][0] <= leak["mean"] <= leak["ci95"][1] <= 1
    with pytest.raises(ValueError, match="both members and non-members"):
        privacy.membership_auc([], [0.1])


def test_attack_auc_is_roc_auc_and_works_on_many_resamples_at_once():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    members, others = np.round(rng.exponential(0.5, 40), 1), np.round(rng.exponential(1, 60), 1)  # with ties
    truth = np.r_[np.ones(40), np.zeros(60)]
    assert privacy.attack_auc(members, others) == pytest.approx(roc_auc_score(truth, -np.r_[members, others]))
    many = privacy.attack_auc(np.stack([members, members[::-1]]), np.stack([others, others]))
    np.testing.assert_allclose(many, privacy.attack_auc(members, others))
