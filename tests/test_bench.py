"""The benchmark runner (tltf.bench) on the fastest notebook, in quick mode, and README tables == records
(tltf.tables).

Notebook 00 is run here, through ``python -m tltf.bench basics``, instead of by nbval (see
conftest.py): the runner fails on the first failing cell, so its asserts are tested all the same.
"""

import json
import subprocess
import sys

from tltf import tables


def test_runner_executes_the_notebook_and_prints_its_record_last(mirror):
    result = subprocess.run([sys.executable, "-m", "tltf.bench", "basics", "--quick"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout.strip().splitlines()[-1])
    assert record["benchmark"] == "basics" and record["mode"] == "quick"
    assert len(record["commit"]) >= 7 and record["machine"].split()[1:3] == ["CPU", "cores"]
    assert record["folds"] == 5 and len(record["knn_pretrained_values"]) == 5
    low, high = record["knn_pretrained_ci95"]
    assert low <= record["knn_pretrained_mean"] <= high and record["knn_gain_points_ci95"][0] > 0
    assert record["peak_rss_mb"] > 100 and record["wall_s"] > 0


def test_readme_tables_are_rendered_from_the_records():
    current = tables.README.read_text(encoding="utf-8")
    assert tables.readme(current) == current, (
        "README tables differ from benchmarks/*.json: run `python -m tltf.bench readme`"
    )
    for name in tables.BENCHMARKS:
        if tables.load(name) is not None:
            assert f"<!-- bench:{name} -->" in current, f"benchmarks/{name}.json is not shown in the README"


def test_a_table_cell_shows_the_interval_and_missing_keys_plainly():
    result = {"acc_mean": 0.871, "acc_ci95": [0.86, 0.882], "n": 1500, "s": 0.3412, "seeds": [0, 1, 2]}
    assert tables.cell(result, "acc", 3) == "0.871 (0.860 to 0.882)"
    assert tables.cell(result, "n", 0) == "1,500" and tables.cell(result, "s", 2) == "0.34"
    assert tables.cell(result, "seeds", 0) == "0, 1, 2" and tables.cell(result, "gone", 3) == "not recorded"
    assert tables.number([0.93667, 0.94], 3) == "0.937, 0.940" and tables.number(3e-6, 3) == "3.0e-06"
    assert tables.cell({"ece": 0.05, "ece_ci95": [0.03, 0.08]}, "ece", 3) == "0.050 (0.030 to 0.080)"
