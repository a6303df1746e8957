"""``python -m tltf fit`` on trees it has never seen, and ``python -m tltf.bench`` in quick mode."""

import json
import subprocess
import sys

import keras
import numpy as np

from tltf import data


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
    model = keras.models.load_model(out)
    folder = data.scan_images(root, verbose=False)
    images = np.concatenate([x for x, _ in data.make_dataset(folder.images, (224, 224))])
    assert (model.predict(images, verbose=0).argmax(1) == folder.images.labels).mean() >= 0.8


def test_fit_refuses_a_corrupt_image_unless_told_to_skip_it(make_tree, tmp_path, mirror):
    root = make_tree({"a": 5, "b": 5})
    (root / "a" / "img_002.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    refused = run("tltf", "fit", str(root), "--out", str(tmp_path / "m.keras"))
    assert refused.returncode == 2 and "a/img_002.jpg" in refused.stderr and "--skip-bad" in refused.stderr
    skipped = run("tltf", "fit", str(root), "--skip-bad", "--epochs", "2", "--views", "1",
                  "--out", str(tmp_path / "m.keras"))
    assert skipped.returncode == 0, skipped.stderr
    assert "a/img_002.jpg: cannot be decoded" in skipped.stdout
    assert json.loads(skipped.stdout.strip().splitlines()[-1])["skipped_files"] == 1


def test_feature_extraction_benchmark_prints_its_json_last(mirror):
    result = run("tltf.bench", "feature-extraction")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("test_acc_head", "test_acc_end_to_end", "test_acc_scratch", "epoch_s_cached",
                "epoch_s_through_base", "peak_rss_mb"):
        assert key in summary
    assert summary["quick"] is True and summary["test_acc_head"] == summary["test_acc_end_to_end"]
