"""``python -m tltf fit`` on trees it has never seen."""

import json
import subprocess
import sys

import keras
import numpy as np

from tltf import data, labelled


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd)


def test_fit_trains_reports_and_saves_a_model(make_tree, tmp_path, mirror):
    root = make_tree({"Rote Äpfel": 10, "blue sky": 10, "grün": 10})
    out = tmp_path / "models" / "colours.keras"
    result = run("tltf", "fit", str(root), "--out", str(out), "--epochs", "20", "--views", "2")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["classes"] == ["Rote Äpfel", "blue sky", "grün"]
    assert (summary["n_train"], summary["n_val"], summary["n_test"]) == (18, 6, 6)
    assert summary["test_acc"] >= 0.8  # colours are easy for ImageNet features
    assert "precision" in result.stdout  # per-class metrics
    assert json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["classes"] == summary["classes"]
    card = (tmp_path / "models" / "colours.keras.md").read_text(encoding="utf-8")  # the model card beside it
    assert summary["card"] == str(tmp_path / "models" / "colours.keras.md")
    assert f"| test accuracy | {summary['test_acc']:.3f} |" in card and "| recall of 'grün' |" in card
    assert "| mobilenet_v2_notop | Apache-2.0 | ImageNet (ILSVRC-2012) | **flagged: unclear** |" in card
    assert f"The user's folder {root.resolve()}" in card and "yours to state" in card
    model = labelled.load(out)  # the classes travel inside the file
    assert labelled.describe(out) == {
        "classes": summary["classes"],
        "kind": "image",
        "details": {"image_size": [224, 224]},
    }
    folder = data.scan_images(root, verbose=False)
    images = np.concatenate([x for x, _ in data.make_dataset(folder.images, (224, 224))])
    assert (model.predict(images, verbose=0).argmax(1) == folder.images.labels).mean() >= 0.8
    photos = [str(root / "grün" / "img_000.jpg"), str(root / "blue sky" / "img_001.jpg")]
    shown = run("tltf", "predict", str(out), *photos)  # the model file alone knows its classes
    assert shown.returncode == 0, shown.stderr
    assert [line.split("\t")[:2] for line in shown.stdout.strip().splitlines()] == [
        [photos[0], "grün"],
        [photos[1], "blue sky"],
    ]


def test_fit_refuses_a_corrupt_image_unless_told_to_skip_it(make_tree, tmp_path, mirror):
    root = make_tree({"a": 5, "b": 5})
    (root / "a" / "img_002.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    refused = run("tltf", "fit", str(root), "--out", str(tmp_path / "m.keras"))
    assert refused.returncode == 2 and "a/img_002.jpg" in refused.stderr and "--skip-bad" in refused.stderr
    assert "truncated or corrupt JPEG" in refused.stderr
    assert "cuda" not in refused.stderr.lower() and "absl" not in refused.stderr  # TensorFlow's log stays quiet
    skipped = run(
        "tltf", "fit", str(root), "--skip-bad", "--epochs", "2", "--views", "1", "--out", str(tmp_path / "m.keras")
    )
    assert skipped.returncode == 0, skipped.stderr
    assert "a/img_002.jpg: cannot be decoded" in skipped.stdout
    assert json.loads(skipped.stdout.strip().splitlines()[-1])["skipped_files"] == 1


def test_fit_fine_tune_runs_both_stages(make_tree, tmp_path, mirror):
    root = make_tree({"red": 8, "blue": 8})
    out = tmp_path / "tuned.keras"
    result = run(
        "tltf",
        "fit",
        str(root),
        "--fine-tune",
        "--unfreeze-blocks",
        "2",
        "--fine-tune-epochs",
        "2",
        "--epochs",
        "10",
        "--views",
        "1",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert 1 <= summary["fine_tune_epochs"] <= 2 and 0 <= summary["test_acc_feature_extraction"] <= 1
    assert "trainable from block_15_expand up" in result.stdout
    reloaded = keras.models.load_model(out)
    assert any(w.trainable for w in reloaded.weights if "block_16" in w.path)


def test_fit_fine_tune_refuses_impossible_unfreezing_before_training(make_tree, tmp_path, mirror):
    root = make_tree({"red": 4, "blue": 4})
    result = run("tltf", "fit", str(root), "--fine-tune", "--unfreeze-blocks", "40", "--out", str(tmp_path / "m.keras"))
    assert result.returncode == 2 and "17 named blocks" in result.stderr and "--unfreeze-fraction" in result.stderr
    assert "Extracting" not in result.stdout
