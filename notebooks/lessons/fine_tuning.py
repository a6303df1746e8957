"""Notebook 02's README tables: fine-tuning against feature extraction, and the recipe's variations."""

from __future__ import annotations

from tltf.tables import Table, measures

#: The runs of notebook 02's one-change-at-a-time comparison: (README label, record key's suffix).
RUNS = (
    ("feature extraction only (stage 1)", "feature_extraction_only"),
    ("**the recipe: top 6 blocks, BatchNorm frozen, peak rate 1e-4**", "top_6_blocks_the_recipe"),
    ("top 3 blocks", "3_blocks"),
    ("all layers (BatchNorm frozen)", "all_layers"),
    ("all layers, discriminative rates (1/10, 1/3, 1 by thirds)", "all_layers_discriminative_rates"),
    ("all layers, BatchNorm trained", "all_layers_BatchNorm_trained"),
    ("all layers, peak rate 1e-2", "all_layers_high_rate"),
)

#: The README's tables of this lesson's benchmark (``python -m tltf.bench fine-tuning``).
README_TABLES: list[Table] = [
    measures(
        ("test accuracy, fine-tuned (the recipe), mean over seeds {seeds}", "test_acc_fine_tuned", 3),
        ("test accuracy, feature extraction (its stage-1 heads), same seeds", "test_acc_feature_extraction", 3),
        ("gain of fine-tuning, paired over seeds, points", "gain_points", 1),
        ("seconds per fine-tuning epoch (900 photos through the network)", "epoch_s_fine_tuning", 1),
        ("learning-rate finder's suggestion (the rate at the lowest loss, divided by 10)", "suggested_lr", 3),
    ),
    Table(
        [
            (label, (f"test_acc_{slug}", f"minus_recipe_points_{slug}" if "recipe" not in slug else ""), (3, 1))
            for label, slug in RUNS
        ],
        ("one run each, seed 42", "test accuracy (Wilson)", "minus the recipe, points (paired bootstrap)"),
    ),
]
