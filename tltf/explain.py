"""Why did the model say that? Grad-CAM, gradient saliency and integrated gradients for an image classifier,
written with ``tf.GradientTape`` and Keras 3 ops, with the two checks that tell a real explanation from a
pretty picture: model randomisation (Adebayo et al., NeurIPS 2018) and deletion curves.

Why written here: tf-keras-vis, the usual library, has no release for Keras 3, and the usual Grad-CAM recipe (a
second model from the input to a convolution's output) fails with "Graph disconnected" when that layer sits in a
nested pre-trained base, as in every model of this course (tensorflow/tensorflow#44462). ``forward`` runs the
model level by level instead: the outer models layer after layer, and the model that holds the chosen layer
through one two-output model of its own graph. It works the same for nested bases, Sequential models and
reloaded ``.keras`` files; an outer level must be a chain of layers (each feeding the next), which is checked.

Images are [0, 255] floats (batch, height, width, 3) as the course's models take them. A class *score* is the
logit: the last Dense layer's output before its softmax. Maps are (batch, height, width) in [0, 1], 1 where the
method finds the most evidence for the class. Nothing here changes a model it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy import ndimage
from scipy.stats import spearmanr

from tltf import models

#: (batch inputs) -> (the chosen layer's activations or None, class scores (batch, classes))
Forward = Callable[[tf.Tensor], tuple[tf.Tensor | None, tf.Tensor]]


def _kids(layer: keras.layers.Layer) -> list[keras.layers.Layer]:
    """A model's own layers (Input layers left out); [] for a plain layer."""
    return [k for k in getattr(layer, "layers", []) if not isinstance(k, keras.layers.InputLayer)]


def _contains(layer: keras.layers.Layer, name: str) -> bool:
    return any(k.name == name or _contains(k, name) for k in _kids(layer))


def find_layer(model: keras.Model, name: str) -> keras.layers.Layer:
    """The layer called ``name`` anywhere in ``model``, nested models included. Raises ValueError if absent."""
    for kid in _kids(model):
        if kid.name == name:
            return kid
        if _contains(kid, name):
            return find_layer(kid, name)
    raise ValueError(f"{model.name} has no layer called {name!r}; conv layers it has: {conv_layers(model)[-5:]}")


def leaves(model: keras.Model) -> list[tuple[keras.layers.Layer, keras.layers.Layer]]:
    """Every plain layer of ``model`` in the order the model runs them, with the model that holds it:
    [(parent, layer), ...], nested models opened."""
    found = []
    for kid in _kids(model):
        found += leaves(kid) if _kids(kid) else [(model, kid)]
    return found


def conv_layers(model: keras.Model) -> list[str]:
    """Names of the layers with a 4-D output (batch, height, width, channels), bottom to top."""
    names = []
    for _, layer in leaves(model):
        try:
            rank = len(layer.output.shape)
        except (AttributeError, ValueError):  # never called on a symbolic input: no known output
            continue
        if rank == 4 and not isinstance(layer, keras.layers.InputLayer):
            names.append(layer.name)
    return names


def last_conv_layer(model: keras.Model) -> str:
    """The last layer with a 4-D output: Grad-CAM's usual choice (MobileNetV2: "out_relu", 7 x 7 x 1280)."""
    names = conv_layers(model)
    if not names:
        raise ValueError(f"{model.name} has no layer with a 4-D output: Grad-CAM needs a convolutional network.")
    return names[-1]


def _scores(layer: keras.layers.Layer, x: tf.Tensor) -> tf.Tensor:
    """The class scores a final layer computes from its input ``x``: a softmax Dense layer's output before
    the softmax, a linear Dense layer's output, or the input of a Softmax layer."""
    if isinstance(layer, keras.layers.Dense):
        activation = keras.activations.serialize(layer.activation)
        if activation in ("softmax", "linear"):
            logits = ops.matmul(x, layer.kernel)
            return logits + layer.bias if layer.use_bias else logits
    if isinstance(layer, keras.layers.Softmax) or (
        isinstance(layer, keras.layers.Activation) and keras.activations.serialize(layer.activation) == "softmax"
    ):
        return x
    raise ValueError(
        f"the model ends with {layer.name} ({type(layer).__name__}), not a Dense or Softmax layer: "
        "no class scores before a softmax to explain."
    )


