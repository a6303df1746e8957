"""Recall@k and NDCG@k per user: a hand-made case, and the means Keras-RS gives."""

import numpy as np
import pytest

from tltf.recommend import ranking_metrics


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
