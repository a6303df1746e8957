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
from pathlib import Path

from tltf import record as records
from tltf.tables import BENCHMARKS, README, RECORDS, readme

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


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
    checked_out = commit()  # before running: the code that produced the numbers, whatever changes meanwhile
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
            NotebookClient(
                notebook, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
            ).execute()
        except CellExecutionError as err:
            raise SystemExit(
                f"{path.name} stopped in a cell: {err.ename}: {err.evalue}\n"
                f"The executed notebook, up to that cell, is {executed}."
            ) from None
        finally:
            nbformat.write(notebook, executed)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        wall = time.perf_counter() - start
        results = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {}
    if not results:
        raise SystemExit(f"{path.name} ran but recorded nothing: it must call tltf.record.record(...).")
    result = {
        "benchmark": name,
        "notebook": path.name,
        "mode": "quick" if quick else "full",
        "commit": checked_out,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": records.machine(),
        "wall_s": round(wall, 1),
        **results,
    }
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


def print_record(result: dict) -> None:
    """A readable table of a record, then the record as one JSON line (last)."""
    width = max(map(len, result))
    print(f"\n{result['benchmark']} ({result['mode']} mode)")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tltf.bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "name",
        choices=[*BENCHMARKS, "readme"],
        help="a benchmark, or 'readme' to render the README's tables from the records",
    )
    parser.add_argument("--quick", action="store_true", help="quick mode: a smoke test, not kept as a record")
    parser.add_argument("--check", action="store_true", help="with 'readme': exit 1 if the README is out of date")
    args = parser.parse_args(argv)
    if args.name == "readme":
        current = README.read_text(encoding="utf-8")
        rendered = readme(current)
        if args.check:
            print(
                "README tables match the records."
                if rendered == current
                else "README tables differ from benchmarks/*.json: run `python -m tltf.bench readme`."
            )
            return int(rendered != current)
        README.write_text(rendered, encoding="utf-8")
        return 0
    print_record(run(args.name, quick=args.quick or os.environ.get("TLTF_QUICK") == "1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
