"""Chest X-rays: PneumoniaMNIST (MedMNIST v2) ``.npz`` files, read, checked and split as published.

Each example has an ``images`` column (uint8 grey, shape (28, 28)) and ``labels`` (0 normal,
1 pneumonia). The splits are the file's own train / val / test: they are split by image, not by
patient (MedMNIST publishes no patient ids).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tltf import assets
from tltf.data.examples import DataError, Examples, Splits, per_class_index
from tltf.settings import is_quick

XRAY_CLASSES = ["normal", "pneumonia"]
#: The registry's two PneumoniaMNIST files: the mirror's balanced subset, and the official set (online only).
XRAY_ASSETS = {"pneumoniamnist_balanced": "pneumoniamnist_balanced.npz", "pneumoniamnist": "pneumoniamnist.npz"}
SPLIT_NAMES = ("train", "val", "test")
#: Quick mode keeps this many images per class of the training split, and half as many of the others.
QUICK_XRAYS = 16


def read_medmnist(path: str | Path) -> dict[str, Examples]:
    """The three splits of a 2-D MedMNIST ``.npz``: {"train", "val", "test"} -> Examples.

    The file must hold ``{split}_images`` (uint8, (n, h, w) grey or (n, h, w, 3)) and
    ``{split}_labels`` ((n,) or (n, 1) integers) for every split. Anything else raises DataError
    saying what is wrong with the file.
    """
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path} is not a readable .npz file ({err}). Download it again "
            "(python -m tltf.assets fetch pneumoniamnist_balanced) or restore it from the asset mirror."
        ) from None
    splits = {}
    for split in SPLIT_NAMES:
        images, labels = arrays.get(f"{split}_images"), arrays.get(f"{split}_labels")
        if images is None or labels is None:
            raise DataError(
                f"{path} has no {split}_images / {split}_labels arrays (it holds {', '.join(sorted(arrays))}): "
                "it is not a MedMNIST file."
            )
        if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 3):
            raise DataError(
                f"{path}: {split}_images has dtype {images.dtype} and shape {images.shape}; expected uint8 "
                "(n, height, width) grey or (n, height, width, 3) colour images."
            )
        labels = labels.reshape(len(labels), -1)
        if labels.shape != (len(images), 1) or not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{path}: {split}_labels has shape {labels.shape} for {len(images)} images; expected one "
                "integer class per image."
            )
        splits[split] = Examples(images=images, labels=labels[:, 0].astype("int64"))
    return splits


def load_xrays(
    asset: str = "pneumoniamnist_balanced", *, quick: bool | None = None, seed: int = 42, verbose: bool = True
) -> Splits:
    """A PneumoniaMNIST file from the registry, as published: its own train / val / test splits.

    ``asset`` is ``pneumoniamnist_balanced`` (the mirror's class-balanced subset, 2,428 / 270 / 468)
    or ``pneumoniamnist`` (the official file, 4,708 / 524 / 624; downloaded, not in the mirror).
    Quick mode keeps ``QUICK_XRAYS`` training images per class and half as many per class in the
    other splits, drawn with ``seed``. Labels other than 0 / 1 raise DataError.
    """
    if asset not in XRAY_ASSETS:
        raise ValueError(f"Unknown X-ray asset {asset!r}; choose one of {', '.join(XRAY_ASSETS)}.")
    parts = read_medmnist(assets.fetch(asset, quiet=not verbose) / XRAY_ASSETS[asset])
    for name, part in parts.items():
        if not np.isin(part.labels, (0, 1)).all():
            raise DataError(f"{asset}: the {name} split has labels {np.unique(part.labels)}; expected 0 and 1.")
        if is_quick(quick):
            k = QUICK_XRAYS if name == "train" else QUICK_XRAYS // 2
            parts[name] = part.take(per_class_index(part.labels, k, seed, what=f"the {name} X-rays"))
    return Splits(parts["train"], parts["val"], parts["test"], list(XRAY_CLASSES))
