"""Fine-tuning tools: unfreezing, discriminative learning rates, warm-up + cosine, the LR finder."""

import keras
import numpy as np
import pytest

from tltf import models, train


@pytest.fixture(scope="module")
def mobilenet():
    return models.load_backbone("mobilenet_v2", weights=None)


def batchnorm(layer):
    return isinstance(layer, keras.layers.BatchNormalization)


def test_block_names_follow_each_family():
    assert models.block_of("block_16_project_BN") == "block_16"
    assert models.block_of("expanded_conv_depthwise") == "expanded_conv"
    assert models.block_of("conv5_block3_2_conv") == "conv5_block3"
    assert models.block_of("block7a_project_conv") == "block7a"
    assert models.block_of("conv_pw_13_relu") == "13"
    assert models.block_of("Conv_1") is None and models.block_of("out_relu") is None


def test_unfreeze_last_blocks_selects_exactly_those_layers(mobilenet):
    report = models.unfreeze(mobilenet, blocks=2)
    names = [layer.name for layer in mobilenet.layers]
    start = names.index("block_15_expand")
    for i, layer in enumerate(mobilenet.layers):
        assert layer.trainable == (i >= start and not batchnorm(layer)), layer.name
    assert report.trainable_layers[0] == "block_15_expand" and "Conv_1" in report.trainable_layers
    assert report.batchnorm_frozen == sum(batchnorm(layer) for layer in mobilenet.layers[start:])
    total = models.count_params(mobilenet.weights)
    assert report.trainable_params + report.frozen_params == total
    assert report.trainable_params == models.count_params(
        [w for layer in mobilenet.layers[start:] if not batchnorm(layer) for w in layer.weights]
    )


@pytest.mark.parametrize("option, expected_start", [({"layers": 10}, 145), ({"fraction": 0.5}, 155 - 78)])
def test_unfreeze_by_layers_or_fraction(mobilenet, option, expected_start):
    models.unfreeze(mobilenet, **option)
    trainable = [i for i, layer in enumerate(mobilenet.layers) if layer.trainable]
    assert min(trainable) >= expected_start
    assert all(
        mobilenet.layers[i].trainable or batchnorm(mobilenet.layers[i]) or not mobilenet.layers[i].weights
        for i in range(expected_start, len(mobilenet.layers))
    )


def test_unfreeze_works_on_another_family():
    resnet = models.load_backbone("resnet50", weights=None)
    report = models.unfreeze(resnet, blocks=1)
    assert report.trainable_layers[0] == "conv5_block3_1_conv"
    assert all(
        not layer.trainable for layer in resnet.layers if layer.weights and not layer.name.startswith("conv5_block3")
    )
    assert all(not layer.trainable for layer in resnet.layers if batchnorm(layer))
    assert models.unfreeze(resnet, blocks=1, train_batchnorm=True).batchnorm_frozen == 0


def test_unfreeze_rejects_unclear_requests(mobilenet):
    with pytest.raises(ValueError, match="exactly one"):
        models.unfreeze(mobilenet, blocks=1, layers=3)
    with pytest.raises(ValueError, match="17 blocks"):
        models.unfreeze(mobilenet, blocks=40)
    with pytest.raises(ValueError, match="no recognised blocks"):
        models.unfreeze(models.load_backbone("inception_v3", weights=None), blocks=1)


def test_unfrozen_base_keeps_batchnorm_in_inference_mode_unless_told(mobilenet):
    """Keras 3: fit's training=True overrides training=False in the graph; frozen BN layers are
    what keep the ImageNet statistics, so unfreeze() keeps them frozen by default."""
    images = np.random.default_rng(0).uniform(0, 255, (4, 224, 224, 3)).astype("float32")
    extractor = models.feature_extractor("mobilenet_v2", mobilenet)  # base(x, training=False) inside
    models.unfreeze(mobilenet, blocks=2)
    np.testing.assert_allclose(extractor(images, training=True), extractor(images, training=False), atol=1e-5)
    models.unfreeze(mobilenet, blocks=2, train_batchnorm=True)
    trained, inferred = np.asarray(extractor(images, training=True)), np.asarray(extractor(images, training=False))
    assert np.abs(trained - inferred).mean() > 0.5 * np.abs(inferred).mean()


def test_discriminative_rates_scale_each_layers_step():
    keras.utils.set_random_seed(0)  # the initial weights, whatever ran before in this worker
    early, late = keras.layers.Dense(8, name="early"), keras.layers.Dense(3, name="late")
    model = keras.Sequential([keras.Input((5,)), early, late])
    model.compile(
        optimizer=train.DiscriminativeAdam(1e-2, multipliers=[(early.trainable_weights, 0.1)]),
        loss="sparse_categorical_crossentropy",
    )
    before = [w.numpy() for w in model.trainable_weights]
    x = np.random.default_rng(0).normal(size=(16, 5)).astype("float32")
    model.train_on_batch(x, np.arange(16) % 3)
    steps = [np.abs(w.numpy() - b).mean() for w, b in zip(model.trainable_weights, before, strict=True)]
    # Adam's first step moves every weight by about the learning rate (times the factor).
    np.testing.assert_allclose(steps[0], 1e-3, rtol=0.05)  # early kernel
    np.testing.assert_allclose(steps[2], 1e-2, rtol=0.05)  # late kernel


def test_layer_groups_go_bottom_to_top(mobilenet):
    models.unfreeze(mobilenet, blocks=4)
    groups = train.layer_groups(mobilenet, (0.1, 0.3))
    assert [factor for _, factor in groups] == [0.1, 0.3]
    flat = [id(w) for variables, _ in groups for w in variables]
    assert flat == [id(w) for w in mobilenet.trainable_weights]


def test_warmup_then_cosine():
    schedule = train.warmup_cosine(1e-3, total_steps=100, warmup_steps=10)
    rates = [float(schedule(step)) for step in (0, 5, 10, 55, 100)]
    assert rates[0] == pytest.approx(1e-5) and rates[1] < rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=0.05) and rates[4] == pytest.approx(0, abs=1e-9)


def test_lr_finder_suggests_a_rate_inside_its_range_and_restores_weights():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(512, 10)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    train.seed_everything(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = [w.numpy() for w in model.weights]
    result = train.lr_range_test(model, data, min_lr=1e-5, max_lr=100.0, steps=200)
    assert 1e-5 <= result.suggestion <= 100.0
    assert len(result.lrs) < 200  # the loss blew up at high rates and the test stopped
    assert min(result.losses) < result.losses[0]
    assert all(np.array_equal(w.numpy(), b) for w, b in zip(model.weights, before, strict=True))
