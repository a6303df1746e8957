"""What a model made by ``python -m tltf fit`` carries in its ``.keras`` file: its class names and the kind of
input it reads, so that ``python -m tltf predict MODEL INPUT...`` needs no other file.

The model's last layer is ``ClassNames``: it passes the probabilities through unchanged, and its saved config
holds the classes, the kind (``"image"``, ``"text"`` or ``"sound"``) and what the input must be (image size,
sample rate). ``describe`` reads them from the file's ``config.json`` without building the model, so that a
file that is not such a model gets a plain error before anything heavy is loaded. Keras imports only its own
packages' classes when it loads a model: load one with ``tltf.labelled.load`` (or ``import tltf.labelled``, and
``tltf.tokenizer.inline_tokenizer()`` for a text model, before ``keras.models.load_model``).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import keras

from tltf.data.examples import DataError

KINDS = ("image", "text", "sound")


@keras.saving.register_keras_serializable(package="tltf")
class ClassNames(keras.layers.Layer):
    """Identity on (batch, classes) probabilities; its config names the classes, the input kind and ``details``
    (a JSON-able dict: what the input must be)."""

    def __init__(self, classes: list[str], kind: str, details: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}.")
        self.classes, self.kind, self.details = list(classes), kind, dict(details or {})

    def call(self, probabilities):
        return probabilities

    def get_config(self) -> dict:
        return {**super().get_config(), "classes": self.classes, "kind": self.kind, "details": self.details}


def label(model: keras.Model, classes: list[str], kind: str, **details) -> keras.Model:
    """``model`` (one output: class probabilities) ending in a ``ClassNames`` layer: a new model sharing its
    layers."""
    return keras.Model(model.inputs, ClassNames(classes, kind, details, name="class_names")(model.outputs[0]))


def describe(path: str | Path) -> dict:
    """``{"classes", "kind", "details"}`` of a ``.keras`` file made by ``label`` (read from its config, without
    loading the model). Raises DataError when the file is missing, not a ``.keras`` file, or has no
    ``ClassNames`` layer."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist: give the .keras file that python -m tltf fit saved.")
    try:
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError):
        raise DataError(f"{path} is not a Keras 3 .keras file: give the model that python -m tltf fit saved.") from None
    for layer in config.get("config", {}).get("layers", []):
        if layer.get("registered_name") == "tltf>ClassNames":
            found = layer["config"]
            return {"classes": found["classes"], "kind": found["kind"], "details": found.get("details", {})}
    raise DataError(
        f"{path} is a Keras model without class names: only models made by python -m tltf fit can be used by "
        "predict (train one with python -m tltf fit)."
    )


def load(path: str | Path) -> keras.Model:
    """The model of a ``.keras`` file made by ``label``, with the classes its kind needs registered first."""
    if describe(path)["kind"] == "text":
        from tltf import tokenizer

        tokenizer.inline_tokenizer()  # registers the layer that reads the strings
    return keras.models.load_model(path)
