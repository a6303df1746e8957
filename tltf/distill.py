"""Knowledge distillation (Hinton, Vinyals and Dean, 2015): a small *student* learns from a large *teacher*'s
probabilities, softened by a temperature, instead of from the labels alone. The teacher's probabilities say
more than a label: how much a daisy looks like a dandelion.

Here the student's pre-trained backbone stays frozen, so the student is a head on its features, and the
teacher and the student see the same augmented views of each training image (a "consistent" teacher, Beyer et
al., CVPR 2022). Keras has no distillation API; the loss is plain cross-entropy against soft targets, so
this module only runs teacher and student on the same views, softens the targets and trains the head.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm


def views(
    teacher: keras.Model,
    student: keras.Model,
    dataset: tf.data.Dataset,
    *,
    augment: keras.layers.Layer | None = None,
    views: int = 1,
    progress: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run the teacher and the student's feature extractor on the same images: ``dataset`` of ([0, 255]
    images, labels) batches, passed ``views`` times (the first as it is, the others through ``augment``).

    Returns (student features (n * views, d), teacher probabilities (n * views, classes), labels (n * views,)).
    """
    if views > 1 and augment is None:
        raise ValueError("views > 1 needs an augment layer: un-augmented views would be identical.")
    transform = tf.function(lambda images: augment(images, training=True)) if views > 1 else None
    batches = int(dataset.cardinality())
    bar = tqdm(total=views * batches if batches > 0 else None, desc=progress, unit="batch", disable=progress is None)
    features, probs, labels = [], [], []
    for view in range(views):
        for images, y in dataset:
            images = transform(images) if view > 0 else images
            features.append(student.predict_on_batch(images))
            probs.append(teacher.predict_on_batch(images))
            labels.append(np.asarray(y))
            bar.update()
    bar.close()
    return np.concatenate(features), np.concatenate(probs), np.concatenate(labels)


def soften(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities (n, classes) at ``temperature``: softmax(log(p) / T), rows summing to 1. T = 1 keeps
    them; a higher T flattens them, so that the small probabilities (the "dark knowledge") weigh more."""
    if temperature <= 0:
        raise ValueError(f"the temperature must be positive, got {temperature}")
    logits = np.log(np.clip(np.asarray(probs, "float64"), 1e-12, None)) / temperature
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1)).astype("float32")


def train_student(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    temperature: float = 1.0,
    epochs: int = 30,
    learning_rate: float = 1e-3,
    batch_size: int = 32,
    dropout: float = 0.2,
    seed: int = 0,
) -> keras.Sequential:
    """A head (features (n, d) -> probabilities (n, classes)) trained for exactly ``epochs`` epochs (the same
    budget whatever the targets: no early stopping) on ``targets`` (n, classes): one-hot labels, or the
    teacher's probabilities softened at ``temperature``. While training, the head's logits are divided by
    ``temperature`` too (Hinton et al.); the returned head, for use, applies a plain softmax (the same top
    class). Seeds Keras (``keras.utils.set_random_seed(seed)``)."""
    keras.utils.set_random_seed(seed)
    drop, dense = keras.layers.Dropout(dropout), keras.layers.Dense(targets.shape[1], name="logits")
    inputs = keras.Input((features.shape[1],), name="features")
    fitted = keras.Model(inputs, keras.layers.Softmax()(dense(drop(inputs)) / temperature))
    fitted.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy")
    fitted.fit(features, targets, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0)
    return keras.Sequential([inputs, drop, dense, keras.layers.Softmax()], name="student_head")
