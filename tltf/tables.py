"""The README's benchmark tables, rendered from the records of the last study runs.

``benchmarks/NAME.json`` is the record of ``python -m tltf.bench NAME`` (``tltf.bench`` writes it).
Which of its numbers the README shows, and how, belongs to the lesson: ``README_TABLES``, a list of
``Table``, in ``notebooks/lessons/MODULE.py`` (``LESSONS`` names the module of each benchmark).
``readme`` renders every ``<!-- bench:NAME -->`` block of the README from the records.

Rendering therefore works in a repository checkout only (as ``tltf.bench`` does, which runs the
notebooks): the definitions are read from the checkout's ``notebooks/lessons/`` folder, loaded from
their files (``sys.path`` is left alone).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tltf.stats import format_interval

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "benchmarks"
README = REPO / "README.md"
#: Where the lessons' helpers, and their README tables, live (a repository checkout only).
LESSONS_DIR = REPO / "notebooks" / "lessons"

#: Benchmark name -> the notebook it runs.
BENCHMARKS = {
    "basics": "00_what_is_transfer_learning.ipynb",
    "feature-extraction": "01_feature_extraction.ipynb",
    "fine-tuning": "02_fine_tuning.ipynb",
    "backbones": "03_tf_hub_and_backbones.ipynb",
    "learning-curves": "04_learning_curves.ipynb",
    "text": "05_text_transfer.ipynb",
    "audio": "06_audio_transfer.ipynb",
    "far-domains": "07_far_domains.ipynb",
    "shifted-domains": "08_shifted_domains.ipynb",
    "overfitting": "09_overfitting.ipynb",
    "without-labels": "10_learning_without_labels.ipynb",
    "interpretability": "11_interpretability.ipynb",
    "deployment": "12_deployment.ipynb",
    "detection": "13_object_detection.ipynb",
    "recommendation": "14_recommendation.ipynb",
    "own-data": "15_your_own_data.ipynb",
}
#: Benchmark name -> the module of ``notebooks/lessons/`` (that notebook's) whose ``README_TABLES`` it shows.
LESSONS = {
    "basics": "basics",
    "feature-extraction": "feature_extraction",
    "fine-tuning": "fine_tuning",
    "backbones": "backbones",
    "learning-curves": "time_and_cost",
    "text": "domain_shift",
    "audio": "audio",
    "far-domains": "far_domains",
    "shifted-domains": "shifted_domains",
    "overfitting": "overfitting",
    "without-labels": "without_labels",
    "interpretability": "interpretability",
    "deployment": "deployment",
    "detection": "detection",
    "recommendation": "recommendation",
    "own-data": "own_data",
}


@dataclass
class Table:
    """A README table: one row per (label, record keys, decimals), one column per key after the label.
    A key with ``_mean`` and ``_ci95`` entries in the record is shown as "mean (low to high)"; decimals
    are one number for the row or one per key; ``{key}`` in a label is filled in from the record."""

    rows: list[tuple[str, tuple[str, ...], int | tuple[int, ...]]]
    header: tuple[str, ...] = ("measure", "value (95 % interval)")


def measures(*rows: tuple[str, str, int]) -> Table:
    """A two-column table (measure, value): one (label, record key, decimals) per row."""
    return Table([(label, (key,), digits) for label, key, digits in rows])


@functools.cache
def lesson(module: str) -> ModuleType:
    """``notebooks/lessons/MODULE.py`` of this checkout, loaded from its file (``sys.path`` untouched).
    Raises FileNotFoundError outside a repository checkout."""
    path = LESSONS_DIR / f"{module}.py"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: the README tables are defined in notebooks/lessons/ of a repository checkout."
        )
    name = f"_tltf_readme_tables.{module}"
    spec = importlib.util.spec_from_file_location(name, path)
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded  # while it runs, as an import would (dataclasses look their module up)
    try:
        spec.loader.exec_module(loaded)
    finally:
        sys.modules.pop(name, None)
    return loaded


def definitions(name: str) -> list[Table]:
    """The README tables of benchmark ``name``: ``README_TABLES`` of its lesson module (``LESSONS``)."""
    return lesson(LESSONS[name]).README_TABLES


def load(name: str) -> dict | None:
    """The recorded study run of a benchmark (benchmarks/NAME.json), or None."""
    path = RECORDS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def cell(result: dict, key: str, digits: int) -> str:
    """One table value: an interval for ``key_mean`` (or ``key``) + ``key_ci95``, else the value itself
    ("" for no key)."""
    if not key:
        return ""
    if f"{key}_mean" in result:
        return format_interval({"mean": result[f"{key}_mean"], "ci95": result.get(f"{key}_ci95")}, digits=digits)
    if key in result and f"{key}_ci95" in result:
        return format_interval({"mean": result[key], "ci95": result[f"{key}_ci95"]}, digits=digits)
    return number(result.get(key, "not recorded"), digits)


def number(value, digits: int) -> str:
    """A number with ``digits`` decimals (tiny ones in e-notation, integers with thousands separators);
    lists joined by commas; anything else as it is."""
    if isinstance(value, list):
        return ", ".join(number(v, digits) for v in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.1e}" if 0 < abs(value) < 10**-digits else f"{value:,.{digits}f}"


def render(name: str, result: dict | None) -> str:
    """The README block of one benchmark (Markdown) from its record."""
    command = f"`python -m tltf.bench {name}` runs [`{BENCHMARKS[name]}`](notebooks/{BENCHMARKS[name]})."
    if result is None:
        return f"{command} No study run is recorded yet."
    speed = (
        f" (machine speed {result['speed_ips']:.0f} images/s; {result['wall_s_at_reference'] / 60:.1f} min at "
        f"{result['reference_ips']} images/s)"
        if "speed_ips" in result
        else ""
    )
    lines = [
        f"{command} Recorded run: {result['date']}, commit {result['commit']}, {result['mode']} mode, "
        f"{result['wall_s'] / 60:.1f} min{speed}, peak memory {result.get('peak_rss_mb', 0):,.0f} MiB; "
        f"{result['machine']}."
    ]
    fill = {key: cell(result, key, 2) for key in result}  # for {key} in labels and headers
    for table in definitions(name):
        lines += [
            "",
            "| " + " | ".join(h.format(**fill) for h in table.header) + " |",
            "|" + " --- |" * len(table.header),
        ]
        for label, keys, digits in table.rows:
            digits = (digits,) * len(keys) if isinstance(digits, int) else digits
            values = [cell(result, key, d) for key, d in zip(keys, digits, strict=True)]
            lines.append("| " + " | ".join([label.format(**fill), *values]) + " |")
    return "\n".join(lines)


def readme(text: str) -> str:
    """``text`` with every ``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->`` block rendered anew."""
    for name in BENCHMARKS:
        begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
        if begin in text:
            head, rest = text.split(begin, 1)
            _, tail = rest.split(end, 1)
            text = f"{head}{begin}\n{render(name, load(name))}\n{end}{tail}"
    return text
