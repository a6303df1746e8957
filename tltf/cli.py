"""``python -m tltf fit DATA``: a transfer-learning classifier for your own images, texts or sounds, and
``python -m tltf predict MODEL INPUT...`` to use it.

Images (a folder with one sub-folder of images per class): a frozen ImageNet backbone (MobileNetV2 unless
``--backbone``), features cached once, a new head trained on them with the validation split choosing the
epoch, then the head attached to the backbone as one ``.keras`` model. ``--fine-tune`` adds stage 2: the top
blocks unfrozen and trained at a low rate. Texts (a CSV / TSV file, or class sub-folders of ``.txt`` files)
and sounds (class sub-folders of WAV files): notebook 05's MiniLM and notebook 06's YAMNet, the same two
stages (``tltf.fitting``). The test split is used only to report, at the end. The last line printed is one
JSON object (``test_acc``, split sizes, classes, model path); the same object is saved beside the model as
``<model>.json``, and for images a model card (``tltf.cards``) as ``<model>.keras.md``. The model itself
carries its classes and input kind (``tltf.labelled``), which is all ``predict`` needs. Bad data gets one
plain line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import warnings
from datetime import date
from pathlib import Path


def unfrozen(args: argparse.Namespace) -> str:
    """What ``--fine-tune`` unfreezes, in words: "20% of the layers" or "6 block(s)"."""
    if args.unfreeze_fraction is not None:
        return f"{args.unfreeze_fraction:.0%} of the layers"
    return f"{args.unfreeze_blocks} block(s)"


def fit(args: argparse.Namespace) -> dict:
    """Train, evaluate and save as ``args`` says; returns the JSON summary."""
    from tltf import data, fitting, labelled, models, resume, train, workers

    train.seed_everything(args.seed)
    splits, skipped = fitting.read(args)
    print(splits.table())
    backbone = models.get_backbone(args.backbone)
    extractor = models.feature_extractor(backbone)
    base = extractor.layers[-1]
    blocks = len(models.block_names(base))
    if args.fine_tune and args.unfreeze_fraction is None and not 0 < args.unfreeze_blocks <= blocks:
        raise ValueError(
            f"{backbone.name} has {blocks} named blocks, so --unfreeze-blocks {args.unfreeze_blocks} "
            "cannot be met; use --unfreeze-fraction (e.g. 0.2) or fewer blocks."
        )
    datasets = {
        name: data.make_dataset(getattr(splits, name), backbone.image_size) for name in ("train", "val", "test")
    }
    print(
        f"Extracting {backbone.name} features: {args.views} view(s) of each training image "
        f"(the original and {args.views - 1} augmented)…"
    )
    train_xy = train.extract_features(
        extractor, datasets["train"], augment=data.augmentation(args.seed), views=args.views, progress="features"
    )
    val_xy = train.extract_features(extractor, datasets["val"], progress="validation features")
    head = models.make_head(backbone.feature_size, len(splits.class_names))
    backup = backup_folder(args)
    claim_backups(args)  # the data are read: a run of them can begin (or resume)
    history = train.train_head(
        head,
        train_xy,
        val_xy,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        patience=10,
        progress=True,
        backup=backup / "head",
        seed=args.seed,
        strategy=args.strategy,
    )
    model = models.attach_head(extractor, head)
    summary = {}
    if args.fine_tune:
        summary["test_acc_feature_extraction"] = round(train.accuracy(model, datasets["test"], splits.test.labels), 4)
        model = models.attach_head(extractor, head, data.augmentation(args.seed))
        top = unfrozen(args)
        print(f"Fine-tuning the top {top} of {backbone.name} at a peak rate of {args.fine_tune_lr:g}…")
        order = resume.EpochOrder(len(splits.train), seed=args.seed)
        decoded = data.decode_images(splits.train, backbone.image_size)  # once: every epoch reads it in its order
        if args.strategy is None:
            train_data, val_data = data.make_dataset(decoded, backbone.image_size, order=order), datasets["val"]
        else:  # several workers train on arrays
            val_decoded = data.decode_images(splits.val, backbone.image_size)
            train_data, val_data = (decoded.images, decoded.labels), (val_decoded.images, val_decoded.labels)
        tuned, report = train.fine_tune(
            model,
            base,
            train_data,
            val_data,
            blocks=args.unfreeze_blocks if args.unfreeze_fraction is None else None,
            fraction=args.unfreeze_fraction,
            peak_lr=args.fine_tune_lr,
            epochs=args.fine_tune_epochs,
            progress=True,
            backup=backup / "fine-tune",
            seed=args.seed,
            orders=[order],
            strategy=args.strategy,
        )
        print(report)
        summary["fine_tune_epochs"] = len(tuned.history["loss"])
        summary["fine_tune_seconds_per_epoch"] = round(
            sum(tuned.history["epoch_seconds"]) / summary["fine_tune_epochs"], 2
        )
    predicted = model.predict(datasets["test"], verbose=0).argmax(axis=1)
    test_acc = float((predicted == splits.test.labels).mean())
    fitting.report(splits.test.labels, predicted, splits.class_names)
    out = model_path(args)
    out.parent.mkdir(parents=True, exist_ok=True)
    if workers.is_chief():
        labelled.label(model, splits.class_names, "image", image_size=list(backbone.image_size)).save(out)
    summary = {
        "test_acc": round(test_acc, 4),
        **summary,
        "backbone": backbone.name,
        "classes": splits.class_names,
        "image_size": list(backbone.image_size),
        "n_train": len(splits.train),
        "n_val": len(splits.val),
        "n_test": len(splits.test),
        "epochs": len(history.history["loss"]),
        "skipped_files": skipped,
        "model": str(out),
    }
    if not workers.is_chief():
        return summary  # another worker: the chief writes the files
    summary["card"] = str(fit_card(args, summary, out, backbone, predicted, splits.test.labels))
    out.with_suffix(".json").write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    shutil.rmtree(backup, ignore_errors=True)  # the run is done: its stages' backups are no longer needed
    print(
        f"Saved {out} (input: [0, 255] RGB images of shape {(*backbone.image_size, 3)}; output: "
        f"probabilities in the class order of {out.with_suffix('.json')}), and its model card {summary['card']}."
    )
    return summary


def plain(err: Exception) -> str:
    """One line for the user: the error's first line, with what to do for a file that cannot be read."""
    import tensorflow as tf

    text = (err.message if isinstance(err, tf.errors.OpError) else str(err)).strip().splitlines()[0]
    if isinstance(err, (PermissionError, tf.errors.PermissionDeniedError)):
        text += ": this user may not read it. Check its permissions."
    elif isinstance(err, (OSError, tf.errors.OpError)) and not isinstance(err, ValueError):
        text += ". Check that the file is there and readable."
    return text


