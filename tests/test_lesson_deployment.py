"""Notebook 12's lesson helpers: the paired difference in points, the record keys, the leak, the tables, the
cards of the flowers and X-ray models."""

import matplotlib
import numpy as np
import pytest

from lessons import deployment as lesson
from tltf import cards, licences

matplotlib.use("Agg")


def _row(size=2.0, agreement=0.98):
    return {
        "size_mb": size,
        "latency_ms": {"median": 4.0, "q25": 3.9, "q75": 4.2},
        "throughput_ips": 120.0,
        "test_acc": {"mean": 0.9, "ci95": [0.86, 0.93]},
        "agreement": agreement,
        "n": 123,
    }


def test_minus_points_pairs_photos_in_one_run_and_seeds_in_several():
    a, b = np.array([1, 1, 0, 1] * 25, bool), np.array([1, 0, 0, 1] * 25, bool)
    one = lesson.minus_points([a], [b])
    assert one["mean"] == 25.0 and 0 < one["ci95"][0] < 25 < one["ci95"][1]
    several = lesson.minus_points([a, a, b], [b, b, b])
    assert several["mean"] == pytest.approx(100 / 6, abs=1e-3) and len(several["values"]) == 3


def test_row_records_name_every_measure():
    rows = {
        "float32": _row(8.5),
        "keras_int8": {k: v for k, v in _row().items() if k not in ("latency_ms", "throughput_ips")},
    }
    found = lesson.row_records(rows)
    assert found["latency_ms_float32"] == 4.0 and found["latency_ms_float32_q75"] == 4.2
    assert found["throughput_ips_float32"] == 120.0 and found["size_mb_keras_int8"] == 2.0
    assert "latency_ms_keras_int8" not in found and found["test_acc_keras_int8"]["mean"] == 0.9
    table = lesson.formats_table(rows)
    assert (
        table.loc["LiteRT float32", "x float32"] == 1.0
        and table.loc["Keras, model.quantize('int8')", "latency ms, 1 thread (q25 to q75)"] == "-"
    )
    lesson.size_plot(rows)


def test_leak_of_a_model_that_memorised_and_of_one_that_did_not():
    labels = np.repeat(np.arange(2), 50)
    sure = np.eye(2)[labels] * 0.98 + 0.01
    rng = np.random.default_rng(0)
    unsure = rng.dirichlet([2, 2], 100)
    memorised = lesson.leak(sure, unsure, labels, labels)
    assert memorised["train_acc"] == 1.0 and memorised["auc"]["ci95"][0] > 0.9
    honest = lesson.leak(unsure, rng.dirichlet([2, 2], 100), labels, labels)
    assert honest["auc"]["ci95"][0] < 0.5 < honest["auc"]["ci95"][1]
    records = lesson.leak_records({"from scratch": memorised, "fine-tuned": honest})
    assert set(records) == {"mia_auc_scratch", "gap_scratch", "mia_auc_ft", "gap_ft"}
    assert lesson.leak_table({"from scratch": memorised}).loc["from scratch", "gap"] == round(
        1.0 - memorised["test_acc"], 3
    )
    lesson.loss_histograms({"from scratch": memorised})


def test_cards_list_every_licence_they_depend_on(tmp_path):
    analyses = {"gaussian_noise (severity 3)": {"mean": 0.7, "ci95": [0.65, 0.75]}}
    for name in ("int8", "student_int8", "keras_int8"):
        card = lesson.flowers_card(name, tmp_path / f"flowers.{name}.tflite", _row(), analyses, "today")
        text = card.markdown()
        for asset in card.assets:
            assert licences.table([asset])["licence"].iloc[0] in text
        assert "123" in text and "gaussian_noise" in text
        assert ("(uint8)" in text) == (name != "keras_int8")
        assert ("mobilenet_025_notop" in card.assets) == name.startswith("student")
        assert ("notebook 08's fine-tuned model" in text) == (not name.startswith("student"))
    scored = {
        kind: {"test_acc": {"mean": 0.85, "ci95": [0.8, 0.9]}, "agreement": 0.99, "n": 468}
        for kind in ("keras", "float32", "int8")
    }
    x_card = lesson.xray_card(scored, "today")
    (tmp_path / "xray.int8.tflite").write_bytes(b"")
    cards.write(x_card, tmp_path / "xray.int8.tflite")
    text = cards.card_path(tmp_path / "xray.int8.tflite").read_text(encoding="utf-8")
    assert "not a medical device" in text and "CC BY 4.0" in text and "468" in text


def test_accuracy_table_formats_intervals():
    table = lesson.accuracy_table({"int8": {"blur": {"mean": 0.5, "ci95": [0.4, 0.6]}}})
    assert table.loc["LiteRT full int8", "blur"] == "0.500 (0.400 to 0.600)"


def test_corrupted_copies_count_once_per_photo(tmp_path):
    correct = np.r_[np.tile([1, 1, 0, 0], 20), np.tile([1, 0, 0, 0], 20)].astype(bool)  # two copies of 80 photos
    np.testing.assert_allclose(lesson.per_photo(correct, 2)[:4], [1, 0.5, 0, 0])
    pooled = lesson.over_photos(correct, 2)
    assert pooled["mean"] == 0.375 and 0.25 < pooled["ci95"][0] < 0.375 < pooled["ci95"][1] < 0.5
    assert lesson.flex_ops(tmp_path) == 0 and lesson.prefixed("acc", {"a": 1}) == {"acc_a": 1}
