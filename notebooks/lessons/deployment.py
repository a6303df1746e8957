"""Notebook 12's plumbing: the formats table and its plot, the corruption and leak tables, the model cards of
the course's exported models, and the README tables of ``benchmarks/deployment.json``.

A format's measured row is a dict: ``size_mb`` (MiB), ``latency_ms`` (``{"median", "q25", "q75"}``, one image,
one thread), ``throughput_ips`` (images per second, batches of 32, every core), ``test_acc`` (a
``tltf.stats.single`` dict) and ``agreement`` (share of test photos with the Keras model's top class).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from tltf import cards, export, mistakes, privacy, recorded, registry, stats
from tltf.tables import Table, measures

#: The benchmark whose record this lesson shows beside its runs.
NAME = "deployment"
#: How the tables name each exported model.
LABELS = {
    "keras": "Keras (.keras)",
    "saved_model": "SavedModel",
    "float32": "LiteRT float32",
    "float16": "LiteRT float16",
    "dynamic": "LiteRT dynamic-range int8",
    "int8": "LiteRT full int8",
    "keras_int8": "Keras, model.quantize('int8')",
    "student_saved_model": "student, SavedModel",
    "student_float32": "student, LiteRT float32",
    "student_int8": "student, LiteRT full int8",
}


#: The exported models whose single-photo latency and throughput the notebook measures.
TIMED = ("keras", "float32", "float16", "dynamic", "int8", "student_float32", "student_int8")


def output_folder() -> Path:
    """A new, empty folder for this run's exported files: ``$TLTF_CACHE/exported/deployment-XXXX`` (never
    shared with another run)."""
    parent = registry.cache_dir() / "exported"
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="deployment-", dir=parent))


def made() -> str:
    """Today's date and the course's commit (``tltf.bench.commit``; "+changes" when the files differ from it)."""
    from tltf import bench  # reads the checkout's benchmark tables: only here

    return f"{time.strftime('%Y-%m-%d')}, tltf commit {bench.commit()}"


def keras_throughput(model: keras.Model, images: np.ndarray, batch: int = 32) -> float:
    """Images per second of ``model.predict`` over ``images`` in batches of ``batch``, after one warm-up batch."""
    model.predict(images[:batch], batch_size=batch, verbose=0)
    start = time.perf_counter()
    model.predict(images, batch_size=batch, verbose=0)
    return len(images) / (time.perf_counter() - start)


def scores(probs: np.ndarray, labels: np.ndarray, reference: np.ndarray) -> dict:
    """``{"correct", "test_acc", "agreement", "n"}`` of probabilities (n, classes) against the labels (n,) and
    the Keras model's probabilities."""
    correct = probs.argmax(axis=1) == labels
    agreement = export.agreement(probs, reference)
    return {"correct": correct, "test_acc": stats.single(correct), "agreement": agreement, "n": len(labels)}


def minus_points(correct_a: Sequence[np.ndarray], correct_b: Sequence[np.ndarray]) -> dict:
    """A's accuracy minus B's in points, ``{"mean", "ci95"}``, paired: over the seeds (one boolean array of test
    answers per seed, the same seeds in both; Student t) when there are several, else over the photos of the
    one run (paired bootstrap)."""
    if len(correct_a) > 1:
        return stats.paired([100 * c.mean() for c in correct_a], [100 * c.mean() for c in correct_b], bounds=(0, 100))
    difference, interval = stats.paired_bootstrap(correct_a[0], correct_b[0])
    return {"mean": round(100 * difference, 4), "ci95": [round(100 * c, 4) for c in interval]}


def row_records(rows: Mapping[str, dict]) -> dict:
    """The formats' rows as record keys: ``size_mb_<name>``, ``test_acc_<name>``, ``agreement_<name>``,
    ``latency_ms_<name>`` (the median) with ``_q25`` / ``_q75``, ``throughput_ips_<name>``."""
    found = {}
    for name, row in rows.items():
        found |= {
            f"size_mb_{name}": row["size_mb"],
            f"test_acc_{name}": row["test_acc"],
            f"agreement_{name}": row["agreement"],
        }
        if row.get("latency_ms"):
            found |= {
                f"latency_ms_{name}{part}": row["latency_ms"][q]
                for part, q in (("", "median"), ("_q25", "q25"), ("_q75", "q75"))
            }
        if row.get("throughput_ips"):
            found[f"throughput_ips_{name}"] = row["throughput_ips"]
    return found


def per_photo(correct: np.ndarray, groups: int) -> np.ndarray:
    """Each photo's share of right answers over its ``groups`` corrupted copies (``correct``: boolean, the
    copies one after another)."""
    return np.asarray(correct, float).reshape(groups, -1).mean(axis=0)


