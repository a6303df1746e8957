"""Audio: YAMNet's log-mel front end and network, written in Keras 3 from the published specification.

The front end turns a 16 kHz mono waveform into 0.96 s log-mel patches; the network (MobileNet v1 on
those patches, BatchNorm folded into the convolutions as in the TFLite source of the mirror's weights)
maps each patch to a 1,024-d embedding and 521 AudioSet scores. The weights are read from YAMNet's
TFLite file (asset ``yamnet_tflite``). See the asset mirror's ``pretrained/TEXT_AUDIO.md`` sections 3-4
for the specification these follow.
"""

from __future__ import annotations

import csv
from math import gcd
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert import interpreter as litert

from tltf import assets

#: YAMNet's input rate, and the front end's parameters (samples, frames, Hz).
SAMPLE_RATE = 16_000
WINDOW, HOP, FFT = 400, 160, 512
MEL_BINS, MEL_LOW, MEL_HIGH, LOG_OFFSET = 64, 125.0, 7_500.0, 0.001
PATCH_FRAMES, PATCH_HOP = 96, 48
#: Shortest clip: one patch of 96 frames needs 400 + 95 * 160 samples (0.975 s).
MIN_SAMPLES = WINDOW + (PATCH_FRAMES - 1) * HOP
NUM_CLASSES = 521
#: (filters, stride) of the 13 depthwise-separable blocks after the first 3x3 convolution (32 filters, stride 2).
BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def resample(waveform: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """``waveform`` (n,) at ``rate`` Hz resampled to ``target`` Hz with a polyphase anti-aliasing filter
    (``scipy.signal.resample_poly``); float32."""
    from scipy.signal import resample_poly

    if rate == target:
        return np.asarray(waveform, dtype="float32")
    common = gcd(rate, target)
    return resample_poly(waveform, target // common, rate // common).astype("float32")


def log_mel_patches(waveform) -> tf.Tensor:
    """A mono 16 kHz waveform (n,) in [-1, 1] -> log-mel patches (n_patches, 96, 64), float32.

    Clips shorter than 0.975 s are zero-padded to one patch. |STFT| (25 ms periodic Hann window, 10 ms
    hop, 512-point FFT) -> 64 mel bins from 125 to 7,500 Hz -> log(mel + 0.001) -> patches of 96 frames
    every 48 frames; a partial last patch is dropped.
    """
    waveform = tf.convert_to_tensor(waveform, tf.float32)
    if waveform.shape.rank != 1:
        raise ValueError(f"Expected one mono waveform of shape (samples,), got shape {waveform.shape}.")
    waveform = tf.pad(waveform, [[0, tf.maximum(0, MIN_SAMPLES - tf.shape(waveform)[0])]])
    magnitude = tf.abs(tf.signal.stft(waveform, WINDOW, HOP, FFT, window_fn=tf.signal.hann_window))
    mel = magnitude @ tf.signal.linear_to_mel_weight_matrix(MEL_BINS, FFT // 2 + 1, SAMPLE_RATE, MEL_LOW, MEL_HIGH)
    return tf.signal.frame(tf.math.log(mel + LOG_OFFSET), PATCH_FRAMES, PATCH_HOP, axis=0)


def yamnet(num_classes: int = NUM_CLASSES) -> tuple[keras.Model, keras.Model]:
    """(classifier, backbone): log-mel patches (batch, 96, 64) -> sigmoid scores (batch, num_classes),
    and the same patches -> embeddings (batch, 1024). The two share their layers.

    Layers follow YAMNet's order (3x3 conv, then 13 depthwise-separable blocks, every convolution with a
    bias and ReLU, global average pooling), so the mirror's ``.weights.h5`` loads by position; 3.73 M
    weights with the 521-class head.
    """
    conv = dict(padding="same", activation="relu")
    patches = keras.Input((PATCH_FRAMES, MEL_BINS), name="log_mel_patch")
    x = keras.layers.Reshape((PATCH_FRAMES, MEL_BINS, 1), name="reshape")(patches)
    x = keras.layers.Conv2D(32, 3, strides=2, name="layer1_conv", **conv)(x)
    for number, (filters, stride) in enumerate(BLOCKS, start=2):
        x = keras.layers.DepthwiseConv2D(3, strides=stride, name=f"layer{number}_dw", **conv)(x)
        x = keras.layers.Conv2D(filters, 1, name=f"layer{number}_pw", **conv)(x)
    embedding = keras.layers.GlobalAveragePooling2D(name="embedding")(x)
    scores = keras.layers.Dense(num_classes, activation="sigmoid", name="audioset_logits")(embedding)
    return keras.Model(patches, scores, name="yamnet_audioset"), keras.Model(patches, embedding, name="yamnet")


def weights_from_tflite(path: str | Path) -> list[np.ndarray]:
    """The weights of ``yamnet()``'s classifier, in ``set_weights`` order, read from YAMNet's TFLite file.

    Reads the 27 convolution kernels and biases and the last fully connected layer in graph order
    (the first three fully connected layers are the file's own DFT and mel matrices), dequantises int8
    tensors with their per-channel scales, and transposes TFLite's [out, kh, kw, in] / [1, kh, kw, C] /
    [out, in] layouts to Keras's. The default XNNPACK delegate is left out: it would fold the
    DEQUANTIZE ops whose inputs hold the stored weights.
    """
    interpreter = litert.Interpreter(
        model_path=str(path), experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    )
    interpreter.allocate_tensors()
    ops = interpreter._get_ops_details()  # private (tests/test_private_apis.py): no public op list exists
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    producer = {out: op for op in ops for out in op["outputs"]}

    def value(index: int) -> np.ndarray:
        if index in producer and producer[index]["op_name"] == "DEQUANTIZE":
            index = producer[index]["inputs"][0]
        stored, quant = interpreter.get_tensor(index), tensors[index]["quantization_parameters"]
        if stored.dtype != np.int8:
            return stored.astype("float32")
        shape = [1] * stored.ndim
        shape[quant["quantized_dimension"]] = -1
        return (stored.astype("float32") - quant["zero_points"].reshape(shape)) * quant["scales"].reshape(shape)

    layers = [op for op in ops if op["op_name"] in ("CONV_2D", "DEPTHWISE_CONV_2D")]
    layers += [op for op in ops if op["op_name"] == "FULLY_CONNECTED"][-1:]
    if len(layers) != 2 * len(BLOCKS) + 2:
        raise ValueError(f"{path} has {len(layers) - 1} convolutions, not YAMNet's {2 * len(BLOCKS) + 1}.")
    weights = []
    for op in layers:
        kernel = value(op["inputs"][1])
        weights += [
            kernel.T if op["op_name"] == "FULLY_CONNECTED" else kernel.transpose(1, 2, 3, 0),
            value(op["inputs"][2]),
        ]
    return weights


def load_yamnet(*, verbose: bool = True) -> tuple[keras.Model, keras.Model, list[str]]:
    """(classifier, backbone, class names): ``yamnet()`` with the AudioSet weights.

    The weights come from the ``yamnet_tflite`` asset (mirror, cache or a verified download), the
    same path for every user; ``verbose`` prints where the file came from and what it is.
    """
    folder = assets.fetch("yamnet_tflite", quiet=not verbose)
    classifier, backbone = yamnet()
    classifier.set_weights(weights_from_tflite(folder / "yamnet.tflite"))
    with open(folder / "yamnet_class_map.csv", encoding="utf-8", newline="") as f:
        names = [row["display_name"] for row in csv.DictReader(f)]
    if verbose:
        print(
            "YAMNet (Google, Apache-2.0): AudioSet weights read from the TFLite conversion of yamnet.h5 "
            "(int8 weights, dequantised) into tltf's Keras 3 network"
        )
    return classifier, backbone, names


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(mono float32 waveform in [-1, 1], sample rate) of a 16-bit PCM WAV file; channels are averaged."""
    waveform, rate = tf.audio.decode_wav(tf.io.read_file(str(path)))
    return waveform.numpy().mean(axis=1), int(rate)


def first_patch(path: str | Path) -> np.ndarray:
    """The first log-mel patch (96, 64) of a WAV file, resampled to 16 kHz: the first 0.975 s, zero-padded."""
    waveform, rate = read_wav(path)
    return patch_of(resample(waveform, rate))


def patch_of(waveform: np.ndarray) -> np.ndarray:
    """The first log-mel patch (96, 64) of a 16 kHz waveform: its first 0.975 s, zero-padded."""
    return log_mel_patches(waveform[:MIN_SAMPLES])[0].numpy()


def patches(paths) -> np.ndarray:
    """``first_patch`` of every WAV file in ``paths``: (n, 96, 64) float32."""
    return np.stack([first_patch(p) for p in paths])
