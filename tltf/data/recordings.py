"""Recordings: the Free Spoken Digit Dataset (six speakers, digits 0-9), read and split two ways.

Each example has ``paths`` (a WAV file), ``labels`` (the digit), ``speakers``, ``indices`` (the
recording's number) and ``accents``.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from tltf import assets
from tltf.data.examples import DataError, Examples, Splits
from tltf.settings import is_quick

#: Recordings 0-4 of every speaker and digit are FSDD's official test set.
FSDD_TEST_INDICES = range(5)
#: The speakers held out in the accent-shift split: the only Greek and the only Belgian-French accent.
HELD_OUT_SPEAKERS = ("george", "nicolas")
#: Quick mode keeps this many recordings per digit and speaker (indices 0..n-1, before splitting).
QUICK_RECORDINGS = 8


def scan_recordings(root: str | Path) -> Examples:
    """Every ``recordings/{digit}_{speaker}_{index}.wav`` under ``root``: columns ``paths``, ``labels``
    (the digit), ``speakers``, ``indices`` and ``accents`` (from ``speakers.csv``). A file name of
    another form, or a speaker missing from the CSV, is a DataError."""

    root = Path(root)
    with open(root / "speakers.csv", encoding="utf-8", newline="") as f:
        accents = {row["speaker"]: row["accent"] for row in csv.DictReader(f)}
    rows = []
    for path in sorted((root / "recordings").iterdir()):
        parts = path.stem.split("_")
        if path.suffix != ".wav" or len(parts) != 3 or not (parts[0].isdigit() and parts[2].isdigit()):
            raise DataError(f"{path.name} in {root / 'recordings'} is not named {{digit}}_{{speaker}}_{{index}}.wav.")
        if parts[1] not in accents:
            raise DataError(f"{path.name}: speaker {parts[1]!r} is not in {root / 'speakers.csv'}.")
        rows.append((str(path), int(parts[0]), parts[1], int(parts[2]), accents[parts[1]]))
    if not rows:
        raise DataError(f"{root / 'recordings'} holds no recordings.")
    paths, labels, speakers, indices, accents_ = zip(*rows, strict=True)
    return Examples(
        paths=np.array(paths),
        labels=np.array(labels, dtype="int64"),
        speakers=np.array(speakers),
        indices=np.array(indices, dtype="int64"),
        accents=np.array(accents_),
    )


def load_spoken_digits(
    split: str = "official", *, quick: bool | None = None, seed: int = 42, verbose: bool = True
) -> Splits:
    """FSDD recordings split two ways, fetched through ``tltf.assets``.

    ``"official"``: recordings 0-4 of every speaker and digit are the test set (300), the rest train.
    ``"speaker"``: every recording of ``HELD_OUT_SPEAKERS`` is the test set (an accent shift), the
    other four speakers train. Either way 10 % of the training recordings, stratified by digit, are the
    validation split. Quick mode keeps recordings 0-7 of each digit and speaker.
    """
    if split not in ("official", "speaker"):
        raise ValueError(f"split must be 'official' or 'speaker', not {split!r}.")
    recordings = scan_recordings(assets.fetch("free_spoken_digit", quiet=not verbose))
    if is_quick(quick):
        recordings = recordings.take(recordings.indices < QUICK_RECORDINGS)
    in_test = (
        np.isin(recordings.indices, FSDD_TEST_INDICES)
        if split == "official"
        else np.isin(recordings.speakers, HELD_OUT_SPEAKERS)
    )
    rest = recordings.take(~in_test)
    train_idx, val_idx = train_test_split(np.arange(len(rest)), test_size=0.1, stratify=rest.labels, random_state=seed)
    parts = (rest.take(train_idx), rest.take(val_idx), recordings.take(in_test))
    return Splits(*parts, [str(d) for d in range(10)], by=("speakers", "accents"))
