"""One container for every dataset of the course, and the seeded, stratified splits.

``Examples`` holds aligned columns (one row per example: ``labels`` always, and e.g. ``paths``,
``texts``, ``domains``, ``speakers``); ``Splits`` holds its train / validation / test parts and
counts them in one pandas table. Images, sentences and recordings all use these two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

#: The course's split: 60 % train, 20 % validation (model selection), 20 % test (reported once).
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2


class DataError(ValueError):
    """A dataset cannot be used as it is; the message says what to change."""


class Examples:
    """Aligned NumPy columns, one row per example, read as attributes (``examples.labels``).

    ``labels`` (int64, shape (n,), classes 0 .. n_classes-1) is required; every other column (file
    ``paths``, ``texts``, ``domains``, ``speakers``, ...) has the same length.
    """

    def __init__(self, **columns):
        if "labels" not in columns:
            raise ValueError("Examples need a labels column.")
        self.columns = {name: np.asarray(values) for name, values in columns.items()}
        lengths = {name: len(values) for name, values in self.columns.items()}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"Every column needs one value per example; lengths: {lengths}.")

    def __getattr__(self, name: str) -> np.ndarray:
        columns = self.__dict__.get("columns", {})
        if name not in columns:
            raise AttributeError(f"These examples have no column {name!r}; they have {', '.join(columns)}.")
        return columns[name]

    def __len__(self) -> int:
        return len(self.columns["labels"])

    def __repr__(self) -> str:
        return f"Examples({len(self)} rows: {', '.join(self.columns)})"

    def take(self, index: np.ndarray) -> Examples:
        """The rows at ``index`` (positions or a boolean mask), kept in their original order."""
        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.sort(index)
        return Examples(**{name: values[index] for name, values in self.columns.items()})

    def where(self, **match) -> Examples:
        """The rows whose columns equal the given values, e.g. ``where(domains="imdb")``."""
        keep = np.ones(len(self), dtype=bool)
        for name, value in match.items():
            keep &= getattr(self, name) == value
        return self.take(keep)


@dataclass
class Splits:
    """Disjoint train / validation / test parts of one dataset; ``by`` names the columns that
    ``table`` counts by (``labels`` shows the class names)."""

    train: Examples
    val: Examples
    test: Examples
    class_names: list[str]
    by: tuple[str, ...] = ("labels",)

    def where(self, **match) -> Splits:
        """The same three parts restricted to matching rows, e.g. ``where(domains="imdb")``."""
        parts = (self.train.where(**match), self.val.where(**match), self.test.where(**match))
        return Splits(*parts, self.class_names, self.by)

    def table(self) -> pd.DataFrame:
        """Examples per value of the ``by`` columns and split, with totals."""
        frames = []
        for name, part in (("train", self.train), ("val", self.val), ("test", self.test)):
            frame = pd.DataFrame({column: getattr(part, column) for column in self.by})
            if "labels" in self.by:
                frame["labels"] = np.asarray(self.class_names)[frame["labels"]]
            frames.append(frame.assign(split=name).rename(columns={"labels": "class"}))
        counts = pd.concat(frames)
        rows = [counts[column] for column in counts.columns if column != "split"]
        table = pd.crosstab(rows, counts["split"], margins=True, margins_name="total")
        return table[["train", "val", "test", "total"]].rename_axis(columns=None)


def per_class_index(labels: np.ndarray, k: int, seed: int = 0, *, what: str = "examples in this split") -> np.ndarray:
    """Sorted positions of a seeded draw of exactly ``k`` items of every class in ``labels``.

    Raises DataError if a class has fewer than ``k``.
    """
    rng = np.random.default_rng(seed)
    keep = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < k:
            raise DataError(f"Class {label} has {len(members)} {what}, fewer than the {k} asked for.")
        keep.extend(rng.permutation(members)[:k])
    return np.sort(np.array(keep, dtype=int))


def per_class(examples: Examples, k: int, seed: int = 0) -> Examples:
    """A seeded subset with exactly ``k`` examples of every class (few-shot training sets)."""
    return examples.take(per_class_index(examples.labels, k, seed))


def split_index(
    labels: np.ndarray,
    *,
    val: float = VAL_FRACTION,
    test: float = TEST_FRACTION,
    seed: int = 42,
    what: str = "the data",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of a seeded, stratified, disjoint train / validation / test split of ``labels``."""
    index = np.arange(len(labels))
    try:
        rest, test_idx = train_test_split(index, test_size=test, stratify=labels, random_state=seed)
        train_idx, val_idx = train_test_split(
            rest, test_size=val / (1 - test), stratify=labels[rest], random_state=seed
        )
    except ValueError as err:
        raise DataError(f"Cannot split {what} stratified into train/val/test: {err}") from err
    return train_idx, val_idx, test_idx


