"""Notebook 03's backbone table: parameters, size, CPU speed and accuracy of several backbones."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from tltf import data, hub_layer, models, recorded, stats, train
from tltf.tables import Table, measures

#: The record's name of each row of the table (``hub_params``, ``mobilenet_v2_test_acc``, ...), in its order.
SLUGS = ("hub", "mobilenet_v2", "mobilenet_025")
#: The columns of a row, as ``compare_backbones`` returns them and ``record`` keeps them.
COLUMNS = ("params", "size_mb", "images_per_s", "test_acc")


def compare_backbones(
    splits: data.Splits, candidates: dict[str, str], *, views: int = 6, head_epochs: int = 100
) -> list[dict]:
    """One row per backbone: ``name``, ``params``, ``size_mb`` (the frozen extractor saved as
    ``.keras``), ``images_per_s`` (CPU, batches of 32 decoded test images through the frozen
    extractor, after a warm-up pass) and ``test_acc`` (the cached-features recipe of notebook 01 on
    the course split, as ``tltf.stats.single``: the accuracy and its Wilson interval).

    ``candidates`` maps a row name to a ``tltf.models`` backbone name or a hub handle / module folder.
    Prints one line per backbone as it starts.
    """
    rows = []
    for name, source in candidates.items():
        print(f"backbone: {name}", flush=True)
        if str(source) in models.BACKBONES:
            spec = models.get_backbone(source)
            extractor, image_size = models.feature_extractor(spec), spec.image_size
        else:
            extractor, image_size = hub_layer.feature_extractor(source), (224, 224)
        train.seed_everything(42)  # after building: Keras draws random initial weights before loading ImageNet's
        plain = {split: data.make_dataset(getattr(splits, split), image_size) for split in ("train", "val", "test")}
        test_x, _ = train.extract_features(extractor, plain["test"])  # also the warm-up pass
        start = time.perf_counter()
        for images, _ in plain["test"]:
            extractor.predict_on_batch(images)
        images_per_s = len(splits.test) / (time.perf_counter() - start)
        head = models.make_head(extractor.output_shape[-1], len(splits.class_names))
        train.train_head(
            head,
            train.extract_features(extractor, plain["train"], augment=data.augmentation(42), views=views),
            train.extract_features(extractor, plain["val"]),
            epochs=head_epochs,
            patience=10,
        )
        path = Path(tempfile.mkdtemp()) / "extractor.keras"
        extractor.save(path)
        correct = head.predict(test_x, verbose=0).argmax(axis=1) == splits.test.labels
        rows.append(
            {
                "name": name,
                "params": extractor.count_params(),
                "size_mb": round(path.stat().st_size / 1e6, 1),
                "images_per_s": round(images_per_s, 1),
                "test_acc": stats.single(correct),
            }
        )
    return rows


def recorded_table(stored: dict, names: list[str]) -> pd.DataFrame:
    """The backbone table of the recorded study ``stored`` (``tltf.recorded.study("backbones")``), for a
    run that does not measure it: one row per name in ``names`` (in the order of ``SLUGS``), the columns
    of ``compare_backbones``, the test accuracy as text with its interval. The index's name says that it is
    the record, with its date and commit (and the hub row which module the study used); a value the record
    lacks reads "not recorded yet". Changes nothing.
    """
    rows = {}
    for name, slug in zip(names, SLUGS, strict=False):  # a candidate added beyond SLUGS: not in the record
        row = {key: stored.get(f"{slug}_{key}", recorded.NOT_RECORDED) for key in COLUMNS[:-1]}
        accuracy = {"mean": stored.get(f"{slug}_test_acc_mean"), "ci95": stored.get(f"{slug}_test_acc_ci95")}
        row["test_acc"] = stats.format_interval(accuracy) if accuracy["mean"] is not None else recorded.NOT_RECORDED
        if slug == "hub" and "hub_module" in stored:
            name = f"{name} ({stored['hub_module']})"
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = recorded.source("backbones", stored)
    return table


#: The README's tables of this lesson's benchmark (``python -m tltf.bench backbones``), rendered by ``tltf.tables``.
README_TABLES: list[Table] = [
    Table(
        [
            (label, tuple(f"{slug}_{key}" for key in ("params", "size_mb", "images_per_s", "test_acc")), (0, 1, 1, 3))
            for label, slug in (
                ("hub: MobileNetV2 feature vector ({hub_module})", "hub"),
                ("keras: MobileNetV2", "mobilenet_v2"),
                ("keras: MobileNet 0.25", "mobilenet_025"),
            )
        ],
        ("backbone", "parameters", "`.keras` size, MB", "images / s", "test accuracy (95 % interval)"),
    ),
    measures(
        ("hub layer, frozen: head on cached features (course split, Wilson interval)", "hub_test_acc_head", 3),
        (
            "the whole hub layer fine-tuned (BatchNorm in inference mode), up to 5 epochs (course split)",
            "hub_test_acc_fine_tuned",
            3,
        ),
    ),
]
