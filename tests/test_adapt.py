"""Label-free adaptation (tltf.adapt): BatchNorm re-estimation and TENT change only what they should."""

import gc
import weakref

import keras
import numpy as np
import pytest

from tltf import adapt


def _model(seed: int = 0) -> keras.Model:
    """Conv -> BatchNorm -> pooling -> a head with dropout; the BatchNorm layer frozen, as in transfer."""
    keras.utils.set_random_seed(seed)
    inner = keras.Sequential(
        [
            keras.Input((8, 8, 3)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.BatchNormalization(),
            keras.layers.ReLU(),
        ],
        name="inner",
    )
    inner.layers[1].trainable = False
    head = keras.Sequential([keras.layers.GlobalAveragePooling2D(), keras.layers.Dropout(0.5), keras.layers.Dense(3)])
    return keras.Sequential([keras.Input((8, 8, 3)), inner, head, keras.layers.Softmax()])


def _images(n: int, shift: float = 100.0, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).normal(shift, 30.0, (n, 8, 8, 3))).astype("float32")


def _unchanged(before: list, after: list, names: list[str], *, except_: tuple[str, ...]) -> list[str]:
    """Names of the weights outside ``except_`` that differ."""
    return [
        n for b, a, n in zip(before, after, names, strict=True) if not n.endswith(except_) and not np.allclose(b, a)
    ]


def test_batchnorm_layers_finds_nested_layers_once():
    model = _model()
    found = adapt.batchnorm_layers(model)
    assert [layer.name for layer in found] == [model.layers[0].layers[1].name]
    inner = model.layers[0]
    twice = keras.Sequential([keras.Input((8, 8, 3)), inner, keras.layers.Conv2D(3, 1, padding="same"), model])
    assert adapt.batchnorm_layers(twice) == found  # the shared layer counts once


def test_reestimate_sets_the_moving_statistics_to_the_target_images_and_nothing_else():
    model = _model()
    conv, bn = model.layers[0].layers[:2]
    names = [w.path for w in model.weights]
    before = model.get_weights()
    images = _images(50)
    assert adapt.reestimate_batchnorm(model, images, batch_size=20) == 1  # batches of 20, 20 and 10
    inputs = keras.ops.convert_to_numpy(conv(images))  # what the BatchNorm layer reads
    batches = [inputs[:20], inputs[20:40], inputs[40:]]
    weights = np.array([20, 20, 10]) / 50
    mean = sum(w * b.mean(axis=(0, 1, 2)) for w, b in zip(weights, batches, strict=True))
    var = sum(w * b.var(axis=(0, 1, 2)) for w, b in zip(weights, batches, strict=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), mean, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance), var, rtol=1e-3)
    assert _unchanged(before, model.get_weights(), names, except_=("moving_mean", "moving_variance")) == []
    assert not bn.trainable and bn.momentum == 0.99  # flags and momentum restored
    with pytest.raises(ValueError, match="no images"):
        adapt.reestimate_batchnorm(model, images[:0])


def test_reestimation_moves_predictions_toward_the_shifted_domain():
    model = _model()
    source, target = _images(64, 100.0, seed=1), _images(64, 30.0, seed=2)
    adapt.reestimate_batchnorm(model, source)
    on_source = model.predict(source, verbose=0)
    adapt.reestimate_batchnorm(model, target)
    # after re-estimation the shifted images are normalised like the source ones were
    assert abs(model.predict(target, verbose=0).mean(axis=0) - on_source.mean(axis=0)).max() < 0.05


def test_tent_trains_only_the_batchnorm_scale_and_shift_and_lowers_the_entropy():
    model = _model()
    names = [w.path for w in model.weights]
    images = _images(64)
    adapt.reestimate_batchnorm(model, images)
    before = model.get_weights()
    losses = adapt.tent(model, images, epochs=20, learning_rate=1e-2, batch_size=32)
    assert len(losses) == 40 and losses[-1] < losses[0]
    assert _unchanged(before, model.get_weights(), names, except_=("gamma", "beta")) == []
    bn = model.layers[0].layers[1]
    assert not np.allclose(keras.ops.convert_to_numpy(bn.gamma), before[names.index(bn.gamma.path)])
    assert not bn.trainable


def test_entropy_is_zero_for_one_hot_and_log_k_for_uniform():
    assert float(adapt.entropy(np.eye(3, dtype="float32"))) == pytest.approx(0.0, abs=1e-6)
    assert float(adapt.entropy(np.full((2, 4), 0.25, dtype="float32"))) == pytest.approx(np.log(4), rel=1e-6)


def test_each_model_is_traced_once_for_every_batch_size_and_not_kept_alive_by_its_traces():
    model = _model()
    images = _images(40)
    for _ in range(2):  # batches of 16, 16 and 8, twice: the second call reuses the first one's traces
        adapt.reestimate_batchnorm(model, images, batch_size=16)
        adapt.tent(model, images, batch_size=16)
    traced = adapt._COMPILED[model]
    assert len(traced) == 2 and all(f.experimental_get_tracing_count() == 1 for f in traced.values())
    alive = weakref.ref(model)
    del model, traced
    gc.collect()
    assert alive() is None  # its traces went with it


def test_statistics_kept_after_reestimation_are_put_back_exactly():
    model = _model()
    images, before = _images(40, 30.0), model.get_weights()
    adapt.reestimate_batchnorm(model, images)
    kept, adapted = adapt.batchnorm_statistics(model), model.predict(images, verbose=0)
    model.set_weights(before)
    adapt.set_batchnorm_statistics(model, kept)
    np.testing.assert_array_equal(model.predict(images, verbose=0), adapted)
    with pytest.raises(ValueError, match="another model"):
        adapt.set_batchnorm_statistics(model, kept[:1])
