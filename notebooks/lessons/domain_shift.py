"""Notebook 05's domain-shift experiments: train on one review domain, test on every domain, and
close the gap with a few labelled sentences of the target domain."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd

from tltf import recorded, text, train
from tltf.data import SENTIMENT_FILES, per_class_index
from tltf.tables import RECORDS, Table, measures

#: Labelled target-domain sentences added to a source domain's training set (``gap_curve``); quick mode.
GAP_KS, QUICK_GAP_KS = (0, 10, 26, 50, 100, 200, 300, 600), (0, 6, 16, 48)


def frozen_recipe(features: dict[str, np.ndarray], splits, *, seed: int = 0):
    """``train_on`` for ``domain_matrix``: a ``frozen_head`` on cached features of ``splits``
    (``features[split]`` aligned with its sentences)."""

    def train_on(source: str):
        def rows(split: str, domain: str) -> np.ndarray:
            return getattr(splits, split).domains == domain

        head = text.frozen_head(
            *((features[n][rows(n, source)], getattr(splits, n).labels[rows(n, source)]) for n in ("train", "val")),
            seed=seed,
        )
        return lambda target: train.accuracy(
            head, features["test"][rows("test", target)], splits.test.labels[rows("test", target)]
        )

    return train_on


def fine_tuned_recipe(splits, *, epochs: int = text.FINE_TUNE_EPOCHS, seed: int = 0):
    """``train_on`` for ``domain_matrix``: a fresh MiniLM, a ``frozen_head`` on its features (stage 1),
    then ``fine_tune`` of everything (stage 2), on one domain of ``splits``."""

    def train_on(source: str):
        domain = splits.where(domains=source)
        preprocessor, encoder = text.load_minilm()
        pooler = text.layer_pooler(encoder, text.FROZEN_LAYERS)
        pooler.trainable = False
        head = text.frozen_head(
            *((text.embed(s.texts, preprocessor, pooler), s.labels) for s in (domain.train, domain.val)), seed=seed
        )
        model = keras.Model(pooler.input, head(pooler.output))
        text.fine_tune(model, preprocessor, domain.train, domain.val, epochs=epochs, seed=seed)
        return lambda target: text.accuracy(model, preprocessor, splits.test.where(domains=target))

    return train_on


def domain_matrix(train_on, sources=tuple(SENTIMENT_FILES)) -> dict[str, dict[str, float]]:
    """``matrix[source][target]``: accuracy on ``target``'s test sentences of a model trained on ``source``.

    ``train_on(source)`` trains on that domain's train split (its validation split for choices) and
    returns a function mapping a target domain's name to the test accuracy there. One row per
    domain in ``sources``, one column per domain.
    """
    matrix = {}
    for source in sources:
        score = train_on(source)
        matrix[source] = {target: round(score(target), 4) for target in SENTIMENT_FILES}
    return matrix


def matrix_beside(mine: dict[str, dict[str, float]], kind: str, *, records_dir: Path = RECORDS) -> pd.DataFrame:
    """A domain grid of this run beside the recorded study's, each row labelled.

    Rows are (trained on, run): "your run (MODE)" for each source domain in ``mine`` (a
    ``domain_matrix``), then "recorded study" with the record's ``KIND_SOURCE_TARGET_mean`` of
    ``records_dir/text.json`` for each source it holds (``kind`` is "frozen" or "finetuned"); one column
    per tested domain. A source that this mode skipped appears from the record only. Reads only.
    """
    stored = recorded.study("text", records_dir)
    rows = {}
    for source in SENTIMENT_FILES:
        if source in mine:
            rows[(source, recorded.yours())] = [mine[source][t] for t in SENTIMENT_FILES]
        cells = [stored.get(f"{kind}_{source}_{t}_mean") for t in SENTIMENT_FILES]
        if any(c is not None for c in cells):
            rows[(source, "recorded study")] = cells
    if not rows:  # no source in this run and none in the record
        return pd.DataFrame(columns=list(SENTIMENT_FILES), dtype=float)
    index = pd.MultiIndex.from_tuples(list(rows), names=["trained on", "run"])
    table = pd.DataFrame(list(rows.values()), index=index, columns=list(SENTIMENT_FILES), dtype=float)
    table.columns.name = "tested on"
    return table


def source_plus_target(splits, source: str, target: str, k: int, *, seed: int = 0) -> np.ndarray:
    """Training-split positions of every ``source`` sentence plus ``k`` of ``target``'s (k // 2 per
    label, drawn with ``seed``): a source-domain training set with a little labelled target data."""
    target_rows = np.flatnonzero(splits.train.domains == target)
    extra = target_rows[per_class_index(splits.train.labels[target_rows], k // 2, seed)] if k >= 2 else []
    return np.concatenate([np.flatnonzero(splits.train.domains == source), extra]).astype(int)


def gap_curve(
    features: dict[str, np.ndarray], splits, source: str, target: str, ks, *, score_on: str = "test"
) -> tuple[dict[int, float], float]:
    """Closing a domain gap with frozen features: ({k: accuracy}, in-domain accuracy).

    For each k, a ``frozen_head`` trained on ``source_plus_target(splits, source, target, k)``; the
    in-domain head is trained on ``target``'s own training sentences. All are scored on ``target``'s
    sentences of the ``score_on`` split; the target's validation sentences pick the epochs.
    ``features[split]`` are aligned with ``splits``' sentences.
    """
    y = {name: getattr(splits, name).labels for name in ("train", "val", score_on)}
    val_rows = splits.val.domains == target
    val = (features["val"][val_rows], y["val"][val_rows])
    rows = getattr(splits, score_on).domains == target

    def score(use: np.ndarray) -> float:
        head = text.frozen_head((features["train"][use], y["train"][use]), val)
        return round(train.accuracy(head, features[score_on][rows], y[score_on][rows]), 4)

    curve = {k: score(source_plus_target(splits, source, target, k)) for k in ks}
    return curve, score(np.flatnonzero(splits.train.domains == target))


def domain_label(domain: str) -> str:
    """How the README writes a review domain of ``SENTIMENT_FILES``: Amazon, IMDb, Yelp."""
    return {"imdb": "IMDb"}.get(domain, domain.title())


#: The README's tables of this lesson's benchmark (``python -m tltf.bench text``), rendered by ``tltf.tables``.
README_TABLES: list[Table] = [
    measures(
        (
            "TF-IDF (1-2-grams) + logistic regression, C = {tfidf_c} chosen on validation",
            "acc_tfidf_logistic_regression",
            3,
        ),
        ("GloVe 50-d mean of word vectors + Dense, frozen", "acc_glove_frozen", 3),
        ("GloVe, trainable", "acc_glove_trainable", 3),
        ("MiniLM frozen, head on its sentence embedding (last layer)", "acc_minilm_frozen_last_layer", 3),
        ("MiniLM frozen, head on the mean-pooled last 3 layers (seed 0)", "acc_minilm_frozen_last_3_layers", 3),
        ("MiniLM fine-tuned end to end from that head (seed 0)", "acc_minilm_finetuned", 3),
        ("MiniLM frozen, last 3 layers, mean over seeds {seeds}", "encoder_frozen_acc", 3),
        ("MiniLM fine-tuned, mean over the same seeds", "encoder_finetuned_acc", 3),
        ("gain of fine-tuning, paired over seeds, points", "finetuning_gain_points", 1),
        ("seconds to embed 200 sentences: all padded to 128 tokens", "embed_200_fixed_s", 1),
        ("seconds to embed 200 sentences: batches padded to their longest sentence", "embed_200_padded_s", 1),
    ),
    *(
        Table(
            [
                (domain_label(source), tuple(f"{kind}_{source}_{target}" for target in SENTIMENT_FILES), 3)
                for source in SENTIMENT_FILES
            ],
            (f"{title}: trained on (rows), tested on (columns)", *map(domain_label, SENTIMENT_FILES)),
        )
        for kind, title in (("frozen", "domain shift, MiniLM frozen"), ("finetuned", "domain shift, MiniLM fine-tuned"))
    ),
    measures(
        *(
            (
                f"{{gap_source}} + {k} labelled {{gap_target}} sentences, tested on {{gap_target}} (frozen)",
                f"gap_k{k}",
                3,
            )
            for k in GAP_KS
        ),
        ("{gap_target} alone", "gap_in_domain", 3),
    ),
]
