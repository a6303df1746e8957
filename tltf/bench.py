"""Benchmarks (not tests): ``python -m tltf.bench NAME`` measures accuracy, time and memory.

Full mode by default; ``TLTF_QUICK=1`` runs the same code on the quick-mode subset (a smoke test).
Each benchmark prints a table and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

from tltf import QUICK


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def progress(message: str) -> None:
    """A time-stamped progress line on stderr (stdout keeps the table and the JSON line)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def split_spread(extractor, image_size: tuple[int, int], *, quick: bool, views: int, head_epochs: int,
                 seeds: tuple[int, ...] = (42, 0, 1, 2, 3)) -> list[float]:
    """Cached-head test accuracy on several seeded splits of the same photos.

    One split's test accuracy moves by a few points with the split; this shows by how much.
    Features of every photo (original plus ``views - 1`` augmented) are computed once.
    """
    import numpy as np

    from tltf import assets, data, models, train

    folder = data.scan_images(assets.fetch("flower_photos", quiet=True), verbose=False)
    if quick:
        folder.images = data.per_class(folder.images, data.QUICK_PER_CLASS)
    n = len(folder.images)
    x, y = train.extract_features(extractor, data.make_dataset(folder.images, image_size),
                                  augment=data.augmentation(42), views=views)
    row = {path: i for i, path in enumerate(folder.images.paths)}
    accuracies = []
    for seed in seeds:
        splits = data.split_stratified(folder, seed=seed)
        rows = {name: np.array([row[p] for p in getattr(splits, name).paths]) for name in ("train", "val", "test")}
        train_rows = np.concatenate([rows["train"] + view * n for view in range(views)])
        train.seed_everything(42)
        head = models.make_head(x.shape[1], len(folder.class_names))
        train.train_head(head, (x[train_rows], y[train_rows]), (x[rows["val"]], y[rows["val"]]),
                         epochs=head_epochs, patience=10)
        accuracies.append(round(float(head.evaluate(x[rows["test"]], y[rows["test"]], verbose=0)[1]), 4))
    return accuracies


