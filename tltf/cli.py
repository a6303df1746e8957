"""``python -m tltf fit FOLDER``: a transfer-learning classifier for any class-per-folder image tree.

Feature extraction: a frozen ImageNet backbone (MobileNetV2 unless ``--backbone``), features
cached once, a new head trained on them with the validation split choosing the epoch, then the
head attached to the backbone as one ``.keras`` model. The test split is used once, at the end.
The last line printed is one JSON object (``test_acc``, split sizes, classes, model path); the same
object is saved beside the model as ``<model>.json`` so the class order travels with it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def fit(args: argparse.Namespace) -> dict:
    """Train, evaluate and save as ``args`` says; returns the JSON summary."""
    from sklearn.metrics import classification_report

    from tltf import data, models, train

    train.seed_everything(args.seed)
    folder = data.scan_images(args.folder, skip_bad=args.skip_bad)
    splits = data.split_stratified(folder, val=args.val, test=args.test, seed=args.seed)
    print(splits.table())
    backbone = models.get_backbone(args.backbone)
    extractor = models.feature_extractor(backbone)
    datasets = {name: data.make_dataset(getattr(splits, name), backbone.image_size)
                for name in ("train", "val", "test")}
    print(f"Extracting {backbone.name} features: {args.views} view(s) of each training image "
          f"(the original and {args.views - 1} augmented)…")
    train_xy = train.extract_features(extractor, datasets["train"], augment=data.augmentation(args.seed),
                                      views=args.views)
    val_xy = train.extract_features(extractor, datasets["val"])
    head = models.make_head(backbone.feature_size, len(splits.class_names))
    history = train.train_head(head, train_xy, val_xy, epochs=args.epochs, learning_rate=args.learning_rate,
                               patience=10)
    model = models.attach_head(extractor, head)
    probabilities = model.predict(datasets["test"], verbose=0)
    predicted = probabilities.argmax(axis=1)
    test_acc = float((predicted == splits.test.labels).mean())
    print(classification_report(splits.test.labels, predicted, labels=range(len(splits.class_names)),
                                target_names=splits.class_names, digits=3, zero_division=0))
    out = Path(args.out or f"{Path(args.folder).resolve().name}_{backbone.name}.keras")
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    summary = {"test_acc": round(test_acc, 4), "backbone": backbone.name, "classes": splits.class_names,
               "image_size": list(backbone.image_size), "n_train": len(splits.train), "n_val": len(splits.val),
               "n_test": len(splits.test), "epochs": len(history.history["loss"]),
               "skipped_files": len(folder.skipped), "model": str(out)}
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"Saved {out} (input: [0, 255] RGB images of shape {backbone.image_size + (3,)}; output: "
          f"probabilities in the class order of {out.with_suffix('.json')}).")
    return summary


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tltf``; returns the exit status."""
    from tltf.models import BACKBONES

    parser = argparse.ArgumentParser(prog="python -m tltf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("fit", help="train a classifier on FOLDER/<class>/<images>")
    p.add_argument("folder", help="a folder with one sub-folder of images per class")
    p.add_argument("--backbone", default="mobilenet_v2", choices=list(BACKBONES))
    p.add_argument("--out", help="where to save the model (.keras); default: <folder>_<backbone>.keras")
    p.add_argument("--epochs", type=int, default=100, help="most head epochs (early stopping picks)")
    p.add_argument("--views", type=int, default=6,
                   help="views of each training image to cache: the original plus views-1 augmented")
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument("--val", type=float, default=0.2, help="validation fraction")
    p.add_argument("--test", type=float, default=0.2, help="test fraction")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--skip-bad", action="store_true", help="leave out undecodable images (listed)")
    args = parser.parse_args(argv)
    from tltf.assets import AssetError
    from tltf.data import DataError

    try:
        summary = fit(args)
    except (DataError, AssetError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
