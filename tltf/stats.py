"""95 % intervals for accuracies, from scipy.stats: over folds or seeds, for one split, and paired.

Every headline number of the course is a mean with an interval. ``summary`` is what a notebook
records: ``{"mean": m, "ci95": [low, high], "values": [...]}``. A difference whose interval covers
zero is "not distinguishable here" (``verdict``). For a quantity that cannot leave a range (an
accuracy or an AUC lies in [0, 1]), pass ``bounds=(0, 1)``: the interval then stays inside it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

CONFIDENCE = 0.95


def mean_ci(
    values, confidence: float = CONFIDENCE, *, bounds: tuple[float, float] | None = None
) -> tuple[float, tuple[float, float] | None]:
    """Mean of ``values`` (one number per fold or seed) and its Student-t interval.

    The interval is ``None`` for a single value (nothing to estimate the spread from) and
    ``(mean, mean)`` when all values are equal. With ``bounds=(low, high)`` the values are a
    quantity that cannot leave that range, and the interval is cut to it: with 3 seeds a t interval
    can run past 1 (or 0), and the part beyond the bound holds no possible value. (A logit-scale
    interval was tried: near a bound, one seed at exactly 1.0 made it absurdly wide, 0.48 to 1.00 for
    seeds at 0.99, 1.0 and 0.99.) Raises ValueError for values outside ``bounds``.
    """
    values = np.asarray(values, dtype=float)
    if bounds is not None and (np.any(values < bounds[0]) or np.any(values > bounds[1])):
        raise ValueError(f"values outside their bounds {bounds}: {values.tolist()}")
    mean = float(values.mean())
    if len(values) < 2:
        return mean, None
    if np.all(values == values[0]):
        return mean, (mean, mean)
    low, high = stats.t.interval(confidence, df=len(values) - 1, loc=mean, scale=float(stats.sem(values)))
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return mean, (float(low), float(high))


def wilson(correct: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of an accuracy ``correct / n`` measured once, on one split of ``n`` items."""
    interval = stats.binomtest(int(correct), int(n)).proportion_ci(confidence, method="wilson")
    return float(interval.low), float(interval.high)


def paired_bootstrap(
    correct_a, correct_b, *, confidence: float = CONFIDENCE, seed: int = 0, resamples: int = 2000
) -> tuple[float, tuple[float, float]]:
    """Accuracy of A minus accuracy of B on the same test items (boolean arrays, one entry per item),
    with a paired bootstrap interval (``scipy.stats.bootstrap``, BCa, items resampled together)."""
    a, b = np.asarray(correct_a, dtype=float), np.asarray(correct_b, dtype=float)
    difference = a - b
    if np.all(difference == difference[0]):
        return float(difference[0]), (float(difference[0]), float(difference[0]))
    result = stats.bootstrap(
        (difference,),
        np.mean,
        confidence_level=confidence,
        n_resamples=resamples,
        random_state=np.random.default_rng(seed),
    )
    return float(difference.mean()), (float(result.confidence_interval.low), float(result.confidence_interval.high))


def cluster_bootstrap(
    values, clusters, *, confidence: float = CONFIDENCE, seed: int = 0, resamples: int = 2000
) -> tuple[float, tuple[float, float]]:
    """Mean of ``values`` (n,) with a bootstrap interval that resamples ``clusters`` (n,) whole: every value
    of a drawn cluster comes along (``scipy.stats.bootstrap``, BCa, on the clusters' sums and counts).

    For several runs measured on the same people (a user's recall under 3 seeds is one cluster of 3
    values), so that the interval speaks of new people, not of more runs of the same ones.
    """
    values = np.asarray(values, dtype=float)
    labels, index = np.unique(np.asarray(clusters), return_inverse=True)
    sums, counts = np.bincount(index, values), np.bincount(index).astype(float)
    mean = float(values.mean())
    if len(labels) < 2 or np.ptp(sums / counts) == 0:  # every cluster's mean the same: so is every resample's
        return mean, (mean, mean)
    result = stats.bootstrap(
        (sums, counts),
        lambda s, c, axis=-1: s.sum(axis=axis) / c.sum(axis=axis),
        paired=True,
        vectorized=True,
        confidence_level=confidence,
        n_resamples=resamples,
        random_state=np.random.default_rng(seed),
    )
    return mean, (float(result.confidence_interval.low), float(result.confidence_interval.high))


