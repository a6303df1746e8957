"""Solutions to the exercises of notebook 15 (your own data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from lessons import own_data
from tltf import data
from tltf.data.own import SEPARATORS

#: Exercise 3: the star rating written for each class of the review CSV.
STARS = {"negative": "1", "positive": "5"}


def speaker_folders(root: Path) -> Path:
    """1. Notebook 06's held-out-speaker split (``data.load_spoken_digits("speaker")``, as the mode sets its size)
    copied into ``root/<train|val|test>/<digit>/`` (the lesson's ``write_split_folders``); returns ``root``, which
    ``python -m tltf fit root --fine-tune ...`` trains on as section 5 does.

    The accuracy falls far: notebook 06's record (``benchmarks/audio.json``, means over its seeds) has fine-tuned
    YAMNet at 0.9944 on the official split (``official_finetuned_mean``) and 0.613 on held-out speakers
    (``speaker_finetuned_mean``). The official split puts every speaker in both train and test, so its test asks
    for new recordings of voices the model has learned; here the test holds only george and nicolas, voices and
    accents (Greek, Belgian French) that no training recording has, and the model learns from the other speakers
    only. It partly learned the speakers rather than the digits, which the official split hides.
    """
    return own_data.write_split_folders(data.load_spoken_digits("speaker", verbose=False), root)


def drawn_split(csv_path: str | Path, *, val: float = 0.2, test: float = 0.2, seed: int = 42) -> data.Splits:
    """2. The split that ``python -m tltf fit csv_path --val VAL --test TEST --seed SEED`` draws (no
    ``--split-column``): fit's own reader (``read_texts`` with its default text and label columns) and its
    ``split_own`` call, stratified by label and seeded, with the CSV's ``source`` column carried along as
    ``sources``. DataError as fit raises it."""
    examples, classes = data.read_texts(csv_path)
    sources = pd.read_csv(csv_path, dtype=str, keep_default_na=False)["source"].str.strip().to_numpy()
    with_sources = data.Examples(**examples.columns, sources=sources)
    return data.split_own(with_sources, classes, val=val, test=test, seed=seed, what=str(csv_path))


def source_shares(csv_path: str | Path, *, val: float = 0.2, test: float = 0.2, seed: int = 42) -> pd.DataFrame:
    """2. Per split of ``drawn_split`` (the one ``fit`` draws), the share of each source: rows train / val /
    test, one column per source (sorted), each row summing to 1.

    ``fit`` stratifies by label only, not by source, so each source's share drifts a little from split to split:
    a source with fewer test sentences has a wider interval on its own test accuracy, and a source that the
    training split under-represents may score lower for that alone.
    """
    splits = drawn_split(csv_path, val=val, test=test, seed=seed)
    parts = {name: getattr(splits, name).sources for name in ("train", "val", "test")}
    shares = {name: pd.Series(values).value_counts(normalize=True) for name, values in parts.items()}
    sources = sorted(set(np.concatenate(list(parts.values()))))
    table = pd.DataFrame(shares).T.reindex(columns=sources).fillna(0.0)
    return table.rename_axis(index="split", columns="source")


def stars_tsv(csv_path: str | Path, tsv_path: str | Path) -> list[str]:
    """3. The review CSV (columns text, label, split) written to ``tsv_path`` (suffix .tsv or .tab, which ``fit``
    reads as tab-separated) with the columns review, stars ("1" for negative, "5" for positive) and split; returns
    the arguments of ``python -m tltf fit`` that read it: the file, then ``--text-column review --label-column
    stars --split-column split``. ValueError for another suffix or another label."""
    tsv_path = Path(tsv_path)
    if tsv_path.suffix.lower() not in SEPARATORS:
        raise ValueError(f"{tsv_path} must end in .tsv or .tab for fit to read it as tab-separated.")
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    unknown = sorted(set(table.label) - set(STARS))
    if unknown:
        raise ValueError(f"{csv_path} has labels {unknown} that have no star rating; known: {sorted(STARS)}.")
    tsv_path.parent.mkdir(parents=True, exist_ok=True)
    written = pd.DataFrame({"review": table.text, "stars": table.label.map(STARS), "split": table.split})
    written.to_csv(tsv_path, sep="\t", index=False)
    return [str(tsv_path), "--text-column", "review", "--label-column", "stars", "--split-column", "split"]


def confident_mistakes(predicted: pd.DataFrame, labels, threshold: float = 0.9) -> pd.DataFrame:
    """4. The rows of ``predict --csv`` output (columns input, class, probability) whose class differs from
    ``labels`` (one per row, in the same order; compared as strings) and whose probability is ``threshold`` or
    more: columns input, class, probability, label, highest probability first (ties in row order), with the rows'
    original index (their position in the test rows). ValueError when the lengths differ."""
    labels = np.asarray(labels)
    if len(labels) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions but {len(labels)} labels: give one label per row.")
    with_labels = predicted[["input", "class", "probability"]].assign(label=labels)
    wrong = with_labels["class"].astype(str) != with_labels["label"].astype(str)
    chosen = with_labels[wrong & (with_labels["probability"] >= threshold)]
    return chosen.sort_values("probability", ascending=False, kind="stable")
