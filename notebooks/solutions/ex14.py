"""Solutions to the exercises of notebook 14 (recommendation)."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from tltf import data, recommend


def texts_with_every_tag(movies: pd.DataFrame, tags: pd.DataFrame) -> list[str]:
    """1. The movie texts with every tag, also those written during their author's test period. A tag written
    after a rating often names what the rater thought of the movie: the cold recall it buys is a leak from the
    future, gone once the model meets a movie that nobody has tagged yet."""
    return data.movie_texts(movies, tags)


def every_rating(split: data.RatingSplit, users: pd.Index, items: pd.Index) -> dict:
    """2. Training pairs from every training rating, whatever its stars, and the prior recomputed from them
    (the logQ correction must use the shares of the pairs the model sees). The model then learns what people
    *watch*, low ratings included: warm recall@10 of the positives usually falls, since it now also proposes
    what people rate but do not like."""
    user_rows, item_rows = recommend.positions(split.train, users, items)
    return {"users": user_rows, "movies": item_rows, "prior": recommend.item_prior(item_rows, len(items))}


def uniform_prior(n_items: int) -> np.ndarray:
    """3. The same share for every movie: the logQ correction then subtracts one constant from every logit,
    which changes no softmax, so the model trains as if uncorrected (popular movies pushed down)."""
    return np.full(n_items, 1 / n_items, "float32")


def with_real_prior(tower: recommend.TwoTower, prior: np.ndarray, n_users: int) -> np.ndarray:
    """3. A model's scores (trained with any prior) plus the log of the real ``prior`` (n_items,): the
    popularity term added back at ranking time. ``tower.scores(prior=True)`` would add the prior it was
    trained with, a constant for ``uniform_prior``."""
    return tower.scores(n_users, len(prior)) + np.log(prior)[None, :]


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
    target positives (``"pretrained"``, ``"scratch"``), ``"gain"``, their paired difference in recall@10, and
    ``"new_users"``, the ids of the users scored."""
    users, items = pd.Index(np.sort(ratings.user.unique())), pd.Index(movies.movie)
    shift = data.genre_shift(ratings, movies, target, k, seed=seed)
    question = recommend.shift_task(shift, users, items)
    prior = recommend.item_prior(np.concatenate([question["source"][1], question["target"][1]]), len(items))
    found = {}
    for arm, stages in (("pretrained", ("source", "target")), ("scratch", ("target",))):
        keras.utils.set_random_seed(seed)
        tower = recommend.two_tower(len(users), len(items), prior, known=np.ones(len(items), bool))
        for stage in stages:
            batches = recommend.pairs(*question[stage], batch_size=batch_size, seed=seed)
            tower.model.fit(batches, epochs=epochs, verbose=0)
        scores = tower.scores(len(users), len(items), prior=True)
        found[arm] = recommend.ranking_metrics(scores, question["relevant"], question["allowed"], seed=seed)
    found["gain"] = recommend.summarise([found["pretrained"]], minus=[found["scratch"]])
    found["new_users"] = users[found["scratch"]["users"]].to_numpy()
    return found