def over_photos(correct: np.ndarray, groups: int) -> dict:
    """Accuracy over ``groups`` corrupted copies of the same photos as ``{"mean", "ci95"}``: a t interval over
    the photos' ``per_photo`` shares (the copies of one photo are not independent items)."""
    mean, interval = stats.mean_ci(per_photo(correct, groups), bounds=(0, 1))
    return {"mean": round(mean, 4), "ci95": [round(c, 4) for c in interval]}


def flex_ops(folder: Path) -> int:
    """How many operations named ``Flex...`` all the ``.tflite`` files in ``folder`` hold together."""
    return sum(
        name.startswith("Flex") for path in folder.glob("*.tflite") for name in export.operations(path.read_bytes())
    )


def prefixed(prefix: str, values: Mapping[str, object]) -> dict:
    """``{f"{prefix}_{name}": value}``: record keys for one measure of several models."""
    return {f"{prefix}_{name}": value for name, value in values.items()}


def formats_table(rows: Mapping[str, dict]) -> pd.DataFrame:
    """One row per exported model (``LABELS``): size, size against LiteRT float32, latency, throughput,
    test accuracy with its interval, agreement with the Keras model."""
    reference = rows["float32"]["size_mb"]
    table = {}
    for name, row in rows.items():
        latency = row.get("latency_ms")
        table[LABELS.get(name, name)] = {
            "size (MiB)": round(row["size_mb"], 2),
            "x float32": round(row["size_mb"] / reference, 3),
            "latency ms, 1 thread (q25 to q75)": (
                f"{latency['median']:.2f} ({latency['q25']:.2f} to {latency['q75']:.2f})" if latency else "-"
            ),
            "images/s, batch 32": round(row["throughput_ips"]) if row.get("throughput_ips") else "-",
            "test accuracy (95 %)": stats.format_interval(row["test_acc"]) if row.get("test_acc") else "-",
            "agreement with Keras": round(row["agreement"], 3) if row.get("agreement") is not None else "-",
        }
    return pd.DataFrame.from_dict(table, orient="index")


def size_plot(rows: Mapping[str, dict]) -> plt.Figure:
    """Test accuracy (with its 95 % interval) against file size, log scale, one point per exported model."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, row in rows.items():
        if not row.get("test_acc"):
            continue
        mean, (low, high) = row["test_acc"]["mean"], row["test_acc"]["ci95"]
        ax.errorbar(row["size_mb"], mean, yerr=[[mean - low], [high - mean]], fmt="o", capsize=3)
        ax.annotate(
            LABELS.get(name, name), (row["size_mb"], mean), textcoords="offset points", xytext=(5, 4), fontsize=8
        )
    ax.set(xscale="log", xlabel="file size (MiB, log scale)", ylabel="test accuracy (95 % interval)")
    ax.set_title("Accuracy against size")
    fig.tight_layout()
    return fig


def accuracy_table(results: Mapping[str, Mapping[str, dict]]) -> pd.DataFrame:
    """``results[row][column]`` (``tltf.stats`` dicts) as text, "mean (low to high)"."""
    return pd.DataFrame(
        {LABELS.get(r, r): {c: stats.format_interval(v) for c, v in cols.items()} for r, cols in results.items()}
    ).T


def leak(train_probs: np.ndarray, test_probs: np.ndarray, train_labels: np.ndarray, test_labels: np.ndarray) -> dict:
    """A model's membership leak: training and test accuracy, both groups' losses, and the loss-threshold
    attack's AUC with its bootstrap interval (``tltf.privacy.membership_auc``)."""
    losses = (mistakes.losses(train_probs, train_labels), mistakes.losses(test_probs, test_labels))
    return {
        "train_acc": float((train_probs.argmax(axis=1) == train_labels).mean()),
        "test_acc": float((test_probs.argmax(axis=1) == test_labels).mean()),
        "losses": losses,
        "auc": privacy.membership_auc(*losses),
    }


#: The record's short name of each model of the membership test.
LEAK_KEYS = {
    "from scratch": "scratch",
    "feature extraction": "fe",
    "fine-tuned": "ft",
    "from scratch, augmented": "scratch_augmented",
}


def leak_records(leaks: Mapping[str, dict]) -> dict:
    """``mia_auc_<key>`` and ``gap_<key>`` (training minus test accuracy) of each model's ``leak``."""
    found = {}
    for name, row in leaks.items():
        key = LEAK_KEYS[name]
        found |= {f"mia_auc_{key}": row["auc"], f"gap_{key}": round(row["train_acc"] - row["test_acc"], 4)}
    return found