def run_workers(args: argparse.Namespace, argv: list[str]) -> int:
    """``fit`` in ``args.workers`` processes (``tltf.workers.launch``): the chief prints as it runs; returns its
    exit status, or 1 with a plain line when another worker failed or time ran out."""
    from tltf import workers

    options = {"timeout": args.workers_timeout, "capture": False, "pin_cores": args.pin_cores}
    done = workers.launch(["-m", "tltf", *argv], args.workers, **options)
    if done.returncode not in (0, 2):  # 2: the chief said what was wrong with the data, in one line
        print(f"error: {done.stderr}", file=sys.stderr)
    return done.returncode


def model_path(args: argparse.Namespace) -> Path:
    """Where ``fit`` saves the model: ``--out``, else ``<default_stem(args)>.keras`` here."""
    return Path(args.out or f"{default_stem(args)}.keras")


def backup_folder(args: argparse.Namespace) -> Path:
    """Where ``fit`` keeps its backups while it runs (``tltf.resume``): ``<model>.backup/``, one sub-folder per
    stage. The same command finds them again after a crash; a stage that ends removes its own."""
    out = model_path(args)
    return out.with_name(out.name + ".backup")


#: Per kind: the fine-tuning peak rate and epochs of the course's recipe (notebooks 02 and 06; texts: notebook 05's,
#: ``tltf.text.FINE_TUNE_LR`` and ``FINE_TUNE_EPOCHS``).
FINE_TUNE_DEFAULTS = {"image": (1e-4, 15), "sound": (3e-4, 10)}


