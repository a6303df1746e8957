"""tltf.detection: mosaics move boxes exactly, IoU and AP on hand-made cases, the RetinaNet plumbing."""

import keras
import numpy as np
import pytest

from tltf import detection


def test_groups_use_every_photo_once_in_twos_to_fours():
    cut = detection.groups(range(23), np.random.default_rng(0))
    assert sorted(np.concatenate(cut).tolist()) == list(range(23))
    assert all(2 <= len(g) <= 4 for g in cut[:-1]) and 1 <= len(cut[-1]) <= 4


def test_a_mosaic_moves_each_box_with_its_photo_exactly():
    h, w = 20, 30
    boxes = [np.array([[0.1, 0.25, 0.5, 0.75]]), np.array([[0, 0, 1, 1]]), np.array([[0.5, 0.5, 0.9, 0.95]])]
    images = np.zeros((3, h, w, 3), np.uint8)
    for image, (box,) in zip(images, boxes, strict=True):
        x0, y0, x1, y1 = np.round(box * [w, h, w, h]).astype(int)
        image[y0:y1, x0:x1] = 255  # the box painted white: the canvas shows where it went
    canvas, moved, labels = detection.mosaic(images, boxes, [[0], [1], [0]], np.random.default_rng(1))
    assert canvas.shape == (2 * h, 2 * w, 3) and labels.tolist() == [0, 1, 0]
    assert (canvas == detection.FILL).all(axis=-1).sum() == h * w  # one cell left empty
    for box in moved:
        x0, y0, x1, y1 = np.round(box * [2 * w, 2 * h, 2 * w, 2 * h]).astype(int)
        assert (canvas[y0:y1, x0:x1] == 255).all()  # the moved box covers white only
        assert (canvas[y0:y1, x0:x1].shape[:2]) == (y1 - y0, x1 - x0) > (0, 0)
    white = (canvas == 255).all(axis=-1).sum()
    painted = sum(int(np.prod(np.round((b[0, 2:] - b[0, :2]) * [w, h]))) for b in boxes)
    assert white == painted  # nothing white outside the moved boxes


def test_a_mosaic_refuses_five_photos():
    with pytest.raises(ValueError, match="1 to 4 photos"):
        detection.mosaic(np.zeros((5, 4, 4, 3), np.uint8), [np.zeros((1, 4))] * 5, [[0]] * 5, np.random.default_rng())


def test_pad_fills_with_minus_one_in_pixels():
    out = detection.pad([np.array([[0, 0, 0.5, 0.5]]), np.zeros((0, 4))], [[1], []], size=100)
    assert out["boxes"].shape == (2, 1, 4) and out["boxes"][0, 0].tolist() == [0, 0, 50, 50]
    assert out["labels"].tolist() == [[1], [-1]] and (out["boxes"][1] == -1).all()


def test_iou_of_known_boxes():
    true = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]], "float32")
    predicted = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [5, 0, 15, 10]], "float32")
    np.testing.assert_allclose(detection.paired_iou(true, predicted), [1, 0, 1 / 3], atol=1e-6)


def _detections(boxes: list[list[list[float]]], scores: list[list[float]], labels: list[list[int]]) -> dict:
    d = max(len(b) for b in boxes)
    out = {
        "boxes": np.zeros((len(boxes), d, 4)),
        "confidence": np.zeros((len(boxes), d)),
        "labels": np.zeros((len(boxes), d), int),
    }
    for i, (b, s, y) in enumerate(zip(boxes, scores, labels, strict=True)):
        out["boxes"][i, : len(b)], out["confidence"][i, : len(s)], out["labels"][i, : len(y)] = b, s, y
    out["num_detections"] = np.array([len(b) for b in boxes])
    return out


TRUTH_BOXES = [np.array([[0.1, 0.1, 0.4, 0.4]]), np.array([[0.5, 0.5, 0.9, 0.9]])]


def test_ap_of_perfect_detections_is_one_and_of_shifted_ones_lower():
    truth = detection.coco_ground_truth(TRUTH_BOXES, [[0], [0]], ["head"], size=100)
    perfect = _detections([[[10, 10, 40, 40]], [[50, 50, 90, 90]]], [[0.9], [0.8]], [[0], [0]])
    assert detection.average_precision(truth, perfect)["ap"] == pytest.approx(1.0)
    shifted = _detections([[[14, 14, 44, 44]], [[55, 55, 95, 95]]], [[0.9], [0.8]], [[0], [0]])
    scored = detection.average_precision(truth, shifted)
    assert (
        scored["ap50"] == pytest.approx(1.0) and scored["ap"] < 0.6
    )  # IoU 0.60 and 0.62: right at 0.5, wrong from 0.65
    nothing = {
        "boxes": np.zeros((2, 0, 4)),
        "confidence": np.zeros((2, 0)),
        "labels": np.zeros((2, 0)),
        "num_detections": [0, 0],
    }
    assert detection.average_precision(truth, nothing)["ap"] == 0


