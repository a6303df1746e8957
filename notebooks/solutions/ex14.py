"""Solutions to the exercises of notebook 14 (recommendation)."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from tltf import data, recommend


def texts_on_day_one(movies: pd.DataFrame) -> list[str]:
    """1. The movie texts without tags ("Title (year). Genres: a, b."): what a new movie has before anyone tags it."""
    return data.movie_texts(movies, pd.DataFrame({"movie": [], "tag": []}))


def every_rating(train: pd.DataFrame, users: pd.Index, movies: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """2. Every training rating as a (user row, movie row) pair, whatever its stars: the IDs model then learns
    what people *watch*, low ratings included, which is not the same as what they like."""
    return users.get_indexer(train.user), movies.get_indexer(train.movie)


def uniform_prior(n_items: int) -> np.ndarray:
    """3. The same share for every movie: the logQ correction then subtracts one constant from every logit,
    which changes no softmax, so the model trains as if uncorrected."""
    return np.full(n_items, 1 / n_items, "float32")


def target_gain(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    target: set[str],
    k: int,
    *,
    seed: int = 0,
    epochs: int = 10,
    batch_size: int = 512,
) -> dict:
    """4. Section 8 for another ``target`` genre group at one ``k``: the ID two-tower model trained on the source
    then the target, and on the target only. Returns each one's ``ranking_metrics`` on the new users' later
    target positives (``"pretrained"``, ``"scratch"``) and ``"gain"``, their paired difference in recall@10."""
    users, items = pd.Index(np.sort(ratings.user.unique())), pd.Index(movies.movie)
    shift = data.genre_shift(ratings, movies, target, k, seed=seed)
    source = users.get_indexer(shift.source.user), items.get_indexer(shift.source.movie)
    train = users.get_indexer(shift.target_train.user), items.get_indexer(shift.target_train.movie)
    prior = recommend.item_prior(np.concatenate([source[1], train[1]]), len(items))
    relevant = np.zeros((len(users), len(items)), bool)
    relevant[users.get_indexer(shift.target_test.user), items.get_indexer(shift.target_test.movie)] = True
    allowed = np.broadcast_to(items.isin(shift.target_movies)[None], relevant.shape).copy()
    allowed[train] = False
    found = {}
    for arm in ("pretrained", "scratch"):
        keras.utils.set_random_seed(seed)
        tower = recommend.two_tower(len(users), len(items), prior, known=np.ones(len(items), bool))
        stages = (source, train) if arm == "pretrained" else (train,)
        for pairs in stages:
            tower.model.fit(recommend.pairs(*pairs, batch_size=batch_size, seed=seed), epochs=epochs, verbose=0)
        scores = tower.scores(len(users), len(items), prior=True)
        found[arm] = recommend.ranking_metrics(scores, relevant, allowed, seed=seed)
    found["gain"] = recommend.summarise([found["pretrained"]], minus=[found["scratch"]])
    return found
