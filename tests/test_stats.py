"""Intervals on known cases, and what a notebook records."""

import json
import sys

import numpy as np
import pytest

from tltf import record, stats


def test_mean_ci_is_the_student_t_interval():
    mean, (low, high) = stats.mean_ci([0.80, 0.84, 0.88])
    # mean 0.84, standard error 0.04 / sqrt(3), t(0.975, df=2) = 4.3027
    assert mean == pytest.approx(0.84)
    assert (low, high) == pytest.approx((0.84 - 4.3027 * 0.04 / 3**0.5, 0.84 + 4.3027 * 0.04 / 3**0.5), abs=1e-4)
    assert stats.mean_ci([0.9]) == (0.9, None)
    assert stats.mean_ci([0.5, 0.5]) == (0.5, (0.5, 0.5))


def test_wilson_matches_the_textbook_values():
    # 81 of 263 (Wilson's 1927 example as tabulated by Newcombe 1998): 0.2553 to 0.3662
    assert stats.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    low, high = stats.wilson(300, 300)  # all right: the interval still has width
    assert high == 1.0 and 0.98 < low < 1.0


def test_paired_bootstrap_sees_a_real_difference_and_not_a_fake_one():
    rng = np.random.default_rng(0)
    a = rng.random(300) < 0.9
    better = a | (rng.random(300) < 0.5)  # B is A plus fixes: better by about 5 points
    diff, (low, high) = stats.paired_bootstrap(better, a)
    assert diff > 0 and low > 0 and stats.verdict((low, high)) == "higher"
    shuffled = rng.permutation(a)  # same accuracy, other photos
    diff, ci = stats.paired_bootstrap(shuffled, a)
    assert diff == 0 and stats.verdict(ci) == "not distinguishable here"
    assert stats.paired_bootstrap(a, a) == (0.0, (0.0, 0.0))


def test_summary_paired_and_formatting():
    s = stats.summary([0.8, 0.9, 0.85])
    assert s["mean"] == 0.85 and s["values"] == [0.8, 0.9, 0.85] and s["ci95"][0] < 0.85 < s["ci95"][1]
    d = stats.paired([0.9, 0.92, 0.91], [0.88, 0.9, 0.89])
    assert d["mean"] == pytest.approx(0.02) and d["ci95"] == pytest.approx([0.02, 0.02])
    assert stats.verdict([-0.01, 0.02]) == "not distinguishable here" and stats.verdict([-0.03, -0.01]) == "lower"
    assert stats.format_interval({"mean": 0.871, "ci95": [0.86, 0.882]}) == "0.871 (0.860 to 0.882)"
    assert stats.format_interval({"mean": 0.5, "ci95": None}) == "0.500 (one value)"
    assert stats.single(np.array([True] * 9 + [False]))["mean"] == 0.9


