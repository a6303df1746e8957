"""Notebook 01's README table: the cached-features recipe against training through the frozen backbone."""

from __future__ import annotations

from tltf.tables import Table, measures

#: The README's tables of this lesson's benchmark (``python -m tltf.bench feature-extraction``).
README_TABLES: list[Table] = [
    measures(
        ("test accuracy, head on cached features, mean over 5 folds (every photo tested once)", "test_acc_head", 3),
        ("the same recipe on the course split (300 test photos, Wilson interval)", "test_acc_cached", 3),
        ("head trained through the frozen backbone, on-the-fly augmentation (course split)", "test_acc_in_model", 3),
        (
            "cached minus through the backbone, paired bootstrap over the test photos, points",
            "cached_minus_in_model_points",
            1,
        ),
        (
            "CNN from scratch given the same time as the through-backbone training (course split)",
            "test_acc_scratch",
            3,
        ),
        ("seconds per epoch, head on cached features", "epoch_s_cached", 2),
        ("seconds per epoch, through the frozen backbone", "epoch_s_through_base", 1),
        ("cached rows per epoch (training photos x views)", "cached_rows", 0),
        ("seconds: computing the features / features + head training", "seconds_extract_features", 0),
        ("largest probability difference, head on features vs the attached model", "end_to_end_max_difference", 7),
    )
]
