"""Object detection plumbing (notebook 13): mosaics of real photos with their boxes moved exactly, boxes padded
as KerasHub's detectors take them, a Keras ``MobileNetV2`` offered to KerasHub's RetinaNet as a feature pyramid,
and COCO-style average precision computed by ``faster-coco-eval``.

Boxes are ``rel_xyxy`` (fractions of the width and height) unless a function says pixels; a padded row is -1.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

#: MobileNetV2's layers at strides 8, 16 and 32 (P3, P4, P5 of a feature pyramid); a RetinaNet takes the levels
#: from its ``min_level`` up (notebook 13: P4 and P5).
MOBILENET_V2_LEVELS = {"P3": "block_6_expand_relu", "P4": "block_13_expand_relu", "P5": "out_relu"}
#: The grey of an empty mosaic cell (the mean ImageNet pixel, about 114 per channel in YOLO's mosaics).
FILL = 114


def groups(indices: Sequence[int], rng: np.random.Generator, low: int = 2, high: int = 4) -> list[np.ndarray]:
    """``indices`` shuffled and cut into groups of ``low`` to ``high`` (the last may be shorter), each index
    once: the photos of one mosaic each."""
    order = rng.permutation(np.asarray(indices))
    cuts, at = [], 0
    while at < len(order):
        size = int(rng.integers(low, high + 1))
        cuts.append(order[at : at + size])
        at += size
    return cuts


def mosaic(
    images: np.ndarray, boxes: Sequence[np.ndarray], labels: Sequence[np.ndarray], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to four photos in random cells of a 2 x 2 grid, empty cells grey.

    ``images`` (k, h, w, 3) uint8, k <= 4, each photo already at the cell size; ``boxes[i]`` (n_i, 4) rel_xyxy
    and ``labels[i]`` (n_i,) of photo i. Returns the canvas (2h, 2w, 3) uint8, every box moved with its
    photo (halved, then shifted by its cell), (sum n_i, 4) rel_xyxy, and the labels (sum n_i,)."""
    k, h, w, _ = images.shape
    if not 1 <= k <= 4:
        raise ValueError(f"A 2 x 2 mosaic holds 1 to 4 photos, not {k}.")
    canvas = np.full((2 * h, 2 * w, 3), FILL, np.uint8)
    moved = []
    for image, photo_boxes, cell in zip(images, boxes, rng.permutation(4)[:k], strict=True):
        row, col = divmod(int(cell), 2)
        canvas[row * h : (row + 1) * h, col * w : (col + 1) * w] = image
        moved.append(np.asarray(photo_boxes, "float32") / 2 + np.array([col, row, col, row], "float32") / 2)
    return canvas, np.concatenate(moved), np.concatenate([np.asarray(x) for x in labels]).astype("int64")


def mosaics(
    images: np.ndarray, boxes: Sequence[np.ndarray], labels: Sequence[np.ndarray], indices, rng: np.random.Generator
) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The photos ``indices`` (of ``images``, (n, h, w, 3) uint8, with their ragged ``boxes`` and ``labels``),
    each used once, as mosaics of 2 to 4 photos (``groups``, ``mosaic``): canvases (m, 2h, 2w, 3) uint8, and
    each canvas's boxes (rel_xyxy) and labels."""
    made = [mosaic(images[g], [boxes[i] for i in g], [labels[i] for i in g], rng) for g in groups(indices, rng)]
    return np.stack([m[0] for m in made]), [m[1] for m in made], [m[2] for m in made]