def split_examples(
    examples: Examples,
    class_names: list[str],
    *,
    val: float = VAL_FRACTION,
    test: float = TEST_FRACTION,
    seed: int = 42,
    what: str = "the data",
    unit: str = "example",
) -> Splits:
    """``split_index`` of ``examples`` into ``Splits``. Raises DataError, naming the class (its ``unit`` s counted),
    when a class has fewer than 3 (one for each split) or the fractions leave a split empty."""
    counts = np.bincount(examples.labels, minlength=len(class_names))
    if counts.min() < 3:
        small = class_names[int(counts.argmin())]
        raise DataError(
            f"Class {small!r} has {counts.min()} {unit}(s) in {what}; each class needs at least 3 to appear in the "
            "train, validation and test splits. Add examples to it, or remove it."
        )
    train_idx, val_idx, test_idx = split_index(examples.labels, val=val, test=test, seed=seed, what=what)
    return Splits(examples.take(train_idx), examples.take(val_idx), examples.take(test_idx), class_names)


#: The names a split made by hand may give its parts (any case), and the part each one means.
PART_NAMES = {"train": "train", "val": "val", "validation": "val", "valid": "val", "dev": "val", "test": "test"}


def given_splits(
    examples: Examples, class_names: list[str], *, val: float = VAL_FRACTION, seed: int = 42, what: str = "the data"
) -> Splits:
    """The split that ``examples.parts`` states (per example: train, val / validation or test, any case). When no
    example is marked val, a seeded, stratified ``val`` share of the training examples becomes the validation split.

    Raises DataError for another part name, an empty train or test part, or a class with no training example.
    """
    parts = np.array([PART_NAMES.get(str(p).strip().lower(), "") for p in examples.parts])
    if (parts == "").any():
        odd = sorted({str(p) for p, q in zip(examples.parts, parts, strict=True) if not q})
        raise DataError(
            f"{what} names its splits {', '.join(repr(p) for p in odd[:5])}: use train, val (or validation, valid, "
            "dev) and test."
        )
    for part in ("train", "test"):
        if not (parts == part).any():
            raise DataError(
                f"{what} has no {part} examples: a split made by hand needs train and test (val is optional)."
            )
    missing = sorted(set(range(len(class_names))) - set(examples.labels[parts == "train"]))
    if missing:
        raise DataError(
            f"Class {class_names[missing[0]]!r} has no training example in {what}: add some to its train part, "
            "or remove the class."
        )
    if not (parts == "val").any():
        train_idx = np.flatnonzero(parts == "train")
        counts = np.bincount(examples.labels[train_idx], minlength=len(class_names))
        if counts.min() < 2 or round(val * len(train_idx)) < len(class_names):
            raise DataError(
                f"{what} has no validation part, and {counts.min()} training example(s) of class "
                f"{class_names[int(counts.argmin())]!r} ({len(train_idx)} in all) are too few to draw one from "
                f"(--val {val}): add a val part, or more training examples."
            )
        _, drawn = train_test_split(train_idx, test_size=val, stratify=examples.labels[train_idx], random_state=seed)
        parts[drawn] = "val"
    train, val_part, test = (examples.take(parts == part) for part in ("train", "val", "test"))
    return Splits(train, val_part, test, class_names)
