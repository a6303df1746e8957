"""``python -m tltf fit`` for texts and sounds: notebook 05's and 06's recipes on the user's own data.

Texts: the frozen MiniLM encoder (its last 3 layers mean-pooled), features computed once, a head trained on them
with the validation split choosing the epoch; ``--fine-tune`` then trains every weight at a low rate (AdamW,
warm-up and cosine). Sounds: YAMNet's AudioSet backbone on the first log-mel patch of each recording, the same
two stages. Both split the data as images do (stratified, seeded), print the split table and a per-class report
of the test split, save one ``.keras`` model that ends in ``tltf.labelled.ClassNames`` (the classes and the input
kind travel inside the file) and return the summary that ``python -m tltf fit`` prints as its last line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys

import keras
import numpy as np


def read(args: argparse.Namespace):
    """``args.data`` read as ``args.kind`` says and split (``tltf.data.split_own``: as given, or stratified and
    seeded); returns (``Splits``, how many files were left out). Images are scanned (every one decoded) with
    ``args.skip_bad``; in a split made by hand, a part may hold fewer classes than the whole."""
    from tltf import data

    skipped = []

    def read_one(path):
        if args.kind == "text":
            columns = {"text_column": args.text_column, "label_column": args.label_column}
            return data.read_texts(path, **columns, encoding=args.encoding, split_column=args.split_column)
        if args.kind == "sound":
            return data.scan_sounds(path)
        least = 1 if data.split_folders(args.data) else 2
        folder = data.scan_images(path, skip_bad=args.skip_bad, progress=True, min_classes=least)
        skipped.extend(folder.skipped)
        return folder.images, folder.class_names

    examples, classes = data.read_parts(args.data, read_one)
    unit = "image" if args.kind == "image" else "example"
    options = {"val": args.val, "test": args.test, "seed": args.seed, "what": str(args.data), "unit": unit}
    return data.split_own(examples, classes, **options), len(skipped)


def _split(args: argparse.Namespace):
    splits, _ = read(args)
    print(splits.table())
    return splits


def report(labels: np.ndarray, predicted: np.ndarray, class_names: list[str]) -> None:
    """Print the per-class precision, recall and F1 of the test split (scikit-learn's report)."""
    from sklearn.metrics import classification_report

    names = range(len(class_names))
    print(classification_report(labels, predicted, labels=names, target_names=class_names, digits=3, zero_division=0))


def finish(args: argparse.Namespace, model: keras.Model, splits, probabilities: np.ndarray, summary: dict) -> dict:
    """Print the test split's per-class report, save ``model`` (already labelled) and its summary beside it as
    ``<model>.json``; returns the summary with the test accuracy, split sizes, classes and model path first."""
    from tltf import cli, workers

    predicted, labels = probabilities.argmax(axis=1), splits.test.labels
    report(labels, predicted, splits.class_names)
    out = cli.model_path(args)
    summary = {
        "test_acc": round(float((predicted == labels).mean()), 4),
        **summary,
        "kind": args.kind,
        "classes": splits.class_names,
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "model": str(out),
    }
    if not workers.is_chief():
        return summary  # another worker: the chief writes the files
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(cli.backup_folder(args), ignore_errors=True)  # done: the stages' backups can go
    print(f"Saved {out}: python -m tltf predict {out} INPUT... uses it (its classes are inside the file).")
    return summary


def fit_texts(args: argparse.Namespace) -> dict:
    """A text classifier on ``args.data`` (CSV / TSV or a folder of class sub-folders of .txt files)."""
    from tltf import cli, data, labelled, text, tokenizer, train

    splits = _split(args)
    classes = splits.class_names
    for what, count in data.duplicate_texts(splits).items():
        if count:
            print(f"warning: {count} text(s) {what} (compared lower-cased): check your labels.", file=sys.stderr)
    preprocessor, encoder = text.load_minilm()
    pooler = text.layer_pooler(encoder, text.FROZEN_LAYERS)
    pooler.trainable = False
    print("Reading every text with the frozen MiniLM encoder…")
    features = {name: text.embed(getattr(splits, name).texts, preprocessor, pooler) for name in ("train", "val")}
    xy = {name: (features[name], getattr(splits, name).labels) for name in features}
    backup = cli.backup_folder(args)
    cli.claim_backups(args)  # the data are read: a run of them can begin (or resume)
    head = text.frozen_head(
        xy["train"],
        xy["val"],
        seed=args.seed,
        epochs=args.epochs,
        classes=len(classes),
        backup=backup / "head",
        strategy=args.strategy,
    )
    model = keras.Model(pooler.input, head(pooler.output))
    summary = {}
    if args.fine_tune:
        summary["test_acc_frozen"] = round(text.accuracy(model, preprocessor, splits.test), 4)
        pooler.trainable = True
        print(f"Fine-tuning every weight of MiniLM for {args.fine_tune_epochs} epoch(s)…")
        history = text.fine_tune(
            model,
            preprocessor,
            splits.train,
            splits.val,
            epochs=args.fine_tune_epochs,
            peak=args.fine_tune_lr,
            seed=args.seed,
            backup=backup / "fine-tune",
        )
        summary["fine_tune_epochs"] = len(history.history["loss"])
        summary["fine_tune_seconds_per_epoch"] = round(float(np.mean(history.history["epoch_seconds"])), 2)
    train.seed_everything(args.seed)
    strings = keras.Input((), dtype="string", name="text")
    whole = keras.Model(strings, model(tokenizer.string_preprocessor(preprocessor)(strings)))
    labelled_model = labelled.label(
        whole, classes, "text", input="one string per example", text_column=args.text_column
    )
    return finish(args, labelled_model, splits, text.predict(model, preprocessor, splits.test.texts), summary)


def sound_patches(paths) -> np.ndarray:
    """(n, 96, 64): the first log-mel patch of each WAV file (``tltf.data.read_sound`` checks each one)."""
    from tltf import audio, data

    return np.stack([audio.patch_of(data.read_sound(path)) for path in paths])


def fit_sounds(args: argparse.Namespace) -> dict:
    """A sound classifier on ``args.data``: a folder with one sub-folder of WAV files per class."""
    import math

    from tltf import audio, cli, labelled, models, train

    splits = _split(args)
    print("Reading every recording (its first 0.975 s as a log-mel patch)…")
    x = {name: sound_patches(getattr(splits, name).paths) for name in ("train", "val", "test")}
    y = {name: getattr(splits, name).labels for name in x}
    _, backbone, _ = audio.load_yamnet(verbose=False)
    backbone.trainable = False
    features = {name: backbone.predict(x[name], batch_size=64, verbose=0) for name in ("train", "val")}
    train.seed_everything(args.seed)
    head = models.make_head(features["train"].shape[1], len(splits.class_names))
    backup = cli.backup_folder(args)
    cli.claim_backups(args)  # the data are read: a run of them can begin (or resume)
    train_xy, val_xy = (features["train"], y["train"]), (features["val"], y["val"])
    train.train_head(
        head,
        train_xy,
        val_xy,
        epochs=args.epochs,
        patience=10,
        backup=backup / "head",
        seed=args.seed,
        strategy=args.strategy,
    )
    model = keras.Model(backbone.input, head(backbone.output))
    summary = {}
    if args.fine_tune:
        summary["test_acc_frozen"] = round(train.accuracy(model, x["test"], y["test"]), 4)
        backbone.trainable = True
        print(f"Fine-tuning every weight of YAMNet for {args.fine_tune_epochs} epoch(s)…")
        train.seed_everything(args.seed)
        steps = args.fine_tune_epochs * math.ceil(len(y["train"]) / 32)
        history, _ = train.fine_tune(
            model,
            model,
            (x["train"], y["train"]),
            (x["val"], y["val"]),
            blocks=None,
            fraction=1.0,
            peak_lr=args.fine_tune_lr,
            epochs=args.fine_tune_epochs,
            warmup_steps=max(1, steps // 10),
            patience=args.fine_tune_epochs,
            monitor="val_accuracy",
            backup=backup / "fine-tune",
            seed=args.seed,
            strategy=args.strategy,
        )
        summary["fine_tune_epochs"] = len(history.history["loss"])
        summary["fine_tune_seconds_per_epoch"] = round(float(np.mean(history.history["epoch_seconds"])), 2)
    details = {"sample_rate": audio.SAMPLE_RATE, "input": "the first log-mel patch (96, 64) of a recording"}
    labelled_model = labelled.label(model, splits.class_names, "sound", **details)
    return finish(args, labelled_model, splits, model.predict(x["test"], verbose=0), summary)
