"""A BERT tokenizer whose saved config holds its vocabulary, for models that read raw strings.

KerasHub saves a tokenizer's vocabulary as a file beside the model's config and reads it back after the
model is rebuilt. A functional model whose graph calls the tokenizer (strings in, probabilities out) must
run the tokenizer while it is rebuilt, before that file is read, and loading fails with "No vocabulary has
been set for WordPieceTokenizer" (KerasHub 0.32 has no option for it). ``InlineBertTokenizer`` writes the
vocabulary (about 30,000 words for MiniLM) into its config instead, so ``keras.models.load_model`` rebuilds
such a model from its ``.keras`` file alone; ``inline_tokenizer()`` registers it before loading one.
"""

from __future__ import annotations

import functools

import keras


@functools.cache
def inline_tokenizer() -> type:
    """The class ``InlineBertTokenizer``: ``keras_hub.models.BertTokenizer`` with its vocabulary (a list of strings)
    kept in its config, registered with Keras as ``tltf>InlineBertTokenizer``. Made on first use, so that
    importing this module does not need KerasHub (an extra); call it before loading a model that holds one."""
    import keras_hub

    @keras.saving.register_keras_serializable(package="tltf")
    class InlineBertTokenizer(keras_hub.models.BertTokenizer):
        def get_config(self) -> dict:
            return {**super().get_config(), "vocabulary": list(self.vocabulary)}

    return InlineBertTokenizer


def string_preprocessor(preprocessor):
    """A copy of a ``keras_hub.models.BertTextEmbedderPreprocessor`` (strings -> token dict) whose tokenizer is an
    ``InlineBertTokenizer``."""
    import keras_hub

    tokenizer = preprocessor.tokenizer
    inline = inline_tokenizer()(
        vocabulary=list(tokenizer.vocabulary), lowercase=tokenizer.lowercase, strip_accents=tokenizer.strip_accents
    )
    return keras_hub.models.BertTextEmbedderPreprocessor(tokenizer=inline, sequence_length=preprocessor.sequence_length)
