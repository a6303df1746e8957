"""Notebook 14's plumbing: the tables of warm and cold movies and of users new to a genre, the plot of recall
against k, two users side by side, the record's keys, and the README tables of ``benchmarks/recommendation.json``.

A run is ``tltf.recommend.ranking_metrics``'s dict for one seed: per-user recall@10 and NDCG@10 and the users'
row indices. Intervals come from ``tltf.recommend.summarise``: a bootstrap over users, each user's values under
every seed drawn together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import recommend, stats
from tltf.tables import Table, measures

#: The benchmark whose record this lesson shows beside its runs.
NAME = "recommendation"
#: The recommenders of sections 4 to 6, as the tables name them.
MODELS = {
    "popularity": "popularity (no model)",
    "ids": "two towers: movie IDs",
    "content": "two towers: MiniLM on the text",
    "content_ids": "two towers: MiniLM + movie IDs",
    "day_one": "two towers: MiniLM on title and genres",
    "genres": "two towers: genre list only",
}
#: The models that train (popularity only counts).
TRAINED = [m for m in MODELS if m != "popularity"]
#: Paired comparisons on cold movies: (a, b, part) for a minus b.
COMPARED = [
    ("content", "popularity", "cold"),
    ("content", "genres", "cold"),
    ("content", "day_one", "cold"),
    ("content_ids", "content", "cold"),
]
PARTS = {"warm": "warm movies", "cold": "cold movies (no rating in training)"}
#: The two ways of training the users of section 8.
ARMS = {"pretrained": "source genres, then target", "scratch": "target only", "popularity": "popularity"}
METRICS = {"recall": "recall10", "ndcg": "ndcg10"}


def model_results(runs: Mapping[tuple[str, str], Sequence[dict]]) -> dict:
    """Record key -> interval: ``recall10_<model>_<part>`` and ``ndcg10_<model>_<part>`` for every
    ``runs[model, part]`` (one ``ranking_metrics`` dict per seed)."""
    return {
        f"{prefix}_{model}_{part}": recommend.summarise(seeds, metric)
        for (model, part), seeds in runs.items()
        for metric, prefix in METRICS.items()
    }


def model_table(results: Mapping[str, dict]) -> pd.DataFrame:
    """Model -> recall@10 and NDCG@10 on warm and on cold movies, each "mean (95 % interval)"."""
    rows = {}
    for model, label in MODELS.items():
        rows[label] = {
            f"{name} {PARTS[part].split(' (')[0]}": stats.format_interval(results[f"{prefix}_{model}_{part}"])
            for part in PARTS
            for name, prefix in (("recall@10", "recall10"), ("NDCG@10", "ndcg10"))
            if f"{prefix}_{model}_{part}" in results
        }
    return pd.DataFrame(rows).T


def differences(runs: Mapping[tuple[str, str], Sequence[dict]], pairs: Sequence[tuple[str, str, str]]) -> dict:
    """Record key ``<a>_minus_<b>_<part>_recall10`` -> the paired difference of recall@10, user by user,
    for each (a, b, part) of ``pairs``."""
    return {
        f"{a}_minus_{b}_{part}_recall10": recommend.summarise(runs[a, part], minus=runs[b, part])
        for a, b, part in pairs
    }


def domain_results(runs: Mapping[tuple[str, int], Sequence[dict]]) -> dict:
    """``domain_recall10_<arm>_<k>`` for every ``runs[arm, k]``, and ``domain_recall10_pretrained_minus_<other>_<k>``
    (paired user by user) against the scratch and popularity arms, for every k."""
    found = {f"domain_recall10_{arm}_{k}": recommend.summarise(seeds) for (arm, k), seeds in runs.items()}
    for k in sorted({k for _, k in runs}):
        for other in ("scratch", "popularity"):
            found[f"domain_recall10_pretrained_minus_{other}_{k}"] = recommend.summarise(
                runs["pretrained", k], minus=runs[other, k]
            )
    return found


def domain_table(results: Mapping[str, dict], shots: Sequence[int]) -> pd.DataFrame:
    """Way of training -> recall@10 on the target genre at each k, and the paired gain of pre-training."""
    rows = {
        label: {f"k = {k}": stats.format_interval(results[f"domain_recall10_{arm}_{k}"]) for k in shots}
        for arm, label in ARMS.items()
    }
    for other, label in (("scratch", "target only"), ("popularity", "popularity")):
        rows[f"source, then target, minus {label}"] = {
            f"k = {k}": stats.format_interval(results[f"domain_recall10_pretrained_minus_{other}_{k}"]) for k in shots
        }
    return pd.DataFrame(rows).T


def domain_plot(results: Mapping[str, dict], shots: Sequence[int]) -> None:
    """Recall@10 on the target genre (with its interval) against k, one line per way of training."""
    _, ax = plt.subplots(figsize=(5.5, 3.5))
    for arm, label in ARMS.items():
        points = [results[f"domain_recall10_{arm}_{k}"] for k in shots]
        ax.plot(shots, [p["mean"] for p in points], marker="o", label=label)
        ax.fill_between(shots, [p["ci95"][0] for p in points], [p["ci95"][1] for p in points], alpha=0.2)
    ax.set(xlabel="k: the new users' target ratings in training", ylabel="recall@10 on the target", xticks=shots)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    plt.show()


def proposals(scores: np.ndarray, allowed: np.ndarray, hits: np.ndarray, titles: Sequence[str], n: int = 5) -> list:
    """The ``n`` best-scored allowed items of one user (``scores``, ``allowed``, ``hits`` (items,)), as titles,
    each marked "✓" when the user rated it 4 or more later (a hit)."""
    ranked = np.argsort(-np.where(allowed, scores, -np.inf), kind="stable")[:n]
    return [f"{'✓ ' if hits[i] else ''}{titles[i]}" for i in ranked]


def side_by_side(columns: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Lists of titles as columns of one table (a shorter list padded with blanks)."""
    longest = max(len(v) for v in columns.values())
    return pd.DataFrame({name: [*titles, *[""] * (longest - len(titles))] for name, titles in columns.items()})


def _models_rows(prefix: str) -> list:
    return [(label, tuple(f"{prefix}_{model}_{part}" for part in PARTS), 3) for model, label in MODELS.items()]


README_TABLES: list[Table] = [
    Table(_models_rows("recall10"), ("MovieLens, split by time (seeds x users)", "warm recall@10", "cold recall@10")),
    Table(_models_rows("ndcg10"), ("MovieLens, split by time (seeds x users)", "warm NDCG@10", "cold NDCG@10")),
    measures(
        ("MiniLM minus popularity, cold recall@10 (paired over users)", "content_minus_popularity_cold_recall10", 3),
        ("MiniLM minus genre list, cold recall@10 (paired)", "content_minus_genres_cold_recall10", 3),
        (
            "MiniLM with earlier tags minus title and genres only, cold recall@10 (paired)",
            "content_minus_day_one_cold_recall10",
            3,
        ),
        ("MiniLM + IDs minus MiniLM, cold recall@10 (paired)", "content_ids_minus_content_cold_recall10", 3),
    ),
    Table(
        [
            (label, tuple(f"domain_recall10_{arm}_{k}" for k in (1, 3, 10)), 3)
            for arm, label in [
                *ARMS.items(),
                ("pretrained_minus_scratch", "source, then target, minus target only (paired)"),
                ("pretrained_minus_popularity", "source, then target, minus popularity (paired)"),
            ]
        ],
        ("users new to a genre: target recall@10", "k = 1", "k = 3", "k = 10"),
    ),
]
