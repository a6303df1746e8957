"""From a Keras model to the files a device runs, and what each costs: a SavedModel (``model.export``), and
LiteRT flatbuffers (``.tflite``) in float32, float16, dynamic-range int8 and full int8, converted from the
SavedModel with built-in operations only (no Flex operations, which a plain LiteRT interpreter rejects), run
with LiteRT's own interpreter (``ai-edge-litert``; TensorFlow's copy of it is deprecated).

Images are [0, 255] floats (batch, h, w, 3) as the course's models take them; a full-int8 file takes them as
uint8 (scale 1, zero point 0 when the representative images span 0..255) and returns uint8 probabilities,
which ``LiteModel`` turns back into floats.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert

from tltf.record import cores

#: The LiteRT variants, smallest change first.
FORMATS = ("float32", "float16", "dynamic", "int8")


#: Layers that only act while training (noise, dropout); ``for_inference`` replaces them. Keras's random image
#: layers (``RandomFlip``, ``RandomZoom``, ...) are recognised by their names, as Keras has no public base class.
TRAINING_ONLY = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
)


def _training_only(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, TRAINING_ONLY) or (type(layer).__name__.startswith("Random") and not layer.weights)


def for_inference(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights, not compiled: no optimizer) whose augmentation and dropout layers,
    nested ones too, are ``Identity`` layers. Why: at inference they pass their input through, yet a SavedModel
    still holds their random operations (inside a branch), which LiteRT does not build in; without them the
    converter needs no Flex.
    """

    def clone(layer):
        if _training_only(layer):
            return keras.layers.Identity(name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone, recursive=True)
    copy.set_weights(model.get_weights())
    # clone_model compiles the copy like the original; a model for use needs no optimizer state in its file.
    if isinstance(copy, keras.Sequential):
        return keras.Sequential([keras.Input(model.input_shape[1:]), *copy.layers], name=copy.name)
    return keras.Model(copy.input, copy.output, name=copy.name)


def saved_model(model: keras.Model, folder: str | Path) -> Path:
    """``model.export(folder)``: a TensorFlow SavedModel with a ``serve`` endpoint. Returns the folder."""
    model.export(str(folder), format="tf_saved_model", verbose=False)
    return Path(folder)


