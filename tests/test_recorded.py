"""tltf.recorded: a learner's run beside the recorded study, each labelled; a missing record is said so."""

import json

from tltf import recorded


def test_a_run_is_shown_beside_the_recorded_study_and_skipped_parts_are_labelled(tmp_path, monkeypatch):
    monkeypatch.setenv("TLTF_MODE", "lesson")
    stored = {"date": "2026-12-06 10:00 UTC", "commit": "abc1234", "acc_mean": 0.87, "acc_ci95": [0.86, 0.88]}
    stored |= {
        "acc_values": [0.86, 0.87, 0.88],
        "gain_points_mean": 1.5,
        "gain_points_ci95": [-0.5, 3.5],
        "lr": 3e-4,
        "drop": 0.5,
        "drop_ci95": [0.4, 0.6],
    }
    (tmp_path / "demo.json").write_text(json.dumps(stored))
    mine = {"mean": 0.9, "ci95": [0.85, 0.93]}
    table = recorded.beside("demo", records_dir=tmp_path, acc=mine, gain_points=None, lr=1e-3, missing=0.5)
    assert table.loc["acc", "your run (lesson)"] == "0.900 (0.850 to 0.930)"
    assert table.loc["acc", "recorded study"] == "0.870 (0.860 to 0.880)" and table.loc["acc", "study runs"] == "3"
    assert table.loc["gain_points", "your run (lesson)"].startswith("recorded only")
    assert table.loc["gain_points", "study runs"] == "-"  # the record kept no per-seed values
    assert (
        table.loc["lr", "recorded study"] == "0.0003" and table.loc["missing", "recorded study"] == "not recorded yet"
    )
    assert "commit abc1234" in table.index.name
    both = recorded.beside("demo", records_dir=tmp_path, drop=0.45)  # a number kept with its KEY_ci95
    assert both.loc["drop", "recorded study"] == "0.500 (0.400 to 0.600)"


def test_without_a_record_every_row_says_so(tmp_path):
    table = recorded.beside("nothing", records_dir=tmp_path, acc=0.5)
    assert recorded.study("nothing", tmp_path) == {}
    assert table.loc["acc", "recorded study"] == "not recorded yet" and "no study recorded" in table.index.name
