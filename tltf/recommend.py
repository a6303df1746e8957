"""Recommendation plumbing: ranking quality per user, for intervals over users.

Keras-RS's ``RecallAtK`` and ``NDCG`` metrics give the mean over users only; an interval over users (a
bootstrap) needs each user's value, so ``ranking_metrics`` computes them with ``keras.ops.top_k``, by the
same definitions (binary relevance; NDCG's gain 1 / log2(rank + 1), ideal ranking cut at k). A test
checks them against Keras-RS's means, which count a user with nothing to find as a 0 (so: their sum over
every user, where ``ranking_metrics`` keeps only the users with something to find).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tltf import stats


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


@dataclass(frozen=True)
class TwoTower:
    """A two-tower retrieval model: ``model`` trains on (user, item) index pairs, ``users`` and ``items``
    map indices to unit-length embeddings (dim,), and ``log_prior`` (items,) is the log of each item's
    share of the training positives (the logQ term; see ``two_tower``)."""

    model: keras.Model
    users: keras.Model
    items: keras.Model
    temperature: float
    log_prior: np.ndarray

    def scores(self, n_users: int, n_items: int, *, prior: bool = False) -> np.ndarray:
        """(n_users, n_items) float32: every user's score of every item (cosine / temperature), plus
        the item's log prior when ``prior`` (the popularity the logQ correction took out in training)."""
        users = self.users.predict(np.arange(n_users, dtype="int32"), batch_size=4096, verbose=0)
        items = self.items.predict(np.arange(n_items, dtype="int32"), batch_size=4096, verbose=0)
        scores = users @ items.T / self.temperature
        return scores + self.log_prior[None, :] if prior else scores