def test_record_flattens_rounds_and_merges_into_the_named_file(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    record.record(ignored=1)  # no $TLTF_RECORD: nothing is written anywhere
    monkeypatch.setenv(record.ENV, str(target))
    record.record(acc=stats.summary([0.8, 0.9]), n=np.int64(5))
    record.record(speed=np.float32(0.1), n=6)
    stored = json.loads(target.read_text())
    assert stored["acc_mean"] == 0.85 and len(stored["acc_ci95"]) == 2 and stored["acc_values"] == [0.8, 0.9]
    assert stored["n"] == 6 and stored["speed"] == 0.1 and stored["peak_rss_mb"] > 0
    with pytest.raises(TypeError, match="cannot store a object"):
        record.record(bad=object())


def test_a_bounded_interval_stays_inside_the_bounds_and_contains_the_mean():
    # Notebook 07's CNN from scratch, X-ray AUC at 50 photos per class, 3 seeds (benchmarks/far-domains.json):
    # the t interval was -0.132 to 1.263.
    auc = [0.8437, 0.282, 0.5711]
    assert stats.summary(auc)["ci95"] == pytest.approx([-0.1322, 1.2634], abs=1e-4)
    assert stats.summary(auc, bounds=(0, 1))["ci95"] == [0.0, 1.0]  # three seeds this far apart say little
    for values in (auc, [0.40, 0.92, 0.55], [0.99, 1.0, 0.2], [0.0, 0.0, 0.03]):
        s = stats.summary(values, bounds=(0, 1))
        low, high = s["ci95"]
        assert 0 <= low <= s["mean"] <= high <= 1, (values, s)
        assert s["mean"] == pytest.approx(np.mean(values), abs=1e-4)  # the arithmetic mean, as unbounded
    # the same quantity in points: the same interval, times 100
    points = stats.summary([100 * v for v in auc], bounds=(0, 100))["ci95"]
    assert points == pytest.approx([100 * c for c in stats.summary(auc, bounds=(0, 1))["ci95"]], abs=1e-2)


def test_a_bounded_interval_far_from_the_bounds_is_the_t_interval_and_edge_cases_are_kept():
    _, plain = stats.mean_ci([0.85, 0.86, 0.87])
    assert stats.mean_ci([0.85, 0.86, 0.87], bounds=(0, 1))[1] == plain
    # Notebook 06's fine-tuned YAMNet, three seeds near 1: the interval stays narrow, cut at 1
    low, high = stats.summary([0.9933, 1.0, 0.99], bounds=(0, 1))["ci95"]
    assert low > 0.97 and high == 1.0
    assert stats.mean_ci([0.7, 0.7, 0.7], bounds=(0, 1)) == (pytest.approx(0.7), (pytest.approx(0.7),) * 2)
    assert stats.mean_ci([1.0, 1.0], bounds=(0, 1)) == (1.0, (1.0, 1.0))
    assert stats.mean_ci([0.9], bounds=(0, 1)) == (0.9, None) and stats.summary([0.9], bounds=(0, 1))["ci95"] is None
    with pytest.raises(ValueError, match="outside their bounds"):
        stats.mean_ci([85.0, 86.0], bounds=(0, 1))  # points given bounds of a fraction


def test_a_paired_difference_is_unbounded_but_clipped_to_the_range_of_a_difference():
    a, b = [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]  # differences 1, -1, 1: the t interval runs past +-1
    assert stats.paired(a, b)["ci95"][0] < -1 and stats.paired(a, b)["ci95"][1] > 1
    assert stats.paired(a, b, bounds=(0, 1))["ci95"] == [-1.0, 1.0]
    in_points = stats.paired([100 * v for v in a], [100 * v for v in b], bounds=(0, 100))
    assert in_points["ci95"] == [-100.0, 100.0] and in_points["mean"] == pytest.approx(100 / 3, abs=1e-3)
    near = stats.paired([0.9, 0.92, 0.95], [0.88, 0.9, 0.89], bounds=(0, 1))  # far from +-1: untouched
    assert near["ci95"] == stats.paired([0.9, 0.92, 0.95], [0.88, 0.9, 0.89])["ci95"]


def test_accuracies_over_seeds_or_of_one_run():
    over_seeds = stats.accuracies([0.8, 0.9, 0.85], n=300)
    assert over_seeds == stats.summary([0.8, 0.9, 0.85], bounds=(0, 1))
    one_run = stats.accuracies([0.9], n=300)  # a lesson's one seed: the test split's Wilson interval
    assert one_run == stats.from_accuracy(0.9, 300) and one_run["ci95"][0] < 0.9 < one_run["ci95"][1]


def test_a_cluster_bootstrap_draws_whole_clusters():
    rng = np.random.default_rng(0)
    people = rng.normal(size=200)  # each person's own level, seen in 3 runs with little noise
    values = np.repeat(people, 3) + rng.normal(scale=0.01, size=600)
    clusters = np.repeat(np.arange(200), 3)
    mean, (low, high) = stats.cluster_bootstrap(values, clusters)
    assert low < mean < high and mean == pytest.approx(values.mean())
    # 600 values taken as independent would give an interval about sqrt(3) times too narrow
    naive = stats.cluster_bootstrap(values, np.arange(600))[1]
    assert (high - low) / (naive[1] - naive[0]) == pytest.approx(np.sqrt(3), rel=0.2)
    assert stats.cluster_bootstrap([0.5, 0.5], [1, 2]) == (0.5, (0.5, 0.5))


def test_peak_memory_is_the_larger_of_this_process_and_its_largest_waited_for_child(monkeypatch):
    """A notebook that runs ``python -m tltf`` records the memory of that command too, not only its own."""
    resource = pytest.importorskip("resource")
    peaks = {resource.RUSAGE_SELF: 1024 * 700, resource.RUSAGE_CHILDREN: 1024 * 2100}  # KiB, as Linux says
    monkeypatch.setattr(resource, "getrusage", lambda who: type("Usage", (), {"ru_maxrss": peaks[who]}))
    monkeypatch.setattr(sys, "platform", "linux")
    assert record.peak_rss_mb() == 2100
    peaks[resource.RUSAGE_SELF] = 1024 * 2500
    assert record.peak_rss_mb() == 2500
