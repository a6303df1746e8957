"""Solutions to the exercises of notebook 05 (text)."""

from __future__ import annotations

import time
from collections.abc import Iterable

import keras
import numpy as np

from lessons import domain_shift
from tltf import data, text, train


def best_ngram_range(
    splits: data.Splits, ranges: Iterable[tuple[int, int]] = ((1, 1), (1, 2), (1, 3))
) -> tuple[dict[tuple[int, int], float], tuple[int, int]]:
    """Exercise 1: validation accuracy of the TF-IDF baseline (C chosen on validation) for each
    ``ngram_range``, and the best range."""
    scores = {}
    for ngrams in ranges:
        pipeline, _ = text.tfidf_baseline(splits.train, splits.val, ngram_range=ngrams)
        scores[ngrams] = round(pipeline.score(list(splits.val.texts), splits.val.labels), 4)
    return scores, max(scores, key=scores.get)


def truncation_cost(
    head: keras.Model,
    preprocessor,
    encoder: keras.Model,
    sentences: data.Examples,
    lengths: Iterable[int] = (8, 16, 32, 128),
) -> dict[int, tuple[float, float]]:
    """Exercise 2: for each ``sequence_length``, (accuracy of ``head``, seconds to embed) on ``sentences``
    embedded with every sentence cut to that many tokens (padded to it, as the preprocessor does).
    The preprocessor's own length is restored afterwards."""
    original = preprocessor.sequence_length
    result = {}
    try:
        for length in lengths:
            preprocessor.sequence_length = length
            start = time.perf_counter()
            features = text.embed(sentences.texts, preprocessor, encoder, padded=False)
            seconds = time.perf_counter() - start
            result[length] = (round(train.accuracy(head, features, sentences.labels), 4), round(seconds, 2))
    finally:
        preprocessor.sequence_length = original
    return result


def target_sentences_needed(
    features: dict[str, np.ndarray],
    splits: data.Splits,
    source: str,
    target: str,
    ks: Iterable[int],
    *,
    tolerance: float = 0.02,
) -> int | None:
    """Exercise 3: the smallest k in ``ks`` for which a frozen head trained on ``source``'s training
    sentences plus k (balanced, seeded) of ``target``'s reaches the in-domain head's validation accuracy
    on ``target`` minus ``tolerance``; None if no k does. ``features[split]`` are aligned with
    ``splits``' sentences."""
    curve, in_domain = domain_shift.gap_curve(features, splits, source, target, sorted(ks), score_on="val")
    return next((k for k, acc in curve.items() if acc >= in_domain - tolerance), None)
