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


def test_fit_fine_tune_runs_both_stages(make_tree, tmp_path, mirror):
    root = make_tree({"red": 8, "blue": 8})
    out = tmp_path / "tuned.keras"
    result = run("tltf", "fit", str(root), "--fine-tune", "--unfreeze-blocks", "2", "--fine-tune-epochs", "2",
                 "--epochs", "10", "--views", "1", "--out", str(out))
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


def test_fine_tuning_benchmark_prints_its_json_last(mirror):
    result = run("tltf.bench", "fine-tuning")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("test_acc_feature_extraction", "test_acc_fine_tuned", "test_acc_bn_training_mode",
                "test_acc_unfreeze_all_high_lr", "test_acc_discriminative_lr", "seconds_fine_tuning", "peak_rss_mb"):
        assert key in summary
    params = {name: summary[f"trainable_params_{name}"] for name in ("three_blocks", "fine_tuned", "all_layers",
                                                                       "bn_training_mode")}
    assert list(params.values()) == sorted(set(params.values()))  # BatchNorm counts only when trained
    assert summary["trainable_params_discriminative_lr"] == summary["trainable_params_unfreeze_all_high_lr"] == params[
        "all_layers"]


def test_fine_tuning_seeds_benchmark_reports_both_heads_per_seed(mirror):
    result = run("tltf.bench", "fine-tuning-seeds")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for kind in ("plain", "normalized"):
        fe, ft = summary[f"test_acc_feature_extraction_{kind}"], summary[f"test_acc_fine_tuned_{kind}"]
        assert len(fe) == len(ft) == len(summary["seeds"])
        assert all(0.0 <= acc <= 1.0 for acc in fe + ft)
        assert abs(summary[f"mean_gain_points_{kind}"] - 100 * (sum(ft) - sum(fe)) / len(ft)) <= 0.05 + 1e-9


def test_backbones_benchmark_rows(mirror, tmp_path):
    import os

    result = subprocess.run([sys.executable, "-m", "tltf.bench", "backbones"], capture_output=True, text=True,
                            env={**os.environ, "TLTF_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout.strip().splitlines()[-1])["rows"]}
    assert set(next(iter(rows.values()))) == {"name", "params", "size_mb", "images_per_s", "test_acc"}
    hub_name = next(name for name in rows if name.startswith("hub:"))
    hub_row, keras_row, small = rows[hub_name], rows["keras: MobileNetV2"], rows["keras: MobileNet 0.25"]
    assert hub_row["params"] == keras_row["params"]
    if "locally built" in hub_name:  # offline: the same weights, so the same features, head and accuracy
        assert hub_row["test_acc"] == keras_row["test_acc"]
    assert small["params"] < keras_row["params"] / 5


def test_learning_curves_benchmark_prints_its_json_last(mirror):
    result = run("tltf.bench", "learning-curves")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    points = summary["per_class"]
    assert points == sorted(points) and len(points) == 3  # quick mode: 1, 5 and all 12 photos per class
    for approach in ("feature_extraction", "fine_tuned", "scratch"):
        assert len(summary[approach]) == len(points) and all(0 <= acc <= 1 for acc in summary[approach])
        assert approach in summary["seconds_to_target"]
    assert summary["trainable_params"]["feature_extraction"] < summary["trainable_params"]["scratch"]
