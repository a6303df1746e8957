"""Datasets: images from a class-per-folder tree (split, fed to Keras through tf.data), and the
labelled sentences of the text lessons.

Nothing is dropped silently: files that are not images are listed in a report, images that cannot
be decoded stop the scan with their names (or, with ``skip_bad=True``, are listed and left out), and
an empty class folder is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from tltf import QUICK, assets

#: Extensions read as images: the formats ``tf.io.decode_image`` decodes (as in Keras's own loader).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: The course's split: 60 % train, 20 % validation (model selection), 20 % test (reported once).
VAL_FRACTION = 0.2
TEST_FRACTION = 0.2
#: Quick mode keeps this many images per class (before splitting).
QUICK_PER_CLASS = 20


class DataError(ValueError):
    """A dataset cannot be used as it is; the message says what to change."""


@dataclass
class Split:
    """A list of image files and their integer labels (0 .. n_classes-1), aligned."""

    paths: np.ndarray  # str, shape (n,)
    labels: np.ndarray  # int64, shape (n,)

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, index: np.ndarray) -> Split:
        """The files at ``index``, kept in their original order."""
        index = np.sort(index)
        return Split(self.paths[index], self.labels[index])


@dataclass
class ImageFolder:
    """The usable images of a class-per-folder tree, and what was left out and why."""

    root: Path
    class_names: list[str]
    images: Split
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)

    def counts(self) -> dict[str, int]:
        """Images per class."""
        return {c: int((self.images.labels == i).sum()) for i, c in enumerate(self.class_names)}


@dataclass
class Splits:
    """Disjoint, stratified train / validation / test splits of one ImageFolder."""

    train: Split
    val: Split
    test: Split
    class_names: list[str]

    def table(self) -> str:
        """Images per class and split, as aligned text."""
        rows = [f"{'class':12} {'train':>6} {'val':>6} {'test':>6}"]
        for i, name in enumerate([*self.class_names, "total"]):
            counts = [
                len(s) if name == "total" else int((s.labels == i).sum()) for s in (self.train, self.val, self.test)
            ]
            rows.append(f"{name:12} " + " ".join(f"{c:>6}" for c in counts))
        return "\n".join(rows)


#: The leading bytes of each format ``tf.io.decode_image`` reads, and the format each extension claims.
SIGNATURES = {
    "JPEG": (b"\xff\xd8\xff",),
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "GIF": (b"GIF87a", b"GIF89a"),
    "BMP": (b"BM",),
}
CLAIMED = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".gif": "GIF", ".bmp": "BMP"}


def _decode_error(path: Path) -> str | None:
    """None if TensorFlow decodes the file as an image, else the reason in plain words.

    TensorFlow's own error names a C++ kernel, not the problem, so the file's leading bytes say
    what it is (our few lines: ``imghdr`` left the standard library, and TensorFlow already decodes).
    A decodable image whose extension names another format is accepted, as TensorFlow reads it.
    """
    content = path.read_bytes()
    if not content:
        return "cannot be decoded: empty file (0 bytes)"
    found = next((name for name, starts in SIGNATURES.items() if content.startswith(starts)), None)
    if found is None:
        return f"cannot be decoded: the extension says {CLAIMED[path.suffix.lower()]} but the content is not an image"
    try:
        image = tf.io.decode_image(content, channels=3, expand_animations=False)
    except tf.errors.OpError:
        return f"cannot be decoded: truncated or corrupt {found}"
    return None if 0 not in image.shape else f"cannot be decoded: a {found} with no pixels"


def scan_images(
    root: str | Path, *, skip_bad: bool = False, verbose: bool = True, progress: bool = False
) -> ImageFolder:
    """Read a tree of ``root/<class name>/**/<image>`` files; classes are the sorted folder names.

    Every image is decoded once with TensorFlow (the decoder training uses) to catch corrupt or
    truncated files. Grayscale, RGBA, palette and PNG images are accepted: the pipeline converts
    them to 3-channel RGB (alpha is dropped). Files with other extensions, and images lying outside
    a class folder, are skipped and reported. Undecodable images raise DataError, or with
    ``skip_bad=True`` are skipped and reported. An empty class, or fewer than two classes, raise
    DataError. Prints a one-paragraph report unless ``verbose`` is False; ``progress`` shows a bar
    over the class folders.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder. Expected one sub-folder per class, holding its images.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    skipped = [
        (p.name, "image outside any class folder")
        for p in sorted(root.iterdir())
        if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
    ]
    if len(class_dirs) < 2:
        raise DataError(
            f"{root} has {len(class_dirs)} class folder(s); a classifier needs at least two "
            "sub-folders, one per class, each holding that class's images."
        )
    files = [(label, p) for label, d in enumerate(class_dirs) for p in sorted(d.rglob("*")) if p.is_file()]
    paths, labels, bad = [], [], []
    for label, path in tqdm(files, desc="scanning", unit="file", disable=not progress):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            skipped.append((rel, f"not an image file ({path.suffix or 'no extension'})"))
        elif reason := _decode_error(path):
            bad.append((rel, reason))
        else:
            paths.append(str(path))
            labels.append(label)
    empty = [d.name for label, d in enumerate(class_dirs) if label not in labels]
    if bad and not skip_bad:
        listed = "; ".join(f"{rel} ({reason})" for rel, reason in bad[:10])
        raise DataError(
            f"{len(bad)} image file(s) in {root} cannot be used: {listed}"
            f"{' …' if len(bad) > 10 else ''}. Fix or remove them, or pass skip_bad=True "
            "(command line: --skip-bad) to leave them out with a report."
        )
    skipped += bad
    if empty:
        raise DataError(
            f"Class folder(s) {', '.join(empty)} in {root} hold no usable images. Add "
            "images, or remove the folder if that class is not wanted."
        )
    folder = ImageFolder(
        root, [d.name for d in class_dirs], Split(np.array(paths), np.array(labels, dtype="int64")), skipped
    )
    if verbose:
        print(report(folder))
    return folder