def _plan(model: keras.Model, target: str | None, scores: bool = True) -> Forward:
    """(inputs) -> (``target``'s activations or None, class scores, or the model's output without ``scores``)."""
    kids = _kids(model)
    last = kids[-1]
    direct = target is None or any(k.name == target for k in kids)
    if not isinstance(model, keras.Sequential) and direct and not (scores and _kids(last)):
        # the layer is one of this graph's own: one model with two outputs, built once, needs no chain
        end = last.input if scores else model.output
        graph = keras.Model(model.inputs, [model.get_layer(target).output, end] if target else end)

        def run(x):
            act, end = graph(x, training=False) if target else (None, graph(x, training=False))
            return act, (_scores(last, end) if scores else end)

        return run
    if not direct and not any(_contains(k, target) for k in kids):
        raise ValueError(f"{model.name} has no layer called {target!r}")
    steps = []
    for kid in kids:
        if not direct and _contains(kid, target):
            steps.append(("nested", _plan(kid, target, scores and kid is last)))
        elif kid is last and scores:
            steps.append(("nested", _plan(kid, None) if _kids(kid) else lambda x, k=kid: (None, _scores(k, x))))
        else:
            steps.append(("tap" if kid.name == target else "call", kid))

    def chain(x):
        act = None
        for kind, step in steps:
            if kind == "call":
                x = step(x, training=False)  # Keras's random layers would augment by default
            elif kind == "tap":
                x = act = step(x, training=False)
            else:
                found, x = step(x)
                act = act if found is None else found
        return act, x

    return chain


def forward(model: keras.Model, layer: str | None = None) -> Forward:
    """A function of a batch of images: (``layer``'s activations (batch, h, w, channels), or None without
    ``layer``; class scores (batch, classes), the logits before the final softmax). Call it inside a
    ``tf.GradientTape`` to differentiate the scores with respect to the activations or the inputs.

    ``layer`` may sit in a nested model (the course's MobileNetV2 base inside its classifier). The outer
    models must be chains of layers; ``check_forward`` tells when they are not. Changes nothing in ``model``.
    """
    if not _kids(model):
        raise ValueError(f"{model.name} is a single layer, not a model of layers")
    return _plan(model, layer)


def check_forward(model: keras.Model, run: Forward, images: np.ndarray, atol: float = 1e-4) -> None:
    """Raise ValueError unless ``run``'s scores, through a softmax, give ``model``'s own probabilities on
    ``images`` (within ``atol``): what tells a model that is not a chain of layers, or a model whose output
    is not a softmax of the scores."""
    probs = ops.convert_to_numpy(model(ops.convert_to_tensor(images, "float32"), training=False))
    mine = ops.convert_to_numpy(ops.softmax(run(ops.convert_to_tensor(images, "float32"))[1]))
    if probs.shape != mine.shape or not np.allclose(probs, mine, atol=atol):
        raise ValueError(
            f"running {model.name} layer by layer does not give its own output (largest difference "
            f"{np.max(np.abs(probs - mine)) if probs.shape == mine.shape else 'shape'}): explain a model whose outer "
            "levels are chains of layers ending in a softmax, such as tltf.models.attach_head builds."
        )


def _chosen(scores: tf.Tensor, classes: np.ndarray | None) -> tuple[tf.Tensor, np.ndarray]:
    """(each image's score for its class, the classes: given, else the predicted ones)."""
    chosen = np.asarray(ops.argmax(scores, axis=-1)) if classes is None else np.asarray(classes)
    index = ops.convert_to_tensor(chosen[:, None], "int32")
    return ops.take_along_axis(scores, index, axis=1)[:, 0], chosen


def _batches(images: np.ndarray, classes, batch_size: int):
    for start in range(0, len(images), batch_size):
        part = None if classes is None else np.asarray(classes)[start : start + batch_size]
        yield ops.convert_to_tensor(images[start : start + batch_size], "float32"), part


def normalise(maps) -> np.ndarray:
    """Each map divided by its maximum (maps (n, h, w) >= 0 -> [0, 1]; an all-zero map stays zero)."""
    maps = np.asarray(maps, dtype="float32")
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, 1, 1)
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def upsample(maps, size: tuple[int, int]) -> np.ndarray:
    """Maps (n, h, w) resized to ``size`` (bilinear), as they are laid over the images."""
    return ops.convert_to_numpy(ops.image.resize(ops.convert_to_tensor(maps)[..., None], size)[..., 0])


