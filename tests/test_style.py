"""The notebook template, checked: short cells, each after an explanation, and the closing sections."""

import re
import statistics
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def lines(cell) -> int:
    return sum(1 for line in cell.source.splitlines() if line.strip())


def layout(path: Path) -> dict:
    cells = nbformat.read(path, as_version=4).cells
    code = [i for i, c in enumerate(cells) if c.cell_type == "code"]
    headings = [line for c in cells if c.cell_type == "markdown" for line in c.source.splitlines() if line[:1] == "#"]
    return {
        "median lines": statistics.median(lines(cells[i]) for i in code),
        "longest": max(lines(cells[i]) for i in code),
        "after markdown": sum(i > 0 and cells[i - 1].cell_type == "markdown" for i in code) / len(code),
        "sections": {s for s in ("Summary", "Exercises", "Questionnaire") if any(s in h for h in headings)},
        "solutions run": [i for i in code if re.search(r"^\s*(from|import) solutions", cells[i].source, re.M)],
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_notebook_follows_the_template(path):
    got = layout(path)
    assert got["median lines"] <= 4 and got["longest"] <= 20, got
    assert got["after markdown"] >= 0.85, got
    assert got["sections"] == {"Summary", "Exercises", "Questionnaire"}, got
    assert got["solutions run"] == [], got
