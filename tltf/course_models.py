"""The course's two trained models, made once: later notebooks (11 interpretability, 12 deployment) start
from notebook 02's fine-tuned flowers model and notebook 07's fine-tuned X-ray model.

``flowers_model()`` and ``xray_model()`` return a Keras model, [0, 255] images (batch, size, size, 3) ->
class probabilities (batch, classes). The first call trains it with its notebook's recipe and saves it in
``$TLTF_CACHE/models`` (``registry.cache_dir() / "models"``) as ``NAME-KEY.keras`` with ``NAME-KEY.json``
beside it (the recipe, seed, mode, code hash, git commit or null, date, Keras version, training seconds
and the validation / test accuracy measured after training); later calls load it. ``KEY`` (``model_key``)
hashes the recipe (every constant that decides the model, the mode included: a quick model is never
taken for a lesson one) with the source of the code that trains it (``code_hash``): the training
function and the whole ``tltf`` modules it calls. Any edit to those modules, even a comment, gives a
new key and so a new training; an older file stays where it is, unused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import keras

from tltf import cache, data, loop, models, registry, stages, train
from tltf.settings import settings

#: recipe -> (trained model, {"val_acc": ..., "test_acc": ...}, measured after training)
Trainer = Callable[[dict], tuple[keras.Model, dict]]


def models_dir() -> Path:
    """Where the course models are saved: ``$TLTF_CACHE/models`` (read now, not at import)."""
    return registry.cache_dir() / "models"


def flowers_recipe() -> dict:
    """Notebook 02's recipe for the current mode (quick: 2 views, 20 head epochs, 1 fine-tuning epoch)."""
    s = settings()
    return {
        "notebook": "02_fine_tuning",
        "dataset": "flower_photos",
        "val_test": [data.VAL_FRACTION, data.TEST_FRACTION],
        "split_seed": 42,
        "backbone": "mobilenet_v2",
        "image_size": 224,
        "augment_seed": 42,
        "views": s.pick(quick=2, lesson=6, study=6),
        "head_epochs": s.pick(quick=20, lesson=100, study=100),
        "head_patience": 10,
        "blocks": 6,
        "peak_lr": 1e-4,
        "fine_tune_epochs": s.pick(quick=1, lesson=15, study=15),
        "patience": 4,
        "seed": 42,
        "mode": s.mode,
    }


def xray_recipe() -> dict:
    """Notebook 07's fine-tuned model on every training X-ray, seed 0, at the input size and interpolation
    that 07 chose on validation (benchmarks/far-domains.json: 112 px, "nearest"); the epoch limits and rows
    per epoch that ``tltf.stages`` reads from the settings are part of it."""
    s = settings()
    return {
        "notebook": "07_far_domains",
        "dataset": "pneumoniamnist_balanced",
        "subset_seed": 42,
        "backbone": "mobilenet_v2",
        "image_size": 112,
        "interpolation": "nearest",
        "blocks": 6,
        "views": 1,
        "per_class": None,
        "peak_lr": 1e-4,
        "head_epochs": s.head_epochs,
        "fine_tune_epochs": s.fine_tune_epochs,
        "epoch_rows": s.epoch_rows,
        "seed": 0,
        "mode": s.mode,
    }


def _train_flowers(r: dict) -> tuple[keras.Model, dict]:
    """Notebook 02: a head on cached features of augmented views, then the top blocks fine-tuned."""
    train.seed_everything(r["seed"])
    splits = data.load_flowers(seed=r["split_seed"], verbose=False)
    size = (r["image_size"], r["image_size"])
    train_ds = data.make_dataset(splits.train, size, shuffle=True, seed=r["seed"])
    plain, val_ds, test_ds = (data.make_dataset(part, size) for part in (splits.train, splits.val, splits.test))
    base = models.load_backbone(r["backbone"])  # ImageNet weights through tltf.assets
    extractor = models.feature_extractor(r["backbone"], base)
    features = train.extract_features(extractor, plain, augment=data.augmentation(r["augment_seed"]), views=r["views"])
    head = models.make_head(extractor.output_shape[-1], len(splits.class_names))
    val_features = train.extract_features(extractor, val_ds)
    train.train_head(head, features, val_features, epochs=r["head_epochs"], patience=r["head_patience"])
    model = models.attach_head(extractor, head, augment=data.augmentation(r["augment_seed"]))
    stage2 = dict(blocks=r["blocks"], peak_lr=r["peak_lr"], epochs=r["fine_tune_epochs"], patience=r["patience"])
    train.fine_tune(model, base, train_ds, val_ds, **stage2)
    val_acc = train.accuracy(model, val_ds, splits.val.labels)
    return model, {"val_acc": val_acc, "test_acc": train.accuracy(model, test_ds, splits.test.labels)}


def _train_xray(r: dict) -> tuple[keras.Model, dict]:
    """Notebook 07: ``stages.fine_tuned`` on an ``ActivationCache`` of the X-rays, rebuilt as one model."""
    splits = data.load_xrays(r["dataset"], seed=r["subset_seed"], verbose=False)
    spec = dataclasses.replace(models.get_backbone(r["backbone"]), input_size=r["image_size"])
    cached = cache.ActivationCache(
        splits, backbone=spec, blocks=r["blocks"], views=r["views"], interpolation=r["interpolation"]
    )
    run = stages.fine_tuned(cached, r["per_class"], r["seed"], peak_lr=r["peak_lr"])
    return stages.classifier(cached, run), {"val_acc": run.val_acc, "test_acc": run.test_acc, "test_auc": run.test_auc}