def training_mosaics(
    images: np.ndarray, boxes, labels, indices, *, batch_size: int, seed: int, repeats: int = 1, max_boxes: int = 8
) -> tf.data.Dataset:
    """Batches of new mosaics every epoch, as ``(canvases uint8, pad(...))`` for a KerasHub detector's ``fit``:
    each pass over the dataset regroups the photos ``indices`` at random (``mosaics``) until it has
    ``len(indices) * repeats / 3`` mosaics (a mosaic holds 3 photos on average, so each photo appears about
    ``repeats`` times). Its length is known, so Keras runs every epoch whole. Deterministic for a ``seed`` (the
    draws go on from epoch to epoch); reads ``images`` and never changes them."""
    rng = np.random.default_rng(seed)
    size, count = 2 * images.shape[1], -(-len(indices) * repeats // 3)

    def one_epoch():
        made = 0
        while made < count:
            canvases, canvas_boxes, canvas_labels = mosaics(images, boxes, labels, indices, rng)
            padded = pad(canvas_boxes, canvas_labels, size, max_boxes)
            for i in range(min(len(canvases), count - made)):
                yield canvases[i], {"boxes": padded["boxes"][i], "labels": padded["labels"][i]}
            made += len(canvases)

    signature = (
        tf.TensorSpec((size, size, 3), tf.uint8),
        {"boxes": tf.TensorSpec((max_boxes, 4), tf.float32), "labels": tf.TensorSpec((max_boxes,), tf.float32)},
    )
    mosaic_set = tf.data.Dataset.from_generator(one_epoch, output_signature=signature)
    return mosaic_set.apply(tf.data.experimental.assert_cardinality(count)).batch(batch_size)


def pad(boxes: Sequence[np.ndarray], labels: Sequence[np.ndarray], size: int, max_boxes: int | None = None) -> dict:
    """Ragged rel_xyxy boxes and labels of n images as KerasHub's detectors take them: ``{"boxes": (n, m, 4)
    float32 pixels of a size x size image, "labels": (n, m) float32}``, rows past an image's boxes -1;
    m = ``max_boxes`` or the most boxes of one image."""
    m = max_boxes or max(len(b) for b in boxes)
    out = {"boxes": np.full((len(boxes), m, 4), -1, "float32"), "labels": np.full((len(boxes), m), -1, "float32")}
    for i, (b, y) in enumerate(zip(boxes, labels, strict=True)):
        out["boxes"][i, : len(b)] = np.asarray(b) * size
        out["labels"][i, : len(y)] = y
    return out


def paired_iou(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """IoU of each true box with the predicted box of the same row: (n, 4) and (n, 4) ``xyxy`` in the same
    units -> (n,) in [0, 1] (``keras.utils.bounding_boxes.compute_iou``, which compares every pair)."""
    every = keras.utils.bounding_boxes.compute_iou(true, predicted, "xyxy")
    return np.diagonal(keras.ops.convert_to_numpy(every)).copy()


def pyramid_encoder(base: keras.Model, levels: dict[str, str] = MOBILENET_V2_LEVELS) -> keras.Model:
    """``base`` (a Keras application without its top, taking [-1, 1] pixels) as the image encoder that
    KerasHub's ``RetinaNetBackbone`` takes: a ``keras_hub.models.Backbone`` from [0, 255] images to the
    outputs of the layers ``levels`` names, listed in its ``pyramid_outputs``. Shares ``base``'s weights.

    Why our own: KerasHub's own backbones come with presets (downloaded, so not offline here), and
    Keras applications carry no ``pyramid_outputs``."""
    import keras_hub  # notebook 13 only

    features = keras.Model(base.input, {level: base.get_layer(name).output for level, name in levels.items()})
    images = keras.Input(base.input.shape[1:], name="images")
    outputs = features(keras.layers.Rescaling(1 / 127.5, -1, name="to_minus_one_one")(images))
    encoder = keras_hub.models.Backbone(inputs=images, outputs=outputs, name=f"{base.name}_pyramid")
    encoder.pyramid_outputs = outputs
    return encoder


def fast_batch_norm(model: keras.Model, momentum: float = 0.9) -> int:
    """Set every BatchNormalization layer of ``model`` to ``momentum`` (Keras's MobileNetV2 uses 0.999: after a
    few hundred fine-tuning steps its moving averages still describe ImageNet, and predictions, made with
    them, are far off). Changes ``model`` in place; returns how many layers were set."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.momentum = momentum
    return len(layers)


def prior_on_classes(detector: keras.Model, prior: float = 0.01) -> None:
    """Start a KerasHub ``RetinaNetObjectDetector`` as the RetinaNet paper does (Lin et al. 2017, section 4.1):
    the class logits' bias at -log((1 - prior) / prior), so that every anchor first says "background" with
    probability 1 - prior, and the box deltas' bias at zero. KerasHub 0.32 puts that bias on the box head
    instead: boxes start e^-4.6 times their anchor and the first focal losses are in the tens. Changes
    ``detector``'s two output biases in place."""
    classes = detector.classification_head.prediction_layer.bias
    deltas = detector.box_head.prediction_layer.bias
    classes.assign(np.full(classes.shape, -np.log((1 - prior) / prior), "float32"))
    deltas.assign(np.zeros(deltas.shape, "float32"))


def detect(detector: keras.Model, images: np.ndarray, batch_size: int = 16) -> dict:
    """A KerasHub detector's ``predict`` on ``images`` (n, h, w, 3), in batches of exactly ``batch_size`` (the
    last one padded with black images, their detections dropped): ``{"boxes", "confidence", "labels",
    "num_detections"}`` with n rows. Why: KerasHub 0.32's non-maximum suppression needs a known batch size, and
    a batch of another size (a last, smaller one, or the next call's) makes Keras retrace ``predict`` with an
    unknown one, which fails."""
    missing = -len(images) % batch_size
    padded = np.concatenate([images, np.zeros((missing, *images.shape[1:]), images.dtype)])
    found = detector.predict(padded, batch_size=batch_size, verbose=0)
    return {key: np.asarray(value)[: len(images)] for key, value in found.items()}


def coco_ground_truth(boxes: Sequence[np.ndarray], labels: Sequence[np.ndarray], names: Sequence[str], size: int):
    """A ``faster_coco_eval.COCO`` index of n square images of ``size`` pixels: ``boxes[i]`` (k, 4) rel_xyxy,
    ``labels[i]`` (k,) class indices into ``names``; image i has id i, class c has category id c + 1."""
    from faster_coco_eval import COCO

    images, annotations = [], []
    for i, (image_boxes, image_labels) in enumerate(zip(boxes, labels, strict=True)):
        images.append({"id": i, "width": size, "height": size})
        for box, label in zip(np.asarray(image_boxes) * size, image_labels, strict=True):
            x0, y0, x1, y1 = (float(v) for v in box)
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": int(label) + 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": c + 1, "name": name} for c, name in enumerate(names)]
    return COCO({"images": images, "annotations": annotations, "categories": categories})


