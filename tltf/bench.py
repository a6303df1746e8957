"""Benchmarks (not tests): ``python -m tltf.bench NAME`` runs notebook NN and records what it measured.

One code path per experiment: the runner executes the notebook itself (nbclient), in study mode
unless ``--mode`` (or ``$TLTF_MODE``, or ``TLTF_QUICK=1``) says otherwise, and collects what the
notebook stored with ``tltf.record.record``. It adds the commit, date, machine, the machine's speed
(``tltf.record.speed``), mode and wall time, prints a table and, as its last line, one JSON object.
A study run is kept in ``benchmarks/NAME.json``, a lesson run in ``benchmarks/NAME.lesson.json``, a
quick run not at all; a run to be kept is refused from a tree with uncommitted changes.
``python -m tltf.bench readme`` renders the README's benchmark tables from the records (``--check``
fails when they disagree, or when a record is stale or was made from uncommitted changes).
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
from tltf.colab import TAG
from tltf.settings import MODES
from tltf.settings import mode as environment_mode
from tltf.tables import BENCHMARKS, README, RECORDS, readme

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
#: The end of a record's commit when tracked files differed from it (see ``commit``).
DIRTY = "+changes"


def resolve_mode(requested: str | None = None) -> str:
    """The mode to run in: ``requested`` (``--mode``, ``--quick``) if given, else the one the environment
    names (``tltf.settings.mode``: ``$TLTF_MODE``, or quick when ``TLTF_QUICK=1``), else study."""
    try:
        return requested or environment_mode(default="study")
    except ValueError as err:
        raise SystemExit(str(err)) from None


def machine_speed() -> float:
    """``tltf.record.speed()`` measured in a child process: TensorFlow keeps the memory it allocated,
    which the runner would otherwise hold for the whole notebook run."""
    code = "from tltf.record import speed; print(speed())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"Measuring the machine's speed failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def record_path(name: str, mode: str) -> Path:
    """Where a kept run of benchmark ``name`` in ``mode`` is written: ``benchmarks/NAME.json`` for
    study mode (the README's tables), ``benchmarks/NAME.MODE.json`` for the others."""
    return RECORDS / (f"{name}.json" if mode == "study" else f"{name}.{mode}.json")


def run(name: str, *, mode: str = "study", keep: bool | None = None) -> dict:
    """Execute the benchmark's notebook in ``mode`` and return its record (results plus where, when and how).

    Study and lesson runs are kept (``record_path``; ``keep`` overrides), and a run to be kept is
    refused, before anything runs, when tracked files have uncommitted changes: its record could not
    name the code that made it. The executed notebook is saved in ``build/bench/`` either way, also
    when a cell fails (nbclient's error names the cell).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    path = NOTEBOOKS / BENCHMARKS[name]
    if not path.exists():
        raise SystemExit(f"{path} not found: the benchmarks run the notebooks of a repository checkout.")
    checked_out = commit()  # before running: the code that produced the numbers, whatever changes meanwhile
    kept = keep if keep is not None else mode != "quick"
    if kept and checked_out.endswith(DIRTY):
        raise SystemExit(
            f"Not running {name} in {mode} mode: tracked files have uncommitted changes "
            f"(`git status`), so its record could not name the code that produced it.\n"
            f"Commit or stash the changes and run again, or run with --mode quick (a check, not kept)."
        )
    notebook = nbformat.read(path, as_version=4)
    executed = REPO / "build" / "bench" / path.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    speed_ips = machine_speed()  # before the notebook, in its own process
    with tempfile.TemporaryDirectory() as scratch:
        results_file = Path(scratch) / "record.json"
        saved_env = {key: os.environ.get(key) for key in (records.ENV, "TLTF_MODE", "TLTF_QUICK")}
        os.environ[records.ENV] = str(results_file)
        os.environ["TLTF_MODE"] = mode  # tltf.settings reads it; the older TLTF_QUICK would only confuse
        os.environ.pop("TLTF_QUICK", None)
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
        "mode": mode,
        "commit": checked_out,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": records.machine(),
        "speed_ips": round(speed_ips, 1),
        "reference_ips": records.REFERENCE_IPS,
        "wall_s": round(wall, 1),
        "wall_s_at_reference": round(records.at_reference(wall, speed_ips), 1),
        **results,
    }
    if kept:
        RECORDS.mkdir(exist_ok=True)
        record_path(name, mode).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result


def _git(*args: str, repo: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)


def commit() -> str:
    """The checked-out commit (short), with ``+changes`` when files differ from it: tracked files, or new files
    that git does not ignore (outside ``build/`` and ``benchmarks/``, which the runner writes itself)."""
    head = _git("rev-parse", "--short", "HEAD").stdout.strip() or "unknown"
    # Tracked files that changed, and new files the notebooks could import (a module not yet committed).
    changed = _git("status", "--porcelain", "--untracked-files=all", "--", ".", ":!build", ":!benchmarks").stdout
    return head + (DIRTY if changed.strip() else "")


def code_cells(text: str) -> list[str]:
    """The sources of a notebook's code cells (``text`` is the .ipynb file), without outputs or Markdown, and
    without the Colab set-up cell (tagged ``tltf.colab.TAG``: it does nothing outside Colab)."""
    import nbformat

    cells = nbformat.reads(text, as_version=4).cells
    return [c.source for c in cells if c.cell_type == "code" and TAG not in c.metadata.get("tags", [])]


def stale_records(records_dir: Path = RECORDS, repo: Path = REPO) -> list[tuple[str, str]]:
    """``(record, why)`` for each record in ``records_dir`` that no longer describes the committed code:
    made from uncommitted changes (its commit ends with ``+changes``), made at a commit that git does
    not know, or stale (its notebook's code cells differ between its commit and HEAD; outputs and
    Markdown do not count)."""
    found = []
    for path in sorted(records_dir.glob("*.json")):
        result = json.loads(path.read_text(encoding="utf-8"))
        recorded, name = str(result.get("commit", "unknown")), result.get("benchmark", path.name.split(".")[0])
        base = recorded.removesuffix(DIRTY)
        reasons = [f"made from uncommitted changes ({recorded})"] if recorded.endswith(DIRTY) else []
        notebook = f"notebooks/{BENCHMARKS.get(name) or result.get('notebook', '')}"  # its name today
        then = _git("show", f"{base}:notebooks/{result.get('notebook') or Path(notebook).name}", repo=repo)
        now = _git("show", f"HEAD:{notebook}", repo=repo)
        if _git("cat-file", "-e", f"{base}^{{commit}}", repo=repo).returncode != 0:
            reasons.append(f"stale: commit {base} is unknown to git")
        elif then.returncode != 0 or now.returncode != 0:
            reasons.append(f"stale: {notebook} is missing at commit {base} or at HEAD")
        elif code_cells(then.stdout) != code_cells(now.stdout):
            reasons.append(f"stale: the code cells of {notebook} changed since commit {base}")
        if reasons:
            found.append((path.name, "; ".join(reasons)))
    return found


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
    parser.add_argument(
        "--mode",
        choices=MODES,
        help="study (default: the recorded benchmark, benchmarks/NAME.json), lesson (benchmarks/NAME.lesson.json) "
        "or quick (a smoke test, not kept); default $TLTF_MODE, or quick when TLTF_QUICK=1",
    )
    parser.add_argument("--quick", action="store_true", help="the same as --mode quick")
    parser.add_argument(
        "--check",
        action="store_true",
        help="with 'readme': exit 1 if the README is out of date, or a record stale or made from uncommitted changes",
    )
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
            stale = stale_records()
            for record_name, why in stale:
                print(f"benchmarks/{record_name}: {why}")
            if stale:
                print("Run those benchmarks again from a clean checkout of HEAD to renew their records.")
            return int(rendered != current or bool(stale))
        README.write_text(rendered, encoding="utf-8")
        return 0
    if args.quick and args.mode not in (None, "quick"):
        parser.error("--quick is --mode quick: give one of them")
    print_record(run(args.name, mode=resolve_mode("quick" if args.quick else args.mode)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
