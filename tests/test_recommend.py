"""Recall@k and NDCG@k per user (a hand-made case, and the means Keras-RS gives), intervals over users, the
two-tower model and what a genre shift asks."""

import keras
import numpy as np
import pandas as pd
import pytest

from tltf.data import GenreShift
from tltf.recommend import grid, item_prior, pairs, ranking_metrics, shift_task, summarise, two_tower


def test_a_hand_made_ranking():
    scores = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]])
    relevant = np.array([[0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    found = ranking_metrics(scores, relevant, k=2)
    assert found["users"].tolist() == [0, 1]  # the third has nothing to find
    np.testing.assert_allclose(found["recall"], [0.5, 0.0])
    # user 0: the relevant item at rank 2 (gain 1 / log2(3)); the ideal puts two at ranks 1 and 2
    np.testing.assert_allclose(found["ndcg"], [(1 / np.log2(3)) / (1 + 1 / np.log2(3)), 0.0])


def test_items_not_allowed_are_never_recommended():
    scores = np.array([[0.9, 0.8, 0.1]])
    relevant = np.array([[1, 0, 1]], bool)
    found = ranking_metrics(scores, relevant, allowed=np.array([[False, True, True]]), k=1)
    np.testing.assert_allclose(found["recall"], [0.0])  # item 2 ranks after item 1; item 0 is no candidate
    found = ranking_metrics(scores, relevant, allowed=np.array([[False, False, True]]), k=1)
    np.testing.assert_allclose(found["recall"], [1.0])


def test_ties_are_broken_at_random_for_each_user_not_by_position():
    relevant = np.zeros((200, 100), bool)
    relevant[:, :10] = True  # the first ten items: a tie broken by position would find them all
    recalls = ranking_metrics(np.zeros((200, 100)), relevant)["recall"]
    assert recalls.mean() == pytest.approx(0.1, abs=0.03)  # chance: 10 of 100 items
    assert recalls.std() > 0  # one order shared by all users would give each the same recall


@pytest.mark.parametrize("k", [1, 5, 10])
def test_the_means_are_keras_rs_metrics(k):
    keras_rs = pytest.importorskip("keras_rs")
    rng = np.random.default_rng(k)
    scores = rng.normal(size=(40, 30)).astype("float32")
    relevant = rng.random((40, 30)) < 0.15
    relevant[0] = False  # a user with nothing to find
    allowed = rng.random((40, 30)) < 0.8
    found = ranking_metrics(scores, relevant, allowed, k=k)
    labels = {"labels": (relevant & allowed).astype("float32"), "mask": allowed}
    for ours, metric in (("recall", keras_rs.metrics.RecallAtK(k=k)), ("ndcg", keras_rs.metrics.NDCG(k=k))):
        metric.update_state(labels, scores)
        # Keras-RS counts a user with nothing to find as a 0 in its mean; ranking_metrics leaves them out
        assert np.sum(found[ours]) / len(scores) == pytest.approx(float(metric.result()), abs=1e-5), ours


def test_shapes_must_agree_and_scores_be_numbers():
    with pytest.raises(ValueError, match="one shape"):
        ranking_metrics(np.zeros((2, 3)), np.zeros((2, 4), bool))
    with pytest.raises(ValueError, match="one shape"):
        ranking_metrics(np.zeros((2, 3)), np.zeros((2, 3), bool), allowed=np.ones((1, 3), bool))
    with pytest.raises(ValueError, match="NaN"):
        ranking_metrics(np.full((2, 3), np.nan), np.ones((2, 3), bool))


def _runs(values_per_run, users=(0, 1, 2, 3)):
    return [{"recall": np.asarray(v, float), "users": np.asarray(users)} for v in values_per_run]


def test_a_summary_over_users_and_seeds_and_a_paired_difference():
    a = _runs([[1, 0.5, 1, 0.5], [1, 0.5, 0.5, 0.5]])
    b = _runs([[0.5, 0, 0.5, 0], [0.5, 0.25, 0, 0]])
    found = summarise(a)
    assert found["mean"] == pytest.approx(0.6875) and found["values"] == [0.75, 0.625]
    assert found["ci95"][0] <= found["mean"] <= found["ci95"][1]
    difference = summarise(a, minus=b)
    assert difference["mean"] == pytest.approx(0.46875, abs=1e-4) and difference["ci95"][0] > 0  # every user gains
    with pytest.raises(ValueError, match="different users"):
        summarise(a, minus=_runs([[0, 0, 0, 0]] * 2, users=(0, 1, 2, 4)))


def test_item_prior_counts_every_item_once_more():
    prior = item_prior(np.array([0, 0, 1]), 4)
    np.testing.assert_allclose(prior, [3 / 7, 2 / 7, 1 / 7, 1 / 7], rtol=1e-6)


def _toy_two_tower(**kwargs):
    """8 users in two groups of 4, each liking their own 4 of 8 items (every pair a positive)."""
    users, items = np.meshgrid(np.arange(8), np.arange(4), indexing="ij")
    items = items + 4 * (users >= 4)
    users, items = users.ravel(), items.ravel()
    tower = two_tower(8, 8, item_prior(items, 8), dim=8, hidden=16, **kwargs)
    return tower, users, items


def test_a_two_tower_model_learns_who_likes_what():
    keras.utils.set_random_seed(0)
    tower, users, items = _toy_two_tower(known=np.ones(8, bool), learning_rate=3e-2)
    batches = pairs(users, items, batch_size=8, seed=0)
    (first_users, _), labels = next(iter(batches))
    assert first_users.shape == (8,) and labels.numpy().tolist() == list(range(8))
    tower.model.fit(batches, epochs=30, verbose=0)
    scores = tower.scores(8, 8)
    liked = np.zeros((8, 8), bool)
    liked[users, items] = True
    assert scores[liked].min() > scores[~liked].max()  # every liked item above every other
    np.testing.assert_allclose(np.linalg.norm(tower.items.predict(np.arange(8), verbose=0), axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(
        tower.scores(8, 8, prior=True) - scores, np.broadcast_to(tower.log_prior, (8, 8)), rtol=1e-5
    )


def test_unknown_items_share_one_untrained_row_and_features_tell_them_apart():
    known = np.arange(8) < 6
    tower, users, items = _toy_two_tower(known=known)
    before = tower.items.predict(np.arange(8), verbose=0)
    keep = items < 6  # training pairs of known items only
    tower.model.fit(pairs(users[keep], items[keep], batch_size=8), epochs=3, verbose=0)
    ids_only = tower.items.predict(np.arange(8), verbose=0)
    np.testing.assert_array_equal(ids_only[6], ids_only[7])  # items 6 and 7 look alike without features
    np.testing.assert_array_equal(ids_only[6], before[6])  # and no training pair moved their row
    assert not np.allclose(ids_only[5], before[5])
    features = np.eye(8, dtype="float32")
    both = _toy_two_tower(known=known, features=features)[0].items.predict(np.arange(8), verbose=0)
    assert not np.allclose(both[6], both[7])
    with pytest.raises(ValueError, match="something to read"):
        two_tower(2, 2, np.full(2, 0.5))


def rows(*pairs) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["user", "movie"])


def test_a_genre_shift_task_asks_only_about_movies_not_yet_rated():
    users, items = pd.Index([1, 2]), pd.Index([10, 11, 12, 13])
    shift = GenreShift(
        source=rows((1, 10)),
        target_train=rows((1, 11), (2, 11)),
        target_test=rows((1, 13)),
        new_users=np.array([1]),
        target_movies=np.array([11, 12, 13]),
        seen=rows((1, 10), (1, 11), (1, 12), (2, 11)),  # user 1 had rated 12 too, below 4 or unused
    )
    task = shift_task(shift, users, items)
    assert task["source"][0].tolist() == [0] and task["target"][1].tolist() == [1, 1]
    assert task["relevant"].tolist() == [[False, False, False, True], [False, False, False, False]]
    assert task["allowed"].tolist() == [[False, False, False, True], [False, False, True, True]]
    with pytest.raises(ValueError, match="not in the index"):
        grid(rows((3, 10)), users, items)
