"""tltf.models: backbone registry, preprocessing, frozen extractor, classifier builder."""

import dataclasses
import importlib
import warnings

import keras
import numpy as np
import pytest

from tltf import data, models

PREPROCESS_MODULES = {
    "mobilenet_v2": "mobilenet_v2",
    "mobilenet_025": "mobilenet",
    "efficientnet_b0": "efficientnet",
    "resnet50": "resnet50",
    "vgg16": "vgg16",
    "inception_v3": "inception_v3",
}


def test_registry_has_the_course_backbones():
    assert set(models.BACKBONES) == set(PREPROCESS_MODULES)


@pytest.mark.parametrize("name", list(PREPROCESS_MODULES))
def test_preprocessing_layer_matches_keras_preprocess_input(name):
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    module = importlib.import_module(f"keras.applications.{PREPROCESS_MODULES[name]}")
    expected = module.preprocess_input(images.copy())
    got = keras.ops.convert_to_numpy(models.preprocessing_layer(name)(images))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("name", list(PREPROCESS_MODULES))
def test_backbone_shapes_match_the_registry(name):
    backbone = models.get_backbone(name)
    base = models.load_backbone(name, weights=None)
    assert base.input_shape == (None, backbone.input_size, backbone.input_size, 3)
    assert base.output_shape == (None, backbone.feature_size)


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(ValueError, match="mobilenet_v2"):
        models.get_backbone("alexnet")


def test_extractor_is_frozen_and_in_inference_mode():
    extractor = models.feature_extractor("mobilenet_025", models.load_backbone("mobilenet_025", weights=None))
    assert extractor.trainable_weights == []
    images = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    # training=True must not switch BatchNormalization to batch statistics.
    np.testing.assert_allclose(extractor(images, training=True), extractor(images, training=False), atol=1e-6)


def test_classifier_trains_only_its_head_and_survives_saving(tmp_path):
    model = models.build_classifier(
        "resnet50", 3, base=models.load_backbone("resnet50", weights=None), augment=data.augmentation(seed=0)
    )
    head = model.get_layer("head")
    assert {id(w) for w in model.trainable_weights} == {id(w) for w in head.trainable_weights}
    images = np.random.default_rng(0).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)


def test_real_imagenet_classifier_recognises_a_daisy(flowers):
    from tltf import assets

    for name in ("mobilenet_025_top", "imagenet_class_index"):
        assets.fetch(name, quiet=True)
    classifier = keras.applications.MobileNet(alpha=0.25, weights="imagenet")
    image = data.load_image(str(flowers / "daisy" / "1031799732_e7f4008c03.jpg"), (224, 224))
    batch = keras.applications.mobilenet.preprocess_input(np.asarray(image, "float32")[None])
    (top,) = keras.applications.mobilenet.decode_predictions(classifier.predict(batch, verbose=0), top=1)
    assert top[0][1] == "daisy" and top[0][2] > 0.9


def test_pretrained_features_separate_flowers_better_than_random(quick_flowers):
    """ImageNet features: nearest-class-mean accuracy on 10 photos per class beats random init."""
    splits = quick_flowers
    images = data.make_dataset(splits.train, (224, 224))
    scores = {}
    for weights in ("imagenet", None):
        extractor = models.feature_extractor("mobilenet_v2", models.load_backbone("mobilenet_v2", weights=weights))
        x = np.concatenate([extractor.predict(b, verbose=0) for b, _ in images])
        y = splits.train.labels
        means = np.stack([x[y == c].mean(0) for c in range(5)])
        scores[weights] = float((np.linalg.norm(x[:, None] - means[None], axis=2).argmin(1) == y).mean())
    assert scores["imagenet"] > 0.8 and scores["imagenet"] > scores[None] + 0.3


def test_a_backbone_at_a_size_without_weights_of_its_own_loads_quietly():
    spec = dataclasses.replace(models.get_backbone("mobilenet_v2"), input_size=144)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Keras's "weights for (224, 224) will be loaded" would raise
        base = models.load_backbone(spec)
    assert base.input_shape == (None, 144, 144, 3)


def _tiny(seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dropout(0.3)(keras.layers.BatchNormalization()(keras.layers.Dense(4)(inputs)))
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


def test_a_restarted_model_trains_as_a_fresh_one_without_tracing_again():
    x, y = np.random.default_rng(0).normal(size=(32, 3)), np.random.default_rng(1).normal(size=(32, 1))

    def trained(model):
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return model.get_weights()

    reused, fresh = _tiny(1), _tiny(0)
    for model in (reused, fresh):
        model.compile(keras.optimizers.Adam(0.05), "mse")
    trained(reused)  # another run first: moved weights, Adam moments and step count
    step = reused.train_function
    models.restart(reused, _tiny(0))
    assert float(reused.optimizer.learning_rate) == pytest.approx(0.05)
    assert int(reused.optimizer.iterations) == 0
    for a, b in zip(trained(reused), trained(fresh), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert reused.train_function is step


def test_restart_refuses_a_model_of_another_shape():
    other = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="one architecture"):
        models.restart(_tiny(0), other)


def test_restart_keeps_a_learning_rate_schedule_and_refuses_an_optimizer_that_does_not_start_at_zero():
    x, y = np.ones((8, 3)), np.ones((8, 1))
    scheduled = _tiny(0)
    scheduled.compile(keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)), "mse")
    scheduled.fit(x, y, epochs=1, verbose=0)
    models.restart(scheduled, _tiny(1))
    assert int(scheduled.optimizer.iterations) == 0
    assert float(scheduled.optimizer.learning_rate) == pytest.approx(0.1)  # the schedule at step 0
    accumulating = _tiny(0)
    accumulating.compile(keras.optimizers.Adagrad(0.1), "mse")
    with pytest.raises(ValueError, match="cannot start Adagrad over"):
        models.restart(accumulating, _tiny(1))
