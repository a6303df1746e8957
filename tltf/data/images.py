"""Images: a class-per-folder tree, read and checked, split, and fed to Keras through tf.data.

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
from tqdm.auto import tqdm

from tltf import assets
from tltf.data.examples import (
    TEST_FRACTION,
    VAL_FRACTION,
    DataError,
    Examples,
    Splits,
    per_class_index,
    split_examples,
)
from tltf.settings import is_quick

#: Extensions read as images: the formats ``tf.io.decode_image`` decodes (as in Keras's own loader).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: Quick mode keeps this many images per class (before splitting).
QUICK_PER_CLASS = 20


@dataclass
class ImageFolder:
    """The usable images of a class-per-folder tree (``images``: ``paths`` and ``labels``), and what
    was left out and why."""

    root: Path
    class_names: list[str]
    images: Examples
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)

    def counts(self) -> dict[str, int]:
        """Images per class."""
        return {c: int((self.images.labels == i).sum()) for i, c in enumerate(self.class_names)}


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
    root: str | Path, *, skip_bad: bool = False, verbose: bool = True, progress: bool = False, min_classes: int = 2
) -> ImageFolder:
    """Read a tree of ``root/<class name>/**/<image>`` files; classes are the sorted folder names.

    Every image is decoded once with TensorFlow (the decoder training uses) to catch corrupt or
    truncated files. Grayscale, RGBA, palette and PNG images are accepted: the pipeline converts
    them to 3-channel RGB (alpha is dropped). Files with other extensions, and images lying outside
    a class folder, are skipped and reported. Undecodable images raise DataError, or with
    ``skip_bad=True`` are skipped and reported. An empty class, or fewer than two classes, raise
    DataError. Prints a one-paragraph report unless ``verbose`` is False; ``progress`` shows a bar
    over the class folders. ``min_classes=1`` accepts a single class (one part of a split made by hand).
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
    if len(class_dirs) < min_classes:
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
        root,
        [d.name for d in class_dirs],
        Examples(paths=np.array(paths), labels=np.array(labels, dtype="int64")),
        skipped,
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
    return split_examples(
        images, folder.class_names, val=val, test=test, seed=seed, what=str(folder.root), unit="image"
    )


def load_image(path: tf.Tensor | str, image_size: tuple[int, int], interpolation: str = "bilinear") -> tf.Tensor:
    """Decode one image file to uint8 RGB of shape (*image_size, 3), squashed to size (no crop)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    return resize_image(image, image_size, interpolation)


def resize_image(image: tf.Tensor, image_size: tuple[int, int], interpolation: str = "bilinear") -> tf.Tensor:
    """uint8 (h, w) grey or (h, w, 3) RGB -> uint8 RGB (*image_size, 3): grey is copied to three
    channels, then resized with ``interpolation`` (a ``tf.image.resize`` method: "nearest",
    "bilinear", "bicubic", "area", ...; antialiased when shrinking)."""
    if image.shape.rank == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = tf.image.grayscale_to_rgb(image)
    image = tf.image.resize(image, image_size, method=interpolation, antialias=True)
    return tf.saturate_cast(tf.round(image), tf.uint8)


def decode_images(split: Examples, image_size: tuple[int, int], interpolation: str = "bilinear") -> Examples:
    """The same rows with the images decoded once, as ``make_dataset`` reads them: an ``images``
    column (uint8, (n, *image_size, 3)) in place of ``paths`` (or of the arrays held before: grey ones
    become RGB, resized). Memory: h x w x 3 bytes per image."""
    images = np.concatenate([x for x, _ in make_dataset(split, image_size, cache=False, interpolation=interpolation)])
    columns = {name: values for name, values in split.columns.items() if name not in ("paths", "images")}
    return Examples(**columns, images=images.astype(np.uint8))


def make_dataset(
    split: Examples,
    image_size: tuple[int, int] = (224, 224),
    *,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: int = 42,
    cache: bool = True,
    interpolation: str = "bilinear",
    order=None,
) -> tf.data.Dataset:
    """A tf.data pipeline of (images, labels) batches, from image files (a ``paths`` column) or
    from uint8 arrays held in memory (an ``images`` column; grey ones are copied to RGB).

    Images are float32 in [0, 255], shape (batch, *image_size, 3); labels are int64 class indices.
    Decoded, resized images are cached in memory as uint8 after the first pass (about 150 KB per
    image at 224 px); ``shuffle`` reshuffles every epoch, seeded. ``order`` (a ``tltf.resume.EpochOrder``)
    instead sets each epoch's order from (seed, epoch), for a resumable run; images are then decoded every
    epoch (no cache).
    """
    if order is not None:
        column = split.paths if "paths" in split.columns else split.images
        rows, labels = tf.constant(column), tf.constant(split.labels)
        read = load_image if "paths" in split.columns else resize_image
        ds = order.indices().map(
            lambda i: (read(tf.gather(rows, i), image_size, interpolation), tf.gather(labels, i)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        return ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y)).prefetch(tf.data.AUTOTUNE)
    if "paths" in split.columns:
        ds = tf.data.Dataset.from_tensor_slices((split.paths, split.labels))
        ds = ds.map(lambda p, y: (load_image(p, image_size, interpolation), y), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = tf.data.Dataset.from_tensor_slices((split.images, split.labels))
        ds = ds.map(lambda x, y: (resize_image(x, image_size, interpolation), y), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(lambda x, y: (tf.cast(x, tf.float32), y))
    return ds.prefetch(tf.data.AUTOTUNE)


@keras.saving.register_keras_serializable(package="tltf")
class PerImage(keras.layers.Layer):
    """Applies an augmentation layer to every image of a batch on its own (``keras.ops.map``).

    Keras's ``RandAugment`` and ``AugMix`` draw their operations once per call, so a whole batch
    gets the same ones; wrapped in this layer each image draws its own. Keras has no such wrapper.
    Images (batch, h, w, 3) in, the same shape out; active only while training, like ``layer``.
    """

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = layer

    def call(self, images, training=None):
        return keras.ops.map(lambda image: self.layer(image, training=training), images)

    def get_config(self):
        return {**super().get_config(), "layer": keras.saving.serialize_keras_object(self.layer)}

    @classmethod
    def from_config(cls, config):
        return cls(keras.saving.deserialize_keras_object(config.pop("layer")), **config)


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


def load_flowers(*, quick: bool | None = None, seed: int = 42, verbose: bool = True) -> Splits:
    """The course's flowers (5 classes), fetched through ``tltf.assets`` and split 60/20/20.

    Quick mode keeps ``QUICK_PER_CLASS`` images per class.
    """
    folder = scan_images(assets.fetch("flower_photos", quiet=not verbose), verbose=verbose)
    return split_stratified(folder, seed=seed, max_per_class=QUICK_PER_CLASS if is_quick(quick) else None)
