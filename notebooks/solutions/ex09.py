"""Solutions to the exercises of notebook 09 (overfitting on few photos: one regulariser at a time)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tltf import data, recipes, stats


def choose_alpha(
    grid: recipes.Grid,
    plain: recipes.Recipe,
    alphas: Sequence[float] = (0.01, 0.1, 1.0),
    *,
    per_class: int | None = 10,
    seeds: Sequence[int] = (0, 1, 2),
) -> dict:
    """Exercise 1: L2-SP's alpha chosen on validation (mean over ``seeds``), then the chosen alpha's
    paired test effect over ``plain`` in points. Returns {"val": {alpha: mean val acc}, "alpha",
    "test_effect_points": a ``stats.paired`` summary}."""
    runs = {alpha: [grid.run(plain.but(l2_sp=alpha), per_class, s) for s in seeds] for alpha in alphas}
    val = {alpha: float(np.mean([r.val_acc for r in rs])) for alpha, rs in runs.items()}
    best = max(alphas, key=val.get)
    base = [grid.run(plain, per_class, s).test_acc for s in seeds]
    effect = stats.paired([100 * r.test_acc for r in runs[best]], [100 * a for a in base])
    return {"val": val, "alpha": best, "test_effect_points": effect}


def decay_that_matters(
    grid: recipes.Grid,
    plain: recipes.Recipe,
    decays: Sequence[float] = (0.05, 1.0, 10.0, 100.0),
    *,
    per_class: int | None = 10,
    seed: int = 0,
) -> tuple[dict[float, float], float | None]:
    """Exercise 2: validation accuracy with each AdamW decay (one seed), and the smallest decay whose
    validation accuracy differs from the plain recipe's by more than one photo (None if none does)."""
    n_val = len(grid.cache.labels("val"))
    reference = grid.run(plain, per_class, seed).val_acc
    val = {d: grid.run(plain.but(weight_decay=d), per_class, seed).val_acc for d in decays}
    moved = [d for d in decays if abs(val[d] - reference) > 1 / n_val + 1e-9]
    return val, (min(moved) if moved else None)


def mixup_on_augmented_photos(
    grid: recipes.Grid, plain: recipes.Recipe, *, per_class: int | None = 10, seeds: Sequence[int] = (0, 1, 2)
) -> dict[str, float]:
    """Exercise 3: mean test accuracy over ``seeds`` of MixUp alone (``grid``), flips and zooms alone
    (``grid.views["flip_rotate_zoom"]``), and MixUp on flipped and zoomed photos: a second grid on the
    same cache whose photos pass ``data.augmentation`` before they are mixed."""
    stacked = recipes.Grid(grid.cache, grid.images, grid.views, before_mix=data.augmentation(42))
    chosen = {
        "mixup": (grid, plain.but(mix="mixup")),
        "flip_rotate_zoom": (grid, plain.but(augment="flip_rotate_zoom")),
        "both": (stacked, plain.but(mix="mixup")),
    }
    return {name: float(np.mean([g.run(r, per_class, s).test_acc for s in seeds])) for name, (g, r) in chosen.items()}
