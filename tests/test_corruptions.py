"""The corrupted test set (tltf.data.corruptions): fixed pixels for a seed, clear errors otherwise."""

import numpy as np
import pytest

from tltf import data
from tltf.data import corruptions


def _images(n: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", corruptions.CORRUPTIONS)
def test_each_corruption_is_deterministic_and_changes_the_images(name):
    images = _images()
    first = corruptions.corrupt(images, name, 3, seed=7)
    assert first.shape == images.shape and first.dtype == np.uint8
    assert np.array_equal(first, corruptions.corrupt(images, name, 3, seed=7))
    assert not np.array_equal(first, images)
    assert (
        np.abs(corruptions.corrupt(images, name, 5).astype(int) - images).mean()
        > np.abs(corruptions.corrupt(images, name, 1).astype(int) - images).mean()
    )  # a higher severity moves the pixels further


def test_noise_depends_on_the_seed_and_leaves_numpys_random_state_alone():
    images = _images()
    np.random.seed(123)
    expected = np.random.random()
    np.random.seed(123)
    a = corruptions.corrupt(images, "gaussian_noise", 3, seed=0)
    assert np.random.random() == expected
    assert not np.array_equal(a, corruptions.corrupt(images, "gaussian_noise", 3, seed=1))


def test_corrupted_splits_keeps_labels_and_feeds_make_dataset():
    split = data.Examples(images=_images(4), labels=np.array([0, 1, 0, 1]))
    sets = corruptions.corrupted_splits(split, corruptions=["contrast", "pixelate"], severities=[1, 5], progress=False)
    assert sorted(sets) == [("contrast", 1), ("contrast", 5), ("pixelate", 1), ("pixelate", 5)]
    assert np.array_equal(sets["contrast", 5].labels, split.labels)
    images, labels = next(iter(data.make_dataset(sets["pixelate", 1], (32, 32))))
    assert images.shape == (4, 32, 32, 3) and labels.numpy().tolist() == [0, 1, 0, 1]


def test_bad_requests_say_what_is_wrong():
    with pytest.raises(data.DataError, match="Unknown corruption 'rain'"):
        corruptions.corrupt(_images(), "rain", 3)
    with pytest.raises(data.DataError, match="Severity must be"):
        corruptions.corrupt(_images(), "contrast", 6)
    with pytest.raises(data.DataError, match="uint8 RGB"):
        corruptions.corrupt(_images().astype("float32"), "contrast", 3)
    with pytest.raises(data.DataError, match="an images column"):
        corruptions.corrupted_splits(data.Examples(paths=np.array(["a.jpg"]), labels=np.array([0])))
