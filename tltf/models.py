"""Pre-trained backbones with the input each expects, and the models built around them.

Every model built here takes float images in [0, 255] of shape (batch, size, size, 3); the
backbone's own preprocessing is the first layer, so the right scaling is never forgotten:
MobileNets and InceptionV3 scale to [-1, 1], ResNet50 and VGG16 expect caffe-style BGR input with
the ImageNet mean subtracted, and EfficientNet rescales inside its own graph.
"""

from __future__ import annotations

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


BACKBONES: dict[str, Backbone] = {b.name: b for b in [
    Backbone("mobilenet_v2", "MobileNetV2", 224, 1280, "tf", "mobilenet_v2_notop", "MobileNet"),
    Backbone("mobilenet_025", "MobileNet", 224, 256, "tf", "mobilenet_025_notop", "MobileNet",
             {"alpha": 0.25}),
    Backbone("efficientnet_b0", "EfficientNetB0", 224, 1280, "none", "efficientnetb0_notop",
             "EfficientNet"),
    Backbone("resnet50", "ResNet50", 224, 2048, "caffe", "resnet50_notop", "ResNet"),
    Backbone("vgg16", "VGG16", 224, 512, "caffe", "vgg16_notop", "VGG"),
    Backbone("inception_v3", "InceptionV3", 299, 2048, "tf", "inception_v3_notop", "Inception"),
]}


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


def load_backbone(name: str | Backbone, *, weights: str | None = "imagenet", pooling: str | None = "avg"
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
    return build(include_top=False, weights=weights, pooling=pooling,
                 input_shape=(*backbone.image_size, 3), **backbone.kwargs)


def feature_extractor(backbone: str | Backbone, base: keras.Model | None = None) -> keras.Model:
    """[0, 255] images (batch, size, size, 3) -> features (batch, feature_size), base frozen.

    The base is set ``trainable = False`` and called with ``training=False``, so its
    BatchNormalization layers keep their ImageNet statistics.
    """
    backbone = get_backbone(backbone)
    base = base if base is not None else load_backbone(backbone)
    base.trainable = False
    inputs = keras.Input((*backbone.image_size, 3), name="image")
    features = base(preprocessing_layer(backbone)(inputs), training=False)
    return keras.Model(inputs, features, name=f"{backbone.name}_features")


def make_head(feature_size: int, num_classes: int, *, dropout: float = 0.2) -> keras.Sequential:
    """Features (batch, feature_size) -> class probabilities (batch, num_classes)."""
    return keras.Sequential([
        keras.Input((feature_size,), name="features"),
        keras.layers.Dropout(dropout),
        keras.layers.Dense(num_classes, activation="softmax"),
    ], name="head")


def attach_head(extractor: keras.Model, head: keras.Model,
                augment: keras.layers.Layer | None = None) -> keras.Model:
    """One end-to-end model: images -> [augment] -> extractor -> head.

    The layers are shared, not copied: a head trained on cached features gives the same
    predictions here. Augmentation layers only act during training.
    """
    inputs = keras.Input(extractor.input_shape[1:], name="image")
    x = augment(inputs) if augment is not None else inputs
    return keras.Model(inputs, head(extractor(x)), name="classifier")


def build_classifier(backbone: str | Backbone, num_classes: int, *, base: keras.Model | None = None,
                     dropout: float = 0.2, augment: keras.layers.Layer | None = None) -> keras.Model:
    """Images [0, 255] -> probabilities, with a frozen pre-trained base in inference mode."""
    backbone = get_backbone(backbone)
    return attach_head(feature_extractor(backbone, base),
                       make_head(backbone.feature_size, num_classes, dropout=dropout), augment)


def scratch_cnn(num_classes: int, image_size: tuple[int, int] = (224, 224), *,
                augment: keras.layers.Layer | None = None) -> keras.Model:
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