def average_precision(truth, detections: dict) -> dict:
    """COCO box AP of ``detections`` against ``truth`` (``coco_ground_truth``), by ``faster-coco-eval``.

    ``detections``: a KerasHub detector's ``predict`` output, ``{"boxes": (n, d, 4) xyxy pixels,
    "confidence": (n, d), "labels": (n, d), "num_detections": (n,)}``. Returns ``{"ap"`` (mean over IoU 0.50
    to 0.95), ``"ap50"``, ``"ap75"``, ``"recall"`` (the recall axis, 101 points) and ``"precision50"`` (class ->
    precision at IoU 0.5 along it, -1 where a class has no box)}``. With no detection at all: 0 and an empty
    ``precision50``."""
    from faster_coco_eval import COCOeval_faster

    rows = []
    for i, count in enumerate(np.asarray(detections["num_detections"]).astype(int)):
        for box, score, label in zip(
            detections["boxes"][i][:count],
            detections["confidence"][i][:count],
            detections["labels"][i][:count],
            strict=True,
        ):
            x0, y0, x1, y1 = (float(v) for v in box)
            rows.append(
                {
                    "image_id": i,
                    "category_id": int(label) + 1,
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "score": float(score),
                }
            )
    recall = np.linspace(0, 1, 101)
    if not rows:
        return {"ap": 0.0, "ap50": 0.0, "ap75": 0.0, "recall": recall, "precision50": {}}
    evaluation = COCOeval_faster(truth, truth.loadRes(rows), "bbox", print_function=lambda *args: None)
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    precision = evaluation.eval["precision"]  # (IoU thresholds, recall points, classes, areas, max detections)
    names = [truth.cats[c]["name"] for c in sorted(truth.cats)]
    per_class = {name: precision[0, :, k, 0, -1] for k, name in enumerate(names)}
    stats = evaluation.stats
    return {
        "ap": float(stats[0]),
        "ap50": float(stats[1]),
        "ap75": float(stats[2]),
        "recall": recall,
        "precision50": per_class,
    }