#: What ``code_hash`` reads for each model: its training function and the tltf modules that it calls.
FLOWERS_CODE = (_train_flowers, train, models, data.images, data.examples)
XRAY_CODE = (_train_xray, cache, stages, loop, train, models, data.images, data.xrays, data.examples)


def code_hash(code: Sequence[object]) -> str:
    """sha256 (hex) of the source text of ``code`` (functions, classes or modules), in order."""
    return hashlib.sha256("\n".join(inspect.getsource(obj) for obj in code).encode()).hexdigest()


def model_key(recipe: dict, code: str) -> str:
    """12 hex digits naming a model: the sha256 of the recipe (JSON, keys sorted) and a ``code_hash``."""
    text = json.dumps({"recipe": recipe, "code": code}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _commit() -> str | None:
    """The checked-out commit (``tltf.bench.commit``: ``+changes`` when the tree differs), None outside a checkout."""
    if not (registry.REPO / ".git").exists():
        return None
    from tltf import bench  # only here: it reads the benchmark tables

    return bench.commit()


def _replace(path: Path, write: Callable[[Path], object]) -> None:
    """``write`` a temporary file beside ``path``, then move it onto ``path`` in one step (``os.replace``):
    a reader never sees half a file; of two writers, the last one wins."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def model_path(name: str, recipe: dict, code: Sequence[object]) -> Path:
    """``models_dir() / NAME-KEY.keras``, ``KEY`` being ``model_key(recipe, code_hash(code))``."""
    return models_dir() / f"{name}-{model_key(recipe, code_hash(code))}.keras"


def course_model(name: str, recipe: dict, trainer: Trainer, code: Sequence[object]) -> keras.Model:
    """``NAME-KEY.keras`` loaded from ``models_dir()``, or trained by ``trainer(recipe)`` and saved there.

    ``KEY`` is ``model_key(recipe, code_hash(code))``. Prints one line saying which it did and where
    (training also prints a line when it starts). A file that cannot be loaded is named in a message and
    replaced by a new training; nothing else is deleted. Side effects: creates the folder, writes
    ``NAME-KEY.json`` then ``NAME-KEY.keras`` (each atomically); training seeds the process (``seed_everything``).
    """
    code_sha = code_hash(code)
    path = model_path(name, recipe, code)
    if path.exists():
        try:
            model = keras.models.load_model(path)
        except Exception as err:  # any unreadable file (truncated, not a zip, wrong layers) means: train again
            print(f"{name} model: cannot load {path} ({type(err).__name__}: {err}); training it again.")
        else:
            print(f"{name} model: loaded {path}")
            return model
    print(f"{name} model: training it ({recipe.get('mode')} mode); it will be saved to {path}")
    start = time.perf_counter()
    model, scores = trainer(recipe)
    info = {
        "name": name,
        "file": path.name,
        "recipe": recipe,
        "seed": recipe.get("seed"),
        "mode": recipe.get("mode"),
        "code_sha256": code_sha,
        "commit": _commit(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "keras": keras.__version__,
        "train_seconds": round(time.perf_counter() - start, 1),
        **scores,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    _replace(path.with_suffix(".json"), lambda p: p.write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8"))
    _replace(path, model.save)
    scored = ", ".join(f"{k} {v:.3f}" for k, v in scores.items() if v is not None)
    print(f"{name} model: trained in {info['train_seconds']:.0f} s ({scored}); saved to {path}")
    return model


def flowers_model() -> keras.Model:
    """Notebook 02's fine-tuned flowers model: [0, 255] images (batch, 224, 224, 3) -> probabilities
    (batch, 5), loaded from ``models_dir()`` or trained first (lesson mode: several minutes on a CPU)."""
    return course_model("flowers", flowers_recipe(), _train_flowers, FLOWERS_CODE)


def xray_model() -> keras.Model:
    """Notebook 07's fine-tuned X-ray model: [0, 255] images (batch, 112, 112, 3), grey copied to three
    channels and resized with "nearest" as ``data.make_dataset`` does -> probabilities (batch, 2) of
    (normal, pneumonia); loaded from ``models_dir()`` or trained first."""
    return course_model("xray", xray_recipe(), _train_xray, XRAY_CODE)


def saved_path(name: str) -> Path:
    """Where course model ``name`` ("flowers" or "xray") of the current mode and code is saved (``model_path``)."""
    recipe, code = {"flowers": (flowers_recipe, FLOWERS_CODE), "xray": (xray_recipe, XRAY_CODE)}[name]
    return model_path(name, recipe(), code)


def saved_info(name: str) -> dict:
    """The record saved beside course model ``name`` ("flowers" or "xray") of the current mode and code
    (recipe, ``train_seconds``, accuracies; see ``course_model``), or ``{}`` before it is trained."""
    path = saved_path(name).with_suffix(".json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
