"""tltf.probes: taps inside a backbone, and linear probes that find the informative layer."""

import dataclasses

import keras
import numpy as np

from tltf import data, models, probes


def test_depth_extractor_pools_each_tapped_layer():
    spec = dataclasses.replace(models.get_backbone("mobilenet_v2"), input_size=64)
    base = models.load_backbone(spec, weights=None)
    layers = ["block_2_add", "out_relu"]
    extractor = probes.depth_extractor(spec, base, layers)
    images = np.random.default_rng(0).uniform(0, 255, (3, 64, 64, 3)).astype("float32")
    dataset = data.make_dataset(data.Examples(images=images.astype("uint8"), labels=np.zeros(3, "int64")), (64, 64))
    features = probes.extract_by_depth(extractor, dataset)
    assert list(features) == layers
    assert features["block_2_add"].shape == (3, 24) and features["out_relu"].shape == (3, 1280)
    inner = keras.Model(base.inputs, base.get_layer("block_2_add").output)
    x = np.concatenate([x for x, _ in dataset])
    expected = inner(models.preprocessing_layer(spec)(x)).numpy().mean(axis=(1, 2))
    np.testing.assert_allclose(features["block_2_add"], expected, atol=1e-4)
    assert base.trainable is False
    one = probes.extract_by_depth(probes.depth_extractor(spec, base, ["out_relu"]), dataset)  # a single tap
    np.testing.assert_allclose(one["out_relu"], features["out_relu"], atol=1e-5)


def test_probe_by_depth_finds_the_layer_that_holds_the_labels():
    rng = np.random.default_rng(0)
    labels = {split: rng.integers(0, 2, n) for split, n in (("train", 200), ("val", 100), ("test", 100))}
    features = {
        split: {
            "noise": rng.normal(size=(len(y), 8)),
            "signal": rng.normal(size=(len(y), 8)) + 3 * y[:, None],
        }
        for split, y in labels.items()
    }
    rows = probes.probe_by_depth(features, labels)
    assert [r["block"] for r in rows] == ["noise", "signal"]
    noise, signal = rows
    assert signal["acc_mean"] > 0.95 and signal["auc"] > 0.99 and signal["val_acc"] > 0.95
    assert 0.3 < noise["acc_mean"] < 0.7
    assert signal["acc_ci95"][0] <= signal["acc_mean"] <= signal["acc_ci95"][1]
    assert signal["C"] in probes.PROBE_C


def test_few_label_probe_draws_k_per_class_and_scores_test_once():
    rng = np.random.default_rng(0)
    labels = {split: np.repeat(np.arange(3), n) for split, n in (("train", 40), ("val", 10), ("test", 10))}
    features = {split: rng.normal(size=(len(y), 6)) + 6 * np.eye(6)[y] for split, y in labels.items()}
    few = probes.few_label_probe(features, labels, 5, seed=1)
    every = probes.few_label_probe(features, labels, None)
    assert few["test_acc"] > 0.9 and every["test_acc"] > 0.9 and few["C"] in probes.PROBE_C
    noise = {split: rng.normal(size=(len(y), 6)) for split, y in labels.items()}
    assert probes.few_label_probe(noise, labels, 5)["test_acc"] < 0.7  # no signal, no score
    try:
        probes.few_label_probe(features, labels, 41)
    except data.DataError as err:
        assert "fewer than the 41" in str(err)
    else:
        raise AssertionError("asking for more labels than a class has must fail")
