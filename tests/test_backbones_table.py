"""Notebook 03's recorded backbone table: the study's numbers, labelled as the record, never as a run."""

from lessons.backbones import SLUGS, recorded_table

NAMES = ["hub: MobileNetV2 feature vector", "keras: MobileNetV2", "keras: MobileNet 0.25"]


def test_the_recorded_table_shows_the_record_and_says_so():
    stored = {"date": "2026-12-02 16:57 UTC", "commit": "28f61aa", "hub_module": "locally built"}
    for slug in SLUGS:
        stored |= {f"{slug}_params": 100, f"{slug}_size_mb": 1.5, f"{slug}_images_per_s": 30.0}
        stored |= {f"{slug}_test_acc_mean": 0.86, f"{slug}_test_acc_ci95": [0.8162, 0.8947]}
    del stored["mobilenet_025_test_acc_mean"]
    table = recorded_table(stored, NAMES)
    assert list(table.index) == ["hub: MobileNetV2 feature vector (locally built)", *NAMES[1:]]
    assert table.loc["keras: MobileNetV2", "test_acc"] == "0.860 (0.816 to 0.895)"
    assert table.loc["keras: MobileNet 0.25", "test_acc"] == "not recorded yet"
    assert table.loc["keras: MobileNetV2", "params"] == 100
    assert table.index.name == "recorded study backbones: 2026-12-02 16:57 UTC, commit 28f61aa"


def test_without_a_record_the_table_says_so():
    table = recorded_table({}, NAMES)
    assert (table == "not recorded yet").all().all() and "no study recorded yet" in table.index.name