def to_litert(
    saved: str | Path, kind: str, representative: np.ndarray | None = None, *, per_channel: bool = True
) -> bytes:
    """The SavedModel ``saved`` as a LiteRT flatbuffer: ``kind`` one of ``FORMATS``. Full int8 needs
    ``representative`` images (n, h, w, 3), typically 100 to 500 training images, to calibrate each tensor's
    range. ``per_channel=False`` gives each int8 weight tensor one scale instead of one per output channel
    (a smaller file; the converter's only switch for it is private). Raises ValueError for an unknown kind or
    int8 without images; the converter raises when a model needs an operation LiteRT does not build in
    (none is allowed in through Flex)."""
    if kind not in FORMATS:
        raise ValueError(f"unknown LiteRT format {kind!r}: choose one of {', '.join(FORMATS)}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if kind != "float32":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if kind == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if kind == "int8":
        if representative is None or len(representative) == 0:
            raise ValueError("full int8 needs representative images to calibrate its ranges")
        images = np.asarray(representative, "float32")
        converter.representative_dataset = lambda: ([image[None]] for image in images)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    converter._experimental_disable_per_channel = not per_channel  # no public switch (test_private_apis)
    return converter.convert()


class LiteModel:
    """A LiteRT flatbuffer run by LiteRT's interpreter with ``threads`` threads, one image at a time.

    ``predict(images)`` takes [0, 255] images (n, h, w, 3) and returns probabilities (n, classes) as
    float32, quantising the input and dequantising the output of an integer file."""

    def __init__(self, content: bytes, threads: int = 1):
        self.interpreter = litert.Interpreter(model_content=content, num_threads=threads)
        self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.content = content
        self.size_bytes = len(content)

    @property
    def input_type(self) -> np.dtype:
        return np.dtype(self.input["dtype"])

    @property
    def output_type(self) -> np.dtype:
        return np.dtype(self.output["dtype"])

    def _quantise(self, images: np.ndarray) -> np.ndarray:
        """[0, 255] images as the file's input type (rounded to its integer grid for an integer file)."""
        images = np.asarray(images, "float32")
        if np.issubdtype(self.input_type, np.integer):
            scale, zero = self.input["quantization"]
            info = np.iinfo(self.input_type)
            images = np.clip(np.round(images / scale + zero), info.min, info.max)
        return images.astype(self.input_type)

    def _run(self, image: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self.input["index"], self._quantise(image[None]))
        self.interpreter.invoke()
        result = self.interpreter.get_tensor(self.output["index"])[0]
        scale, zero = self.output["quantization"]
        return (result.astype("float32") - zero) * scale if scale else result.astype("float32")

    def predict(self, images: np.ndarray) -> np.ndarray:
        return np.stack([self._run(image) for image in images])

    def throughput(self, images: np.ndarray, batch: int = 32, threads: int | None = None) -> float:
        """Images per second over ``images`` (n, h, w, 3) in batches of ``batch`` (the input resized to it; a
        last partial batch is padded, and its padding counted: the interpreter did that work), on ``threads``
        threads (None: every core this process may use), after one warm-up batch. The interpreter used here
        is a separate one: ``self`` is unchanged."""
        interpreter = litert.Interpreter(model_content=self.content, num_threads=threads or cores())
        index = self.input["index"]
        interpreter.resize_tensor_input(index, [batch, *images.shape[1:]])
        interpreter.allocate_tensors()
        chunks = [self._quantise(images[i : i + batch]) for i in range(0, len(images), batch)]
        chunks = [np.concatenate([c, np.repeat(c[-1:], batch - len(c), axis=0)]) for c in chunks]
        interpreter.set_tensor(index, chunks[0])
        interpreter.invoke()
        start = time.perf_counter()
        for chunk in chunks:
            interpreter.set_tensor(index, chunk)
            interpreter.invoke()
        return len(chunks) * batch / (time.perf_counter() - start)

    def latency_ms(self, image: np.ndarray, repeats: int = 50, warmup: int = 5) -> dict:
        """Single-image latency in milliseconds over ``repeats`` runs after ``warmup`` runs left out:
        ``{"median", "q25", "q75"}``."""
        image = np.asarray(image, "float32")
        for _ in range(warmup):
            self._run(image)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self._run(image)
            times.append((time.perf_counter() - start) * 1000)
        q25, median, q75 = np.percentile(times, [25, 50, 75])
        return {"median": float(median), "q25": float(q25), "q75": float(q75)}


def size_mb(path: str | Path) -> float:
    """The size of a model file, or of every file under a folder (a SavedModel), in MiB (2**20 bytes)."""
    path = Path(path)
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def quantized_layers(model: keras.Model) -> list[str]:
    """The names of the layers, nested ones included, that ``model.quantize(...)`` quantised."""
    found = []
    for layer in model.layers:
        if getattr(layer, "quantization_mode", None):
            found.append(layer.name)
        if hasattr(layer, "layers"):
            found += quantized_layers(layer)
    return found


def quantization_bytes(content: bytes) -> int:
    """Bytes a LiteRT flatbuffer spends on quantisation parameters: a float32 scale and an int64 zero point
    for each quantised tensor, and for each output channel of a per-channel one."""
    details = litert.Interpreter(model_content=content).get_tensor_details()
    return sum(12 * len(t["quantization_parameters"]["scales"]) for t in details)


#: Run by ``keras_latency_ms`` in a fresh Python: TensorFlow's thread count is fixed when it starts.
_KERAS_LATENCY = """
import json, sys, time
import numpy as np, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[2]))
tf.config.threading.set_inter_op_parallelism_threads(1)
import keras
import tltf.data, tltf.hub_layer, tltf.models, tltf.recipes  # registers the course's own layers and regularisers
model = keras.saving.load_model(sys.argv[1], compile=False)
image = np.random.default_rng(0).uniform(0, 255, (1, *model.input_shape[1:])).astype("float32")
times = []
for i in range(int(sys.argv[3]) + int(sys.argv[4])):
    start = time.perf_counter()
    model.predict_on_batch(image)
    times.append((time.perf_counter() - start) * 1000)
q25, median, q75 = np.percentile(times[int(sys.argv[4]):], [25, 50, 75])
print(json.dumps({"median": median, "q25": q25, "q75": q75}))
"""


def keras_latency_ms(path: str | Path, *, repeats: int = 50, warmup: int = 5, threads: int = 1) -> dict:
    """Single-image latency of the ``.keras`` model at ``path`` through ``predict_on_batch``, in
    milliseconds, in a separate Python process on ``threads`` threads (this process's TensorFlow keeps the
    thread count it started with): ``{"median", "q25", "q75"}`` over ``repeats`` runs after ``warmup``."""
    argv = [sys.executable, "-c", _KERAS_LATENCY, str(path), str(threads), str(repeats), str(warmup)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"timing {path} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def operations(content: bytes) -> list[str]:
    """The names of the operations in a LiteRT flatbuffer, in order (a Flex one is named ``Flex...``)."""
    interpreter = litert.Interpreter(model_content=content)
    return [op["op_name"] for op in interpreter._get_ops_details()]  # no public op list (test_private_apis)


def agreement(probs: np.ndarray, reference: np.ndarray) -> float:
    """The share of images (rows) whose top class is the same in ``probs`` and ``reference``, in [0, 1]."""
    return float((np.asarray(probs).argmax(axis=1) == np.asarray(reference).argmax(axis=1)).mean())
