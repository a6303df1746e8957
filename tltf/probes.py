"""Linear probes: which layers of a frozen backbone hold features that a linear classifier can use, and what
an encoder's features are worth with a few labels per class.

``depth_extractor`` taps the backbone after several blocks and pools each tap over space;
``extract_by_depth`` runs it over a dataset once; ``probe_by_depth`` fits one logistic regression
(scikit-learn) per tap, its regularisation chosen on the validation split, and scores it once on test;
``few_label_probe`` does the same for one feature array, trained on k labelled rows per class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tltf import models, stats
from tltf.data.examples import per_class_index

#: MobileNetV2 layers to probe, early to last: the residual sums ending blocks 2, 5, 9, 12, 15, and the output.
MOBILENET_V2_DEPTHS = ("block_2_add", "block_5_add", "block_9_add", "block_12_add", "block_15_add", "out_relu")
#: Inverse regularisation strengths tried for every probe; the one best on validation is kept.
PROBE_C = (0.01, 0.1, 1.0, 10.0)


def depth_extractor(backbone: str | models.Backbone, base: keras.Model, layers: Sequence[str]) -> keras.Model:
    """[0, 255] images (batch, size, size, 3) -> one (batch, channels) feature array per layer in ``layers``,
    each the layer's output averaged over space. The base is frozen (inference mode) and shared, not copied."""
    spec = models.get_backbone(backbone)
    base.trainable = False
    tapped = keras.Model(base.inputs, [base.get_layer(name).output for name in layers], name="taps")
    inputs = keras.Input((*spec.image_size, 3), name="image")
    outputs = tapped(models.preprocessing_layer(spec)(inputs), training=False)
    pooled = [keras.layers.GlobalAveragePooling2D(name=f"pool_{n}")(o) for n, o in zip(layers, outputs, strict=True)]
    return keras.Model(inputs, pooled, name="depth_extractor")


def extract_by_depth(extractor: keras.Model, dataset: tf.data.Dataset) -> dict[str, np.ndarray]:
    """Run a ``depth_extractor`` over ``(images, labels)`` batches once: {layer: (n, channels) float32}."""
    names = [name.removeprefix("pool_") for name in extractor.output_names]
    parts: list[list[np.ndarray]] = [[] for _ in names]
    for images, _ in dataset:
        outputs = extractor.predict_on_batch(images)
        for part, features in zip(parts, outputs if len(names) > 1 else [outputs], strict=True):
            part.append(np.asarray(features))
    return {name: np.concatenate(part) for name, part in zip(names, parts, strict=True)}


def linear_probe(x_train, y_train, x_val, y_val, *, cs: Sequence[float] = PROBE_C, seed: int = 0):
    """A standardised logistic regression on features (n, d), its ``C`` chosen on validation accuracy
    (the smaller C on ties). Returns (fitted scikit-learn pipeline, chosen C, validation accuracy)."""
    best = None
    for c in cs:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=3000, random_state=seed))
        probe.fit(x_train, y_train)
        accuracy = probe.score(x_val, y_val)
        if best is None or accuracy > best[2]:
            best = (probe, c, accuracy)
    return best


def probe_by_depth(
    features: Mapping[str, Mapping[str, np.ndarray]], labels: Mapping[str, np.ndarray], *, seed: int = 0
) -> list[dict]:
    """One linear probe per layer. ``features[split][layer]`` is (n_split, channels) for the splits
    "train", "val", "test"; ``labels[split]`` is (n_split,). Returns, per layer in order, ``{"block",
    "C", "val_acc", "acc_mean", "acc_ci95"}`` (test accuracy, Wilson interval: one probe on one test
    split), plus ``auc`` (test ROC AUC) for two classes."""
    rows = []
    for layer in features["train"]:
        probe, c, val_acc = linear_probe(
            features["train"][layer], labels["train"], features["val"][layer], labels["val"], seed=seed
        )
        correct = probe.predict(features["test"][layer]) == labels["test"]
        acc = stats.single(correct)
        row = {"block": layer, "C": c, "val_acc": round(val_acc, 4), "acc_mean": acc["mean"], "acc_ci95": acc["ci95"]}
        if len(probe.classes_) == 2:
            row["auc"] = round(
                float(roc_auc_score(labels["test"], probe.predict_proba(features["test"][layer])[:, 1])), 4
            )
        rows.append(row)
    return rows


def few_label_probe(
    features: Mapping[str, np.ndarray], labels: Mapping[str, np.ndarray], per_class: int | None, *, seed: int = 0
) -> dict:
    """A ``linear_probe`` trained on ``per_class`` training rows per class (None: all of them), drawn
    with ``seed`` (``tltf.data.per_class_index``), its C chosen on the whole validation split, scored
    once on test. ``features[split]`` is (n_split, d), ``labels[split]`` (n_split,) for "train", "val",
    "test". Returns ``{"val_acc", "test_acc", "C"}``, accuracies in [0, 1]."""
    y = labels["train"]
    rows = np.arange(len(y)) if per_class is None else per_class_index(y, per_class, seed)
    probe, c, val_acc = linear_probe(features["train"][rows], y[rows], features["val"], labels["val"], seed=seed)
    return {"val_acc": float(val_acc), "test_acc": float(probe.score(features["test"], labels["test"])), "C": c}
