"""Corrupted copies of a test split: the ImageNet-C corruptions, made once, seeded, and reused.

The image maths is ``imagecorruptions`` (Michaelis et al. 2019, Apache-2.0): the ImageNet-C
functions of Hendrycks & Dietterich (ICLR 2019), made to work at any image size. As its authors
ask, a model is evaluated on fixed corrupted images: the same seed gives the same pixels.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
from tqdm.auto import tqdm

from tltf.data.examples import DataError, Examples

with warnings.catch_warnings():
    # Its imports use pkg_resources and scipy.ndimage.interpolation, both deprecated, both still there.
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", UserWarning)
    import imagecorruptions

#: The corruptions the course uses (noise, blur, digital, weather-free): six of ImageNet-C's fifteen.
CORRUPTIONS = ("gaussian_noise", "defocus_blur", "jpeg_compression", "contrast", "brightness", "pixelate")
#: ImageNet-C's severities run from 1 to 5; the course uses the lowest, the middle and the highest.
SEVERITIES = (1, 3, 5)


def corrupt(images: np.ndarray, corruption: str, severity: int, *, seed: int = 0) -> np.ndarray:
    """uint8 images (n, h, w, 3) -> the same images under ``corruption`` at ``severity`` (1 to 5),
    uint8 (n, h, w, 3). Image ``i`` draws its random noise from seed ``seed + i``, so the result
    depends only on the arguments. NumPy's global random state is restored afterwards.
    Raises DataError for an unknown corruption or severity, or images of the wrong shape or type.
    """
    if corruption not in imagecorruptions.get_corruption_names("all"):
        known = ", ".join(imagecorruptions.get_corruption_names("all"))
        raise DataError(f"Unknown corruption {corruption!r}. Choose one of: {known}.")
    if severity not in range(1, 6):
        raise DataError(f"Severity must be 1, 2, 3, 4 or 5 (ImageNet-C's scale), got {severity}.")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(
            f"corrupt() needs uint8 RGB images of shape (n, height, width, 3), got {images.dtype} {images.shape}."
        )
    state = np.random.get_state()
    try:
        out = np.empty_like(images)
        for i, image in enumerate(images):
            np.random.seed(seed + i)  # imagecorruptions draws from NumPy's global generator
            out[i] = np.asarray(imagecorruptions.corrupt(image, corruption_name=corruption, severity=severity))
    finally:
        np.random.set_state(state)
    return out


def corrupted_splits(
    split: Examples,
    *,
    corruptions: Iterable[str] = CORRUPTIONS,
    severities: Iterable[int] = SEVERITIES,
    seed: int = 0,
    progress: bool = True,
) -> dict[tuple[str, int], Examples]:
    """Every (corruption, severity) copy of ``split``, whose ``images`` column holds uint8 images
    (n, h, w, 3) at the size the model reads (``tltf.data.make_dataset`` accepts the result).
    Other columns are kept as they are. Memory: one copy of the images per pair.
    """
    if "images" not in split.columns:
        raise DataError(
            "corrupted_splits needs an images column (uint8, decoded at the model's size): "
            "use tltf.data.decode_images(split, image_size) first."
        )
    pairs = [(c, s) for c in corruptions for s in severities]
    return {
        (c, s): Examples(**{**split.columns, "images": corrupt(split.images, c, s, seed=seed)})
        for c, s in tqdm(pairs, desc="corrupting", unit="set", disable=not progress)
    }
