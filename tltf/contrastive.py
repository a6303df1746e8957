"""Self-supervised pre-training (SimCLR: Chen et al., ICML 2020) with Keras 3 layers and ops.

``views`` makes a random view of each image (the augmentations, per domain), ``encoder`` is the small
CNN that learns, ``nt_xent`` is the contrastive loss, and ``SimCLR`` is a ``keras.Model`` whose
``train_step`` makes two views of every unlabelled image, encodes and projects both, and minimises
``nt_xent`` between them. Keras's ``fit`` has no step for a loss between two views of one unlabelled
batch, so this step is written here (the TensorFlow backend's ``GradientTape``, as in keras.io's SimCLR
example). ``ProbeMonitor`` scores a linear probe on the validation split as pre-training runs.
"""

from __future__ import annotations

import itertools
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from tltf import probes

#: The two domains' views: which augmentations make a view, and how strong each is (Keras's factors:
#: zoom up to that share of the side, shift up to that share, rotation up to that share of a turn; colour's
#: brightness, contrast, saturation and hue below).
VIEWS = {
    # Photos: crops at any scale and position, mirror images, colour and grey; objects keep their names.
    "flowers": {
        "flip": True,
        "zoom": 0.5,
        "shift": 0.15,
        "rotate": 0.0,
        "brightness": 0.2,
        "contrast": 0.4,
        "saturation": 0.4,
        "hue": 0.1,
        "grey": 0.2,
    },
    # X-rays: grey, always framed alike, and left is not right (the heart): small crops, tilts, exposure.
    "xray": {
        "flip": False,
        "zoom": 0.2,
        "shift": 0.1,
        "rotate": 0.05,
        "brightness": 0.15,
        "contrast": 0.3,
        "saturation": 0.0,
        "hue": 0.0,
        "grey": 0.0,
    },
}


def views(domain: str, *, seed: int | None = None, crop: bool = True, colour: bool = True) -> keras.Sequential:
    """A random view of every image, drawn per image, active only while training (``training=True``).

    Images [0, 255] float (batch, h, w, 3) in, the same shape and range out. ``VIEWS[domain]`` sets which
    layers and how strong; ``crop=False`` drops the crops (zoom, shift, rotation, flip) and
    ``colour=False`` the colour changes (jitter, grey), for comparing what each part buys. Layer i is
    seeded ``seed + i``: Keras layers given one seed would draw the same random numbers, and flips, zooms
    and shifts would move together. Two layers built with the same ``seed`` draw the same views of the
    same images; each call advances a layer's random state, so the next call draws new ones.
    """
    if domain not in VIEWS:
        raise ValueError(f"No views for domain {domain!r}; choose one of {', '.join(VIEWS)}.")
    if not (crop or colour):
        raise ValueError("A view needs crops, colour changes or both: crop=False and colour=False leave nothing.")
    v, seeds = VIEWS[domain], itertools.count(seed) if seed is not None else itertools.repeat(None)
    chosen: list[layers.Layer] = []
    if crop:
        chosen += [layers.RandomFlip("horizontal", seed=next(seeds))] if v["flip"] else []
        chosen += [layers.RandomZoom((-v["zoom"], 0.0), fill_mode="reflect", seed=next(seeds))]  # negative: in
        chosen += [layers.RandomTranslation(v["shift"], v["shift"], fill_mode="reflect", seed=next(seeds))]
        if v["rotate"]:
            chosen += [layers.RandomRotation(v["rotate"], fill_mode="reflect", seed=next(seeds))]
    if colour:
        # Keras's saturation factor is 0.5 for no change (0: grey, 1: fully saturated); hue's is 0 for none.
        tint = {"saturation_factor": (0.5 - v["saturation"] / 2, 0.5 + v["saturation"] / 2)} if v["saturation"] else {}
        tint |= {"hue_factor": v["hue"]} if v["hue"] else {}
        jitter = {"brightness_factor": v["brightness"], "contrast_factor": v["contrast"], **tint}
        chosen += [layers.RandomColorJitter((0, 255), **jitter, seed=next(seeds))]
        chosen += [layers.RandomGrayscale(v["grey"], seed=next(seeds))] if v["grey"] else []
    return keras.Sequential(chosen, name=f"{domain}_views")


