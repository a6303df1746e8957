"""Learning curves: test accuracy against labelled images per class, for transfer learning and a
CNN trained from scratch, over several seeds, each point summarised with its interval.

``run_grid`` runs the stage functions of ``tltf.stages`` on one ``tltf.cache.ActivationCache`` at
every point and seed; ``summarize`` gives one row per approach and point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from tltf import stages, stats
from tltf.cache import ActivationCache
from tltf.settings import settings
from tltf.stages import APPROACHES, Run

__all__ = ["APPROACHES", "Run", "run_grid", "summarize"]


def run_grid(
    cache: ActivationCache,
    *,
    approaches: Sequence[str] = APPROACHES,
    per_class: Iterable[int | None] | None = None,
    seeds: Iterable[int] | None = None,
    scratch_epochs: int | None = None,
    done: Sequence[Run] = (),
    progress: Callable[[str], None] | None = print,
) -> list[Run]:
    """Every approach at every point and seed (default: ``settings().per_class`` and ``.seeds``):
    ``tltf.stages.<approach>(cache, per_class, seed)`` (``scratch`` for ``scratch_epochs``, default
    ``settings().scratch_epochs``), except the runs in ``done`` (same approach, per-class count and
    seed), which are reused as they are."""
    s = settings()
    known = {(r.approach, r.per_class, r.seed): r for r in done}
    runs = []
    for approach in approaches:
        for k in s.per_class if per_class is None else per_class:
            for seed in s.seeds if seeds is None else seeds:
                options = {"epochs": scratch_epochs} if approach == "scratch" else {}
                runs.append(known.get((approach, k, seed)) or getattr(stages, approach)(cache, k, seed, **options))
                if progress:
                    last = runs[-1]
                    progress(
                        f"{approach:>18}  {last.per_class:>4} per class  seed {seed}  "
                        f"test {last.test_acc:.3f}  {last.epochs:>3} epochs  {last.seconds:7.1f} s"
                    )
    return runs


def summarize(runs: Sequence[Run]) -> list[dict]:
    """One row per approach and point: mean test accuracy over seeds with its 95 % interval (``ci95``,
    a t interval cut to [0, 1]; None for one seed), standard deviation, min and
    max, mean training seconds and the trainable parameters, and for two classes the test ROC AUC as
    ``auc`` (a ``stats.summary``); in the order the runs came (approach, then point)."""
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.approach, run.per_class), []).append(run)
    rows = []
    for (approach, k), group in groups.items():
        acc = np.array([r.test_acc for r in group])
        rows.append(
            {
                "approach": approach,
                "per_class": k,
                "seeds": len(group),
                "mean": round(float(acc.mean()), 4),
                "ci95": stats.summary(acc, bounds=(0, 1))["ci95"],
                "std": round(float(acc.std()), 4),
                "min": round(float(acc.min()), 4),
                "max": round(float(acc.max()), 4),
                "seconds": round(float(np.mean([r.seconds for r in group])), 1),
                "trainable_params": group[0].trainable_params,
                **(
                    {"auc": stats.summary([r.test_auc for r in group], bounds=(0, 1))}
                    if group[0].test_auc is not None
                    else {}
                ),
            }
        )
    return rows
