"""tltf.explain: Grad-CAM through a nested base equals a flat model's, and works on Sequential and reloaded
models; integrated gradients is complete; randomised copies really change and leave the model alone; the
cascade, rank correlation, patch order and deletion curves on known cases."""

import keras
import numpy as np
import pytest
from keras import layers

from tltf import explain, models


def _toy_base() -> keras.Model:
    inputs = keras.Input((16, 16, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="c1", bias_initializer="random_normal")(inputs)
    x = layers.Conv2D(6, 3, activation="relu", name="c2", bias_initializer="random_normal")(x)
    return keras.Model(inputs, layers.GlobalAveragePooling2D(name="gap")(x), name="base")


@pytest.fixture(scope="module")
def toys():
    """(nested model: rescaling -> functional base -> Sequential head; the same network built flat; images)."""
    keras.utils.set_random_seed(0)
    base = _toy_base()
    head = keras.Sequential([keras.Input((6,)), layers.Dense(3, activation="softmax", name="dense")], name="head")
    inputs = keras.Input((16, 16, 3))
    nested = keras.Model(inputs, head(base(layers.Rescaling(1 / 255, name="pre")(inputs))), name="nested")
    flat_inputs = keras.Input((16, 16, 3))
    x = layers.Rescaling(1 / 255)(flat_inputs)
    x = layers.Conv2D(4, 3, activation="relu")(x)
    x = layers.Conv2D(6, 3, activation="relu", name="flat_c2")(x)
    flat = keras.Model(flat_inputs, layers.Dense(3, activation="softmax")(layers.GlobalAveragePooling2D()(x)))
    flat.set_weights(nested.get_weights())
    images = np.random.default_rng(0).uniform(0, 255, (6, 16, 16, 3)).astype("float32")
    return nested, flat, images


def test_gradcam_through_a_nested_base_equals_the_flat_models(toys):
    nested, flat, images = toys
    assert explain.last_conv_layer(nested) == "c2"
    maps = explain.gradcam(nested, images)
    # conv -> global average -> Dense: channel k's weight is kernel[k, c] / (h * w), known without a tape
    activations = keras.Model(nested.get_layer("base").inputs, nested.get_layer("base").get_layer("c2").output)
    acts = np.asarray(activations(images / 255))
    kernel = np.asarray(nested.get_layer("head").get_layer("dense").kernel)
    classes = nested.predict(images, verbose=0).argmax(axis=1)
    cam = np.maximum(np.einsum("bhwc,cb->bhw", acts, kernel[:, classes]), 0)
    np.testing.assert_allclose(maps, explain.normalise(explain.upsample(cam, (16, 16))), atol=1e-5)
    assert maps.shape == (6, 16, 16) and maps.min() >= 0 and np.allclose(maps.max(axis=(1, 2)), 1)
    np.testing.assert_allclose(maps, explain.gradcam(flat, images, layer="flat_c2"), atol=1e-5)
    with pytest.raises(ValueError, match="Graph disconnected|not connected"):  # the usual recipe, for contrast
        keras.Model(nested.inputs, [nested.get_layer("base").get_layer("c2").output, nested.output])


def test_gradcam_on_sequential_and_reloaded_models(toys, tmp_path):
    nested, _, images = toys
    expected = explain.gradcam(nested, images)
    sequential = keras.Sequential([layers.Rescaling(1 / 255), nested.get_layer("base"), nested.get_layer("head")])
    np.testing.assert_allclose(explain.gradcam(sequential, images, layer="c2"), expected, atol=1e-5)
    nested.save(tmp_path / "toy.keras")
    reloaded = keras.models.load_model(tmp_path / "toy.keras")
    np.testing.assert_allclose(explain.gradcam(reloaded, images), expected, atol=1e-5)


def test_forward_checks_the_model_and_names_missing_layers(toys):
    nested, _, images = toys
    explain.check_forward(nested, explain.forward(nested, "c1"), images)
    with pytest.raises(ValueError, match="no layer called 'nope'"):
        explain.forward(nested, "nope")
    no_scores = keras.Model(nested.inputs, nested.get_layer("base")(nested.inputs[0]))
    with pytest.raises(ValueError, match="no class scores"):
        explain.forward(no_scores)(images)


def test_forward_leaves_augmentation_off_and_works_on_the_course_classifier():
    base = models.load_backbone("mobilenet_v2", weights=None)
    extractor = models.feature_extractor("mobilenet_v2", base)
    augment = keras.Sequential([layers.RandomFlip(seed=0), layers.RandomRotation(0.2, seed=1)])
    model = models.attach_head(extractor, models.make_head(1280, 5), augment=augment)
    images = np.random.default_rng(1).uniform(0, 255, (2, 224, 224, 3)).astype("float32")
    explain.check_forward(model, explain.forward(model, "out_relu"), images)
    steps = [name for name, _ in explain.cascade(model)]
    assert steps[:3] == ["head", "top", "block_16"] and steps[-1] == "stem" and len(steps) == 20


def test_integrated_gradients_is_exact_for_a_linear_model():
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4, 4, 3))
    linear = keras.Model(inputs, layers.Dense(2, activation="softmax")(layers.Flatten()(inputs)))
    images = np.random.default_rng(2).uniform(0, 255, (3, 4, 4, 3)).astype("float32")
    result = explain.integrated_gradients(linear, images, np.array([0, 1, 0]), steps=2, refine=0)
    kernel = np.asarray(linear.layers[-1].kernel)
    expected = images * kernel[:, [0, 1, 0]].T.reshape(3, 4, 4, 3)
    np.testing.assert_allclose(result.pixels, expected, rtol=1e-4, atol=1e-4)
    assert result.completeness_error.max() < 1e-4 and list(result.points) == [3, 3, 3]


