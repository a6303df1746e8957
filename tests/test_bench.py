"""The benchmark runner (tltf.bench) on the fastest notebook, in quick mode, and README tables == records
(tltf.tables).

Notebook 00 is run here, through ``python -m tltf.bench basics``, instead of by nbval (see
conftest.py): the runner fails on the first failing cell, so its asserts are tested all the same.
"""

import json
import subprocess
import sys

import nbformat
import pytest

from tltf import bench, tables
from tltf import record as records


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
    assert record["speed_ips"] > 0 and record["reference_ips"] == 100
    assert record["wall_s_at_reference"] == pytest.approx(record["wall_s"] * record["speed_ips"] / 100, abs=0.2)


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


def test_each_benchmark_s_tables_live_in_its_lesson_module_and_not_in_tltf():
    renderer = (tables.REPO / "tltf" / "tables.py").read_text(encoding="utf-8")
    tables.lesson.cache_clear()  # load the lesson files now, to see that they do not go on sys.path
    path = list(sys.path)
    for name in tables.BENCHMARKS:
        assert "README_TABLES" in (tables.LESSONS_DIR / f"{tables.LESSONS[name]}.py").read_text(encoding="utf-8")
        found = tables.definitions(name)
        assert found and all(isinstance(table, tables.Table) and table.rows for table in found), name
        for table in found:
            for text in (
                *(table.header if table.header != tables.measures().header else ()),  # not the default
                *(label for label, _, _ in table.rows),
                *(k for _, keys, _ in table.rows for k in keys),
            ):
                assert not text or f'"{text}"' not in renderer, f"{name}'s {text!r} is spelled out in tltf/tables.py"
    assert not [p for p in sys.path if p not in path and "notebooks" in p], "the lessons were put on sys.path"


def test_the_mode_comes_from_the_flag_then_the_environment_and_says_where_the_record_goes(monkeypatch):
    monkeypatch.delenv("TLTF_MODE", raising=False)
    monkeypatch.delenv("TLTF_QUICK", raising=False)
    assert bench.resolve_mode(None) == "study"
    monkeypatch.setenv("TLTF_QUICK", "1")
    assert bench.resolve_mode(None) == "quick"
    monkeypatch.setenv("TLTF_MODE", "lesson")
    assert bench.resolve_mode(None) == "lesson" and bench.resolve_mode("study") == "study"
    monkeypatch.setenv("TLTF_MODE", "full")
    with pytest.raises(SystemExit, match="'full' is not a mode"):
        bench.resolve_mode(None)
    assert bench.record_path("text", "study") == tables.RECORDS / "text.json"
    assert bench.record_path("text", "lesson") == tables.RECORDS / "text.lesson.json"
    assert records.at_reference(60.0, 50.0) == 30.0  # half the reference speed: half the time there


def test_a_run_to_be_kept_is_refused_from_a_dirty_tree_before_anything_runs(monkeypatch):
    monkeypatch.setattr(bench, "commit", lambda: "abc1234+changes")
    monkeypatch.setattr(bench, "machine_speed", lambda: pytest.fail("the run went on"))
    for mode in ("study", "lesson"):
        with pytest.raises(SystemExit, match="uncommitted changes(.|\\n)*Commit or stash(.|\\n)*--mode quick"):
            bench.run("basics", mode=mode)
    with pytest.raises(SystemExit, match="uncommitted changes"):
        bench.run("basics", mode="quick", keep=True)


def _notebook(code: list[str], markdown: str = "# A lesson") -> str:
    cells = [nbformat.v4.new_markdown_cell(markdown)] + [nbformat.v4.new_code_cell(c) for c in code]
    cells[1].outputs = [nbformat.v4.new_output("stream", text=markdown)]
    return nbformat.writes(nbformat.v4.new_notebook(cells=cells))


def test_stale_and_dirty_records_are_found_from_their_notebooks_code_cells(tmp_path, monkeypatch):
    for key in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{key}_NAME", "test")
        monkeypatch.setenv(f"GIT_{key}_EMAIL", "test@example.com")
    repo, notebooks, records = tmp_path / "repo", tmp_path / "repo" / "notebooks", tmp_path / "repo" / "benchmarks"
    notebooks.mkdir(parents=True)
    records.mkdir()

    def commit(message: str) -> str:
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "-c", "commit.gpgsign=false", "commit", "-qm", message], cwd=repo, check=True)
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True).stdout

    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    basics, text = (notebooks / tables.BENCHMARKS[name] for name in ("basics", "text"))
    basics.write_text(_notebook(["x = 1", "print(x)"]))
    text.write_text(_notebook(["y = 2"]))
    first = commit("first").strip()
    basics.write_text(_notebook(["x = 1", "print(x)"], markdown="# Reworded, other outputs"))
    text.write_text(_notebook(["y = 3"]))
    second = commit("second").strip()

    def keep(filename: str, name: str, made_at: str) -> None:
        (records / filename).write_text(json.dumps({"benchmark": name, "commit": made_at}))

    keep("basics.json", "basics", first)  # only Markdown and outputs changed since: fresh
    keep("text.json", "text", first)  # its code changed since: stale
    keep("text.lesson.json", "text", second + "+changes")  # dirty
    keep("audio.json", "audio", "0123abc")  # a commit git does not know: stale
    found = dict(bench.stale_records(records, repo))
    assert set(found) == {"text.json", "text.lesson.json", "audio.json"}, found
    assert found["text.json"].startswith("stale: the code cells of notebooks/05_text_transfer.ipynb changed")
    assert found["text.lesson.json"].startswith("made from uncommitted changes")
    assert "stale" not in found["text.lesson.json"] and "unknown to git" in found["audio.json"]


def test_the_speed_is_images_per_second_through_mobilenet_v2():
    assert 0 < records.speed(images=8, batch=4, size=32) < 1e5  # small, to stay quick; the runner uses 256 at 224 px
