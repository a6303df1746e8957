"""Benchmarks (not tests): ``python -m tltf.bench NAME`` runs notebook NN and records what it measured.

One code path per experiment: the runner executes the notebook itself (nbclient), in full mode
unless ``--quick``, and collects what the notebook stored with ``tltf.record.record``. It adds the
commit, date, machine, mode and wall time, prints a table and, as its last line, one JSON object.
A full run is kept in ``benchmarks/NAME.json``; ``python -m tltf.bench readme`` renders the README's
benchmark tables from those records (``--check`` fails when they disagree).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tltf import record as records
from tltf.stats import format_interval

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
RECORDS = REPO / "benchmarks"
README = REPO / "README.md"

#: Benchmark name -> the notebook it runs.
BENCHMARKS = {
    "basics": "00_what_is_transfer_learning.ipynb",
    "feature-extraction": "01_feature_extraction.ipynb",
    "fine-tuning": "02_fine_tuning.ipynb",
    "backbones": "03_tf_hub_and_backbones.ipynb",
    "learning-curves": "04_learning_curves.ipynb",
    "text": "05_text_transfer.ipynb",
    "audio": "06_audio_transfer.ipynb",
}

@dataclass
class Table:
    """A README table: one row per (label, record keys, decimals), one column per key after the label.
    A key with ``_mean`` and ``_ci95`` entries in the record is shown as "mean (low to high)"; decimals
    are one number for the row or one per key; ``{key}`` in a label is filled in from the record."""

    rows: list[tuple[str, tuple[str, ...], int | tuple[int, ...]]]
    header: tuple[str, ...] = ("measure", "value (95 % interval)")


def _rows(*rows: tuple[str, str, int]) -> Table:
    """A two-column table: one record key per row."""
    return Table([(label, (key,), digits) for label, key, digits in rows])


#: The README table of each benchmark.
TABLES: dict[str, Table] = {
    "basics": _rows(
        ("5-NN accuracy, pre-trained MobileNetV2 features (5-fold cross-validation)", "knn_pretrained", 3),
        ("5-NN accuracy, the same network with random weights", "knn_random", 3),
        ("difference, pre-trained minus random (paired over the same folds), points", "knn_gain_points", 1),
    ),
    "feature-extraction": _rows(
        ("test accuracy, head on cached features, mean over 5 folds (every photo tested once)", "test_acc_head", 3),
        ("the same recipe on the course split (300 test photos, Wilson interval)", "test_acc_cached", 3),
        ("head trained through the frozen backbone, on-the-fly augmentation (course split)", "test_acc_in_model", 3),
        ("cached minus through the backbone, paired bootstrap over the test photos, points",
         "cached_minus_in_model_points", 1),
        ("CNN from scratch given the same time as the through-backbone training (course split)", "test_acc_scratch", 3),
        ("seconds per epoch, head on cached features", "epoch_s_cached", 2),
        ("seconds per epoch, through the frozen backbone", "epoch_s_through_base", 1),
        ("cached rows per epoch (training photos x views)", "cached_rows", 0),
        ("seconds: computing the features / features + head training", "seconds_extract_features", 0),
        ("largest probability difference, head on features vs the attached model", "end_to_end_max_difference", 7),
    ),
    "backbones": Table([(label, tuple(f"{slug}_{key}" for key in ("params", "size_mb", "images_per_s", "test_acc")),
                         (0, 1, 1, 3))
                        for label, slug in (("hub: MobileNetV2 feature vector ({hub_module})", "hub"),
                                            ("keras: MobileNetV2", "mobilenet_v2"),
                                            ("keras: MobileNet 0.25", "mobilenet_025"))],
                       ("backbone", "parameters", "`.keras` size, MB", "images / s", "test accuracy (95 % interval)")),
}


def run(name: str, *, quick: bool = False, keep: bool | None = None) -> dict:
    """Execute the benchmark's notebook and return its record (results plus where, when and how).

    Full runs are written to ``benchmarks/NAME.json`` (``keep`` overrides); the executed notebook
    is saved in ``build/bench/`` either way, also when a cell fails (nbclient's error names the cell).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path = NOTEBOOKS / BENCHMARKS[name]
    if not path.exists():
        raise SystemExit(f"{path} not found: the benchmarks run the notebooks of a repository checkout.")
    notebook = nbformat.read(path, as_version=4)
    executed = REPO / "build" / "bench" / path.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        results_file = Path(scratch) / "record.json"
        saved_env = {key: os.environ.get(key) for key in (records.ENV, "TLTF_QUICK")}
        os.environ[records.ENV] = str(results_file)
        os.environ["TLTF_QUICK"] = "1" if quick else ""
        if os.environ.get("TLTF_ASSETS"):  # the kernel runs in notebooks/: a relative mirror path would move
            os.environ["TLTF_ASSETS"] = str(Path(os.environ["TLTF_ASSETS"]).resolve())
        start = time.perf_counter()
        try:
            NotebookClient(notebook, timeout=None, kernel_name="python3",
                           resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        except CellExecutionError as err:
            raise SystemExit(f"{path.name} stopped in a cell: {err.ename}: {err.evalue}\n"
                             f"The executed notebook, up to that cell, is {executed}.") from None
        finally:
            nbformat.write(notebook, executed)
            for key, value in saved_env.items():
                os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        wall = time.perf_counter() - start
        results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {}
    if not results:
        raise SystemExit(f"{path.name} ran but recorded nothing: it must call tltf.record.record(...).")
    result = {"benchmark": name, "notebook": path.name, "mode": "quick" if quick else "full", "commit": commit(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": records.machine(),
              "wall_s": round(wall, 1), **results}
    if keep if keep is not None else not quick:
        RECORDS.mkdir(exist_ok=True)
        (RECORDS / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def commit() -> str:
    """The checked-out commit (short), with ``+changes`` when tracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def load(name: str) -> dict | None:
    """The recorded full run of a benchmark, or None."""
    path = RECORDS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def cell(result: dict, key: str, digits: int) -> str:
    """One table value: an interval for ``key_mean`` + ``key_ci95``, else the value itself."""
    if f"{key}_mean" in result:
        return format_interval({"mean": result[f"{key}_mean"], "ci95": result.get(f"{key}_ci95")}, digits=digits)
    value = result.get(key, "not recorded")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"


def render(name: str, result: dict | None) -> str:
    """The README block of one benchmark (Markdown) from its record."""
    command = f"`python -m tltf.bench {name}` runs [`{BENCHMARKS[name]}`](notebooks/{BENCHMARKS[name]})."
    if result is None:
        return f"{command} No full run is recorded yet."
    table = TABLES[name]
    lines = [f"{command} Recorded run: {result['date']}, commit {result['commit']}, {result['mode']} mode, "
             f"{result['wall_s'] / 60:.1f} min, peak memory {result.get('peak_rss_mb', 0):,.0f} MiB; "
             f"{result['machine']}.", "", "| " + " | ".join(table.header) + " |",
             "|" + " --- |" * len(table.header)]
    for label, keys, digits in table.rows:
        digits = (digits,) * len(keys) if isinstance(digits, int) else digits
        values = [cell(result, key, d) for key, d in zip(keys, digits)]
        lines.append("| " + " | ".join([label.format(**result), *values]) + " |")
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


def print_record(result: dict) -> None:
    """A readable table of a record, then the record as one JSON line (last)."""
    width = max(map(len, result))
    print(f"\n{result['benchmark']} ({result['mode']} mode)")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tltf.bench", description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=[*BENCHMARKS, "readme"],
                        help="a benchmark, or 'readme' to render the README's tables from the records")
    parser.add_argument("--quick", action="store_true", help="quick mode: a smoke test, not kept as a record")
    parser.add_argument("--check", action="store_true", help="with 'readme': exit 1 if the README is out of date")
    args = parser.parse_args(argv)
    if args.name == "readme":
        current = README.read_text(encoding="utf-8")
        rendered = readme(current)
        if args.check:
            print("README tables match the records." if rendered == current else
                  "README tables differ from benchmarks/*.json: run `python -m tltf.bench readme`.")
            return int(rendered != current)
        README.write_text(rendered, encoding="utf-8")
        return 0
    print_record(run(args.name, quick=args.quick or os.environ.get("TLTF_QUICK") == "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
