"""Pre-trained backbones with the input each expects, and the models built around them.

Every model built here takes float images in [0, 255] of shape (batch, size, size, 3); the
backbone's own preprocessing is the first layer, so the right scaling is never forgotten:
MobileNets and InceptionV3 scale to [-1, 1], ResNet50 and VGG16 expect caffe-style BGR input with
the ImageNet mean subtracted, and EfficientNet rescales inside its own graph.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field

import keras
from keras import ops

from tltf import assets


@dataclass(frozen=True)
class Backbone:
    """A Keras Applications model used without its ImageNet classifier."""

    name: str
    constructor: str  # the function in keras.applications
    input_size: int  # pixels per side
    feature_size: int  # length of the pooled feature vector
    preprocessing: str  # "tf": [-1, 1]; "caffe": BGR minus the ImageNet mean; "none": done inside
    weights_asset: str  # registry name of its ImageNet no-top weights (tltf.assets)
    family: str
    kwargs: dict = field(default_factory=dict)

    @property
    def image_size(self) -> tuple[int, int]:
        return (self.input_size, self.input_size)


BACKBONES: dict[str, Backbone] = {
    b.name: b
    for b in [
        Backbone("mobilenet_v2", "MobileNetV2", 224, 1280, "tf", "mobilenet_v2_notop", "MobileNet"),
        Backbone("mobilenet_025", "MobileNet", 224, 256, "tf", "mobilenet_025_notop", "MobileNet", {"alpha": 0.25}),
        Backbone("efficientnet_b0", "EfficientNetB0", 224, 1280, "none", "efficientnetb0_notop", "EfficientNet"),
        Backbone("resnet50", "ResNet50", 224, 2048, "caffe", "resnet50_notop", "ResNet"),
        Backbone("vgg16", "VGG16", 224, 512, "caffe", "vgg16_notop", "VGG"),
        Backbone("inception_v3", "InceptionV3", 299, 2048, "tf", "inception_v3_notop", "Inception"),
    ]
}


def get_backbone(name: str | Backbone) -> Backbone:
    """The registry entry for ``name`` (a Backbone passes through); clear error if unknown."""
    if isinstance(name, Backbone):
        return name
    if name not in BACKBONES:
        raise ValueError(f"Unknown backbone {name!r}. Choose one of: {', '.join(BACKBONES)}.")
    return BACKBONES[name]


@keras.saving.register_keras_serializable(package="tltf")
class CaffePreprocess(keras.layers.Layer):
    """RGB [0, 255] -> BGR with the ImageNet mean subtracted (ResNet50, VGG16)."""

    MEAN_BGR = (103.939, 116.779, 123.68)

    def call(self, x):
        return ops.flip(x, axis=-1) - ops.convert_to_tensor(self.MEAN_BGR, dtype=x.dtype)


def preprocessing_layer(backbone: str | Backbone) -> keras.layers.Layer:
    """The layer turning [0, 255] RGB into what ``backbone`` expects (built-in layers where possible)."""
    mode = get_backbone(backbone).preprocessing
    if mode == "tf":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocess")
    if mode == "caffe":
        return CaffePreprocess(name="preprocess")
    return keras.layers.Identity(name="preprocess")


def load_backbone(
    name: str | Backbone, *, weights: str | None = "imagenet", pooling: str | None = "avg"
) -> keras.Model:
    """The backbone without its classifier, ImageNet weights fetched via ``tltf.assets``.

    Output shape: (batch, feature_size) with ``pooling="avg"``. ``weights=None`` gives a randomly
    initialised network of the same architecture (for comparisons). Raises AssetError when the
    weights are unavailable offline.
    """
    backbone = get_backbone(name)
    if weights == "imagenet":
        assets.fetch(backbone.weights_asset, quiet=True)
    build = getattr(keras.applications, backbone.constructor)
    with warnings.catch_warnings():
        # At a size without weights of its own (e.g. 144 px) Keras says it loads the 224 px ones: intended here.
        warnings.filterwarnings("ignore", message="`input_shape` is undefined or non-square", category=UserWarning)
        return build(
            include_top=False,
            weights=weights,
            pooling=pooling,
            input_shape=(*backbone.image_size, 3),
            **backbone.kwargs,
        )


def feature_extractor(backbone: str | Backbone, base: keras.Model | None = None) -> keras.Model:
    """[0, 255] images (batch, size, size, 3) -> features (batch, feature_size), base frozen.

    The base is set ``trainable = False`` (so its BatchNormalization layers run in inference mode)
    and called with ``training=False``, as the Keras guide writes it. In Keras 3 a model trained
    with ``fit`` passes ``training=True`` down to every layer, overriding that argument
    (keras-team/keras#20285): frozen BatchNormalization layers are what keep the ImageNet
    statistics, which is why ``unfreeze`` keeps them frozen.
    """
    backbone = get_backbone(backbone)
    base = base if base is not None else load_backbone(backbone)
    base.trainable = False
    inputs = keras.Input((*backbone.image_size, 3), name="image")
    features = base(preprocessing_layer(backbone)(inputs), training=False)
    return keras.Model(inputs, features, name=f"{backbone.name}_features")


def make_head(
    feature_size: int, num_classes: int, *, dropout: float = 0.2, normalize: bool = False, l2: float = 0.0
) -> keras.Sequential:
    """Features (batch, feature_size) -> class probabilities (batch, num_classes).

    ``normalize`` scales each feature vector to unit length first (``keras.layers.UnitNormalization``),
    which helps with few labelled images; such a head wants a higher learning rate (about 1e-2).
    ``l2`` adds that L2 penalty on the Dense weights to the loss (0: none).
    """
    return keras.Sequential(
        [
            keras.Input((feature_size,), name="features"),
            *([keras.layers.UnitNormalization()] if normalize else []),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(
                num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(l2) if l2 else None
            ),
        ],
        name="head",
    )


def attach_head(extractor: keras.Model, head: keras.Model, augment: keras.layers.Layer | None = None) -> keras.Model:
    """One end-to-end model: images -> [augment] -> extractor -> head.

    The layers are shared, not copied: a head trained on cached features gives the same
    predictions here. Augmentation layers only act during training.
    """
    inputs = keras.Input(extractor.input_shape[1:], name="image")
    x = augment(inputs) if augment is not None else inputs
    return keras.Model(inputs, head(extractor(x)), name="classifier")


def build_classifier(
    backbone: str | Backbone,
    num_classes: int,
    *,
    base: keras.Model | None = None,
    head: keras.Model | None = None,
    dropout: float = 0.2,
    augment: keras.layers.Layer | None = None,
) -> keras.Model:
    """Images [0, 255] -> probabilities: a frozen pre-trained base and a head (a new one unless
    ``head`` is given, e.g. one trained on cached features)."""
    backbone = get_backbone(backbone)
    head = head if head is not None else make_head(backbone.feature_size, num_classes, dropout=dropout)
    return attach_head(feature_extractor(backbone, base), head, augment)


def scratch_cnn(
    num_classes: int, image_size: tuple[int, int] = (224, 224), *, augment: keras.layers.Layer | None = None
) -> keras.Model:
    """A small CNN with random initial weights: the baseline that transfer learning must beat.

    Images [0, 255] (batch, *image_size, 3) -> probabilities (batch, num_classes); four stages of
    strided 3×3 convolutions with batch normalisation, global pooling, dropout, softmax.
    """
    inputs = keras.Input((*image_size, 3), name="image")
    x = augment(inputs) if augment is not None else inputs
    x = keras.layers.Rescaling(1 / 255)(x)
    for filters in (32, 64, 128, 256):
        for strides in (2, 1):
            x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="scratch_cnn")


# --- fine-tuning: unfreezing the top of a backbone --------------------------------------------

#: How each family names its blocks: the first group of a match is the block's name.
BLOCK_PATTERNS = (
    r"^(expanded_conv|block_\d+)_",  # MobileNetV2
    r"^conv_(?:dw|pw|pad)_(\d+)",  # MobileNet v1 (a block is conv_dw_N + conv_pw_N)
    r"^(conv\d_block\d+)_",  # ResNet
    r"^(block\d+[a-z])_",  # EfficientNet
    r"^(block\d+)_",  # VGG
)


def block_of(layer_name: str) -> str | None:
    """The block a layer belongs to, from its name (None for stem, top and other layers)."""
    for pattern in BLOCK_PATTERNS:
        if match := re.match(pattern, layer_name):
            return match.group(1)
    return None


def block_names(base: keras.Model) -> list[str]:
    """The backbone's block names, bottom to top."""
    return list(dict.fromkeys(b for layer in base.layers if (b := block_of(layer.name))))


@dataclass(frozen=True)
class UnfreezeReport:
    """What ``unfreeze`` left trainable."""

    trainable_params: int
    frozen_params: int
    trainable_layers: list[str]  # those with weights, bottom to top
    batchnorm_frozen: int  # BatchNormalization layers kept frozen inside the unfrozen part

    def __str__(self) -> str:
        first = self.trainable_layers[0] if self.trainable_layers else "none"
        return (
            f"{len(self.trainable_layers)} layers with weights trainable from {first} up "
            f"({self.batchnorm_frozen} BatchNormalization layers kept frozen): "
            f"{self.trainable_params:,} trainable, {self.frozen_params:,} frozen parameters"
        )


def count_params(weights) -> int:
    """Number of scalars in a list of variables."""
    return int(sum(math.prod(w.shape) for w in weights))


def _top_blocks_start(base: keras.Model, blocks: int) -> int:
    """Index in ``base.layers`` of the first layer of its last ``blocks`` blocks (the end for 0)."""
    names = block_names(base)
    if not names:
        raise ValueError(f"{base.name} has no recognised blocks; use layers= or fraction=.")
    if not 0 <= blocks <= len(names):
        raise ValueError(f"{base.name} has {len(names)} blocks; cannot take the last {blocks}.")
    if blocks == 0:
        return len(base.layers)
    return next(i for i, layer in enumerate(base.layers) if block_of(layer.name) == names[-blocks])


def unfreeze(
    base: keras.Model,
    *,
    layers: int | None = None,
    blocks: int | None = None,
    fraction: float | None = None,
    train_batchnorm: bool = False,
) -> UnfreezeReport:
    """Make the top of ``base`` trainable and keep the rest frozen; give exactly one of:

    ``layers``: the last N layers; ``blocks``: the last N blocks (as named by the family, plus the
    layers above the last block); ``fraction``: that share of the layers, from the top.
    BatchNormalization layers stay frozen unless ``train_batchnorm``: in Keras 3 a frozen
    BatchNormalization layer runs in inference mode and keeps its ImageNet statistics, while
    ``training=False`` in the graph does not survive ``fit`` (see ``feature_extractor``).
    Side effect: sets ``trainable`` on ``base`` and its layers. Returns the parameter counts.
    """
    if sum(option is not None for option in (layers, blocks, fraction)) != 1:
        raise ValueError("Give exactly one of layers=, blocks= or fraction=.")
    all_layers = base.layers
    if layers is not None:
        start = len(all_layers) - layers
    elif fraction is not None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"fraction must be in [0, 1], got {fraction}.")
        start = len(all_layers) - round(fraction * len(all_layers))
    else:
        start = _top_blocks_start(base, blocks)
    start = max(0, min(start, len(all_layers)))
    base.trainable = True
    kept_bn = 0
    for i, layer in enumerate(all_layers):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= start and (train_batchnorm or not is_bn)
        kept_bn += i >= start and is_bn and not layer.trainable
    return UnfreezeReport(
        count_params(base.trainable_weights),
        count_params(base.non_trainable_weights),
        [layer.name for layer in all_layers[start:] if layer.trainable and layer.weights],
        kept_bn,
    )


