"""TensorFlow Hub on Keras 3: a real Keras layer around a TF2 SavedModel, and locally built modules.

``hub.KerasLayer`` is a tf-keras (Keras 2) layer, so Keras 3 models refuse it. ``HubLayer`` resolves
a handle with ``tensorflow_hub`` itself (tfhub.dev and Kaggle handles, local folders; downloads are
cached in ``TFHUB_CACHE_DIR``), loads the SavedModel, and tracks the module's own variables as
Keras 3 weights, so ``fit`` trains them when the layer is trainable and ``.keras`` files save them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import keras
import tensorflow as tf

# tensorflow_hub 0.16.1, its last release, imports pkg_resources, which warns that it is deprecated when
# first imported (in notebook 03, by the learner's own `import tensorflow_hub`): nothing a learner can act
# on, so that one message is not shown (side effect: a warnings filter for this process, made when
# tltf.hub_layer is imported).
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

#: TF Hub's MobileNetV2 feature vector (tfhub.dev handles resolve through Kaggle Models).
MOBILENET_V2_HANDLE = "https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/feature_vector/5"
#: A file in a module folder that says what the module is; printed whenever the module is loaded.
NOTE_FILE = "TLTF_MODULE.txt"
LOCAL_MODULE_NOTE = (
    "locally built by tltf.hub_layer.build_mobilenet_v2_module from the Keras ImageNet MobileNetV2 weights, with "
    "the interface of TF Hub's google/imagenet/mobilenet_v2_100_224/feature_vector (float images in [0, 1], "
    "224x224x3 -> 1280 features). It is not the module published on tfhub.dev / Kaggle."
)


class HubError(RuntimeError):
    """A hub handle that cannot be resolved or loaded (e.g. offline without a cached copy)."""


def load_module(handle: str):
    """Resolve ``handle`` (hub URL, Kaggle handle or local folder) and load the TF2 SavedModel.

    Raises HubError naming the handle when it cannot be resolved, or is not callable.
    """
    import tensorflow_hub as hub

    try:
        path = hub.resolve(handle)
        module = tf.saved_model.load(path)
    except Exception as err:  # network, file-system and format errors all end here
        raise HubError(
            f"Cannot load the hub module {handle!r} ({type(err).__name__}: {err}). Online, check the handle; "
            "offline, put the module in TFHUB_CACHE_DIR beforehand, or pass a local SavedModel folder "
            "(tltf.hub_layer.local_mobilenet_v2_module() builds one for MobileNetV2)."
        ) from err
    if not callable(module):
        raise HubError(f"{handle!r} is a SavedModel without __call__, not a TF2 hub module.")
    note = Path(path) / NOTE_FILE
    if note.exists():
        print(f"{handle}: {note.read_text(encoding='utf-8').strip()}")
    return module


@keras.saving.register_keras_serializable(package="tltf")
class HubLayer(keras.layers.Layer):
    """A TF2 hub module as a Keras 3 layer, for Sequential and functional models.

    Inputs and outputs are the module's own (the MobileNetV2 feature vector: float images in [0, 1],
    (batch, 224, 224, 3) -> (batch, 1280)). ``trainable=False`` (default) freezes the module's
    variables; ``trainable=True`` lets ``fit`` update them (fine-tuning). The module runs in
    inference mode, BatchNormalization on its stored statistics (notebook 02 shows why), unless
    ``module_training=True``. Saving: a ``.keras`` file stores the handle and the current weights;
    loading resolves the handle again (hub cache or folder) and restores the saved weights.
    """

    def __init__(self, handle: str | Path, *, trainable: bool = False, module_training: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.handle = str(handle)
        self.module_training = module_training
        self._module = load_module(self.handle)
        trainable_ids = {id(v) for v in self._module.trainable_variables}
        # Initialised with a tf.Variable, a Keras variable wraps it (no copy): the module's functions
        # and Keras read and write the same weights. A list of variables set as an attribute is
        # tracked by Keras (the layer's weights, in this order).
        self.module_variables = [
            keras.Variable(v, trainable=id(v) in trainable_ids, name=v.name.split(":")[0].replace("/", "_"))
            for v in self._module.variables
        ]
        self.trainable = trainable  # after the variables exist: the setter freezes or unfreezes them
        self.built = True

    def call(self, inputs, training=None):
        return self._module(inputs, training=bool(training and self.trainable and self.module_training))

    def get_config(self) -> dict:
        return {**super().get_config(), "handle": self.handle, "module_training": self.module_training}


def _save_reusable(
    directory: str | Path,
    call: tf.types.experimental.PolymorphicFunction,
    spec: tf.TensorSpec,
    variables: list,
    trainable_variables: list,
    **attributes,
) -> Path:
    """Save ``call`` as a reusable TF2 SavedModel, the interface hub modules have: ``__call__``
    (traced with training False and True), ``variables``, ``trainable_variables``,
    ``regularization_losses`` and a ``serving_default`` signature. Returns the folder."""
    for training in (False, True):
        call.get_concrete_function(spec, training)
    root = tf.train.Checkpoint(**attributes)
    root.__call__ = call
    root.variables = variables
    root.trainable_variables = trainable_variables
    root.regularization_losses = []
    tf.saved_model.save(root, str(directory), signatures={"serving_default": call.get_concrete_function(spec, False)})
    return Path(directory)


def build_mobilenet_v2_module(directory: str | Path) -> Path:
    """Export ImageNet MobileNetV2 as a hub-style SavedModel at ``directory``; returns the folder.

    Interface of TF Hub's MobileNetV2 feature vector: float images in [0, 1], (batch, 224, 224, 3)
    -> (batch, 1280). Needs the ``mobilenet_v2_notop`` asset. Side effect: writes the folder, with a
    ``TLTF_MODULE.txt`` that labels it as locally built.
    """
    from tltf import assets

    assets.fetch("mobilenet_v2_notop", quiet=True)
    base = keras.applications.MobileNetV2(
        include_top=False, weights="imagenet", input_shape=(224, 224, 3), pooling="avg"
    )

    @tf.function
    def call(images, training=False):
        return base(images * 2.0 - 1.0, training=training)  # [0, 1] -> MobileNetV2's [-1, 1]

    directory = _save_reusable(
        directory,
        call,
        tf.TensorSpec([None, 224, 224, 3], tf.float32),
        [w.value for w in base.weights],
        [w.value for w in base.trainable_weights],
        base=base,
    )
    (directory / NOTE_FILE).write_text(LOCAL_MODULE_NOTE + "\n", encoding="utf-8")
    return directory


def local_mobilenet_v2_module() -> Path:
    """The locally built MobileNetV2 module in ``$TLTF_CACHE/hub/``, built on first use (seconds)."""
    from tltf import assets

    directory = assets.cache_dir() / "hub" / "mobilenet_v2_100_224_feature_vector_local"
    if not (directory / NOTE_FILE).exists():
        print(f"Building {directory} from the Keras ImageNet MobileNetV2 weights (once)…")
        build_mobilenet_v2_module(directory)
    return directory


def build_demo_module(directory: str | Path) -> Path:
    """A tiny hub-style SavedModel for demonstrations and tests: (batch, 3) -> (batch, 2) computing
    ``x @ w * scale + b``, with trainable ``w`` (ones) and ``b`` (zeros) and non-trainable ``scale``
    (1.0). Writes ``directory``; returns it."""
    w, b = tf.Variable(tf.ones([3, 2]), name="w"), tf.Variable(tf.zeros([2]), name="b")
    scale = tf.Variable(1.0, trainable=False, name="scale")

    @tf.function
    def call(x, training=False):
        return tf.matmul(x, w) * scale + b

    return _save_reusable(directory, call, tf.TensorSpec([None, 3], tf.float32), [w, b, scale], [w, b])


def feature_extractor(handle: str | Path, image_size: tuple[int, int] = (224, 224)) -> keras.Model:
    """[0, 255] images (batch, *image_size, 3) -> the module's features: ``Rescaling(1/255)`` (hub
    image modules take [0, 1]) then a frozen ``HubLayer``."""
    inputs = keras.Input((*image_size, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    return keras.Model(inputs, HubLayer(handle)(x), name="hub_extractor")
