"""Notebook 06's README table: the log-mel baseline, frozen and fine-tuned YAMNet, on two splits."""

from __future__ import annotations

from tltf.data import HELD_OUT_SPEAKERS
from tltf.tables import Table

#: The README's tables of this lesson's benchmark (``python -m tltf.bench audio``).
README_TABLES: list[Table] = [
    Table(
        [
            (label, (f"official_{key}", f"speaker_{key}"), digits)
            for label, key, digits in (
                ("mean log-mel (64-d) + logistic regression (no randomness: Wilson interval)", "baseline", 3),
                ("frozen YAMNet embedding (1,024-d) + Dense head, mean over seeds {seeds}", "frozen", 3),
                ("YAMNet fine-tuned from that head (Adam, warm-up + cosine from 3e-4, 10 epochs)", "finetuned", 3),
                ("fine-tuned minus frozen, paired over seeds, points", "gain_over_frozen_points", 1),
                ("fine-tuned minus the baseline, points", "gain_over_baseline_points", 1),
                ("clips: train, validation, test", "n_train_val_test", 0),
            )
        ],
        (
            "test accuracy (95 % interval)",
            "official split",
            f"held-out speakers ({', '.join(HELD_OUT_SPEAKERS)})",
        ),
    )
]
