"""Notebook 15's plumbing: the course's data written as a learner's own (a CSV, class folders, a split made by
hand), the command line run from the notebook, a run killed after its first backup, and the README tables of
``benchmarks/own-data.json``.

Every file goes under a folder the notebook makes for itself (a temporary one): no run writes beside another.
"""

from __future__ import annotations

import csv
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from subprocess import PIPE

from tltf import recorded, workers
from tltf.data import Examples, Splits
from tltf.tables import Table, measures

#: The benchmark whose record this lesson shows beside its runs.
NAME = "own-data"
#: The command line: this Python, the course's package.
TLTF = [sys.executable, "-m", "tltf"]


def review_csv(splits: Splits, path: Path) -> Path:
    """Write ``splits`` (sentences with ``texts``, ``labels`` and ``domains``) as a CSV file with the columns
    text, label (the class name), split (train / val / test) and source; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["text", "label", "split", "source"])
        for part in ("train", "val", "test"):
            s = getattr(splits, part)
            out.writerows(
                (t, splits.class_names[y], part, d) for t, y, d in zip(s.texts, s.labels, s.domains, strict=True)
            )
    return path


def write_split_folders(splits: Splits, root: Path) -> Path:
    """Copy the files of ``splits`` (``paths``) into ``root/<train|val|test>/<class>/`` (a split made by hand);
    returns ``root``."""
    for part in ("train", "val", "test"):
        class_folders(getattr(splits, part), splits.class_names, root / part)
    return root


def class_folders(examples: Examples, class_names: list[str], root: Path) -> Path:
    """Copy ``examples`` (``paths``, ``labels``) into ``root/<class>/`` (one folder per class); returns ``root``."""
    for path, label in zip(examples.paths, examples.labels, strict=True):
        folder = root / class_names[label]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / Path(path).name)
    return root


def shown(arguments) -> str:
    """``python -m tltf ARGUMENTS`` as one would type it (paths quoted where needed)."""
    return "python -m tltf " + " ".join(shlex.quote(str(a)) for a in arguments)


def tltf(*arguments, cwd: Path, cores: int | None = None) -> dict | None:
    """Run ``python -m tltf ARGUMENTS`` in ``cwd`` (kept to its first ``cores`` cores, if given), print the command,
    what it printed and its warnings, and return ``{"seconds": wall time, "output": its lines, "summary": the last
    line's JSON (fit) or None}``; None, said, where ``cores`` cannot be kept to (only Linux can). Raises
    RuntimeError with its error line when it fails."""
    allowed = workers.allowed_cores()
    if cores is not None and allowed is None:
        print("This system cannot keep a process to chosen cores (only Linux can): not run.")
        return None
    kept = None if cores is None else set(allowed[:cores])
    taskset = "" if kept is None else f"taskset -c {','.join(map(str, sorted(kept)))} "
    print("$", taskset + shown(arguments))
    start = time.perf_counter()
    process = subprocess.Popen([*TLTF, *map(str, arguments)], stdout=PIPE, stderr=PIPE, text=True, cwd=cwd)
    workers.pin(process, kept)
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - start
    lines = stdout.rstrip().splitlines()
    notes = [line for line in stderr.splitlines() if line.startswith(("warning:", "error:"))]
    fit = arguments[0] == "fit" and process.returncode == 0  # its last line is the JSON summary
    print("\n".join([*(lines[:-1] if fit else lines), *notes]))
    if process.returncode:
        raise RuntimeError(f"python -m tltf exited with status {process.returncode}: {' '.join(notes[-1:])}")
    return {"seconds": seconds, "output": lines, "summary": json.loads(lines[-1]) if fit else None}


def kill_after_first_backup(*arguments, backup: Path, cwd: Path, stage: str = "fine-tune") -> float:
    """Start ``python -m tltf ARGUMENTS`` and kill it (SIGKILL on Linux and macOS, as a crash or a power cut would)
    as soon as ``backup/<stage>`` holds its first epoch's backup; returns the seconds it ran. RuntimeError if it
    ends before that."""
    print("$", shown(arguments), "  # killed after its first backup")
    start = time.perf_counter()
    process = subprocess.Popen(
        [*TLTF, *map(str, arguments)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
    )
    written = backup / stage / "training_metadata.json"
    while not written.exists():
        if process.poll() is not None:
            raise RuntimeError(f"the run ended (status {process.returncode}) before {written} was written")
        time.sleep(0.05)
    process.kill()
    process.wait()
    return time.perf_counter() - start


def recorded_interval(name: str, key: str) -> dict:
    """``{"mean", "ci95"}`` of ``key`` in the recorded study of benchmark ``name`` (None for what it lacks)."""
    stored = recorded.study(name)
    return {"mean": stored.get(f"{key}_mean"), "ci95": stored.get(f"{key}_ci95")}


def inside(value: float, interval: dict) -> bool | None:
    """Whether ``value`` lies in ``interval["ci95"]`` (None when there is no interval)."""
    low_high = interval.get("ci95")
    return None if not low_high else bool(low_high[0] <= value <= low_high[1])


README_TABLES: list[Table] = [
    Table(
        [
            (label, keys, 3)
            for label, keys in (
                ("texts: frozen MiniLM + head (notebook 05's split)", ("text_acc", "notebook05_frozen_acc")),
                ("sounds: YAMNet fine-tuned (notebook 06's official split)", ("sound_acc", "notebook06_finetuned_acc")),
            )
        ],
        ("test accuracy, mean over seeds {seeds} (95 % interval)", "python -m tltf fit", "the notebook's record"),
    ),
    measures(
        ("seconds per fine-tuning epoch (spoken digits 0-4): 1 worker, all cores", "seconds_per_epoch_1_worker", 2),
        ("... 2 workers sharing all cores", "seconds_per_epoch_2_workers", 2),
        ("... 1 worker kept to one core", "seconds_per_epoch_1_worker_1_core", 2),
        ("... 2 workers, one core each (--pin-cores)", "seconds_per_epoch_2_workers_pinned", 2),
        ("whole run, uninterrupted, seconds", "uninterrupted_s", 1),
        ("killed after the first backup, then run again: seconds in all", "interrupted_s", 1),
        ("largest weight difference, resumed vs uninterrupted", "resumed_max_weight_difference", 1),
    ),
]