def positions(rows: pd.DataFrame, users: pd.Index, items: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(user rows, item rows) of a ratings table's ``user`` and ``movie`` columns in ``users`` and ``items``
    (-1 for an id that is not there)."""
    return users.get_indexer(rows.user), items.get_indexer(rows.movie)


def grid(rows: pd.DataFrame, users: pd.Index, items: pd.Index) -> np.ndarray:
    """(len(users), len(items)) bool: True where ``rows`` holds that user and movie. Raises ValueError
    for an id not in ``users`` or ``items``."""
    where = positions(rows, users, items)
    if (where[0] < 0).any() or (where[1] < 0).any():
        raise ValueError("Some rows name a user or movie that is not in the index: build the index from all ratings.")
    marked = np.zeros((len(users), len(items)), bool)
    marked[where] = True
    return marked


def shift_task(shift, users: pd.Index, items: pd.Index) -> dict:
    """What a ``tltf.data.GenreShift`` asks, as row numbers and grids: ``"source"`` and ``"target"``, the
    (user rows, item rows) of the training positives of each domain; ``"relevant"``, the new users' test
    positives; ``"allowed"``, for each user the target items they had not rated before their test (``seen``)."""
    seen = grid(shift.seen, users, items)
    return {
        "source": positions(shift.source, users, items),
        "target": positions(shift.target_train, users, items),
        "relevant": grid(shift.target_test, users, items),
        "allowed": items.isin(shift.target_movies)[None] & ~seen,
    }


def item_prior(items: np.ndarray, n_items: int) -> np.ndarray:
    """(n_items,) float32: each item's share of the training positives ``items`` (indices), counting
    one more for every item so that an item never seen has a small share, not zero."""
    counts = np.bincount(np.asarray(items), minlength=n_items) + 1.0
    return (counts / counts.sum()).astype("float32")


def two_tower(
    n_users: int,
    n_items: int,
    prior: np.ndarray,
    *,
    features: np.ndarray | None = None,
    known: np.ndarray | None = None,
    dim: int = 64,
    hidden: int = 256,
    temperature: float = 0.1,
    learning_rate: float = 3e-3,
) -> TwoTower:
    """A compiled two-tower model trained with in-batch negatives.

    User tower: an ID embedding. Item tower: ``features`` (n_items, f), a frozen table (for example a
    sentence encoder's embedding of each item's text), through Dense(hidden, relu) and Dense(dim);
    and/or, when ``known`` (n_items,) bool is given, an ID embedding learned for the known items only
    (an unknown item maps to one shared row that no training pair updates), added to the features'
    output. Both towers end in unit length. A batch of B (user, item) pairs gives (B, B) logits: each
    user against every item of the batch, the true pair on the diagonal (labels ``range(B)``, see
    ``pairs``). Popular items are more often someone else's in-batch negative; Keras-RS's
    ``SamplingProbabilityCorrection`` subtracts log ``prior`` (``item_prior``) from each logit so that
    the towers learn preference beyond popularity (the logQ correction). Adam, cross-entropy.
    """
    if features is None and known is None:
        raise ValueError("Give the item tower something to read: features, known (ID embeddings), or both.")
    import keras_rs

    user, item = keras.Input((), dtype="int32", name="user"), keras.Input((), dtype="int32", name="item")
    parts = []
    if features is not None:
        table = keras.layers.Embedding(
            n_items, features.shape[1], embeddings_initializer=keras.initializers.Constant(features), trainable=False
        )
        parts.append(keras.layers.Dense(dim)(keras.layers.Dense(hidden, activation="relu")(table(item))))
    if known is not None:
        lookup = keras.layers.IntegerLookup(vocabulary=np.flatnonzero(known).astype("int64"), num_oov_indices=1)
        parts.append(keras.layers.Embedding(int(np.sum(known)) + 1, dim)(lookup(item)))
    item_vector = keras.layers.UnitNormalization()(parts[0] if len(parts) == 1 else keras.layers.Add()(parts))
    user_vector = keras.layers.UnitNormalization()(keras.layers.Embedding(n_users, dim)(user))
    logits = keras.ops.matmul(user_vector, keras.ops.transpose(item_vector)) / temperature
    share = keras.layers.Embedding(
        n_items, 1, embeddings_initializer=keras.initializers.Constant(prior[:, None]), trainable=False
    )(item)
    probability = keras.ops.zeros_like(logits) + keras.ops.transpose(share)  # (B, B): each column's item
    logits = keras_rs.layers.SamplingProbabilityCorrection()(logits, probability)
    model = keras.Model([user, item], logits)
    model.compile(keras.optimizers.Adam(learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    towers = keras.Model(user, user_vector), keras.Model(item, item_vector)
    floor = keras_rs.layers.SamplingProbabilityCorrection().epsilon  # the correction's own floor, for ranking too
    return TwoTower(model, *towers, temperature, np.log(np.clip(prior, floor, 1)).astype("float32"))


def pairs(users: np.ndarray, items: np.ndarray, *, batch_size: int = 512, seed: int = 0) -> tf.data.Dataset:
    """Shuffled batches of (user, item) index pairs for ``TwoTower.model``: ``((users, items), range(B))``.
    Only full batches (a short last batch would have few negatives); the order is reshuffled every epoch."""
    data = tf.data.Dataset.from_tensor_slices((np.asarray(users, "int32"), np.asarray(items, "int32")))
    data = data.shuffle(len(users), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)
    return data.map(lambda u, i: ((u, i), tf.range(tf.shape(u)[0]))).prefetch(2)


def summarise(runs: list[dict], metric: str = "recall", *, minus: list[dict] | None = None, digits: int = 4) -> dict:
    """``{"mean", "ci95", "values"}`` of ``metric`` over the users of several runs (``ranking_metrics``
    results, one per seed): the mean over every (run, user), its interval by a bootstrap over users (a
    user's values in every run drawn together, ``tltf.stats.cluster_bootstrap``), and each run's mean.

    With ``minus`` (the runs of another model on the same users, in the same order), each user's value
    minus theirs: a paired difference. Raises ValueError when the runs' users differ.
    """
    values, users = [], []
    for i, run in enumerate(runs):
        value = np.asarray(run[metric], dtype=float)
        if minus is not None:
            if not np.array_equal(run["users"], minus[i]["users"]):
                raise ValueError(f"Run {i}: the two models were scored on different users; pair like with like.")
            value = value - np.asarray(minus[i][metric], dtype=float)
        values.append(value)
        users.append(run["users"])
    mean, (low, high) = stats.cluster_bootstrap(np.concatenate(values), np.concatenate(users))
    return {
        "mean": round(mean, digits),
        "ci95": [round(low, digits), round(high, digits)],
        "values": [round(float(v.mean()), digits) for v in values],
    }
