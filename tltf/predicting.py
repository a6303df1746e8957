"""``python -m tltf predict MODEL INPUT...``: a model saved by ``python -m tltf fit`` on new inputs.

The model's file says what it reads (``tltf.labelled.describe``): image files for an image model; for a text
model, a CSV / TSV file (its text column), a ``.txt`` file (one text per line) or the texts themselves; WAV files
for a sound model. One row per input: the input, the most probable class and its probability. An input of the
wrong kind is a DataError that names it and what the model reads.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from tltf.data.examples import DataError
from tltf.data.images import IMAGE_EXTENSIONS

#: What each kind of model reads, for the error messages.
READS = {
    "image": "image files (" + ", ".join(IMAGE_EXTENSIONS) + ")",
    "text": "texts: a CSV or TSV file, a .txt file with one text per line, or the texts themselves",
    "sound": "WAV files",
}
SOUND_SUFFIXES, TABLE_SUFFIXES = (".wav",), (".csv", ".tsv", ".tab")


def _wrong(item: str, kind: str) -> DataError:
    return DataError(f"{item} is not one of what this {kind} model reads: {READS[kind]}.")


def _texts(inputs: list[str], text_column: str, encoding: str) -> list[str]:
    """Every text that ``inputs`` give: the text column of a table, the lines of a .txt file, or the input itself."""
    from tltf.data.own import not_text, text_table

    texts = []
    for item in inputs:
        path = Path(item)
        suffix = path.suffix.lower()
        if suffix in IMAGE_EXTENSIONS + SOUND_SUFFIXES and path.is_file():
            raise _wrong(item, "text")
        if path.is_dir():
            raise DataError(f"{item} is a folder: give the files in it (or texts). This model reads {READS['text']}.")
        if suffix in (*TABLE_SUFFIXES, ".txt") and not path.exists():
            raise DataError(f"{item} does not exist (a file name was expected: check it).")
        if suffix in TABLE_SUFFIXES and path.is_file():
            texts += text_table(path, text_column, None, encoding)[0]
        elif suffix == ".txt" and path.is_file():
            try:
                lines = path.read_text(encoding=encoding).splitlines()
            except UnicodeDecodeError as err:
                raise not_text(path, encoding, err) from None
            texts += [line.strip() for line in lines if line.strip()]
        elif item.strip():
            texts.append(item.strip())
    if not texts:
        raise DataError("No text to classify: the inputs are blank.")
    return texts


def _files(inputs: list[str], kind: str, suffixes: tuple[str, ...]) -> list[str]:
    """The inputs, each an existing file with one of ``suffixes`` (DataError otherwise)."""
    for item in inputs:
        if not Path(item).is_file():
            raise DataError(f"{item} is not a file. This {kind} model reads {READS[kind]}.")
        if Path(item).suffix.lower() not in suffixes:
            raise _wrong(item, kind)
    return inputs


def predict(
    model_path: str, inputs: list[str], *, text_column: str | None = None, encoding: str = "utf-8"
) -> list[dict]:
    """``[{"input", "class", "probability"}, ...]``, one per input (per text for a table or a .txt file).
    ``text_column``: the texts' column in a CSV / TSV input (default: the one the model was trained on)."""
    from tltf import audio, data, labelled

    about = labelled.describe(model_path)
    kind = about["kind"]
    if kind == "text":
        names = _texts(inputs, text_column or about["details"].get("text_column", "text"), encoding)
        batch = np.array(names, dtype=object)
    elif kind == "sound":
        names = _files(inputs, kind, SOUND_SUFFIXES)
        batch = np.stack([audio.patch_of(data.read_sound(path)) for path in names])
    else:
        names = _files(inputs, kind, IMAGE_EXTENSIONS)
        size = tuple(about["details"]["image_size"])
        batch = np.stack([_image(path, size) for path in names])
    model = labelled.load(model_path)
    probabilities = np.asarray(model.predict(batch, verbose=0))
    best = probabilities.argmax(axis=1)
    classes = about["classes"]
    return [
        {"input": name, "class": classes[k], "probability": round(float(p[k]), 4)}
        for name, k, p in zip(names, best, probabilities, strict=True)
    ]


def _image(path: str, size: tuple[int, int]) -> np.ndarray:
    import tensorflow as tf

    from tltf import data

    try:
        return data.load_image(path, size).numpy()
    except tf.errors.InvalidArgumentError:
        raise DataError(f"{path} cannot be decoded as an image: remove it or export it again.") from None


def write(rows: list[dict], out: str | None) -> None:
    """The rows as tab-separated lines on stdout, or as a CSV file ``out`` (said on stdout)."""
    if out is None:
        for row in rows:
            print(f"{row['input']}\t{row['class']}\t{row['probability']:.4f}")
        return
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["input", "class", "probability"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} prediction(s) written to {out}", file=sys.stdout)