def gradcam(
    model: keras.Model, images: np.ndarray, classes=None, *, layer: str | None = None, batch_size: int = 16
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017) of each image for its class (given, else the predicted one):
    the ``layer``'s channels (default ``last_conv_layer``) weighted by the mean gradient of the class score
    over each channel, summed, ReLU, upsampled to the image size, scaled to [0, 1]. (n, height, width)."""
    run = forward(model, layer or last_conv_layer(model))
    maps = []
    for x, part in _batches(images, classes, batch_size):
        with tf.GradientTape() as tape:
            activations, scores = run(x)
            score, _ = _chosen(scores, part)
        weights = ops.mean(tape.gradient(score, activations), axis=(1, 2))  # (batch, channels)
        maps.append(ops.convert_to_numpy(ops.relu(ops.einsum("bhwc,bc->bhw", activations, weights))))
    return normalise(upsample(np.concatenate(maps), images.shape[1:3]))


def input_gradients(model: keras.Model, x: tf.Tensor, classes) -> tuple[tf.Tensor, tf.Tensor]:
    """(the gradient of each image's class score with respect to its pixels (batch, h, w, 3), the scores)."""
    run = forward(model)
    with tf.GradientTape() as tape:
        tape.watch(x)
        score, _ = _chosen(run(x)[1], classes)
    return tape.gradient(score, x), score


def gradient_saliency(model: keras.Model, images: np.ndarray, classes=None, *, batch_size: int = 16) -> np.ndarray:
    """Plain gradient saliency (Simonyan et al., 2014): the largest absolute gradient of the class score
    over the three colours of each pixel, scaled to [0, 1]. (n, height, width)."""
    classes = predicted(model, images) if classes is None else classes
    maps = [input_gradients(model, x, part)[0] for x, part in _batches(images, classes, batch_size)]
    return normalise(np.abs(np.concatenate([ops.convert_to_numpy(m) for m in maps])).max(axis=-1))


def predicted(model: keras.Model, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """The predicted class of each image (n,)."""
    return model.predict(images, batch_size=batch_size, verbose=0).argmax(axis=1)


@dataclass
class Attributions:
    """Integrated gradients of n images: ``pixels`` (n, h, w, 3), what each pixel's colour adds to the class
    score; ``gain`` (n,), the class score at the image minus at the baseline. Completeness: each image's
    attributions sum to its gain."""

    pixels: np.ndarray
    gain: np.ndarray
    classes: np.ndarray
    #: How many gradients each image's integral took (n,)
    points: np.ndarray

    @property
    def completeness_error(self) -> np.ndarray:
        """|sum of attributions - gain| / |gain| per image (0 would be exact)."""
        return np.abs(self.pixels.sum(axis=(1, 2, 3)) - self.gain) / np.maximum(np.abs(self.gain), 1e-12)

    @property
    def maps(self) -> np.ndarray:
        """The evidence for the class: attributions summed over colours, negative parts set to 0, in [0, 1]."""
        return normalise(np.maximum(self.pixels.sum(axis=-1), 0))


def _path_gradients(model, image, start, alphas, chosen, chunk) -> tuple[np.ndarray, np.ndarray]:
    """Gradients (points, h, w, 3) and class scores (points,) at ``start + alpha * (image - start)``."""
    grads, scores = [], []
    for at in range(0, len(alphas), chunk):
        part = ops.convert_to_tensor(start + alphas[at : at + chunk, None, None, None] * (image - start))
        g, s = input_gradients(model, part, np.full(len(part), chosen))
        grads.append(ops.convert_to_numpy(g))
        scores.append(ops.convert_to_numpy(s))
    return np.concatenate(grads), np.concatenate(scores)


def integrated_gradients(
    model: keras.Model,
    images: np.ndarray,
    classes=None,
    *,
    steps: int = 32,
    refine: int = 3,
    halve: int = 16,
    tolerance: float = 0.02,
    baseline: float | np.ndarray = 0.0,
    chunk: int = 16,
) -> Attributions:
    """Integrated gradients (Sundararajan et al., 2017) from a ``baseline`` (a flat value, 0 is black, or one
    image per image) to each image along the straight path, by the trapezoid rule.

    The rule starts from ``steps`` equal intervals. A CNN's score can swing within a few hundredths of the
    path (for a dark image, near a black baseline), where equal steps miss most of it; since each point's
    score is known, each interval's rule can be compared with the change of the score across it. Then, up to
    ``refine`` times while the attributions' sum is further than ``tolerance`` (relative) from the score's
    change, the ``halve`` intervals that disagree most are halved (adaptive quadrature; the integral is the
    same, only computed more finely). ``steps + 1`` to ``steps + 1 + refine * halve`` gradients per image
    (``Attributions.points``), ``chunk`` of them per batch (memory: the tape of a batch of 16 MobileNetV2
    images at 224 px holds about 1.7 GiB; 33 of them, 3.8 GiB).
    """
    if steps < 1:
        raise ValueError(f"integrated gradients needs at least one step, got {steps}")
    classes = predicted(model, images) if classes is None else np.asarray(classes)
    images = np.asarray(images, "float32")
    starts = np.broadcast_to(np.asarray(baseline, "float32"), images.shape)
    pixels, gains, points = [], [], []
    for image, start, chosen in zip(images, starts, classes, strict=True):
        alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32")
        grads, scores = _path_gradients(model, image, start, alphas, chosen, chunk)
        for _ in range(refine):
            slopes = (grads * (image - start)).sum(axis=(1, 2, 3))  # d score / d alpha at each point
            rule = np.diff(alphas) * (slopes[:-1] + slopes[1:]) / 2
            gain = scores[-1] - scores[0]
            if abs(rule.sum() - gain) <= tolerance * max(abs(gain), 1e-12):
                break
            worst = np.sort(np.argsort(-np.abs(rule - np.diff(scores)))[:halve])
            middles = (alphas[worst] + alphas[worst + 1]) / 2
            more_grads, more_scores = _path_gradients(model, image, start, middles, chosen, chunk)
            order = np.argsort(np.concatenate([alphas, middles]), kind="stable")
            alphas = np.concatenate([alphas, middles])[order]
            grads = np.concatenate([grads, more_grads])[order]
            scores = np.concatenate([scores, more_scores])[order]
        weights = np.zeros(len(alphas), "float32")  # the trapezoid rule's weight of each point
        weights[:-1] += np.diff(alphas) / 2
        weights[1:] += np.diff(alphas) / 2
        pixels.append((image - start) * np.tensordot(weights, grads, axes=1))
        gains.append(scores[-1] - scores[0])
        points.append(len(alphas))
    return Attributions(np.stack(pixels), np.asarray(gains), classes, np.asarray(points))


def copy_model(model: keras.Model) -> keras.Model:
    """A new model with the same layers and weights, sharing no variable with ``model``."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def reinitialise(layer: keras.layers.Layer, seed: int) -> None:
    """Draw ``layer``'s weights again from its own initializers, weight i with seed ``seed + i`` (give each
    layer its own ``seed``: two layers of one shape and seed would get the same weights). Side effect:
    changes ``layer``. Raises ValueError for a weight whose initializer the layer does not name."""
    for i, variable in enumerate(layer.weights):
        name = variable.name
        depthwise = isinstance(layer, keras.layers.DepthwiseConv2D) and name == "kernel"
        initializer = getattr(layer, "depthwise_initializer" if depthwise else f"{name}_initializer", None)
        if initializer is None:
            raise ValueError(f"{layer.name} names no initializer for its weight {name!r}")
        config = initializer.get_config()
        if "seed" in config:
            initializer = type(initializer).from_config({**config, "seed": seed + i})
        variable.assign(initializer(variable.shape, variable.dtype))


def cascade(model: keras.Model) -> list[tuple[str, list[str]]]:
    """The model-randomisation cascade, top down: [(step, every layer re-initialised up to this step)].

    Layers with weights are grouped as the course groups a backbone (``models.block_of``): "head" for those
    outside the backbone, the backbone's "top" layers above its last block, each block, then its "stem".
    Each step re-initialises its group and every group above it."""
    groups: dict[str, list[str]] = {}
    seen_block = False
    for parent, layer in leaves(model):
        if not layer.weights:
            continue
        block = models.block_of(layer.name)
        seen_block |= block is not None
        backbone = bool(models.block_names(parent))
        group = block or ("head" if not backbone else "top" if seen_block else "stem")
        groups.setdefault(group, []).append(layer.name)
    order = [g for g in reversed(groups) if g != "head"]
    steps, done = [], []
    for group in (["head"] if "head" in groups else []) + order:
        done = done + groups[group]
        steps.append((group, done))
    return steps


def randomised(model: keras.Model, layers: Sequence[str], seed: int = 0) -> keras.Model:
    """A copy of ``model`` with ``layers`` re-initialised (``reinitialise``); ``model`` is left as it was."""
    copy = copy_model(model)
    for j, name in enumerate(layers):
        reinitialise(find_layer(copy, name), seed * 1_000_000 + 100 * j)  # each layer its own draws
    return copy


def rank_correlation(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Spearman's rank correlation of each pair of maps (n, h, w) x (n, h, w) -> (n,), in [-1, 1]; 0 where a
    map is constant (no ranking to agree with: an all-zero Grad-CAM of a randomised model; count them with
    ``constant``)."""
    values = []
    for a, b, flat in zip(first, second, constant(first) | constant(second), strict=True):
        values.append(0.0 if flat else spearmanr(a.ravel(), b.ravel()).statistic)
    return np.asarray(values)


def constant(maps: np.ndarray) -> np.ndarray:
    """Whether each map (n, h, w) is the same everywhere (n,): an empty Grad-CAM, which ranks nothing."""
    return np.ptp(maps.reshape(len(maps), -1), axis=1) == 0


def patch_order(maps: np.ndarray, patch: int) -> np.ndarray:
    """For each map (n, h, w), the (h/patch * w/patch) patches from the most to the least salient (mean
    value of the map inside the patch; ties kept in reading order). (n, patches) of patch numbers."""
    n, h, w = maps.shape
    if h % patch or w % patch:
        raise ValueError(f"a {h} x {w} map does not split into {patch}-pixel patches")
    means = maps.reshape(n, h // patch, patch, w // patch, patch).mean(axis=(2, 4)).reshape(n, -1)
    return np.argsort(-means, axis=1, kind="stable")


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    """Each image (n, h, w, 3) under a Gaussian blur of ``sigma`` pixels: what a deleted patch shows."""
    return np.stack([ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0)) for image in images])


