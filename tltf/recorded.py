"""The recorded study beside a learner's run.

A lesson runs one seed; the study behind each claim (``python -m tltf.bench NAME``) ran several seeds
or folds and kept their mean and 95 % interval in ``benchmarks/NAME.json``. ``beside`` shows the two
side by side, each labelled, so that a recorded number is never mistaken for the learner's own; a part
that the lesson skips is shown from the record alone (pass ``None`` for it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from tltf.settings import settings
from tltf.stats import format_interval
from tltf.tables import RECORDS

#: How a table shows a result that this mode did not run, and one that the record lacks.
RECORDED_ONLY = "recorded only (not run in this mode)"
NOT_RECORDED = "not recorded yet"


def yours() -> str:
    """The column label of this run's numbers: "your run (lesson)" in a lesson."""
    return f"your run ({settings().mode})"


def source(name: str, stored: dict) -> str:
    """Where a table's recorded numbers come from: "recorded study NAME: DATE, commit C" (an index name)."""
    return (
        f"recorded study {name}: {stored['date']}, commit {stored['commit']}"
        if stored
        else f"{name}: no study recorded yet"
    )


def study(name: str, records_dir: Path = RECORDS) -> dict:
    """The study record of benchmark ``name`` (``records_dir/NAME.json``); ``{}`` when there is none yet."""
    path = Path(records_dir) / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def _shown(value, scale: float, digits: int) -> str:
    """A number, or a ``tltf.stats`` summary dict, as text: ``0.871 (0.860 to 0.882)``."""
    if isinstance(value, dict):
        return format_interval(value, scale=scale, digits=digits)
    value = float(value) * scale
    return f"{value:.{digits}g}" if 0 < abs(value) < 0.01 else f"{value:.{digits}f}"  # a learning rate: 0.0003


def _recorded(stored: dict, key: str, scale: float, digits: int) -> tuple[str, str]:
    """``key``'s recorded value (``KEY_mean`` or ``KEY``, with ``KEY_ci95`` if kept) and how many runs
    it summarises (the length of ``KEY_values``; "-" when the record does not say), as text."""
    mean, interval = stored.get(f"{key}_mean", stored.get(key)), stored.get(f"{key}_ci95")
    if isinstance(mean, bool) or not isinstance(mean, int | float):
        return NOT_RECORDED, "-"
    value = mean if interval is None else {"mean": mean, "ci95": interval}
    return _shown(value, scale, digits), str(len(stored.get(f"{key}_values") or []) or "-")


def beside(name: str, *, scale: float = 1.0, digits: int = 3, records_dir: Path = RECORDS, **results) -> pd.DataFrame:
    """One row per result: this run's value beside the recorded study's mean (95 % interval).

    ``results`` maps a record key (as passed to ``tltf.record.record``) to this run's number, a
    ``tltf.stats`` summary dict, or ``None`` when this mode skipped it (shown as "recorded only").
    ``scale=100`` shows points. Reads ``records_dir/NAME.json``; changes nothing.
    """
    stored = study(name, records_dir)
    rows = {}
    for key, value in results.items():
        recorded, runs = _recorded(stored, key, scale, digits)
        mine = RECORDED_ONLY if value is None else _shown(value, scale, digits)
        rows[key] = {yours(): mine, "recorded study": recorded, "study runs": runs}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = source(name, stored)
    return table