def feature_extraction(quick: bool = QUICK) -> dict:
    """Flowers, MobileNetV2 at 224 px: a head on cached features vs training through the frozen
    base vs a CNN from scratch given as much time as the through-base training took."""
    import numpy as np

    from tltf import data, models, train

    views, head_epochs, in_model_epochs = (2, 20, 2) if quick else (6, 100, 25)
    train.seed_everything(42)
    splits = data.load_flowers(quick=quick)
    backbone = models.get_backbone("mobilenet_v2")
    extractor = models.feature_extractor(backbone)
    ds = {name: data.make_dataset(getattr(splits, name), backbone.image_size, shuffle=name == "train")
          for name in ("train", "val", "test")}
    plain = {name: data.make_dataset(getattr(splits, name), backbone.image_size) for name in ("train", "val", "test")}

    progress("caching features")
    start = time.perf_counter()
    train_xy = train.extract_features(extractor, plain["train"], augment=data.augmentation(42), views=views)
    val_xy = train.extract_features(extractor, plain["val"])
    test_x, _ = train.extract_features(extractor, plain["test"])
    extract_s = time.perf_counter() - start
    head = models.make_head(backbone.feature_size, len(splits.class_names))
    history = train.train_head(head, train_xy, val_xy, epochs=head_epochs, patience=10)
    cached_s = time.perf_counter() - start
    head_probs = head.predict(test_x, verbose=0)
    end_to_end = models.attach_head(extractor, head)
    e2e_probs = end_to_end.predict(plain["test"], verbose=0)

    progress(f"head trained on cached features in {cached_s:.0f} s; training through the frozen base")
    train.seed_everything(42)
    in_model = models.build_classifier(backbone, len(splits.class_names), augment=data.augmentation(42))
    timer = train.EpochTimer()
    start = time.perf_counter()
    train.compile_classifier(in_model).fit(
        ds["train"], validation_data=ds["val"], epochs=in_model_epochs, verbose=0,
        callbacks=[*train.callbacks(patience=5), timer])
    through_s = time.perf_counter() - start

    progress(f"through the base: {len(timer.seconds)} epochs in {through_s:.0f} s; training from scratch")
    train.seed_everything(42)
    scratch = models.scratch_cnn(len(splits.class_names), backbone.image_size, augment=data.augmentation(42))
    start = time.perf_counter()
    scratch_history = train.compile_classifier(scratch).fit(
        ds["train"], validation_data=ds["val"], epochs=10_000, verbose=0,
        callbacks=[*train.callbacks(patience=10_000), train.TimeBudget(through_s)])
    scratch_s = time.perf_counter() - start

    progress("the cached-features recipe on other seeded splits")
    spread = split_spread(extractor, backbone.image_size, quick=quick, views=views, head_epochs=head_epochs)

    def accuracy(probs):
        return round(float((probs.argmax(1) == splits.test.labels).mean()), 4)

    return {
        "test_acc_head": accuracy(head_probs),
        "test_acc_end_to_end": accuracy(e2e_probs),
        "max_prob_diff_end_to_end": float(np.abs(e2e_probs - head_probs).max()),
        "test_acc_through_base": accuracy(in_model.predict(plain["test"], verbose=0)),
        "test_acc_scratch": accuracy(scratch.predict(plain["test"], verbose=0)),
        "test_acc_head_split_seeds": spread,
        "test_acc_head_mean_over_splits": round(float(np.mean(spread)), 4),
        "epoch_s_cached": round(statistics.median(history.history["epoch_seconds"]), 4),
        # Epoch 1 through the base also decodes and caches the JPEGs: the median leaves it out.
        "epoch_s_through_base": round(statistics.median(timer.seconds[1:] or timer.seconds), 2),
        "cached_rows_per_epoch": len(train_xy[0]),
        "epochs_cached": len(history.history["loss"]),
        "epochs_through_base": len(timer.seconds),
        "epochs_scratch": len(scratch_history.history["loss"]),
        "seconds_extract_features": round(extract_s, 1),
        "seconds_cached_total": round(cached_s, 1),
        "seconds_through_base_total": round(through_s, 1),
        "seconds_scratch_total": round(scratch_s, 1),
        "n_train": len(splits.train), "n_val": len(splits.val), "n_test": len(splits.test),
        "views": views,
        "quick": quick,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


#: Fine-tuning runs from the same stage-1 checkpoint, as notebook 02 runs them. The recipe is
#: ``train.fine_tune``'s defaults: top 6 blocks, BatchNorm frozen, peak rate 1e-4, 15 epochs. The two
#: pitfalls are each one change from "all_layers": BatchNorm trained, or a 100x higher rate.
FINE_TUNING_RUNS = {
    "fine_tuned": {},
    "three_blocks": {"blocks": 3},
    "all_layers": {"blocks": None, "fraction": 1.0},
    "discriminative_lr": {"blocks": None, "fraction": 1.0, "factors": (0.1, 0.3, 1.0)},
    "bn_training_mode": {"blocks": None, "fraction": 1.0, "train_batchnorm": True},
    "unfreeze_all_high_lr": {"blocks": None, "fraction": 1.0, "peak_lr": 1e-2},
}


class _Flowers:
    """What the fine-tuning benchmarks share: the course split, MobileNetV2, its frozen extractor,
    the datasets, and cached stage-1 features (``views`` per training photo)."""

    def __init__(self, quick: bool, views: int):
        from tltf import data, models, train

        train.seed_everything(42)
        self.splits = data.load_flowers(quick=quick, verbose=False)
        self.backbone = models.get_backbone("mobilenet_v2")
        self.extractor = models.feature_extractor(self.backbone)
        self.train_ds = data.make_dataset(self.splits.train, self.backbone.image_size, shuffle=True)
        self.plain = {name: data.make_dataset(getattr(self.splits, name), self.backbone.image_size)
                      for name in ("train", "val", "test")}
        self.features = (train.extract_features(self.extractor, self.plain["train"], augment=data.augmentation(42),
                                                views=views),
                         train.extract_features(self.extractor, self.plain["val"]))

    def test_accuracy(self, model) -> float:
        from tltf import train

        return round(train.accuracy(model, self.plain["test"], self.splits.test.labels), 4)

    def stage_one(self, checkpoint, *, epochs: int, normalize: bool = False, seed: int | None = None) -> float:
        """Train a new head on the cached features (unit-length features at rate 1e-2 if ``normalize``,
        else rate 1e-3), reseeding first if ``seed`` is given, and save the best one at ``checkpoint``;
        returns its test accuracy."""
        from tltf import models, train

        if seed is not None:
            train.seed_everything(seed)
        head = models.make_head(self.backbone.feature_size, len(self.splits.class_names), normalize=normalize)
        train.train_head(head, *self.features, epochs=epochs, patience=10, checkpoint=checkpoint,
                         learning_rate=1e-2 if normalize else 1e-3)
        return self.test_accuracy(models.attach_head(self.extractor, head))

    def stage_two(self, checkpoint, *, epochs: int, seed: int = 42, **options):
        """A fresh ImageNet backbone under the head at ``checkpoint``, fine-tuned with
        ``train.fine_tune(**options)``. Returns (model, history, unfreeze report)."""
        import keras

        from tltf import data, models, train

        train.seed_everything(seed)
        base = models.load_backbone(self.backbone)
        model = models.build_classifier(self.backbone, len(self.splits.class_names), base=base,
                                        head=keras.models.load_model(checkpoint), augment=data.augmentation(42))
        history, report = train.fine_tune(model, base, self.train_ds, self.plain["val"], epochs=epochs, **options)
        return model, history, report


def fine_tuning(quick: bool = QUICK) -> dict:
    """Flowers, MobileNetV2 at 224 px: stage 1 (a head on cached features, checkpointed), then
    each of ``FINE_TUNING_RUNS`` from that same checkpoint with a fresh ImageNet base."""
    import tempfile
    from pathlib import Path

    views, head_epochs, epochs = (2, 20, 1) if quick else (6, 100, 15)
    progress("stage 1: head on cached features")
    start = time.perf_counter()
    flowers = _Flowers(quick, views)
    checkpoint = Path(tempfile.mkdtemp()) / "stage1_head.keras"
    results = {"test_acc_feature_extraction": flowers.stage_one(checkpoint, epochs=head_epochs),
               "seconds_feature_extraction": round(time.perf_counter() - start, 1)}
    for name, options in FINE_TUNING_RUNS.items():
        progress(f"fine-tuning: {name} {options}")
        start = time.perf_counter()
        model, history, report = flowers.stage_two(checkpoint, epochs=epochs, **options)
        results[f"test_acc_{name}"] = flowers.test_accuracy(model)
        results[f"best_val_acc_{name}"] = round(max(history.history["val_accuracy"]), 4)
        results[f"epochs_{name}"] = len(history.history["loss"])
        results[f"trainable_params_{name}"] = report.trainable_params
        results[f"seconds_{name}"] = round(time.perf_counter() - start, 1)
        if name == "fine_tuned":
            results["seconds_fine_tuning"] = results.pop("seconds_fine_tuned")
            results["epoch_s_fine_tuning"] = round(statistics.median(history.history["epoch_seconds"]), 1)
    splits = flowers.splits
    return {**results, "n_train": len(splits.train), "n_val": len(splits.val), "n_test": len(splits.test),
            "quick": quick, "peak_rss_mb": round(peak_rss_mb(), 1)}


def fine_tuning_seeds(quick: bool = QUICK) -> dict:
    """How much of one fine-tuning result is the stage-1 head's random start: the recipe of
    ``fine_tuning`` from heads started with several seeds, for the plain head (notebooks 01-02) and
    the unit-length head (notebook 04). Same split, same cached features, same stage 2."""
    import tempfile
    from pathlib import Path

    views, head_epochs, epochs, seeds = (2, 20, 1, (0,)) if quick else (6, 100, 15, (0, 1, 2))
    start = time.perf_counter()
    flowers = _Flowers(quick, views)
    results: dict = {"seeds": list(seeds)}
    for kind, normalize in (("plain", False), ("normalized", True)):
        fe, ft, val = [], [], []
        for seed in seeds:
            progress(f"{kind} head, seed {seed}")
            checkpoint = Path(tempfile.mkdtemp()) / "stage1_head.keras"
            fe.append(flowers.stage_one(checkpoint, epochs=head_epochs, normalize=normalize, seed=seed))
            model, history, _ = flowers.stage_two(checkpoint, epochs=epochs, seed=seed)
            ft.append(flowers.test_accuracy(model))
            val.append(round(max(history.history["val_accuracy"]), 4))
        results[f"test_acc_feature_extraction_{kind}"] = fe
        results[f"test_acc_fine_tuned_{kind}"] = ft
        results[f"best_val_acc_fine_tuned_{kind}"] = val
        results[f"mean_gain_points_{kind}"] = round(100 * (statistics.mean(ft) - statistics.mean(fe)), 1)
    return {**results, "quick": quick, "seconds": round(time.perf_counter() - start, 1),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


def compare_backbones(splits, candidates: dict[str, str], *, views: int = 6, head_epochs: int = 100) -> list[dict]:
    """One row per backbone: ``name``, ``params``, ``size_mb`` (the frozen extractor saved as
    ``.keras``), ``images_per_s`` (CPU, batches of 32 decoded test images through the frozen
    extractor, after a warm-up pass) and ``test_acc`` (the cached-features recipe of notebook 01).

    ``candidates`` maps a row name to a ``tltf.models`` backbone name or a hub handle / module folder.
    """
    import tempfile
    from pathlib import Path

    from tltf import data, hub, models, train

    rows = []
    for name, source in candidates.items():
        progress(f"backbone: {name}")
        if str(source) in models.BACKBONES:
            spec = models.get_backbone(source)
            extractor, image_size = models.feature_extractor(spec), spec.image_size
        else:
            extractor, image_size = hub.feature_extractor(source), (224, 224)
        train.seed_everything(42)  # after building: Keras draws random initial weights before loading ImageNet's
        plain = {split: data.make_dataset(getattr(splits, split), image_size) for split in ("train", "val", "test")}
        test_x, _ = train.extract_features(extractor, plain["test"])  # also the warm-up pass
        start = time.perf_counter()
        for images, _ in plain["test"]:
            extractor.predict_on_batch(images)
        images_per_s = len(splits.test) / (time.perf_counter() - start)
        head = models.make_head(extractor.output_shape[-1], len(splits.class_names))
        train.train_head(head, train.extract_features(extractor, plain["train"], augment=data.augmentation(42),
                                                      views=views),
                         train.extract_features(extractor, plain["val"]), epochs=head_epochs, patience=10)
        path = Path(tempfile.mkdtemp()) / "extractor.keras"
        extractor.save(path)
        rows.append({"name": name, "params": extractor.count_params(), "size_mb": round(path.stat().st_size / 1e6, 1),
                     "images_per_s": round(images_per_s, 1),
                     "test_acc": round(train.accuracy(head, test_x, splits.test.labels), 4)})
    return rows


def backbones(quick: bool = QUICK) -> dict:
    """Flowers: the MobileNetV2 hub module (the official one when it can be downloaded, else the
    locally built one), Keras MobileNetV2 and Keras MobileNet 0.25, as ``compare_backbones`` rows."""
    from tltf import data, hub

    splits = data.load_flowers(quick=quick)
    try:
        hub.load_module(hub.MOBILENET_V2_HANDLE)
        handle, label = hub.MOBILENET_V2_HANDLE, "hub: MobileNetV2 feature vector (tfhub.dev)"
    except hub.HubError as err:
        progress(f"{err}\nUsing the locally built module instead.")
        handle, label = str(hub.local_mobilenet_v2_module()), "hub: MobileNetV2 feature vector (locally built)"
    rows = compare_backbones(splits, {label: handle, "keras: MobileNetV2": "mobilenet_v2",
                                      "keras: MobileNet 0.25": "mobilenet_025"},
                             views=2 if quick else 6, head_epochs=20 if quick else 100)
    return {"rows": rows, "quick": quick, "peak_rss_mb": round(peak_rss_mb(), 1)}


def learning_curves(quick: bool = QUICK) -> dict:
    """Flowers, MobileNetV2: test accuracy against labelled images per class for feature extraction,
    fine-tuning and a CNN from scratch (``tltf.curves``, every point over ``curves.SEEDS``), the
    seconds each needs to reach ``curves.TARGET`` validation accuracy with all training images, and
    what the whole grid cost."""
    import os

    from tltf import curves, data

    start = time.perf_counter()
    splits = data.load_flowers(quick=quick)
    progress("caching activations")
    experiment = curves.Experiment(splits, quick=quick)
    runs = curves.run_grid(experiment, progress=progress)
    rows = curves.summarize(runs)
    seconds = time.perf_counter() - start
    points = sorted({row["per_class"] for row in rows})
    mean = {(row["approach"], row["per_class"]): row["mean"] for row in rows}
    return {
        "rows": rows,
        "per_class": points,
        **{approach: [mean[approach, k] for k in points] for approach in curves.APPROACHES},
        "target_acc": curves.TARGET,
        "seconds_to_target": curves.seconds_to_target(runs, curves.TARGET, experiment.prep_seconds),
        "best_val_acc_all": curves.best_val_acc(runs),
        "prep_seconds": {name: round(value, 1) for name, value in experiment.prep_seconds.items()},
        "trainable_params": {row["approach"]: row["trainable_params"] for row in rows},
        "seeds": len(curves.SEEDS),
        "seconds": round(seconds, 1),
        "cost": curves.cost(seconds, cores=len(os.sched_getaffinity(0)), **curves.PRICES),
        "n_train": len(splits.train), "n_val": len(splits.val), "n_test": len(splits.test),
        "quick": quick,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }


def text_transfer(quick: bool = QUICK) -> dict:
    """UCI sentiment, three domains pooled: TF-IDF, GloVe (frozen, trainable), MiniLM frozen + head and
    fine-tuned, all on one test split; the time to embed 1,000 sentences (fixed length vs padded to
    each batch's longest); 3x3 domain-shift matrices for the frozen and the fine-tuned encoder, and for
    the hardest frozen shift, test accuracy as labelled target sentences are added."""
    import keras
    import numpy as np

    from tltf import data, text
    from tltf import train as training

    start = time.perf_counter()
    splits = data.load_sentiment(quick=quick, verbose=False)
    results: dict = {}
    progress("TF-IDF")
    tfidf, c = text.tfidf_baseline(splits.train, splits.val)
    results["tfidf_acc"] = round(tfidf.score(list(splits.test.texts), splits.test.labels), 4)
    results["tfidf_c"] = c
    words, vectors = text.load_glove()
    for trainable in (False, True):
        progress(f"GloVe, trainable={trainable}")
        glove = training.compile_classifier(text.glove_classifier(words, vectors, trainable=trainable),
                                            1e-3 if trainable else 1e-2)
        glove.fit(text.string_data(splits.train, shuffle=True), validation_data=text.string_data(splits.val),
                  epochs=5 if quick else 100, callbacks=training.callbacks(patience=5), verbose=0)
        key = "glove_trainable_acc" if trainable else "glove_frozen_acc"
        results[key] = round(training.accuracy(glove, text.string_data(splits.test), splits.test.labels), 4)

    progress("MiniLM: embedding speed and frozen features")
    preprocessor, encoder = text.load_minilm()
    sample = np.resize(splits.train.texts, 1000) if quick else splits.train.texts[:1000]
    text.embed(sample[:64], preprocessor, encoder)  # warm-up
    timed = ((True, "embed_1000_s"),) if quick else \
        ((True, "embed_1000_s"), (False, f"embed_1000_fixed{text.SEQUENCE_LENGTH}_s"))
    for padded, key in timed:
        t0 = time.perf_counter()
        text.embed(sample, preprocessor, encoder, padded=padded)
        results[key] = round(time.perf_counter() - t0, 2)
    pooler = text.layer_pooler(encoder, text.FROZEN_LAYERS)
    pooler.trainable = False
    features = {name: text.embed(getattr(splits, name).texts, preprocessor, pooler) for name in ("train", "val", "test")}
    pair = lambda name: (features[name], getattr(splits, name).labels)  # noqa: E731
    head = text.frozen_head(pair("train"), pair("val"))
    results["encoder_frozen_acc"] = round(training.accuracy(head, *pair("test")), 4)
    single = {name: f[:, -encoder.output_shape[-1]:] for name, f in features.items()}  # the last layer alone
    one = text.frozen_head((single["train"], splits.train.labels), (single["val"], splits.val.labels))
    results["encoder_frozen_last_layer_acc"] = round(training.accuracy(one, single["test"], splits.test.labels), 4)

    progress("domain shift: frozen")
    matrix = results["domain_matrix_frozen"] = text.domain_matrix(text.frozen_recipe(features, splits))
    source, target = min(((s, t) for s in matrix for t in matrix if s != t), key=lambda st: matrix[st[0]][st[1]])
    curve, in_domain = text.gap_curve(features, splits, source, target, text.QUICK_GAP_KS if quick else text.GAP_KS)
    results["gap"] = {"source": source, "target": target, "k_target_sentences": list(curve),
                      "test_acc": list(curve.values()), "in_domain_acc": in_domain}

    progress("MiniLM fine-tuned end to end")
    t0 = time.perf_counter()
    model = keras.Model(pooler.input, head(pooler.output))
    history = text.fine_tune(model, preprocessor, splits.train, splits.val, epochs=1 if quick else text.FINE_TUNE_EPOCHS)
    results["seconds_fine_tuning"] = round(time.perf_counter() - t0, 1)
    results["fine_tuning_val_acc"] = [round(v, 4) for v in history.history["val_accuracy"]]
    results["encoder_finetuned_acc"] = round(text.accuracy(model, preprocessor, splits.test), 4)

    progress("domain shift: fine-tuned")
    results["domain_matrix_finetuned"] = text.domain_matrix(
        text.fine_tuned_recipe(splits, epochs=1 if quick else text.FINE_TUNE_EPOCHS))
    results.update(n_train=len(splits.train), n_val=len(splits.val), n_test=len(splits.test), quick=quick,
                   seconds=round(time.perf_counter() - start, 1), peak_rss_mb=round(peak_rss_mb(), 1))
    return results


def audio_transfer(quick: bool = QUICK) -> dict:
    """FSDD spoken digits, the first 0.975 s of each clip as one log-mel patch: a mean-log-mel +
    logistic-regression baseline, frozen YAMNet + head, and YAMNet fine-tuned from that head, on the
    official split and on held-out speakers (an accent shift)."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from tltf import audio, data, models
    from tltf import train as training

    start = time.perf_counter()
    results: dict = {}
    for split, prefix in (("official", ""), ("speaker", "speaker_heldout_")):
        progress(f"{split} split: log-mel patches")
        splits = data.load_digits(split, quick=quick, verbose=False)
        x = {name: audio.patches(getattr(splits, name).paths) for name in ("train", "val", "test")}
        y = {name: getattr(splits, name).labels for name in ("train", "val", "test")}
        baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
        baseline.fit(x["train"].mean(axis=1), y["train"])
        results[f"{prefix}baseline_acc"] = round(baseline.score(x["test"].mean(axis=1), y["test"]), 4)
        progress(f"{split} split: frozen YAMNet")
        _, backbone, _ = audio.load_yamnet(verbose=False)
        backbone.trainable = False
        features = {name: backbone.predict(x[name], batch_size=64, verbose=0) for name in x}
        training.seed_everything(0)
        head = models.make_head(features["train"].shape[1], 10)
        training.train_head(head, (features["train"], y["train"]), (features["val"], y["val"]),
                            epochs=5 if quick else 200, patience=10)
        results[f"{prefix}yamnet_frozen_acc"] = round(training.accuracy(head, features["test"], y["test"]), 4)
        progress(f"{split} split: YAMNet fine-tuned")
        t0 = time.perf_counter()
        model = keras.Model(backbone.input, head(backbone.output))
        history = training.fine_tune_all(model, (x["train"], y["train"]), (x["val"], y["val"]),
                                         epochs=1 if quick else 10, peak_lr=3e-4)
        results[f"{prefix}yamnet_finetuned_acc"] = round(training.accuracy(model, x["test"], y["test"]), 4)
        results[f"{prefix}fine_tuning_val_acc"] = [round(v, 4) for v in history.history["val_accuracy"]]
        results[f"{prefix}seconds_fine_tuning"] = round(time.perf_counter() - t0, 1)
        results[f"{prefix}n_train_val_test"] = [len(splits.train), len(splits.val), len(splits.test)]
    results.update(quick=quick, seconds=round(time.perf_counter() - start, 1), peak_rss_mb=round(peak_rss_mb(), 1))
    return results


BENCHMARKS = {"feature-extraction": feature_extraction, "fine-tuning": fine_tuning,
              "fine-tuning-seeds": fine_tuning_seeds, "backbones": backbones,
              "learning-curves": learning_curves, "text": text_transfer, "audio": audio_transfer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tltf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=list(BENCHMARKS))
    args = parser.parse_args(argv)
    results = BENCHMARKS[args.name]()
    width = max(map(len, results))
    print(f"\n{args.name} ({'quick' if results.get('quick') else 'full'} mode)")
    for key, value in results.items():
        if key == "rows":  # a table of dicts with the same keys
            widths = {column: max(len(column), *(len(str(row[column])) for row in value)) for column in value[0]}
            print("  " + "  ".join(f"{column:>{w}}" for column, w in widths.items()))
            for row in value:
                print("  " + "  ".join(f"{row[column]!s:>{w}}" for column, w in widths.items()))
        else:
            print(f"  {key:<{width}}  {value}")
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
