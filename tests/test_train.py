"""tltf.train: reproducibility, feature caching, attaching the head, callbacks."""

import keras
import numpy as np
import pytest

from tltf import data, models, train


def small_problem(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 16)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64")
    return (x[:80], y[:80]), (x[80:], y[80:])


def test_same_seed_same_metrics():
    runs = []
    for _ in range(2):
        train.seed_everything(7)
        head = models.make_head(16, 2, dropout=0.3)
        history = train.train_head(head, *small_problem(), epochs=5, patience=10)
        runs.append([history.history[k] for k in ("loss", "val_loss", "val_accuracy")])
    assert runs[0] == runs[1]


def test_early_stopping_restores_best_weights_and_checkpoints(tmp_path):
    train.seed_everything(0)
    head = models.make_head(16, 2)
    history = train.train_head(
        head, *small_problem(), epochs=200, patience=3, learning_rate=0.05, checkpoint=tmp_path / "best.keras"
    )
    val_losses = history.history["val_loss"]
    assert len(val_losses) < 200 and len(history.history["epoch_seconds"]) == len(val_losses)
    _, val = small_problem()
    best = keras.models.load_model(tmp_path / "best.keras")
    np.testing.assert_allclose(best.evaluate(*val, verbose=0)[0], min(val_losses), rtol=1e-4)
    np.testing.assert_allclose(head.evaluate(*val, verbose=0)[0], min(val_losses), rtol=1e-4)


def test_time_budget_stops_training():
    model = models.make_head(16, 2)
    model.compile("adam", "sparse_categorical_crossentropy")
    (x, y), _ = small_problem()
    history = model.fit(x, y, epochs=10_000, batch_size=8, callbacks=[train.TimeBudget(1.0)], verbose=0)
    assert len(history.history["loss"]) < 10_000


def test_views_need_augmentation():
    with pytest.raises(ValueError, match="augment"):
        train.extract_features(models.make_head(16, 2), [], views=3)


def test_cached_head_and_end_to_end_model_predict_the_same(quick_flowers):
    """The lesson's central claim: train on cached features, attach, get the same model."""
    train.seed_everything(1)
    splits = quick_flowers
    extractor = models.feature_extractor("mobilenet_v2")
    train_ds = data.make_dataset(splits.train, (224, 224))
    test_ds = data.make_dataset(splits.test, (224, 224))
    x_train, y_train = train.extract_features(extractor, train_ds, augment=data.augmentation(1), views=2)
    assert x_train.shape == (2 * len(splits.train), 1280)
    assert y_train.tolist() == 2 * splits.train.labels.tolist()
    val_xy = train.extract_features(extractor, data.make_dataset(splits.val, (224, 224)))
    x_test, _ = train.extract_features(extractor, test_ds)
    head = models.make_head(1280, 5)
    train.train_head(head, (x_train, y_train), val_xy, epochs=3)
    end_to_end = models.attach_head(extractor, head)
    np.testing.assert_allclose(end_to_end.predict(test_ds, verbose=0), head.predict(x_test, verbose=0), atol=1e-5)


def test_fine_tune_trains_a_frozen_sub_model_from_arrays():
    import keras
    import numpy as np

    from tltf import train

    inputs = keras.Input((4,))
    inner = keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))
    inner.trainable = False
    model = keras.Model(inner.input, keras.layers.Dense(2, activation="softmax")(inner.output))
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    before = inner.get_weights()[0].copy()
    history, report = train.fine_tune(model, model, (x, y), (x, y), blocks=None, fraction=1.0, epochs=2, peak_lr=1e-2)
    assert len(history.history["val_accuracy"]) == 2 and len(history.history["epoch_seconds"]) == 2
    assert len(model.trainable_weights) == 4 and report.trainable_params == 4 * 8 + 8 + 8 * 2 + 2
    assert not np.allclose(before, inner.get_weights()[0])