def leak_table(rows: Mapping[str, dict]) -> pd.DataFrame:
    """One row per model: training and test accuracy, their gap, and the membership attack's AUC (95 %)."""
    return pd.DataFrame.from_dict(
        {
            name: {
                "training accuracy": round(row["train_acc"], 3),
                "test accuracy": round(row["test_acc"], 3),
                "gap": round(row["train_acc"] - row["test_acc"], 3),
                "attack AUC (95 %)": stats.format_interval(row["auc"]),
            }
            for name, row in rows.items()
        },
        orient="index",
    )


def loss_histograms(leaks: Mapping[str, dict]) -> plt.Figure:
    """Per model (a ``leak`` dict), the cross-entropy of its training photos and of its test photos, log scale."""
    fig, axes = plt.subplots(1, len(leaks), figsize=(4 * len(leaks), 3), squeeze=False)
    for ax, (name, row) in zip(axes[0], leaks.items(), strict=True):
        members, others = row["losses"]
        bins = np.logspace(-6, 1.5, 30)
        ax.hist(np.clip(members, 1e-6, None), bins=bins, alpha=0.6, label="training photos")
        ax.hist(np.clip(others, 1e-6, None), bins=bins, alpha=0.6, label="test photos")
        ax.set(xscale="log", xlabel="loss (log scale)", title=name)
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    return fig


#: What every card of the flowers models says about its use and its limits.
FLOWERS_USE = dict(
    intended_use=(
        "Teaching: sorting photos of five kinds of flower (daisy, dandelion, roses, sunflowers, tulips) in a "
        "transfer-learning course. Users: learners and teachers."
    ),
    out_of_scope=(
        "Any flower outside the five classes (the model always answers one of them), identifying plants for "
        "food or medicine, and commercial use without checking the licences below."
    ),
    factors=(
        "Photo quality (noise, blur, contrast; see the corruption results), framing (close-ups dominate the "
        "training photos), and the photographers and places of the Flickr photos it learned from."
    ),
    training_data=(
        "tf_flowers (TensorFlow team, CC BY 2.0): the course's class-balanced subset, split 60 / 20 / 20 % into "
        "training, validation and test photos (seed 42). The backbone's weights were learned from ImageNet."
    ),
    evaluation_data="The test photos of the same split, never used to choose anything.",
    ethics="Flowers raise few direct risks; the photos are people's own, credited under CC BY 2.0.",
)


def shift_results(severity: int = 5) -> dict:
    """Notebook 08's recorded study of the fine-tuned flowers model under each ImageNet-C corruption at
    ``severity`` (its own training runs, over its seeds), as card analyses; ``{}`` before that study exists."""
    stored = recorded.study("shifted-domains")
    runs = len(stored.get("seeds", []))
    return {
        f"notebook 08's fine-tuned model: {c} (severity {severity})": {
            "mean": stored[f"acc_ft_{c}_{severity}_mean"],
            "ci95": stored[f"acc_ft_{c}_{severity}_ci95"],
            "note": f"recorded study of notebook 08, {runs} training runs",
        }
        for c in stored.get("corruptions", [])
        if f"acc_ft_{c}_{severity}_mean" in stored
    }


def flowers_card(name: str, path: Path, row: dict, analyses: dict, made: str) -> cards.ModelCard:
    """The model card of one exported flowers model (``name`` a key of ``LABELS``): ``row`` its measured row
    (``scores`` and a size), ``analyses`` its accuracies on corrupted photos (name -> ``tltf.stats`` dict),
    to which the fine-tuned models add notebook 08's results at the highest severity (``shift_results``);
    ``made`` when and from which commit."""
    student = name.startswith("student")
    metrics = {"test accuracy": {**row["test_acc"], "n": row["n"]}}
    caveats = [
        f"Top class the same as the fine-tuned Keras model's on {row['agreement']:.1%} of the test photos.",
        f"Accuracy on {row['n']} test photos: the interval is wide; measure on your own photos before relying on it.",
    ]
    return cards.ModelCard(
        name=f"flowers-{name}",
        summary=(
            "Five-class flower classifier: MobileNet v1, width 0.25 (ImageNet, frozen), with a head distilled from "
            "the course's fine-tuned MobileNetV2."
            if student
            else "Five-class flower classifier: MobileNetV2 (ImageNet) with its top six blocks fine-tuned."
        ),
        details={
            "Format": LABELS.get(name, name),
            "File": path.name,
            "File size": f"{row['size_mb']:.2f} MiB",
            "Input": "RGB photos, 224 x 224, values 0 to 255"
            + (" (uint8)" if name in ("int8", "student_int8") else ""),
            "Output": "probabilities of daisy, dandelion, roses, sunflowers, tulips",
            "Made": made,
        },
        assets=["flower_photos", "mobilenet_v2_notop", *(["mobilenet_025_notop"] if student else [])],
        metrics=metrics,
        analyses=analyses if student else {**analyses, **shift_results()},
        caveats=caveats,
        **FLOWERS_USE,
    )


