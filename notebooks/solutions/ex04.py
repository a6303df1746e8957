"""Solutions to the exercises of notebook 04 (learning curves)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from lessons import time_and_cost
from tltf import curves, models, train
from tltf.cache import ActivationCache


def normalisation_gain(
    cache: ActivationCache, per_class: Iterable[int], *, seeds: Iterable[int] = (0, 1, 2), epochs: int = 100
) -> dict[int, tuple[float, float]]:
    """Exercise 1: per point, mean validation accuracy over seeds of (plain head at rate 1e-3,
    normalised head at rate 1e-2), both trained on the cache's features (all views)
    for at most ``epochs``, with early stopping on the validation loss."""
    x, y_all = cache.features["train"], cache.labels("train")
    val = (cache.features["val"], cache.labels("val"))
    result = {}
    for k in per_class:
        scores: dict[bool, list[float]] = {False: [], True: []}
        for seed in seeds:
            rows = cache.subset(k, seed)
            views = cache.view_rows(rows)
            for normalize, rate in ((False, 1e-3), (True, 1e-2)):
                train.seed_everything(seed)
                head = models.make_head(x.shape[1], cache.num_classes, normalize=normalize)
                train.train_head(
                    head,
                    (x[views], np.tile(y_all[rows], cache.views)),
                    val,
                    epochs=epochs,
                    learning_rate=rate,
                    patience=10,
                )
                scores[normalize].append(train.accuracy(head, *val))
        result[k] = (round(float(np.mean(scores[False])), 4), round(float(np.mean(scores[True])), 4))
    return result


def grid_cost(
    runs: Sequence[curves.Run],
    prep_seconds: Mapping[str, float],
    *,
    cores: int,
    core_hour_usd: float,
    gpu_hour_usd: float,
) -> dict[str, dict[str, float]]:
    """Exercise 2: per approach, what all its runs plus its preparation cost (``time_and_cost.cost``)."""
    seconds: dict[str, float] = {}
    for run in runs:
        seconds[run.approach] = seconds.get(run.approach, prep_seconds.get(run.approach, 0.0)) + run.seconds
    return {
        approach: time_and_cost.cost(s, cores=cores, core_hour_usd=core_hour_usd, gpu_hour_usd=gpu_hour_usd)
        for approach, s in seconds.items()
    }


def diminishing_returns(summary: Sequence[Mapping], approach: str, *, threshold: float = 0.01) -> int | None:
    """Exercise 3: the first point (photos per class) after which the next point adds less than
    ``threshold`` mean test accuracy for ``approach`` (None if every step adds more)."""
    rows = sorted((r for r in summary if r["approach"] == approach), key=lambda r: r["per_class"])
    return next((a["per_class"] for a, b in itertools.pairwise(rows) if b["mean"] - a["mean"] < threshold), None)
