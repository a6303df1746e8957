"""Solutions to the exercises of notebook 13 (object detection)."""

from __future__ import annotations

import keras
import numpy as np

from tltf import detection


def pooled_box_model(size: int, weights: str | None, classes: int = 2) -> keras.Model:
    """1. The single-box model with its box head on the *pooled* map: global average pooling keeps what is in
    the photo and drops where it is, so the box can only drift towards the average box."""
    base = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=(size, size, 3))
    images = keras.Input((size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(base(keras.layers.Rescaling(1 / 127.5, -1)(images)))
    where = keras.layers.Dense(128, activation="relu")(keras.layers.Dropout(0.2)(pooled))
    box = keras.layers.Dense(4, activation="sigmoid", name="box")(where)
    return keras.Model(
        images, {"box": box, "class": keras.layers.Dense(classes, activation="softmax", name="class")(pooled)}
    )


def found_share(true: np.ndarray, predicted: np.ndarray, threshold: float) -> float:
    """2. The share of photos whose predicted box has IoU >= ``threshold`` with the true one ((n, 4) xyxy each)."""
    return float(np.mean(detection.paired_iou(true, predicted) >= threshold))


def count_at_threshold(predicted: dict, boxes, labels, size: int, threshold: float) -> dict:
    """3. True and false detections at confidence ``threshold``: a detection (``predict`` output, pixels) is true
    when its IoU with a not yet matched true box of its class (``boxes`` rel_xyxy, ``labels``) is >= 0.5; the
    most confident detections are matched first, as COCO does. Returns ``{"true", "false", "missed"}``."""
    true = false = missed = 0
    for i, (image_boxes, image_labels) in enumerate(zip(boxes, labels, strict=True)):
        count = int(predicted["num_detections"][i])
        order = np.argsort(-np.asarray(predicted["confidence"][i][:count]), kind="stable")
        free = np.ones(len(image_boxes), bool)
        for k in order:
            if predicted["confidence"][i][k] < threshold:
                continue
            same = free & (np.asarray(image_labels) == predicted["labels"][i][k])
            iou = detection.paired_iou(
                np.asarray(image_boxes, "float32") * size,
                np.tile(predicted["boxes"][i][k], (len(image_boxes), 1)).astype("float32"),
            )
            best = int(np.argmax(np.where(same, iou, -1)))
            if same.any() and iou[best] >= 0.5:
                true, free[best] = true + 1, False
            else:
                false += 1
        missed += int(free.sum())
    return {"true": true, "false": false, "missed": missed}


def score_on_photos(detector, images: np.ndarray, boxes, labels, names) -> dict:
    """4. The detector's COCO scores on photos each decoded alone at the canvas size (``images`` (n, s, s, 3)):
    boxes in rel_xyxy need no change for that."""
    truth = detection.coco_ground_truth(boxes, labels, names, images.shape[1])
    return detection.average_precision(truth, detection.detect(detector, images))