def guess_kind(data: str | Path) -> str:
    """``"text"`` for a table file (or a path that does not exist: its reader says so); for a folder, the one
    kind of file in its sub-folders (WAV: sound, .txt: text, images: image; none: image, whose scan says what
    is missing). Raises DataError for any other file, or a folder that holds several kinds."""
    from tltf.data.examples import DataError
    from tltf.data.images import IMAGE_EXTENSIONS
    from tltf.data.own import split_folders

    path = Path(data)
    path = split_folders(path).get("train", path)  # a split made by hand: its parts hold the class folders
    if not path.is_dir():
        if path.exists() and path.suffix.lower() not in (".csv", ".tsv", ".tab", ".txt"):
            raise DataError(
                f"{path} is a single {path.suffix or 'extensionless'} file: fit takes a folder with one sub-folder "
                "per class, or a CSV / TSV file of texts and labels."
            )
        return "text"
    suffixes = [p.suffix.lower() for p in path.glob("*/*")]
    counts = {
        "sound": suffixes.count(".wav"),
        "text": suffixes.count(".txt"),
        "image": sum(s in IMAGE_EXTENSIONS for s in suffixes),
    }
    found = [kind for kind, count in counts.items() if count]
    if len(found) > 1:
        raise DataError(
            f"{path} holds {', '.join(f'{counts[k]} {k} file(s)' for k in found)}: say which to use with --kind."
        )
    return found[0] if found else "image"


def prepare(args: argparse.Namespace) -> None:
    """Fill in the kind (``guess_kind``) and that kind's fine-tuning defaults. DataError for what several workers
    cannot do: fine-tune a text model (its batches are padded to their own length)."""
    from tltf.data.examples import DataError

    args.kind = args.kind or guess_kind(args.data)
    if args.kind == "text" and args.fine_tune and (args.workers > 1 or "TF_CONFIG" in os.environ):
        raise DataError(
            "fine-tuning a text model in several workers is not supported yet. Run --fine-tune in one process "
            "(without --workers or TF_CONFIG)."
        )
    if args.kind == "text":
        from tltf import text

        rate, epochs = text.FINE_TUNE_LR, text.FINE_TUNE_EPOCHS
    else:
        rate, epochs = FINE_TUNE_DEFAULTS[args.kind]
    args.fine_tune_lr, args.fine_tune_epochs = args.fine_tune_lr or rate, args.fine_tune_epochs or epochs


def fit_options(argv: list) -> argparse.Namespace:
    """The options of ``python -m tltf fit ARGV`` (paths may be ``Path``), the kind and its defaults filled in."""
    args = parser().parse_args(["fit", *map(str, argv)])
    prepare(args)
    return args


def default_stem(args: argparse.Namespace) -> str:
    """The model's default name: ``<folder>_<backbone>`` for images, ``<data>_<kind>`` for texts and sounds."""
    data = Path(args.data).resolve()
    return f"{data.name}_{args.backbone}" if args.kind == "image" else f"{data.stem}_{args.kind}"


def check_data(args: argparse.Namespace) -> None:
    """Read and split ``args.data`` as ``fit`` will (DataError if it cannot), without training anything."""
    from tltf import fitting

    fitting.read(args)


def claim_backups(args: argparse.Namespace) -> None:
    """``tltf.resume.claim`` the run's backup folder for this data (its files' count, size and time) and options,
    saying whether it resumes; only in a single process (several workers: the launcher did it)."""
    from tltf import resume

    if "TF_CONFIG" in os.environ:
        return

    data = Path(args.data).resolve()
    files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
    names = hashlib.sha256("\n".join(p.relative_to(data).as_posix() for p in files).encode()).hexdigest()[:16]
    stamp = [len(files), sum(p.stat().st_size for p in files), max((p.stat().st_mtime_ns for p in files), default=0)]
    stamp.append(names)  # a file moved to another class or split changes no size or time
    skip = {"command", "out", "workers", "workers_timeout", "pin_cores", "strategy"}
    options = {k: v for k, v in vars(args).items() if k not in skip}
    note = resume.claim(backup_folder(args), {"data": str(data), "files": stamp, "options": options})
    if note:
        print(note)


def fit_any(args: argparse.Namespace) -> dict:
    """``fit`` for the kind of ``args.data`` (``--kind`` or ``guess_kind``), with that kind's defaults."""
    from tltf import fitting

    prepare(args)
    if args.kind == "image":
        return fit(args)
    return (fitting.fit_texts if args.kind == "text" else fitting.fit_sounds)(args)