def report(folder: ImageFolder) -> str:
    """What a scan found and what it left out, in plain words."""
    counts = ", ".join(f"{c} {n}" for c, n in folder.counts().items())
    text = f"Found {len(folder.images)} images in {len(folder.class_names)} classes ({counts}) in {folder.root}."
    if folder.skipped:
        text += f"\nSkipped {len(folder.skipped)} file(s):" + "".join(
            f"\n  {rel}: {reason}" for rel, reason in folder.skipped
        )
    return text


def per_class_index(labels: np.ndarray, k: int, seed: int = 0, *, what: str = "images in this split") -> np.ndarray:
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


def per_class(split: Split, k: int, seed: int = 0) -> Split:
    """A seeded subset with exactly ``k`` images of every class (few-shot training sets)."""
    return split.take(per_class_index(split.labels, k, seed))


def split_stratified(
    folder: ImageFolder,
    *,
    val: float = VAL_FRACTION,
    test: float = TEST_FRACTION,
    seed: int = 42,
    max_per_class: int | None = None,
) -> Splits:
    """Seeded, stratified, disjoint train / validation / test splits.

    Use ``val`` for every choice you make (epochs, learning rate, which model) and look at
    ``test`` once, at the end. ``max_per_class`` first keeps at most that many images per class
    (quick mode). Raises DataError if a class is too small to appear in all three splits.
    """
    images = folder.images
    if max_per_class is not None:
        smallest = min(folder.counts().values())
        images = images.take(per_class_index(images.labels, min(max_per_class, smallest), seed, what="images"))
    counts = np.bincount(images.labels)
    if counts.min() < 3:
        small = folder.class_names[int(counts.argmin())]
        raise DataError(
            f"Class {small!r} has {counts.min()} image(s); each class needs at least 3 to "
            "appear in the train, validation and test splits."
        )
    train_idx, val_idx, test_idx = split_index(images.labels, val=val, test=test, seed=seed, what=str(folder.root))
    return Splits(images.take(train_idx), images.take(val_idx), images.take(test_idx), folder.class_names)


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


