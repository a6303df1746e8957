"""tltf.distill: softened targets, a student head trained on them, and teacher and student on the same views."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tltf import distill


def test_soften_keeps_flattens_and_refuses():
    probs = np.array([[0.7, 0.2, 0.1], [0.98, 0.01, 0.01]], "float32")
    np.testing.assert_allclose(distill.soften(probs, 1.0), probs, atol=1e-6)
    warm = distill.soften(probs, 4.0)
    np.testing.assert_allclose(warm.sum(axis=1), 1, atol=1e-6)
    assert np.all(warm.max(axis=1) < probs.max(axis=1)) and np.all(warm.argmax(axis=1) == probs.argmax(axis=1))
    with pytest.raises(ValueError, match="temperature must be positive"):
        distill.soften(probs, 0)


def test_a_student_learns_soft_targets_and_serves_plain_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 300)
    features = rng.normal(0, 1, (300, 8)).astype("float32")
    features[np.arange(300), labels] += 3
    targets = distill.soften(np.eye(3)[labels] * 0.9 + 0.1 / 3, 2.0)
    head = distill.train_student(features, targets, temperature=2.0, epochs=20, learning_rate=1e-2, seed=0)
    probs = head.predict(features, verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == labels).mean() > 0.9
    again = distill.train_student(features, targets, temperature=2.0, epochs=20, learning_rate=1e-2, seed=0)
    np.testing.assert_allclose(again.predict(features, verbose=0), probs, atol=1e-5)  # seeded


def test_teacher_and_student_see_the_same_augmented_views():
    images = np.random.default_rng(1).uniform(0, 255, (6, 8, 8, 3)).astype("float32")
    dataset = tf.data.Dataset.from_tensor_slices((images, np.arange(6))).batch(4)
    student = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D()])
    teacher = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Softmax()])
    augment = keras.layers.RandomBrightness(0.5, seed=0)
    features, probs, labels = distill.views(teacher, student, dataset, augment=augment, views=3)
    assert features.shape == (18, 3) and probs.shape == (18, 3)
    np.testing.assert_array_equal(labels, np.tile(np.arange(6), 3))
    np.testing.assert_allclose(probs, keras.ops.convert_to_numpy(keras.ops.softmax(features)), atol=1e-5)
    assert not np.allclose(features[:6], features[6:12])  # the second view is augmented
    with pytest.raises(ValueError, match="augment"):
        distill.views(teacher, student, dataset, views=2)