def split_top(backbone: str | Backbone, base: keras.Model, blocks: int) -> tuple[keras.Model, keras.Model]:
    """Cut ``base`` below its last ``blocks`` blocks: (lower, top), sharing ``base``'s layers.

    ``lower``: [0, 255] images (batch, size, size, 3) -> the activations that enter the first of
    those blocks (for MobileNetV2 and 6 blocks: (batch, 14, 14, 96)), the backbone's preprocessing
    included. ``top``: those activations -> features, so ``top(lower(x)) == base(preprocess(x))``.
    With the lower part frozen (BatchNorm in inference mode), its output is the same every epoch and
    can be computed once: fine-tuning the top blocks then costs only their share of the network.
    Raises ValueError if the blocks are not found or another tensor crosses the cut.
    """
    backbone = get_backbone(backbone)
    if blocks < 1:
        raise ValueError(f"split_top needs at least one block above the cut, got {blocks}.")
    first = _top_blocks_start(base, blocks)
    cut = base.layers[first - 1].output
    try:
        top = keras.Model(cut, base.output, name=f"{base.name}_top{blocks}")
    except ValueError as err:
        raise ValueError(f"Cannot cut {base.name} below {base.layers[first].name}: {err}") from err
    inputs = keras.Input((*backbone.image_size, 3), name="image")
    lower = keras.Model(base.input, cut)(preprocessing_layer(backbone)(inputs))
    return keras.Model(inputs, lower, name=f"{base.name}_lower"), top


