"""Recommendation plumbing: ranking quality per user, for intervals over users.

Keras-RS's ``RecallAtK`` and ``NDCG`` metrics give the mean over users only; an interval over users (a
bootstrap) needs each user's value, so ``ranking_metrics`` computes them with ``keras.ops.top_k``, by the
same definitions (binary relevance; NDCG's gain 1 / log2(rank + 1), ideal ranking cut at k). A test
checks them against Keras-RS's means, which count a user with nothing to find as a 0 (so: their sum over
every user, where ``ranking_metrics`` keeps only the users with something to find).
"""

from __future__ import annotations

import keras
import numpy as np


def ranking_metrics(
    scores: np.ndarray, relevant: np.ndarray, allowed: np.ndarray | None = None, k: int = 10, seed: int = 0
) -> dict:
    """Recall@k and NDCG@k per user.

    ``scores`` (users, items) float: higher ranks first. ``relevant`` (users, items) bool: the items each
    user should find. ``allowed`` (users, items) bool, optional: the candidates (for example, not the
    movies a user rated in training); the others are never recommended. Equal scores are ranked in a
    seeded random order drawn for each user (as Keras-RS shuffles ties), so a model that cannot tell
    items apart scores as chance, not by the items' order. Returns ``{"recall", "ndcg"}``, each (n,) in
    [0, 1] over the n users with at least one relevant allowed item, and ``"users"``, their row indices.
    Raises ValueError for shapes that differ or NaN scores.
    """
    scores, relevant = np.asarray(scores, "float32"), np.asarray(relevant, bool)
    allowed = np.ones_like(relevant) if allowed is None else np.asarray(allowed, bool)
    if scores.ndim != 2 or not scores.shape == relevant.shape == allowed.shape:
        raise ValueError(
            "scores, relevant and allowed must be (users, items) of one shape; "
            f"got {scores.shape}, {relevant.shape}, {allowed.shape}."
        )
    if np.isnan(scores).any():
        raise ValueError("scores hold NaN: the model's output is broken (check its training loss).")
    relevant, scores = relevant & allowed, np.where(allowed, scores, -np.inf)
    users = np.flatnonzero(relevant.any(axis=1))
    # each user's items in their own random order: top_k takes the first of equal scores, so ties break at random
    shuffled = np.random.default_rng(seed).random((len(users), scores.shape[1])).argsort(axis=1)
    scores = np.take_along_axis(scores[users], shuffled, axis=1)
    relevant = np.take_along_axis(relevant[users], shuffled, axis=1)
    top = np.asarray(keras.ops.top_k(scores, k=min(k, scores.shape[1]))[1])
    hits = np.take_along_axis(relevant, top, axis=1)  # (n, k): is the item at rank r relevant?
    discount = 1 / np.log2(np.arange(2, top.shape[1] + 2))
    counts = relevant.sum(axis=1)
    ideal = np.cumsum(discount)[np.minimum(counts, top.shape[1]) - 1]
    return {"recall": hits.sum(axis=1) / counts, "ndcg": (hits * discount).sum(axis=1) / ideal, "users": users}