def summary(values, *, digits: int = 4, bounds: tuple[float, float] | None = None) -> dict:
    """``{"mean", "ci95", "values"}`` of per-fold or per-seed numbers, rounded; ``ci95`` is None for one value.

    Pass ``bounds=(0, 1)`` for accuracies, AUCs and other quantities that cannot leave [0, 1]
    (``(0, 100)`` in points): with few seeds the plain t interval can run past them (-0.13 to 1.26
    for an AUC over 3 seeds); the bounded one is cut to them (see ``mean_ci``).
    """
    mean, ci = mean_ci(values, bounds=bounds)
    return {
        "mean": round(mean, digits),
        "ci95": None if ci is None else [round(c, digits) for c in ci],
        "values": [round(float(v), digits) for v in values],
    }


def single(correct, *, digits: int = 4) -> dict:
    """``{"mean", "ci95"}`` of one accuracy on one split: ``correct`` is a boolean array per item, Wilson interval."""
    correct = np.asarray(correct, dtype=bool)
    return {
        "mean": round(float(correct.mean()), digits),
        "ci95": [round(c, digits) for c in wilson(correct.sum(), len(correct))],
    }


def from_accuracy(accuracy: float, n: int, *, digits: int = 4) -> dict:
    """``single`` for an accuracy already computed on ``n`` items (``accuracy * n`` of them right)."""
    return {"mean": round(float(accuracy), digits), "ci95": [round(c, digits) for c in wilson(round(accuracy * n), n)]}


def accuracies(values, n: int, *, digits: int = 4) -> dict:
    """Test accuracies of repeated runs (seeds), each on the same ``n`` items: ``summary`` over the runs
    (bounded to [0, 1]); with one run (a lesson), that run's Wilson interval on its ``n`` items."""
    values = np.atleast_1d(np.asarray(values, dtype=float))
    if len(values) == 1:
        return from_accuracy(values[0], n, digits=digits)
    return summary(values, digits=digits, bounds=(0, 1))


def paired(a, b, *, digits: int = 4, bounds: tuple[float, float] | None = None) -> dict:
    """Per-fold or per-seed values of A minus B (same folds or seeds), as ``summary`` does.

    The difference's interval is a plain t interval. With ``bounds=(low, high)``, the range of A
    and B (``(0, 1)`` for accuracies, ``(0, 100)`` in points), it is clipped to the range of a
    difference, ``[low - high, high - low]``.
    """
    result = summary(np.asarray(a, dtype=float) - np.asarray(b, dtype=float), digits=digits)
    if bounds is not None and result["ci95"] is not None:
        width = bounds[1] - bounds[0]
        result["ci95"] = [min(max(c, -width), width) for c in result["ci95"]]
    return result


def verdict(ci95) -> str:
    """Plain words for a difference's interval: "not distinguishable here" when it covers zero."""
    if ci95 is None:
        return "one value: no interval"
    low, high = ci95
    if low <= 0 <= high:
        return "not distinguishable here"
    return "higher" if low > 0 else "lower"


def format_interval(value: dict, *, scale: float = 1.0, digits: int = 3) -> str:
    """``0.871 (0.860-0.882)`` for a ``summary`` / ``single`` dict (``scale=100`` for points)."""
    mean = f"{value['mean'] * scale:.{digits}f}"
    if not value.get("ci95"):
        return f"{mean} (one value)"
    low, high = (c * scale for c in value["ci95"])
    return f"{mean} ({low:.{digits}f} to {high:.{digits}f})"