def delete_patches(image: np.ndarray, fill: np.ndarray, order: np.ndarray, count: int, patch: int) -> np.ndarray:
    """``image`` (h, w, 3) with its first ``count`` patches of ``order`` (patch numbers in reading order, as
    ``patch_order`` gives them) replaced by the same patches of ``fill``."""
    h, w = image.shape[:2]
    mask = np.zeros((h // patch, w // patch), bool)
    mask.flat[order[:count]] = True
    return np.where(np.kron(mask, np.ones((patch, patch), bool))[..., None], fill, image)


def deletion_curves(
    model: keras.Model,
    images: np.ndarray,
    orders: np.ndarray,
    classes,
    *,
    patch: int,
    steps: int = 20,
    fill: np.ndarray | None = None,
) -> np.ndarray:
    """The probability of each image's class as its patches are replaced, in ``orders`` (n, patches), by the
    same patches of ``fill`` (n, h, w, 3; default: ``blurred(images, patch)``): ``steps + 1`` points from
    nothing to every patch deleted. (n, steps + 1) in [0, 1]. A faithful map's order makes it fall fast."""
    images = np.asarray(images, "float32")
    fill = blurred(images, patch) if fill is None else np.broadcast_to(fill, images.shape)
    counts = np.linspace(0, orders.shape[1], steps + 1).round().astype(int)
    curves = []
    for image, background, order, chosen in zip(images, fill, orders, classes, strict=True):
        variants = np.stack([delete_patches(image, background, order, count, patch) for count in counts])
        curves.append(model.predict(variants, batch_size=32, verbose=0)[:, chosen])
    return np.stack(curves)


def curve_area(curves: np.ndarray) -> np.ndarray:
    """Area under each deletion curve (n, points) over the deleted share 0..1 (trapezoid): (n,) in [0, 1]."""
    return np.clip(np.trapezoid(curves, dx=1 / (curves.shape[1] - 1), axis=1), 0, 1)  # no 1.0000000000000002