#: Optimizers whose state starts at zero (step count, moments), so ``restart`` can zero it.
ZERO_START_OPTIMIZERS = (keras.optimizers.Adam, keras.optimizers.SGD, keras.optimizers.RMSprop)


def restart(model: keras.Model, fresh: keras.Model) -> None:
    """Start ``model`` over as ``fresh``, a newly built model of the same architecture, keeping what
    ``compile`` and the first ``fit`` made: its optimizer and its traced training step.

    Why: TensorFlow keeps memory for every training step it traces (each new model, each
    ``compile``), and ``keras.backend.clear_session`` does not give it back (keras-team/keras#17458,
    still so in TensorFlow 2.21 and Keras 3.15): 43 models of MobileNetV2 in one process reached 8 GiB.
    A model compiled once and restarted for each fold or seed traces once. The traced step keeps the
    trainable layers it was traced with: a later change of ``trainable`` needs another model over the
    same layers (or a new ``compile``).
    Side effect: every variable of ``model`` (weights, BatchNorm statistics, dropout seed states) takes
    ``fresh``'s value; its optimizer's step count and moments go back to zero, its current learning rate
    (or schedule) stays. Raises ValueError if the two models' variables differ in number or shape, or if
    the optimizer is one whose state does not start at zero (``ZERO_START_OPTIMIZERS`` lists those that do).
    """
    if [v.shape for v in model.variables] != [v.shape for v in fresh.variables]:
        raise ValueError(f"restart needs two models of one architecture: {model.name} and {fresh.name} differ.")
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not isinstance(optimizer, ZERO_START_OPTIMIZERS):
        raise ValueError(
            f"restart cannot start {type(optimizer).__name__} over (its state does not start at zero); "
            "compile the model again instead, or use Adam, AdamW, SGD or RMSprop."
        )
    for target, source in zip(model.variables, fresh.variables, strict=True):
        target.assign(source)
    for variable in optimizer.variables if optimizer is not None else []:
        if variable.name != "learning_rate":
            variable.assign(ops.zeros(variable.shape, variable.dtype))