def fit_card(args: argparse.Namespace, summary: dict, out: Path, backbone, predicted, labels) -> Path:
    """Write the model card of a ``fit`` run beside ``out`` (``tltf.cards``); returns its path.

    ``predicted`` and ``labels``: class indices, one per test image. The test accuracy and each class's recall come
    with Wilson intervals (``tltf.stats.single``); the user's photos have no licence that tltf can know.
    """
    import numpy as np

    from tltf import cards, licences, stats
    from tltf.data.own import split_folders

    classes, folder = summary["classes"], Path(args.data).resolve()
    how = (
        "as given by its train/ and test/ folders (and val/, or else a stratified share of train/)"
        if split_folders(folder)
        else f"{1 - args.val - args.test:.0%}/{args.val:.0%}/{args.test:.0%} (stratified, seed {args.seed})"
    )
    labels, n_test = np.asarray(labels), summary["n_test"]
    correct = np.asarray(predicted) == labels
    tuned = f", top {unfrozen(args)} fine-tuned" if args.fine_tune else ", frozen"
    caveats = [f"The intervals cover the sampling error of {n_test} test images only, not a change of photos."]
    if len(licences.flagged(licences.table([backbone.weights_asset]))):
        caveats.append("The backbone's weights are flagged in Licences: read the note before any commercial use.")
    recall = {
        f"recall of {name!r}": {**stats.single(correct[labels == i]), "n": int((labels == i).sum())}
        for i, name in enumerate(classes)
        if (labels == i).any()
    }
    card = cards.ModelCard(
        name=out.stem,
        summary=f"Sorts an RGB photo into one of {len(classes)} classes ({', '.join(classes)}): a {backbone.name} "
        f"backbone pre-trained on ImageNet with a new head trained on the user's photos by `python -m tltf fit`.",
        details={
            "Architecture": f"{backbone.constructor} (ImageNet weights{tuned}) + a dense softmax head",
            "Format": "Keras 3 (.keras)",
            "File size": f"{out.stat().st_size / 2**20:.1f} MiB",
            "Input": f"RGB images, values in [0, 255], shape {(*backbone.image_size, 3)}",
            "Output": f"{len(classes)} class probabilities, in the class order of {out.with_suffix('.json').name}",
            "Made": f"{date.today().isoformat()} by python -m tltf fit, seed {args.seed}",
        },
        assets=[backbone.weights_asset],
        intended_use="Sorting photos like those in the training folder into its classes, by the person who trained "
        "it, as a first pass to check by eye.",
        out_of_scope="Photos unlike the training folder (other cameras, light, subjects); anything outside its "
        "classes (it always answers one of them); decisions about people.",
        factors="Class is the only factor measured (recall per class below); photo source, light and background "
        "were not.",
        metrics={"test accuracy": {**stats.single(correct), "n": n_test, "note": "Wilson interval"}},
        training_data=f"The user's folder {folder}: split {how} into {summary['n_train']} training, {summary['n_val']} "
        f"validation (choosing the epoch) and {n_test} test images. Licence of these photos: yours to state.",
        evaluation_data=f"The test split of {folder}: {n_test} images never used for training or choosing an epoch. "
        "Licence: yours to state.",
        analyses=recall,
        ethics="The backbone learned from ImageNet, web photos with known gaps in who and what they show; check "
        "the model on photos from where it will be used before relying on it.",
        caveats=caveats,
    )
    return cards.write(card, out)


