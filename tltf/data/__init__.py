"""Datasets: one module per modality, one container for all of them.

``examples``: ``Examples`` (aligned columns, one row per example), ``Splits`` (train / validation /
test, counted in one pandas table) and the seeded, stratified split helpers. ``images``: class-per-folder
image trees and their tf.data pipelines (the flowers). ``sentences``: the labelled review sentences.
``recordings``: the spoken digits. ``xrays``: the PneumoniaMNIST chest X-rays. ``boxes``: photos with
Pascal VOC box files (the Oxford-IIIT Pet heads). ``ratings``: MovieLens ratings, movies and tags,
split by time with cold movies held out. ``corruptions``
(imported on its own: ``from tltf.data import corruptions``, it loads OpenCV and scikit-image): the
ImageNet-C corruptions. The names the notebooks
use are importable from here (``data.load_flowers``, ``data.make_dataset``, ``data.load_sentiment``,
``data.load_spoken_digits``, ``data.load_xrays``, ``data.load_movielens``).
"""

from tltf.data.boxes import load_boxes
from tltf.data.examples import (
    TEST_FRACTION,
    VAL_FRACTION,
    DataError,
    Examples,
    Splits,
    given_splits,
    per_class,
    per_class_index,
    split_examples,
    split_index,
)
from tltf.data.images import (
    IMAGE_EXTENSIONS,
    QUICK_PER_CLASS,
    ImageFolder,
    PerImage,
    augmentation,
    decode_images,
    load_flowers,
    load_image,
    make_dataset,
    report,
    resize_image,
    scan_images,
    split_stratified,
)
from tltf.data.own import duplicate_texts, read_parts, read_sound, read_texts, scan_sounds, split_folders, split_own
from tltf.data.ratings import (
    GenreShift,
    MovieLens,
    RatingSplit,
    genre_shift,
    load_movielens,
    movie_texts,
    split_ratings,
)
from tltf.data.recordings import HELD_OUT_SPEAKERS, load_spoken_digits, scan_recordings
from tltf.data.sentences import (
    SENTIMENT_CLASSES,
    SENTIMENT_FILES,
    load_sentences,
    load_sentiment,
    read_labelled_sentences,
)
from tltf.data.xrays import XRAY_ASSETS, XRAY_CLASSES, load_xrays, read_medmnist

__all__ = [
    "HELD_OUT_SPEAKERS",
    "IMAGE_EXTENSIONS",
    "QUICK_PER_CLASS",
    "SENTIMENT_CLASSES",
    "SENTIMENT_FILES",
    "TEST_FRACTION",
    "VAL_FRACTION",
    "XRAY_ASSETS",
    "XRAY_CLASSES",
    "DataError",
    "Examples",
    "GenreShift",
    "ImageFolder",
    "MovieLens",
    "PerImage",
    "RatingSplit",
    "Splits",
    "augmentation",
    "decode_images",
    "duplicate_texts",
    "genre_shift",
    "given_splits",
    "load_boxes",
    "load_flowers",
    "load_image",
    "load_movielens",
    "load_sentences",
    "load_sentiment",
    "load_spoken_digits",
    "load_xrays",
    "make_dataset",
    "movie_texts",
    "per_class",
    "per_class_index",
    "read_labelled_sentences",
    "read_medmnist",
    "read_parts",
    "read_sound",
    "read_texts",
    "report",
    "resize_image",
    "scan_images",
    "scan_recordings",
    "scan_sounds",
    "split_examples",
    "split_folders",
    "split_index",
    "split_own",
    "split_ratings",
    "split_stratified",
]
