"""A read-only cache of what every transfer run on one dataset shares: the splits, the activations
of the frozen lower part of the backbone, their pooled features, and small images for scratch.

With the lower part frozen (BatchNorm in inference mode) its output is the same every epoch, so it
is computed once: a head then trains on cached features in seconds, and fine-tuning trains only the
top blocks on cached activations. Nothing here trains: the stage functions (``tltf.stages``) build
their own copy of the top blocks (``new_top``), so that no run changes another run or the cache.
"""

from __future__ import annotations

import copy
import time

import keras
import numpy as np
import tensorflow as tf

from tltf import adapt, data, models, train


class ActivationCache:
    """The data and cached activations of one dataset on one backbone, computed once.

    Side effects: builds the backbone (ImageNet weights via ``tltf.assets``, frozen) and keeps in
    memory the lower part's activations of ``views`` x the training images and of the validation and
    test images (``cut``; MobileNetV2 at 224 px, 6 blocks: (n, 14, 14, 96) float32, 75 KB per image and
    view), their pooled features (``features``, (n, feature_size)), and the images at ``scratch_size``
    px (``small``, float32 in [0, 255]) for the from-scratch CNN; every array is read only.
    ``interpolation``: how images are resized (``data.make_dataset``). ``augment`` makes the extra views (default
    ``data.augmentation(42)``). ``statistics="train"`` first re-estimates the backbone's BatchNorm
    statistics on the training images (``tltf.adapt``), so that every run learns on features
    normalised by its own domain's statistics (default "imagenet": the pre-trained ones).
    ``augmented_views`` computes further views of the training images (another augmentation) once, and
    ``with_views`` gives a cache that trains on them and shares everything else with this one.
    """

    def __init__(
        self,
        splits: data.Splits,
        *,
        backbone: str | models.Backbone = "mobilenet_v2",
        blocks: int = 6,
        views: int = 3,
        scratch_size: int = 64,
        interpolation: str = "bilinear",
        augment: keras.layers.Layer | None = None,
        statistics: str = "imagenet",
    ):
        if statistics not in ("imagenet", "train"):
            raise ValueError(f'statistics must be "imagenet" or "train", got {statistics!r}.')
        self.splits, self.views, self.blocks, self.interpolation = splits, views, blocks, interpolation
        self.spec = models.get_backbone(backbone)
        self.num_classes = len(splits.class_names)
        self.base = models.load_backbone(self.spec)
        self.base.trainable = False
        #: The lower part (images -> activations) and the top blocks (activations -> features): frozen.
        self.lower, self.top = models.split_top(self.spec, self.base, blocks)
        augment = augment if augment is not None else data.augmentation(42)

        def dataset(name: str):
            return data.make_dataset(getattr(splits, name), self.spec.image_size, interpolation=interpolation)

        def activations(name: str, n_views: int = 1) -> np.ndarray:
            return train.extract_features(self.lower, dataset(name), augment=augment, views=n_views)[0]

        start = time.perf_counter()
        if statistics == "train":
            adapt.reestimate_batchnorm(keras.Sequential([self.lower, self.top]), dataset("train"))
        self._top_weights = [w.copy() for w in self.top.get_weights()]
        self.cut = {"train": activations("train", views), "val": activations("val")}
        self.features = {name: self.top.predict(self.cut[name], batch_size=64, verbose=0) for name in self.cut}
        #: Seconds each approach spends before its first epoch (caching; decoding for scratch).
        self.prep_seconds = {"feature_extraction": time.perf_counter() - start}
        self.prep_seconds["fine_tuned"] = self.prep_seconds["feature_extraction"]
        self.cut["test"] = activations("test")
        self.features["test"] = self.top.predict(self.cut["test"], batch_size=64, verbose=0)

        start = time.perf_counter()
        size = (scratch_size, scratch_size)
        self.small = {
            name: np.concatenate([x for x, _ in data.make_dataset(getattr(splits, name), size)])
            for name in ("train", "val", "test")
        }
        self.prep_seconds["scratch"] = time.perf_counter() - start
        for array in (*self.cut.values(), *self.features.values(), *self.small.values()):
            array.setflags(write=False)  # read only: a run that tried to change the cache would fail loudly

    def labels(self, name: str) -> np.ndarray:
        """Integer labels of split ``name`` ("train", "val", "test"), shape (n,)."""
        return getattr(self.splits, name).labels

    def subset(self, per_class: int | None, seed: int) -> np.ndarray:
        """Positions in the training split of ``per_class`` images per class (all if None)."""
        labels = self.labels("train")
        return np.arange(len(labels)) if per_class is None else data.per_class_index(labels, per_class, seed)

    def view_rows(self, rows: np.ndarray) -> np.ndarray:
        """The rows of every cached view of the training images at ``rows``."""
        n = len(self.labels("train"))
        return np.concatenate([rows + view * n for view in range(self.views)])

    def validation(self, name: str, val_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) to validate on, from ``self.cut``, ``self.features`` or ``self.small`` (``name``):
        the validation split, or the training images at ``val_rows`` (a fold of cross-validation)."""
        cache = {"cut": self.cut, "features": self.features, "small": self.small}[name]
        if val_rows is None:
            return cache["val"], self.labels("val")
        return cache["train"][val_rows], self.labels("train")[val_rows]

    def augmented_views(self, augment: keras.layers.Layer, views: int = 1) -> np.ndarray:
        """The lower part's activations of ``views`` more passes over the training images, each through
        ``augment(images, training=True)`` (new random draws every pass; this cache's own views are not
        recomputed): float32 (views, n_train, *activation shape), read only. ``with_views`` trains runs
        on them; ``tltf.recipes.Grid`` takes them as one of its ``views``."""
        transform = tf.function(lambda images: augment(images, training=True))  # as train.extract_features
        dataset = data.make_dataset(self.splits.train, self.spec.image_size, interpolation=self.interpolation)
        cut = [self.lower.predict_on_batch(transform(images)) for _ in range(views) for images, _ in dataset]
        out = np.concatenate(cut).reshape(views, len(self.labels("train")), *cut[0].shape[1:])
        out.setflags(write=False)
        return out

    def with_views(self, extra: np.ndarray) -> ActivationCache:
        """A cache whose training views are this cache's first (the photos as they are) followed by
        ``extra``, activations (views, n_train, *activation shape) such as ``augmented_views`` gives:
        runs on it train on those views instead of this cache's. Everything else (backbone, splits,
        validation and test arrays, small images) is shared with this cache, not copied; the new views'
        pooled features are computed through the frozen top blocks. Read only, like this cache."""
        n, shape = len(self.labels("train")), self.cut["train"].shape[1:]
        if extra.shape[1:] != (n, *shape):
            raise ValueError(f"with_views needs activations of shape (views, {n}, {shape}), got {extra.shape}.")
        flat = extra.reshape(-1, *extra.shape[2:])
        other = copy.copy(self)
        other.views = 1 + len(extra)
        other.prep_seconds = dict(self.prep_seconds)
        other.cut = {**self.cut, "train": np.concatenate([self.cut["train"][:n], flat])}
        features = self.top.predict(flat, batch_size=64, verbose=0)
        other.features = {**self.features, "train": np.concatenate([self.features["train"][:n], features])}
        for array in (other.cut["train"], other.features["train"]):
            array.setflags(write=False)
        return other

    def new_top(self, weights: list[np.ndarray] | None = None) -> keras.Model:
        """A copy of the top blocks with the pre-trained weights (or ``weights``), frozen: a run
        unfreezes and trains its own copy, never ``self.top``."""
        top = keras.models.clone_model(self.top)
        top.set_weights(self._top_weights if weights is None else weights)
        top.trainable = False
        return top

    def new_lower(self) -> keras.Model:
        """A copy of the lower part with this cache's weights: a model that adapts its BatchNorm
        statistics (``tltf.adapt``) changes the copy, not the cached activations' source."""
        lower = keras.models.clone_model(self.lower)
        lower.set_weights(self.lower.get_weights())
        lower.trainable = False
        return lower
