"""Your own texts and sounds for ``python -m tltf fit``: read, checked, and warned about.

Texts come as a CSV or TSV file with a text column and a label column, or as a folder with one
sub-folder of ``.txt`` files per class (each file one example). Sounds come as a folder with one
sub-folder of WAV files per class. Every problem that stops a run is a ``DataError`` whose message
names the file (and row) and says what to do; ``duplicate_texts`` finds what deserves a warning only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tltf.data.examples import DataError, Examples, Splits

#: Column separators by file suffix; any other suffix is read as CSV.
SEPARATORS = {".tsv": "\t", ".tab": "\t"}
#: What ``--encoding`` suggests when a file is not UTF-8.
ENCODING_HINT = "name its encoding with --encoding (for example --encoding latin-1 or --encoding cp1252)"


def not_text(path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    """The error for a file that is not text in ``encoding``, saying how to name its encoding."""
    return DataError(f"{path} is not {encoding} text (byte {err.start} cannot be read): {ENCODING_HINT}.")


def text_table(
    path: Path, text_column: str, label_column: str | None, encoding: str = "utf-8"
) -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV / TSV file, as strings (labels empty when ``label_column`` is None); DataError for
    an empty or unreadable file, a missing column, or a blank text or label."""
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty: write a header line naming the columns, then one row per example.")
    try:
        table = pd.read_csv(
            path, sep=SEPARATORS.get(path.suffix.lower(), ","), dtype=str, keep_default_na=False, encoding=encoding
        )
    except UnicodeDecodeError as err:
        raise not_text(path, encoding, err) from None
    except LookupError:
        raise DataError(f"{encoding!r} is not an encoding Python knows: try utf-8, latin-1 or cp1252.") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path} is not a well-formed CSV/TSV file ({err}). Check its quotes and separators.") from None
    wanted = [text_column] if label_column is None else [text_column, label_column]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        found = ", ".join(repr(c) for c in table.columns)
        hint = "Name yours with --text-column" + ("" if label_column is None else " and --label-column") + "."
        if len(table.columns) == 1 and any(mark in table.columns[0] for mark in "\t;"):
            hint = "Its columns seem separated by tabs or semicolons: name a tab-separated file .tsv, or use commas."
        raise DataError(f"{path} has no column {', '.join(repr(c) for c in missing)}; its columns are {found}. {hint}")
    if table.empty:
        raise DataError(f"{path} has a header but no rows: add one row per example.")
    for column, what in zip(wanted, ("text", "label"), strict=False):
        blank = np.flatnonzero(table[column].str.strip() == "")
        if len(blank):
            raise DataError(
                f"{path}: {len(blank)} row(s) have a blank {what} (first: row {blank[0] + 2}, counting the header "
                f"as row 1). Fill them in or remove them."
            )
    labels = [] if label_column is None else table[label_column].str.strip().tolist()
    return table[text_column].str.strip().tolist(), labels


def _text_folder(folder: Path, encoding: str) -> tuple[list[str], list[str]]:
    """(texts, labels) of ``folder/<class>/*.txt``; DataError for an unreadable or blank file."""
    texts, labels = [], []
    for path in sorted(p for p in folder.glob("*/*") if p.suffix.lower() == ".txt" and p.is_file()):
        try:
            content = path.read_text(encoding=encoding).strip()
        except UnicodeDecodeError as err:
            raise not_text(path, encoding, err) from None
        if not content:
            raise DataError(f"{path} is blank: write its text or remove the file.")
        texts.append(content)
        labels.append(path.parent.name)
    if not texts:
        raise DataError(
            f"{folder} holds no .txt files in class sub-folders: make one sub-folder per class "
            "(named after it) with one .txt file per example, or give a CSV file."
        )
    return texts, labels


def read_texts(
    path: str | Path, *, text_column: str = "text", label_column: str = "label", encoding: str = "utf-8"
) -> tuple[Examples, list[str]]:
    """Labelled texts from a CSV / TSV file (``text_column``, ``label_column``) or a folder of class sub-folders of
    ``.txt`` files. Returns (``Examples`` with ``texts`` (object) and ``labels`` (int64, positions in the class
    list)), the class names sorted. Raises DataError for a missing, empty or unreadable file, a missing column,
    a blank text or label, or a single class."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist. Give a CSV/TSV file or a folder of class sub-folders.")
    texts, labels = (
        _text_folder(path, encoding) if path.is_dir() else text_table(path, text_column, label_column, encoding)
    )
    classes = sorted(set(labels))
    if len(classes) < 2:
        raise DataError(f"{path}: every example is labelled {classes[0]!r}; a classifier needs two classes or more.")
    index = {name: i for i, name in enumerate(classes)}
    return Examples(texts=np.array(texts, dtype=object), labels=np.array([index[y] for y in labels])), classes


def duplicate_texts(splits: Splits) -> dict[str, int]:
    """Counts worth a warning (texts compared after stripping and lower-casing): ``"in two classes"``, texts
    that appear with more than one label anywhere in ``splits``; ``"in train and test"``, test texts that also
    appear in the training or validation split."""
    parts = (splits.train, splits.val, splits.test)
    texts = [t.strip().lower() for part in parts for t in part.texts]
    table = pd.DataFrame({"text": texts, "label": np.concatenate([part.labels for part in parts])})
    test = set(texts[len(texts) - len(splits.test) :])
    return {
        "in two classes": int((table.groupby("text").label.nunique() > 1).sum()),
        "in train and test": len(test & set(texts[: len(texts) - len(splits.test)])),
    }


def scan_sounds(folder: str | Path) -> tuple[Examples, list[str]]:
    """The WAV files of ``folder/<class>/`` (``.wav`` in any case): (``Examples`` with ``paths`` and ``labels``),
    the class names sorted. Files are not opened here (``read_sound`` checks each one). Raises DataError for a
    missing folder, no WAV files, or a single class."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder. Give a folder with one sub-folder of WAV files per class.")
    paths = sorted(p for p in folder.glob("*/*") if p.suffix.lower() == ".wav" and p.is_file())
    if not paths:
        raise DataError(
            f"{folder} holds no WAV files in class sub-folders: make one sub-folder per class (named after it) "
            "with its .wav files."
        )
    classes = sorted({p.parent.name for p in paths})
    if len(classes) < 2:
        raise DataError(f"{folder}: every WAV file is in {classes[0]!r}; a classifier needs two classes or more.")
    labels = np.array([classes.index(p.parent.name) for p in paths])
    return Examples(paths=np.array([str(p) for p in paths]), labels=labels), classes


def read_sound(path: str | Path) -> np.ndarray:
    """A WAV file (16-bit PCM, any rate, mono or stereo) as a mono float32 waveform at 16 kHz, in [-1, 1].
    Raises DataError for a file that cannot be decoded or that is silent."""
    import tensorflow as tf

    from tltf import audio

    try:
        waveform, rate = audio.read_wav(path)
    except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as err:
        raise DataError(
            f"{path} cannot be read as a WAV file ({err.message.splitlines()[0]}). tltf reads 16-bit PCM WAV: "
            "convert it (for example: ffmpeg -i IN -c:a pcm_s16le OUT.wav) or remove it."
        ) from None
    if len(waveform) == 0 or np.abs(waveform).max() < 1e-4:
        raise DataError(f"{path} is silent (no sample above 1e-4 of full scale): remove it or record it again.")
    return audio.resample(waveform, rate)
