"""tltf.loop: the one training loop on arrays, its seeded epoch orders and its early stopping."""

import keras
import numpy as np
import pytest

from tltf import loop


def test_an_epoch_order_repeats_a_small_set_and_depends_on_the_seed_and_the_epoch():
    order = loop.epoch_order(10, 32, seed=0, epoch=0)
    assert len(order) == 32 and np.bincount(order).min() == 3
    assert np.array_equal(order, loop.epoch_order(10, 32, seed=0, epoch=0))
    assert not np.array_equal(order, loop.epoch_order(10, 32, seed=0, epoch=1))
    assert not np.array_equal(order, loop.epoch_order(10, 32, seed=1, epoch=0))
    assert sorted(loop.epoch_order(50, 32, seed=0, epoch=0)) == list(range(50))
    assert loop.steps_per_epoch(10, 64) == 2 and loop.steps_per_epoch(100, 64) == 4


def _model() -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.5), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_early_stopping_keeps_the_best_epoch_and_last_keeps_the_last():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    val = (x, 1 - y)  # validation labels flipped: the better it learns, the worse validation gets
    make = loop.rows_by_epoch(x, y, np.arange(64), 64, seed=0)
    best = loop.fit_epochs(_model(), make, val, epochs=10, patience=2)
    assert best.kept == 0 and best.epochs == 3  # worse after the first epoch; stopped 2 epochs later
    model = _model()
    last = loop.fit_epochs(model, make, val, epochs=4, keep="last")
    assert last.kept == 3 and len(last.history["seconds"]) == 4
    np.testing.assert_allclose(model.predict(x, verbose=0), last.val_probs[-1], atol=1e-6)
    assert last.history["val_accuracy"][-1] == np.mean(last.val_probs[-1].argmax(1) == val[1])
    with pytest.raises(ValueError, match="monitor"):
        loop.fit_epochs(model, make, val, epochs=1, monitor="loss")