def load_image(path: tf.Tensor | str, image_size: tuple[int, int]) -> tf.Tensor:
    """Decode one image file to uint8 RGB of shape (*image_size, 3), squashed to size (no crop)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image = tf.image.resize(image, image_size, method="bilinear", antialias=True)
    return tf.saturate_cast(tf.round(image), tf.uint8)


def make_dataset(
    split: Split,
    image_size: tuple[int, int] = (224, 224),
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 42,
    cache: bool = True,
) -> tf.data.Dataset:
    """A tf.data pipeline of (images, labels) batches.

    Images are float32 in [0, 255], shape (batch, *image_size, 3); labels are int64 class indices.
    Decoded, resized images are cached in memory as uint8 after the first pass (about 150 KB per
    image at 224 px); ``shuffle`` reshuffles every epoch, seeded.
    """
    ds = tf.data.Dataset.from_tensor_slices((split.paths, split.labels))
    ds = ds.map(lambda p, y: (load_image(p, image_size), y), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.prefetch(tf.data.AUTOTUNE)


def augmentation(seed: int | None = None) -> keras.Sequential:
    """Random flips, small rotations, zooms and contrast changes; active only while training."""
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomRotation(0.1, seed=seed),
            keras.layers.RandomZoom(0.1, seed=seed),
            keras.layers.RandomContrast(0.1, seed=seed),
        ],
        name="augmentation",
    )


def load_flowers(*, quick: bool = QUICK, seed: int = 42, verbose: bool = True) -> Splits:
    """The course's flowers (5 classes), fetched through ``tltf.assets`` and split 60/20/20.

    Quick mode keeps ``QUICK_PER_CLASS`` images per class.
    """
    folder = scan_images(assets.fetch("flower_photos", quiet=not verbose), verbose=verbose)
    return split_stratified(folder, seed=seed, max_per_class=QUICK_PER_CLASS if quick else None)


# --- text: the UCI Sentiment Labelled Sentences -------------------------------------------------

#: The three review domains and their files in the ``sentiment_sentences`` asset.
SENTIMENT_FILES = {"amazon": "amazon_cells_labelled.txt", "imdb": "imdb_labelled.txt", "yelp": "yelp_labelled.txt"}
SENTIMENT_CLASSES = ["negative", "positive"]
#: Quick mode keeps this many sentences per domain and label (before splitting).
QUICK_SENTENCES = 40


@dataclass
class Sentences:
    """Sentences with their labels (0 negative, 1 positive) and review domains, aligned."""

    texts: np.ndarray  # str, shape (n,)
    labels: np.ndarray  # int64, shape (n,)
    domains: np.ndarray  # str, shape (n,): "amazon", "imdb" or "yelp"

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: np.ndarray) -> Sentences:
        """The sentences at ``index``, kept in their original order."""
        index = np.sort(index)
        return Sentences(self.texts[index], self.labels[index], self.domains[index])

    def domain(self, name: str) -> Sentences:
        """The sentences of one domain."""
        return self.take(np.flatnonzero(self.domains == name))


@dataclass
class TextSplits:
    """Disjoint train / validation / test splits, stratified by domain and label."""

    train: Sentences
    val: Sentences
    test: Sentences
    class_names: list[str] = field(default_factory=lambda: list(SENTIMENT_CLASSES))

    def domain(self, name: str) -> TextSplits:
        """The same three splits restricted to one domain."""
        return TextSplits(self.train.domain(name), self.val.domain(name), self.test.domain(name))

    def table(self) -> str:
        """Sentences per domain and split, as aligned text."""
        rows = [f"{'domain':8} {'train':>6} {'val':>6} {'test':>6}"]
        for name in [*SENTIMENT_FILES, "total"]:
            parts = (
                (self.train, self.val, self.test)
                if name == "total"
                else (self.train.domain(name), self.val.domain(name), self.test.domain(name))
            )
            rows.append(f"{name:8} " + " ".join(f"{len(p):>6}" for p in parts))
        return "\n".join(rows)


def read_labelled_sentences(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Parse a ``sentence<TAB>label`` file: (sentences, int64 labels of shape (n,)).

    Each line is split on its *last* tab, so quotes and tabs inside a sentence are kept as they are
    (CSV readers with default quoting merge IMDb rows). Surrounding white space is stripped; blank
    lines are ignored. A line
    without a tab or with a label other than 0/1 raises DataError naming the file and line.
    """
    path = Path(path)
    texts, labels = [], []
    # Split on "\n" only: str.splitlines() also breaks at U+0085, which two IMDb sentences contain.
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        text, tab, label = line.rpartition("\t")
        if not tab or label.strip() not in ("0", "1") or not text.strip():
            raise DataError(
                f"{path}, line {number}: expected 'sentence<TAB>0' or 'sentence<TAB>1', got "
                f"{line[:80]!r}. Fix the line, or restore the file from the asset mirror."
            )
        texts.append(text.strip())
        labels.append(int(label))
    if not texts:
        raise DataError(f"{path} holds no sentences.")
    return texts, np.array(labels, dtype="int64")


def load_sentences(root: str | Path | None = None, *, verbose: bool = True) -> Sentences:
    """All labelled sentences of the three domains (3 x 1,000), from ``root`` or the asset registry."""
    root = Path(root) if root is not None else assets.fetch("sentiment_sentences", quiet=not verbose)
    texts, labels, domains = [], [], []
    for name, file in SENTIMENT_FILES.items():
        t, y = read_labelled_sentences(root / file)
        texts += t
        labels.append(y)
        domains += [name] * len(t)
    return Sentences(np.array(texts, dtype=object), np.concatenate(labels), np.array(domains))


