"""tltf.hub_layer: hub modules as Keras 3 layers (Sequential, functional, fine-tuning, saving) and the
locally built MobileNetV2 module."""

import urllib.error

import keras
import numpy as np
import pytest

from tltf import hub_layer


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return hub_layer.build_demo_module(tmp_path_factory.mktemp("hub") / "demo")


X = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
Y = np.random.default_rng(1).normal(size=(32, 1)).astype("float32")


def test_in_sequential_and_functional_models(demo):
    sequential = keras.Sequential([keras.Input((3,)), hub_layer.HubLayer(demo)])
    inputs = keras.Input((3,))
    functional = keras.Model(inputs, keras.layers.Dense(1)(hub_layer.HubLayer(demo)(inputs)))
    np.testing.assert_allclose(sequential.predict(X, verbose=0), X @ np.ones((3, 2)), rtol=1e-6)
    assert functional.output_shape == (None, 1)


def test_fine_tuning_updates_the_module_and_freezing_does_not(demo):
    for trainable in (True, False):
        layer = hub_layer.HubLayer(demo, trainable=trainable)
        model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        before = [w.numpy().copy() for w in layer.weights]
        model.fit(X, Y, epochs=2, verbose=0)
        moved = [not np.array_equal(w.numpy(), b) for w, b in zip(layer.weights, before, strict=True)]
        assert moved == ([True, True, False] if trainable else [False, False, False])  # w, b, scale
        assert len(layer.trainable_weights) == (2 if trainable else 0) and len(layer.weights) == 3


def test_saved_and_reloaded_model_predicts_the_same_fine_tuned_weights(demo, tmp_path):
    model = keras.Sequential([keras.Input((3,)), hub_layer.HubLayer(demo, trainable=True), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(X, Y, epochs=3, verbose=0)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(reloaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert reloaded.layers[0].trainable


def test_missing_module_offline_names_the_handle(monkeypatch, tmp_path):
    import tensorflow_hub

    with pytest.raises(hub_layer.HubError, match="nowhere"):
        hub_layer.HubLayer(tmp_path / "nowhere")

    def offline(handle):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(tensorflow_hub, "resolve", offline)
    with pytest.raises(hub_layer.HubError, match="mobilenet_v2_100_224/feature_vector/5.*TFHUB_CACHE_DIR"):
        hub_layer.HubLayer(hub_layer.MOBILENET_V2_HANDLE)


def test_built_module_is_labelled_and_matches_keras_mobilenet_v2(mobilenet_module, capsys):
    layer = hub_layer.HubLayer(mobilenet_module)
    assert "locally built" in capsys.readouterr().out
    images = np.random.default_rng(0).uniform(0, 1, (4, 224, 224, 3)).astype("float32")
    base = keras.applications.MobileNetV2(
        include_top=False, weights="imagenet", input_shape=(224, 224, 3), pooling="avg"
    )
    features = np.asarray(layer(images))
    assert features.shape == (4, 1280)
    np.testing.assert_allclose(features, np.asarray(base(images * 2 - 1)), atol=1e-4)
    assert len(layer.weights) == len(base.weights)
