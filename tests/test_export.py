"""tltf.export: every LiteRT format of a small trained CNN agrees with Keras, full int8 takes and gives uint8,
no file holds a Flex operation, and bad requests get plain errors."""

import keras
import numpy as np
import pytest
from keras import layers

from tltf import export


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(a small CNN trained to tell red from green from blue images, its SavedModel folder, test images)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 40)
    images = rng.uniform(0, 120, (120, 16, 16, 3)).astype("float32")
    images[np.arange(120), :, :, labels] += 120  # the class's colour is brighter
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            layers.Rescaling(1 / 127.5, offset=-1),
            layers.Conv2D(32, 3, activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(
                1024, activation="relu"
            ),  # enough weights that the sizes show the formats (per-channel scales add)
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, epochs=30, verbose=0)
    folder = export.saved_model(model, tmp_path_factory.mktemp("export") / "saved")
    return model, folder, images


@pytest.fixture(scope="module")
def files(trained):
    _, folder, images = trained
    return {kind: export.to_litert(folder, kind, images[::4]) for kind in export.FORMATS}


def test_every_format_agrees_with_keras(trained, files):
    model, _, images = trained
    reference = model.predict(images, verbose=0)
    assert (reference.argmax(axis=1) == np.repeat(np.arange(3), 40)).mean() > 0.95  # the toy learned its task
    float32 = export.LiteModel(files["float32"]).predict(images)
    np.testing.assert_allclose(float32, reference, atol=1e-5)
    np.testing.assert_allclose(export.LiteModel(files["float16"]).predict(images), reference, atol=1e-2)
    for kind in ("dynamic", "int8"):
        assert export.agreement(export.LiteModel(files[kind]).predict(images), reference) >= 0.95, kind


def test_full_int8_takes_and_gives_uint8_and_is_smaller(trained, files):
    lite = export.LiteModel(files["int8"])
    assert lite.input_type == np.uint8 and lite.output_type == np.uint8
    brightest = trained[2][::4].max()  # the calibration images span 0..brightest: one step is brightest / 255
    assert lite.input["quantization"][0] == pytest.approx(brightest / 255, rel=0.02)
    assert len(files["int8"]) < 0.5 * len(files["float32"]) and len(files["float16"]) < 0.6 * len(files["float32"])


def test_no_file_holds_a_flex_operation(files):
    for kind, content in files.items():
        names = export.operations(content)
        assert names and not [n for n in names if n.startswith("Flex")], kind
    assert "CONV_2D" in export.operations(files["float32"])


def test_latency_is_measured_after_warm_up(trained, files):
    _, _, images = trained
    latency = export.LiteModel(files["float32"]).latency_ms(images[0], repeats=5, warmup=2)
    assert set(latency) == {"median", "q25", "q75"} and 0 < latency["q25"] <= latency["median"] <= latency["q75"]


def test_bad_requests_are_refused_in_plain_words(trained):
    _, folder, _ = trained
    with pytest.raises(ValueError, match="unknown LiteRT format 'int4'"):
        export.to_litert(folder, "int4")
    with pytest.raises(ValueError, match="representative images"):
        export.to_litert(folder, "int8")
    assert export.agreement(np.eye(3), np.eye(3)[[0, 2, 1]]) == pytest.approx(1 / 3)


def test_for_inference_drops_augmentation_and_dropout_and_converts_without_flex(tmp_path):
    keras.utils.set_random_seed(1)
    augment = keras.Sequential([layers.RandomFlip(seed=0), layers.RandomRotation(0.2, seed=1)], name="augmentation")
    inner = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3), layers.GlobalAveragePooling2D()])
    head = keras.Sequential([keras.Input((4,)), layers.Dropout(0.3), layers.Dense(2, activation="softmax")])
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, head(inner(augment(inputs))))
    images = np.random.default_rng(0).uniform(0, 255, (5, 8, 8, 3)).astype("float32")
    with pytest.raises(Exception, match="Flex|TF Select|not supported"):  # the random operations need Flex
        export.to_litert(export.saved_model(model, tmp_path / "raw"), "float32")
    clean = export.for_inference(model)
    kinds = {type(layer).__name__ for layer in clean.get_layer("augmentation").layers}
    assert kinds == {"Identity"} and type(model.get_layer("augmentation").layers[0]).__name__ == "RandomFlip"
    np.testing.assert_allclose(clean.predict(images, verbose=0), model.predict(images, verbose=0), atol=1e-6)
    content = export.to_litert(export.saved_model(clean, tmp_path / "clean"), "float32")
    np.testing.assert_allclose(export.LiteModel(content).predict(images), model.predict(images, verbose=0), atol=1e-5)


def test_for_inference_leaves_the_optimizer_behind(trained, tmp_path):
    model = trained[0]  # compiled and trained: its .keras file holds Adam's moments
    model.save(tmp_path / "trained.keras")
    clean = export.for_inference(model)
    clean.save(tmp_path / "clean.keras")
    assert not clean.compiled and export.size_mb(tmp_path / "clean.keras") < 0.5 * export.size_mb(
        tmp_path / "trained.keras"
    )


def test_throughput_counts_every_batch_and_leaves_the_model_as_it_was(trained, files, monkeypatch):
    _, _, images = trained
    lite = export.LiteModel(files["int8"])
    before = lite.predict(images[:3])
    ticks = iter(range(100))
    monkeypatch.setattr(export.time, "perf_counter", lambda: next(ticks))  # each timed stretch lasts 1 s
    assert lite.throughput(images[:37], batch=8, threads=1) == 40  # 4 full batches + 5 images padded to 8
    monkeypatch.undo()
    np.testing.assert_array_equal(lite.predict(images[:3]), before)
    assert tuple(lite.interpreter.get_input_details()[0]["shape"]) == (1, 16, 16, 3)


def test_size_of_a_file_and_of_a_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.bin").write_bytes(b"x" * 2**19)
    (tmp_path / "sub" / "b.bin").write_bytes(b"x" * 2**19)
    assert export.size_mb(tmp_path / "a.bin") == 0.5 and export.size_mb(tmp_path) == 1.0


def test_keras_quantize_reaches_dense_layers_only(trained):
    model = keras.models.clone_model(trained[0])
    model.set_weights(trained[0].get_weights())
    model.quantize("int8")
    assert export.quantized_layers(model) == [layer.name for layer in model.layers if isinstance(layer, layers.Dense)]
    nested = keras.Sequential([keras.Input((4,)), keras.Sequential([keras.Input((4,)), layers.Dense(2)], name="inner")])
    nested.quantize("int8")
    assert export.quantized_layers(nested) == [nested.layers[0].layers[0].name]


def test_per_tensor_int8_spends_fewer_bytes_on_scales(trained, files):
    _, folder, images = trained
    per_tensor = export.to_litert(folder, "int8", images[::4], per_channel=False)
    assert export.quantization_bytes(files["float32"]) == 0
    assert export.quantization_bytes(per_tensor) < export.quantization_bytes(files["int8"])
    assert len(per_tensor) < len(files["int8"])


def test_keras_latency_is_timed_in_its_own_process(trained, tmp_path):
    trained[0].save(tmp_path / "toy.keras")
    latency = export.keras_latency_ms(tmp_path / "toy.keras", repeats=5, warmup=2)
    assert 0 < latency["q25"] <= latency["median"] <= latency["q75"]
    with pytest.raises(RuntimeError, match="timing .*missing.keras failed"):
        export.keras_latency_ms(tmp_path / "missing.keras", repeats=1)
