"""Extra views of the training photos on an ActivationCache (tltf.cache): computed once, shared, never
recomputing what the cache holds."""

import keras
import numpy as np
import pytest

from tltf import data, stages


def test_augmented_views_are_the_lower_part_of_augmented_photos(cache):
    n = len(cache.labels("train"))
    same = cache.augmented_views(keras.layers.Identity())  # no change: the cache's own first view
    assert same.shape == (1, n, *cache.cut["train"].shape[1:]) and not same.flags.writeable
    np.testing.assert_allclose(same[0], cache.cut["train"][:n], atol=1e-4)
    flipped = cache.augmented_views(data.augmentation(7), views=2)
    assert flipped.shape[0] == 2 and not np.allclose(flipped[0], flipped[1])  # new draws every pass


def test_a_cache_with_other_views_shares_the_rest_and_changes_nothing(cache):
    n, before = len(cache.labels("train")), cache.cut["train"].copy()
    extra = cache.augmented_views(data.augmentation(7))
    other = cache.with_views(extra)
    assert other.views == 2 and cache.views == 2 and np.array_equal(cache.cut["train"], before)
    assert other.cut["test"] is cache.cut["test"] and other.lower is cache.lower
    np.testing.assert_array_equal(other.cut["train"], np.concatenate([before[:n], extra[0]]))
    np.testing.assert_allclose(other.features["train"][n:], cache.top.predict(extra[0], verbose=0), atol=1e-4)
    assert not other.cut["train"].flags.writeable and not other.features["train"].flags.writeable
    assert stages.fine_tuned(other, None, seed=0).test_acc >= 0
    with pytest.raises(ValueError, match="with_views needs"):
        cache.with_views(extra[0])