def xray_card(scored: Mapping[str, dict], made: str) -> cards.ModelCard:
    """The model card shared by the exported X-ray models (``scored``: ``scores`` of "keras", "float32", "int8")."""
    return cards.ModelCard(
        name="xray-pneumonia",
        summary="Normal or pneumonia from a small chest X-ray: MobileNetV2 (ImageNet), top six blocks fine-tuned.",
        details={
            "Formats": "SavedModel; LiteRT float32 and full int8 (uint8 input and output)",
            "Input": "112 x 112 grey X-rays repeated into 3 channels, values 0 to 255",
            "Output": "probabilities of normal, pneumonia",
            "Made": made,
        },
        assets=["pneumoniamnist_balanced", "mobilenet_v2_notop"],
        intended_use="Teaching transfer learning to a far domain. Users: learners and teachers.",
        out_of_scope=(
            "Any clinical use: diagnosis, triage or screening of real patients. It was never validated on a "
            "hospital's X-rays, and it is not a medical device."
        ),
        factors="Hospital, scanner and patient age: all training X-rays are paediatric, from one centre (Guangzhou).",
        metrics={f"test accuracy, {kind}": {**s["test_acc"], "n": s["n"]} for kind, s in scored.items()},
        training_data="PneumoniaMNIST (MedMNIST v2, CC BY 4.0), the course's class-balanced training subset.",
        evaluation_data="The test split of the same subset.",
        ethics=(
            "Medical images come from patients; a model that leaks membership (notebook 12, section 14) could "
            "reveal who was in the data. The course's explanation maps (notebook 11) put its evidence for "
            "pneumonia largely below the lungs: it may rely on cues a doctor would not."
        ),
        caveats=[
            f"Full int8 agrees with the Keras model on {scored['int8']['agreement']:.1%} of the test X-rays.",
            "Measured on 28-pixel images enlarged to 112 pixels: nothing is known about full-size X-rays.",
        ],
    )


README_TABLES: list[Table] = [
    Table(
        [
            (
                label,
                (
                    f"size_mb_{name}",
                    f"latency_ms_{name}" if name in TIMED else "",
                    f"throughput_ips_{name}" if name in TIMED else "",
                    f"test_acc_{name}",
                    f"agreement_{name}",
                ),
                (2, 2, 0, 3, 3),
            )
            for name, label in LABELS.items()
        ],
        (
            "flowers model, 300 test photos",
            "size (MiB)",
            "latency (ms, 1 thread, median)",
            "images/s (batch 32)",
            "test accuracy (95 %)",
            "agreement with Keras",
        ),
    ),
    measures(
        ("full int8 size / float32 size", "int8_size_ratio", 3),
        (
            "full int8 size / float32 size, the same network with ImageNet's 1000-class top",
            "int8_size_ratio_imagenet_top",
            3,
        ),
        ("full int8 minus Keras, test accuracy points (paired)", "int8_minus_keras_points", 2),
        ("Flex operations in all the LiteRT files written", "flex_ops", 0),
        ("full int8: quantisation parameters (MiB)", "quantization_mb_int8", 2),
        ("full int8, one scale per tensor: size / float32 size", "per_tensor_size_ratio", 3),
        ("full int8, one scale per tensor: agreement with Keras", "agreement_per_tensor", 3),
        ("Keras model.quantize('int8'): layers quantised", "keras_quantize_layers", 0),
        ("Keras model.quantize('int8'): share of the model's numbers quantised", "keras_quantize_weight_share", 4),
        ("Keras model.quantize('int8'): agreement with Keras", "agreement_keras_quantized", 3),
        ("corrupted photos: Keras accuracy", "corrupted_acc_keras", 3),
        ("corrupted photos: full int8 accuracy", "corrupted_acc_int8", 3),
        ("corrupted photos: full int8 minus Keras, points (paired)", "corrupted_int8_minus_keras_points", 2),
        ("X-ray model: Keras test accuracy", "xray_test_acc_keras", 3),
        ("X-ray model: full int8 test accuracy", "xray_test_acc_int8", 3),
        ("X-ray model: full int8 agreement with Keras", "xray_agreement_int8", 3),
        ("student (MobileNet 0.25) on labels: test accuracy", "student_acc_labels", 3),
        ("student distilled from the fine-tuned model: test accuracy", "student_acc_distilled", 3),
        ("distilled minus labels, points (paired)", "distilled_minus_labels_points", 2),
        ("membership attack AUC: CNN from scratch", "mia_auc_scratch", 3),
        ("membership attack AUC: CNN from scratch, with augmentation", "mia_auc_scratch_augmented", 3),
        ("membership attack AUC: feature extraction", "mia_auc_fe", 3),
        ("membership attack AUC: fine-tuned", "mia_auc_ft", 3),
        ("model cards written", "cards", 0),
    ),
]