def encoder(
    image_size: tuple[int, int], widths: tuple[int, ...] = (32, 64, 128, 256), *, momentum: float = 0.9
) -> keras.Model:
    """A small CNN: images [0, 255] (batch, *image_size, 3) -> features (batch, widths[-1]).

    One stage per width: two 3×3 convolutions with batch normalisation and ReLU, then 2×2 max pooling
    (not after the last stage); global average pooling at the end. Random initial weights.

    ``momentum`` is batch normalisation's, for its moving statistics (what inference uses): 0.9, not
    Keras's 0.99. Pre-training on a few hundred images runs a few hundred steps; 0.99's averages reach back
    about a hundred of them, over which the layers changed a lot, and still hold a seventh of their
    starting values (0 and 1) after two hundred, so inference would normalise with statistics that no
    layer of the trained encoder produces.
    """
    inputs = keras.Input((*image_size, 3), name="image")
    x = layers.Rescaling(1 / 255)(inputs)
    for stage, width in enumerate(widths):
        for _ in range(2):
            x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization(momentum=momentum)(x)
            x = layers.ReLU()(x)
        if stage < len(widths) - 1:
            x = layers.MaxPooling2D()(x)
    outputs = layers.GlobalAveragePooling2D(name="features")(x)
    return keras.Model(inputs, outputs, name="encoder")


def nt_xent(z_a, z_b, temperature: float = 0.2):
    """SimCLR's loss (normalised temperature-scaled cross-entropy) of two views' projections.

    ``z_a``, ``z_b``: (n, d), row i of each from the same image. Each of the 2n rows must pick its
    partner among the other 2n - 1 rows by cosine similarity / ``temperature``. A scalar, at least 0;
    about log(2n - 1) when the projections carry no information.
    """
    z = ops.normalize(ops.concatenate([z_a, z_b], axis=0), axis=1)
    n = ops.shape(z_a)[0]
    logits = ops.matmul(z, ops.transpose(z)) / temperature - 1e9 * ops.eye(2 * n)  # not its own partner
    partners = ops.concatenate([ops.arange(n) + n, ops.arange(n)])
    return ops.mean(keras.losses.sparse_categorical_crossentropy(partners, logits, from_logits=True))


class SimCLR(keras.Model):
    """Contrastive pre-training of ``encoder`` on unlabelled images: ``fit(images, batch_size=...)``.

    Each step draws two ``views`` of every image of the batch, passes both through the encoder and a
    two-layer projection head in one batch (so batch normalisation sees both), and minimises
    ``nt_xent``. ``history`` holds "loss" per epoch. The encoder is trained in place; the projection head
    is thrown away afterwards (its features are tuned to the views, the encoder's are more general).
    """

    def __init__(self, encoder: keras.Model, views: keras.Layer, *, projection: int = 128, temperature: float = 0.2):
        super().__init__()
        self.encoder, self.views, self.temperature = encoder, views, temperature
        width = encoder.output.shape[-1]
        self.head = keras.Sequential([layers.Dense(width, activation="relu"), layers.Dense(projection)], name="head")
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def call(self, images, training=False):
        return self.head(self.encoder(images, training=training), training=training)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def train_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        both = ops.concatenate([self.views(images, training=True), self.views(images, training=True)], axis=0)
        with tf.GradientTape() as tape:
            z = self(both, training=True)
            z_a, z_b = ops.split(z, 2, axis=0)
            loss = nt_xent(z_a, z_b, self.temperature)
        weights = self.encoder.trainable_weights + self.head.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}


def features(model: keras.Model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """``model``'s outputs for uint8 or float images (n, h, w, 3) in [0, 255]: (n, features) float32."""
    return np.asarray(model.predict(images.astype("float32"), batch_size=batch_size, verbose=0))


Labelled = tuple[np.ndarray, np.ndarray]  # images (n, h, w, 3) in [0, 255], integer labels (n,)


class ProbeMonitor(keras.callbacks.Callback):
    """Every ``every`` epochs (and before the first), a linear probe on the encoder's features of
    labelled training images (C = 1), scored on the validation split: the labels watch, they never train
    the encoder. ``history`` is a list of (epochs done, validation accuracy); ``seconds`` is the time spent
    probing (part of ``fit``'s wall time, not of pre-training's cost)."""

    def __init__(self, encoder: keras.Model, train: Labelled, val: Labelled, every: int = 5):
        super().__init__()
        self.encoder, self.train, self.val, self.every = encoder, train, val, every
        self.history: list[tuple[int, float]] = []
        self.seconds = 0.0

    def score(self, epochs: int) -> None:
        start = time.perf_counter()
        x_train, x_val = features(self.encoder, self.train[0]), features(self.encoder, self.val[0])
        _, _, accuracy = probes.linear_probe(x_train, self.train[1], x_val, self.val[1], cs=(1.0,))
        self.history.append((epochs, round(float(accuracy), 4)))
        self.seconds += time.perf_counter() - start

    def on_train_begin(self, logs=None):
        self.score(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0 or epoch + 1 == self.params["epochs"]:
            self.score(epoch + 1)
