"""What a trained model reveals about its training images: the loss-threshold membership-inference attack
(Yeom et al., CSF 2018). A model fits the images it was trained on better than new ones, so an attacker who
sees an image's loss can guess whether it was in the training set. The attack's ROC AUC over every threshold
says how well: 0.5 means the losses reveal nothing, 1.0 that they give every member away.

Losses are per-image cross-entropies (``tltf.mistakes.losses``): members (training images) and non-members
(held-out images the model never saw).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def attack_auc(member_losses, nonmember_losses, axis: int = -1):
    """ROC AUC, in [0, 1], of calling an image a member when its loss is low: the share of (member,
    non-member) pairs in which the member's loss is lower, ties counting half (Mann-Whitney's U over the
    product of the sizes). Along ``axis``, so that the bootstrap can pass many resamples at once."""
    members, others = np.asarray(member_losses, float), np.asarray(nonmember_losses, float)
    u = stats.mannwhitneyu(others, members, axis=axis, method="asymptotic").statistic
    return u / (members.shape[axis] * others.shape[axis])


def membership_auc(member_losses, nonmember_losses, *, seed: int = 0, resamples: int = 2000) -> dict:
    """``{"mean", "ci95"}``: ``attack_auc`` and its 95 % bootstrap interval (``scipy.stats.bootstrap``, the
    members and the non-members resampled each on their own, percentile method), within [0, 1]. Raises
    ValueError when a group is empty."""
    members, others = np.asarray(member_losses, float), np.asarray(nonmember_losses, float)
    if not len(members) or not len(others):
        raise ValueError("membership inference needs losses of both members and non-members")
    result = stats.bootstrap(
        (members, others),
        attack_auc,
        paired=False,
        vectorized=True,
        n_resamples=resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return {
        "mean": round(float(attack_auc(members, others)), 4),
        "ci95": [round(float(interval.low), 4), round(float(interval.high), 4)],
    }