def test_integrated_gradients_refines_until_complete(toys):
    nested, _, images = toys
    equal = explain.integrated_gradients(nested, images, steps=4, refine=0)
    assert equal.completeness_error.max() > 0.01 and list(equal.points) == [5] * 6  # too coarse: refining is needed
    refined = explain.integrated_gradients(nested, images, steps=4, refine=12, halve=8, tolerance=0.01)
    assert refined.completeness_error.max() <= 0.01 + 1e-6 and refined.points.max() > 5
    assert refined.maps.shape == (6, 16, 16)
    with pytest.raises(ValueError, match="at least one step"):
        explain.integrated_gradients(nested, images, steps=0)


def test_layers_of_one_shape_get_different_random_weights():
    twins = keras.Sequential([keras.Input((4,)), layers.Dense(4, name="a"), layers.Dense(4, name="b"), layers.Dense(2)])
    damaged = explain.randomised(twins, ["a", "b"], seed=0)
    assert not np.allclose(damaged.get_layer("a").kernel, damaged.get_layer("b").kernel)


def test_randomised_copy_changes_only_its_layers_and_not_the_model(toys):
    nested, _, images = toys
    before = [w.copy() for w in nested.get_weights()]
    probs = nested.predict(images, verbose=0)
    damaged = explain.randomised(nested, ["dense", "c2"], seed=3)
    assert not np.allclose(
        damaged.get_layer("head").get_layer("dense").kernel, nested.get_layer("head").get_layer("dense").kernel
    )
    assert not np.allclose(explain.find_layer(damaged, "c2").kernel, explain.find_layer(nested, "c2").kernel)
    np.testing.assert_array_equal(explain.find_layer(damaged, "c1").kernel, explain.find_layer(nested, "c1").kernel)
    assert all(np.array_equal(a, b) for a, b in zip(before, nested.get_weights(), strict=True))
    np.testing.assert_array_equal(nested.predict(images, verbose=0), probs)
    assert not np.allclose(damaged.predict(images, verbose=0), probs)


def test_delete_patches_replaces_exactly_the_ordered_patches():
    image, fill = np.zeros((8, 12, 3)), np.ones((8, 12, 3))
    order = np.array([4, 0, 1, 2, 3, 5])  # 4-px patches, 2 rows x 3 columns: number 4 is row 1, column 1
    first = explain.delete_patches(image, fill, order, 1, 4)
    assert first.sum() == 4 * 4 * 3 and first[4:8, 4:8].min() == 1
    assert explain.delete_patches(image, fill, order, 6, 4).min() == 1
    np.testing.assert_array_equal(explain.delete_patches(image, fill, order, 0, 4), image)


def test_rank_correlation_patch_order_and_border_cases():
    a = np.arange(16, dtype=float).reshape(1, 4, 4)
    assert explain.rank_correlation(a, a)[0] == pytest.approx(1)
    assert explain.rank_correlation(a, -a)[0] == pytest.approx(-1)
    assert explain.rank_correlation(a, np.zeros_like(a))[0] == 0
    assert list(explain.constant(np.stack([a[0], np.zeros((4, 4))]))) == [False, True]
    hot = np.zeros((1, 4, 4))
    hot[0, 2:, :2] = 1  # the bottom-left 2 x 2 patch
    assert explain.patch_order(hot, 2)[0, 0] == 2
    with pytest.raises(ValueError, match="does not split"):
        explain.patch_order(hot, 3)


def test_deletion_curve_runs_from_the_image_to_the_fill(toys):
    nested, _, images = toys
    classes = explain.predicted(nested, images)
    order = np.tile(np.arange(16), (6, 1))
    fill = np.full_like(images, 127.5)
    curves = explain.deletion_curves(nested, images, order, classes, patch=4, steps=4, fill=fill)
    probs, filled = nested.predict(images, verbose=0), nested.predict(fill, verbose=0)
    assert curves.shape == (6, 5)
    np.testing.assert_allclose(curves[:, 0], probs[np.arange(6), classes], atol=1e-6)
    np.testing.assert_allclose(curves[:, -1], filled[np.arange(6), classes], atol=1e-6)
    assert np.allclose(explain.curve_area(np.ones((2, 5))), 1) and np.allclose(explain.curve_area(np.zeros((2, 5))), 0)
