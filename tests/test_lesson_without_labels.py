"""Notebook 10's lesson helpers: record keys, pairing by seed, and intervals that do not pretend."""

import pytest

from lessons import without_labels as lesson


def _results(method: str, accuracies: dict[int, float], domain: str = "flowers", per_class=None) -> list[dict]:
    return [lesson.result(domain, method, per_class, seed, acc, 1.0) for seed, acc in accuracies.items()]


def test_keys_name_domain_method_and_labels_per_class():
    assert lesson.key("flowers", "ssl", 10) == "flowers_ssl_probe_10"
    assert lesson.key("xray", "scratch", None) == "xray_scratch_probe_all"
    assert lesson.key("flowers", "ssl_finetune", "all") == "flowers_ssl_finetune_all"
    assert len(lesson.grid_keys()) == len(set(lesson.grid_keys())) == 2 * 5 * 3


def test_differences_pair_by_seed_and_refuse_different_seeds():
    results = _results("ssl", {2: 0.7, 0: 0.6, 1: 0.65}) + _results("random", {0: 0.5, 1: 0.55, 2: 0.6})
    gap = lesson.differences(results, [("ssl", "random")])["flowers_ssl_minus_random_all"]
    assert gap["values"] == [10.0, 10.0, 10.0] and gap["ci95"] == [10.0, 10.0]
    with pytest.raises(ValueError, match="ran seeds"):
        lesson.differences(results + _results("scratch", {0: 0.5, 1: 0.5, 5: 0.5}), [("ssl", "scratch")])


def test_identical_seeds_get_one_run_s_interval_not_a_zero_width_one():
    results = _results("imagenet", {0: 0.9, 1: 0.9, 2: 0.9}) + _results("ssl", {0: 0.6, 1: 0.7, 2: 0.65})
    summary = lesson.grid_record(results, {"flowers": 300})
    low, high = summary["flowers_imagenet_probe_all"]["ci95"]
    assert low < 0.9 < high and high - low > 0.05  # Wilson on 300 test images
    assert summary["flowers_ssl_probe_all"]["values"] == [0.6, 0.7, 0.65]
    assert lesson.spread([0.3, 0.3], bounds=(0, 1))["ci95"] is None
    table = lesson.grid_table(summary, "flowers")
    assert list(table.columns) == ["all"] and table.loc[lesson.METHODS["scratch"], "all"] == ""