def load_sentiment(*, quick: bool = QUICK, seed: int = 42, verbose: bool = True) -> TextSplits:
    """The three sentiment domains pooled and split 60/20/20, stratified by domain and label.

    ``.domain(name)`` gives one domain's part of each split, so every domain has its own held-out
    test sentences and the pooled test split is their union. Quick mode keeps ``QUICK_SENTENCES``
    per domain and label.
    """

    def strata(s: Sentences) -> np.ndarray:  # one stratum per (domain, label)
        return np.unique(s.domains, return_inverse=True)[1] * 2 + s.labels

    sentences = load_sentences(verbose=verbose)
    if quick:
        sentences = sentences.take(per_class_index(strata(sentences), QUICK_SENTENCES, seed, what="sentences"))
    train, val, test = split_index(strata(sentences), seed=seed, what="the sentiment sentences")
    return TextSplits(sentences.take(train), sentences.take(val), sentences.take(test))


# --- audio: the Free Spoken Digit Dataset -------------------------------------------------------

#: Recordings 0-4 of every speaker and digit are FSDD's official test set.
FSDD_TEST_INDICES = range(5)
#: The speakers held out in the accent-shift split: the only Greek and the only Belgian-French accent.
HELD_OUT_SPEAKERS = ("george", "nicolas")
#: Quick mode keeps this many recordings per digit and speaker (indices 0..n-1, before splitting).
QUICK_RECORDINGS = 8


@dataclass
class Recordings:
    """WAV files with their digit (0-9), speaker and recording index, aligned."""

    paths: np.ndarray  # str, shape (n,)
    labels: np.ndarray  # int64, shape (n,)
    speakers: np.ndarray  # str, shape (n,)
    indices: np.ndarray  # int64, shape (n,)

    def __len__(self) -> int:
        return len(self.paths)

    def take(self, index: np.ndarray) -> Recordings:
        """The recordings at ``index`` (positions or a boolean mask), in their original order."""
        index = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.sort(index)
        return Recordings(self.paths[index], self.labels[index], self.speakers[index], self.indices[index])


@dataclass
class AudioSplits:
    """Train / validation / test recordings; the class names are the digits."""

    train: Recordings
    val: Recordings
    test: Recordings
    speakers: dict[str, str]  # speaker -> accent
    class_names: list[str] = field(default_factory=lambda: [str(d) for d in range(10)])

    def table(self) -> str:
        """Recordings per speaker (with accent) and split, as aligned text."""
        rows = [f"{'speaker':9} {'accent':12} {'train':>6} {'val':>6} {'test':>6}"]
        for name, accent in self.speakers.items():
            counts = [int((s.speakers == name).sum()) for s in (self.train, self.val, self.test)]
            rows.append(f"{name:9} {accent:12} " + " ".join(f"{c:>6}" for c in counts))
        return "\n".join(rows)


def scan_recordings(root: str | Path) -> tuple[Recordings, dict[str, str]]:
    """Every ``recordings/{digit}_{speaker}_{index}.wav`` under ``root`` and the accents in
    ``speakers.csv``. A file name of another form, or a speaker missing from the CSV, is a DataError."""
    import csv

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
        rows.append((str(path), int(parts[0]), parts[1], int(parts[2])))
    if not rows:
        raise DataError(f"{root / 'recordings'} holds no recordings.")
    paths, labels, speakers, indices = zip(*rows, strict=True)
    return Recordings(
        np.array(paths), np.array(labels, dtype="int64"), np.array(speakers), np.array(indices, dtype="int64")
    ), accents


def load_digits(split: str = "official", *, quick: bool = QUICK, seed: int = 42, verbose: bool = True) -> AudioSplits:
    """FSDD recordings split two ways, fetched through ``tltf.assets``.

    ``"official"``: recordings 0-4 of every speaker and digit are the test set (300), the rest train.
    ``"speaker"``: every recording of ``HELD_OUT_SPEAKERS`` is the test set (an accent shift), the
    other four speakers train. Either way 10 % of the training recordings, stratified by digit, are the
    validation split. Quick mode keeps recordings 0-7 of each digit and speaker.
    """
    if split not in ("official", "speaker"):
        raise ValueError(f"split must be 'official' or 'speaker', not {split!r}.")
    recordings, accents = scan_recordings(assets.fetch("free_spoken_digit", quiet=not verbose))
    if quick:
        recordings = recordings.take(recordings.indices < QUICK_RECORDINGS)
    in_test = (
        np.isin(recordings.indices, FSDD_TEST_INDICES)
        if split == "official"
        else np.isin(recordings.speakers, HELD_OUT_SPEAKERS)
    )
    rest = recordings.take(~in_test)
    train_idx, val_idx = train_test_split(np.arange(len(rest)), test_size=0.1, stratify=rest.labels, random_state=seed)
    return AudioSplits(rest.take(train_idx), rest.take(val_idx), recordings.take(in_test), accents)
