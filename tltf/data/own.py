"""Your own texts and sounds for ``python -m tltf fit``: read, checked, and warned about.

Texts come as a CSV or TSV file with a text column and a label column, or as a folder with one
sub-folder of ``.txt`` files per class (each file one example). Sounds come as a folder with one
sub-folder of WAV files per class. A split made by hand is kept: a split column in the table, or
``train/``, ``val/`` (optional) and ``test/`` folders, each with the class sub-folders (``read_parts``).
Every problem that stops a run is a ``DataError`` whose message names the file (and row) and says what
to do; ``duplicate_texts`` finds what deserves a warning only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tltf.data.examples import PART_NAMES, DataError, Examples, Splits, given_splits, split_examples

#: Column separators by file suffix; any other suffix is read as CSV.
SEPARATORS = {".tsv": "\t", ".tab": "\t"}
#: What ``--encoding`` suggests when a file is not UTF-8.
ENCODING_HINT = "name its encoding with --encoding (for example --encoding latin-1 or --encoding cp1252)"


def not_text(path: Path, encoding: str, err: UnicodeDecodeError) -> DataError:
    """The error for a file that is not text in ``encoding``, saying how to name its encoding."""
    return DataError(f"{path} is not {encoding} text (byte {err.start} cannot be read): {ENCODING_HINT}.")


def text_table(
    path: Path, text_column: str, label_column: str | None, encoding: str = "utf-8", split_column: str | None = None
) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, parts) of a CSV / TSV file, as strings (labels empty when ``label_column`` is None, parts
    when ``split_column`` is); DataError for an empty or unreadable file, a missing column, or a blank cell."""
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
    wanted = [c for c in (text_column, label_column, split_column) if c is not None]
    missing = [c for c in wanted if c not in table.columns]
    if missing:
        found = ", ".join(repr(c) for c in table.columns)
        flags = {text_column: "--text-column", label_column: "--label-column", split_column: "--split-column"}
        hint = f"Name yours with {', '.join(flags[c] for c in wanted)}."
        if len(table.columns) == 1 and any(mark in table.columns[0] for mark in "\t;"):
            hint = "Its columns seem separated by tabs or semicolons: name a tab-separated file .tsv, or use commas."
        raise DataError(f"{path} has no column {', '.join(repr(c) for c in missing)}; its columns are {found}. {hint}")
    if table.empty:
        raise DataError(f"{path} has a header but no rows: add one row per example.")
    for column in wanted:
        what = {text_column: "text", label_column: "label"}.get(column, "split")
        blank = np.flatnonzero(table[column].str.strip() == "")
        if len(blank):
            raise DataError(
                f"{path}: {len(blank)} row(s) have a blank {what} (first: row {blank[0] + 2}, counting the header "
                f"as row 1). Fill them in or remove them."
            )
    labels, parts = ([] if c is None else table[c].str.strip().tolist() for c in (label_column, split_column))
    return table[text_column].str.strip().tolist(), labels, parts


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
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    encoding: str = "utf-8",
    split_column: str | None = None,
) -> tuple[Examples, list[str]]:
    """Labelled texts from a CSV / TSV file (``text_column``, ``label_column``, and ``split_column``: a ``parts``
    column for ``given_splits``) or a folder of class sub-folders of ``.txt`` files. Returns (``Examples`` with
    ``texts`` (object) and ``labels`` (int64, positions in the class list)), the class names sorted. Raises
    DataError for a missing, empty or unreadable file, a missing column or a blank cell."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path} does not exist. Give a CSV/TSV file or a folder of class sub-folders.")
    if path.is_dir():
        (texts, labels), parts = _text_folder(path, encoding), []
    else:
        texts, labels, parts = text_table(path, text_column, label_column, encoding, split_column)
    examples, classes = with_classes(labels, texts=np.array(texts, dtype=object))
    return (Examples(**examples.columns, parts=np.array(parts)) if parts else examples), classes


def with_classes(labels: list[str], **columns) -> tuple[Examples, list[str]]:
    """``Examples`` of ``columns`` with ``labels`` as positions in the sorted class names, and those names."""
    classes, positions = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    return Examples(**columns, labels=positions.astype("int64")), classes.tolist()


def split_folders(path: str | Path) -> dict[str, Path]:
    """The parts of a split made by hand: {"train": folder, "val": folder, "test": folder} when ``path`` holds
    sub-folders named after the parts (``PART_NAMES``, any case) that themselves hold (class) folders; val may be
    absent. {} for any other path. DataError when such a folder lacks train or test, names a part twice (val and
    validation), or holds other folders beside the parts."""
    path = Path(path)
    if not path.is_dir():
        return {}
    folders = [p for p in sorted(path.iterdir()) if p.is_dir() and not p.name.startswith(".")]
    parts = [p for p in folders if p.name.lower() in PART_NAMES and any(c.is_dir() for c in p.iterdir())]
    if not parts:
        return {}  # class folders (a class may be called "train": it holds files, not folders)
    found = {}
    for folder in parts:
        part = PART_NAMES[folder.name.lower()]
        if part in found:
            raise DataError(f"{path} has two {part} folders, {found[part].name}/ and {folder.name}/: keep one.")
        found[part] = folder
    missing = [part for part in ("train", "test") if part not in found]
    other = [p.name for p in folders if p not in parts]
    if missing or other:
        problem = f"no {' and no '.join(missing)} folder" if missing else f"other folders too ({', '.join(other)})"
        raise DataError(
            f"{path} holds {', '.join(p.name + '/' for p in parts)} with class folders inside, so it is read as a "
            f"split made by hand, but it has {problem}: a split made by hand is train/, test/ and optionally val/, "
            "each holding one folder per class."
        )
    return found


def read_parts(path: str | Path, read) -> tuple[Examples, list[str]]:
    """``read(path)`` -> (``Examples``, class names); or, when ``path`` is a split made by hand (``split_folders``),
    ``read`` of each part joined, with a ``parts`` column (train / val / test) and the class names of all parts
    sorted (labels renumbered to match)."""
    folders = split_folders(path)
    if not folders:
        return read(path)
    read_each = [(part, *read(folder)) for part, folder in folders.items()]
    names = np.concatenate([np.asarray(classes)[examples.labels] for _, examples, classes in read_each])
    columns = {
        column: np.concatenate([examples.columns[column] for _, examples, _ in read_each])
        for column in read_each[0][1].columns
        if column != "labels"
    }
    parts = np.concatenate([np.full(len(examples), part) for part, examples, _ in read_each])
    return with_classes(names, **columns, parts=parts)


def split_own(
    examples: Examples, classes: list[str], *, val: float, test: float, seed: int, what: str, unit: str = "example"
) -> Splits:
    """The split of one's own data: as given when ``examples`` has a ``parts`` column (``given_splits``), else
    seeded and stratified (``split_examples``; ``unit`` names the examples in its errors). DataError for a
    single class."""
    if len(classes) < 2:
        raise DataError(f"{what}: every {unit} is labelled {classes[0]!r}; a classifier needs two classes or more.")
    if "parts" in examples.columns:
        return given_splits(examples, classes, val=val, seed=seed, what=what)
    return split_examples(examples, classes, val=val, test=test, seed=seed, what=what, unit=unit)


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
    missing folder or no WAV files."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder. Give a folder with one sub-folder of WAV files per class.")
    paths = sorted(p for p in folder.glob("*/*") if p.suffix.lower() == ".wav" and p.is_file())
    if not paths:
        raise DataError(
            f"{folder} holds no WAV files in class sub-folders: make one sub-folder per class (named after it) "
            "with its .wav files."
        )
    return with_classes([p.parent.name for p in paths], paths=np.array([str(p) for p in paths]))


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