def test_ap50_matches_a_hand_computed_precision_recall_curve():
    # Ranked: a hit (0.9), a false alarm (0.8), the other hit (0.7): precision 1 up to recall 0.5, then 2/3.
    # COCO interpolates at 101 recall points: 51 of them (0 to 0.5) see 1, the other 50 see 2/3.
    truth = detection.coco_ground_truth(TRUTH_BOXES, [[0], [0]], ["head"], size=100)
    ranked = _detections([[[10, 10, 40, 40], [60, 0, 90, 30]], [[50, 50, 90, 90]]], [[0.9, 0.8], [0.7]], [[0, 0], [0]])
    scored = detection.average_precision(truth, ranked)
    assert scored["ap50"] == pytest.approx((51 + 50 * 2 / 3) / 101, abs=1e-6)
    assert scored["precision50"]["head"][50] == pytest.approx(1) and scored["precision50"]["head"][51] == pytest.approx(
        2 / 3
    )


def test_a_keras_mobilenet_serves_kerashub_retinanet():
    keras_hub = pytest.importorskip("keras_hub")
    base = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(64, 64, 3), alpha=0.35)
    assert detection.fast_batch_norm(base) == 52 and all(
        layer.momentum == 0.9 for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)
    )
    encoder = detection.pyramid_encoder(base)
    assert [tuple(t.shape[1:3]) for t in encoder.pyramid_outputs.values()] == [(8, 8), (4, 4), (2, 2)]
    backbone = keras_hub.models.RetinaNetBackbone(
        image_encoder=encoder, min_level=4, max_level=5, use_p5=False, image_shape=(64, 64, 3)
    )
    anchors = keras_hub.layers.AnchorGenerator(
        "xyxy", min_level=4, max_level=5, num_scales=1, aspect_ratios=[1.0], anchor_size=2
    )
    detector = keras_hub.models.RetinaNetObjectDetector(
        backbone=backbone,
        num_classes=2,
        bounding_box_format="xyxy",
        anchor_generator=anchors,
        pre_logits_num_conv_layers=1,
    )
    detection.prior_on_classes(detector)
    raw = detector(np.zeros((1, 64, 64, 3), "float32"))
    probabilities = keras.ops.convert_to_numpy(keras.ops.sigmoid(raw["cls_logits"]))
    assert raw["cls_logits"].shape == (1, 16 + 4, 2) and probabilities.max() < 0.05  # background first
    detector.compile(optimizer="adam")
    detector.prediction_decoder = keras_hub.layers.NonMaxSuppression(
        bounding_box_format="xyxy", from_logits=True, confidence_threshold=0.0, max_detections=5
    )
    for n in (3, 5):  # calls of different sizes: KerasHub's own predict fails on the second
        found = detection.detect(detector, np.zeros((n, 64, 64, 3), "uint8"), batch_size=4)
        assert found["boxes"].shape == (n, 5, 4) and found["num_detections"].shape == (n,)


def test_training_mosaics_have_a_known_length_and_change_each_epoch():
    images = np.arange(10, dtype=np.uint8)[:, None, None, None] * np.ones((10, 4, 4, 3), np.uint8)
    boxes = [np.array([[0, 0, 1, 1]], "float32")] * 10
    batches = detection.training_mosaics(
        images, boxes, [[i % 2] for i in range(10)], range(10), batch_size=3, seed=0, repeats=2
    )
    first, second = [(x.numpy(), y) for x, y in batches], [(x.numpy(), y) for x, y in batches]
    assert int(batches.cardinality()) == len(first) == len(second) == 3  # 7 mosaics (10 photos x 2 / 3), by 3
    x, y = first[0]
    assert x.shape == (3, 8, 8, 3) and y["boxes"].shape == (3, 8, 4) and float(y["boxes"].numpy().max()) <= 8
    assert all(int((y["labels"].numpy() >= 0).sum(axis=1).min()) >= 1 for _, y in first)  # every mosaic has a box
    assert not np.array_equal(x, second[0][0])  # new mosaics in the next epoch
    assert np.array_equal(images[:, 0, 0, 0], np.arange(10))  # the photos themselves are untouched
