"""Intervals on known cases, and what a notebook records."""

import json

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