def parser() -> argparse.ArgumentParser:
    """The command line of ``python -m tltf``: ``fit`` and ``predict`` with their options."""
    from tltf.labelled import KINDS
    from tltf.models import BACKBONES

    parser = argparse.ArgumentParser(prog="python -m tltf", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("fit", help="train a classifier on your images, texts or sounds")
    p.add_argument(
        "data",
        help="a folder with one sub-folder per class (images, .txt files or WAV files), or a CSV / TSV file of texts",
    )
    p.add_argument("--kind", choices=KINDS, help="what DATA holds (default: guessed from its files)")
    p.add_argument("--backbone", default="mobilenet_v2", choices=list(BACKBONES), help="images only")
    p.add_argument("--out", help="where to save the model (.keras); default: <data>_<backbone or kind>.keras")
    p.add_argument("--epochs", type=int, default=100, help="most head epochs (early stopping picks)")
    p.add_argument(
        "--views",
        type=int,
        default=6,
        help="images: views of each training image to cache: the original plus views-1 augmented",
    )
    p.add_argument("--learning-rate", type=float, default=1e-3)
    p.add_argument(
        "--val",
        type=float,
        default=0.2,
        help="validation fraction (with a split of your own and no val part: the share of train drawn for it)",
    )
    p.add_argument("--test", type=float, default=0.2, help="test fraction (unused with a split of your own)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--skip-bad", action="store_true", help="images: leave out undecodable images (listed)")
    p.add_argument("--text-column", default="text", help="texts in a CSV / TSV: the column of the texts")
    p.add_argument("--label-column", default="label", help="texts in a CSV / TSV: the column of the labels")
    p.add_argument("--encoding", default="utf-8", help="texts: the files' encoding (e.g. latin-1, cp1252)")
    p.add_argument(
        "--split-column",
        help="texts in a CSV / TSV: a column saying train, val or test per row, to keep your own split "
        "(folders: train/, val/ and test/ sub-folders, each with the class folders, are kept as they are)",
    )
    p.add_argument(
        "--fine-tune",
        action="store_true",
        help="then fine-tune the backbone (images: its top; texts and sounds: every weight)",
    )
    p.add_argument("--unfreeze-blocks", type=int, default=6, help="images: blocks to unfreeze when fine-tuning")
    p.add_argument(
        "--unfreeze-fraction",
        type=float,
        help="images: unfreeze this share of the layers instead (for backbones without named blocks)",
    )
    p.add_argument("--fine-tune-lr", type=float, help="peak rate (warm-up + cosine); default by kind")
    p.add_argument("--fine-tune-epochs", type=int, help="most fine-tuning epochs; default by kind")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="train the head in this many worker processes on this machine (MultiWorkerMirroredStrategy)",
    )
    p.add_argument("--workers-timeout", type=float, default=7200, help="seconds before the workers are stopped")
    p.add_argument(
        "--pin-cores",
        action="store_true",
        help="with --workers (Linux): keep each worker to its own share of this machine's cores",
    )
    q = commands.add_parser("predict", help="classify new inputs with a model saved by fit")
    q.add_argument("model", help="a .keras file saved by python -m tltf fit")
    q.add_argument("inputs", nargs="+", help="image or WAV files; for a text model, CSV / TSV / .txt files or texts")
    q.add_argument("--csv", help="write the predictions to this CSV file instead of the screen")
    q.add_argument("--text-column", help="the texts' column in a CSV / TSV input (default: the model's own)")
    q.add_argument("--encoding", default="utf-8", help="the encoding of text inputs")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m tltf``; returns the exit status.

    TensorFlow's own start-up log (CUDA probing, graph-rewrite notes) and libjpeg's complaints say
    nothing about the user's data, and TensorFlow 2.21 writes some of them to file descriptor 2 before
    any log setting applies. So, before TensorFlow is imported, descriptor 2 goes to the null device
    and Python's ``sys.stderr`` (our errors, progress bars, tracebacks) to a copy of the real one.
    ``TLTF_VERBOSE=1`` keeps everything.
    """
    if os.environ.get("TLTF_VERBOSE") != "1":
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        warnings.filterwarnings("ignore", module="keras|tensorflow|absl")
        sys.stderr = os.fdopen(os.dup(2), "w", buffering=1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
    args = parser().parse_args(argv)
    import tensorflow as tf

    from tltf.assets import AssetError

    several = args.command == "fit" and (args.workers > 1 or "TF_CONFIG" in os.environ)
    if several and "TF_CONFIG" not in os.environ:
        try:  # the data checked and the backups claimed once, here, before any worker starts
            prepare(args)
            check_data(args)
            claim_backups(args)
        except (ValueError, OSError) as err:
            print(f"error: {plain(err)}", file=sys.stderr)
            return 2
        return run_workers(args, sys.argv[1:] if argv is None else argv)
    args.strategy = None
    if args.command == "fit" and "TF_CONFIG" in os.environ:  # one of several workers: before any TensorFlow op
        from tltf import workers

        args.strategy = workers.strategy()
    try:
        if args.command == "predict":
            from tltf import predicting

            rows = predicting.predict(args.model, args.inputs, text_column=args.text_column, encoding=args.encoding)
            predicting.write(rows, args.csv)
            return 0
        summary = fit_any(args)
    except (AssetError, ValueError, OSError, tf.errors.OpError) as err:  # bad data, an impossible request, a file
        print(f"error: {plain(err)}", file=sys.stderr)
        return 2
    print(json.dumps(summary))
    return 0
