"""The course models (tltf.course_models): trained once into $TLTF_CACHE/models with their record, loaded
afterwards, a new key for a new recipe, mode or code, and an unreadable file reported and replaced."""

import contextlib
import io
import json

import keras
import numpy as np
import pytest

from tltf import course_models, data


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mirror):
    """The quick flowers model trained once into an empty $TLTF_CACHE: (model, what it printed, folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TLTF_CACHE", str(tmp_path_factory.mktemp("cache")))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            model = course_models.flowers_model()
        yield model, printed.getvalue(), course_models.models_dir()


def test_first_call_trains_and_saves_the_model_with_its_record(trained):
    _, printed, folder = trained
    key = course_models.model_key(course_models.flowers_recipe(), course_models.code_hash(course_models.FLOWERS_CODE))
    assert sorted(p.name for p in folder.iterdir()) == [f"flowers-{key}.json", f"flowers-{key}.keras"]
    assert "trained" in printed and str(folder / f"flowers-{key}.keras") in printed
    info = json.loads((folder / f"flowers-{key}.json").read_text(encoding="utf-8"))
    assert info["recipe"] == course_models.flowers_recipe() and info["seed"] == 42 and info["mode"] == "quick"
    assert info["commit"] is None or isinstance(info["commit"], str)
    assert 0 <= info["val_acc"] <= 1 and 0 <= info["test_acc"] <= 1 and info["date"]
    assert course_models.saved_info("flowers") == info and course_models.saved_info("xray") == {}
    assert course_models.saved_path("flowers") == folder / f"flowers-{key}.keras"


def test_second_call_loads_the_same_model(trained, quick_flowers, capsys):
    first, _, folder = trained
    second = course_models.flowers_model()  # still inside the fixture's $TLTF_CACHE
    assert f"loaded {folder}" in capsys.readouterr().out
    images, _ = next(iter(data.make_dataset(quick_flowers.test.take(np.arange(4)), (224, 224))))
    np.testing.assert_allclose(second.predict(images, verbose=0), first.predict(images, verbose=0), atol=1e-6)
    assert second.output_shape == (None, 5)


def test_the_key_changes_with_the_recipe_the_mode_and_the_code(monkeypatch):
    recipe, code = course_models.flowers_recipe(), course_models.code_hash(course_models.FLOWERS_CODE)
    key = course_models.model_key(recipe, code)
    assert key == course_models.model_key(dict(reversed(recipe.items())), code)  # order does not matter
    assert key != course_models.model_key({**recipe, "peak_lr": 2e-4}, code)
    assert key != course_models.model_key(recipe, course_models.code_hash(course_models.XRAY_CODE))
    monkeypatch.setenv("TLTF_MODE", "lesson")
    assert course_models.flowers_recipe()["views"] == 6
    assert key != course_models.model_key(course_models.flowers_recipe(), code)
    lesson_xray = course_models.xray_recipe()
    monkeypatch.setenv("TLTF_MODE", "quick")
    assert lesson_xray != course_models.xray_recipe()


CALLS = []


def tiny_trainer(recipe: dict) -> tuple[keras.Model, dict]:
    """A small dense model standing in for a course model (the mechanism, not the recipe, is tested)."""
    CALLS.append(recipe)
    keras.utils.set_random_seed(recipe["seed"])
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    return model, {"val_acc": 0.5, "test_acc": 0.5}


def test_an_unreadable_file_is_reported_and_replaced(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TLTF_CACHE", str(tmp_path))
    recipe = {"seed": 1, "mode": "quick", "notebook": "tiny"}
    first = course_models.course_model("tiny", recipe, tiny_trainer, [tiny_trainer])
    path = next(tmp_path.glob("models/tiny-*.keras"))
    other = tmp_path / "models" / "other.keras"
    other.write_bytes(b"someone else's")
    path.write_bytes(b"not a zip file")
    capsys.readouterr()
    CALLS.clear()
    again = course_models.course_model("tiny", recipe, tiny_trainer, [tiny_trainer])
    out = capsys.readouterr().out
    assert f"cannot load {path}" in out and "trained" in out and len(CALLS) == 1
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), first.predict(x, verbose=0))
    np.testing.assert_allclose(again.predict(x, verbose=0), first.predict(x, verbose=0))
    assert other.read_bytes() == b"someone else's"
    course_models.course_model("tiny", {**recipe, "seed": 2}, tiny_trainer, [tiny_trainer])
    names = sorted(p.name for p in (tmp_path / "models").iterdir())
    assert len(names) == 5 and not [n for n in names if n.startswith(".")]  # two models, no temporary left


def test_xray_model_is_trained_once_then_loaded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TLTF_CACHE", str(tmp_path))
    first = course_models.xray_model()
    assert "trained" in capsys.readouterr().out
    second = course_models.xray_model()
    assert "loaded" in capsys.readouterr().out
    assert second.input_shape == (None, 112, 112, 3) and second.output_shape == (None, 2)
    xrays = data.load_xrays(verbose=False)
    images, _ = next(iter(data.make_dataset(xrays.test, (112, 112), interpolation="nearest")))
    np.testing.assert_allclose(second.predict(images, verbose=0), first.predict(images, verbose=0), atol=1e-6)
    info = json.loads(next(tmp_path.glob("models/xray-*.json")).read_text(encoding="utf-8"))
    assert info["recipe"] == course_models.xray_recipe() and info["seed"] == 0 and 0 <= info["test_auc"] <= 1
