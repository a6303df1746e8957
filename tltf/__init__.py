"""tltf: the helper package of a transfer-learning course in Keras 3 / TensorFlow.

Modules, one concern each: ``settings`` (the quick / lesson / study modes), ``registry`` (the asset
registry and where assets are looked for), ``assets`` (mirror, cache, verified downloads),
``checksums`` (hashes, manifests, pooch downloads), ``data`` (one container for every dataset;
``images``, ``sentences``, ``recordings``, ``xrays``, ``corruptions``), ``models`` (backbone registry,
classifier builder, unfreezing), ``train`` (seeding, feature caching, callbacks, the fine-tuning
routine for datasets), ``hub_layer`` (hub modules as Keras 3 layers), ``text`` (sentence encoder,
GloVe, padded batches), ``audio`` (YAMNet front end and network), ``cache`` (a read-only cache of
frozen activations), ``loop`` (the one training loop on arrays), ``stages`` (stateless training
stages on a cache, one ``Run`` each), ``curves`` (learning-curve grids), ``recipes`` (fine-tuning
regularisers), ``adapt`` (BatchNorm re-estimation and TENT, without labels), ``plots``, ``stats``
(95 % intervals), ``record`` (what a notebook measured), ``recorded``
(a learner's run beside the recorded study), ``bench`` (``python -m tltf.bench``: runs a
notebook, keeps its record), ``tables`` (the README's benchmark tables), ``colab`` (the notebooks'
Colab link and set-up cell), ``site`` (``python -m tltf.site``: the course as a website) and ``cli``
(``python -m tltf``); and for the later notebooks ``course_models`` (the course's two trained models),
``contrastive`` (self-supervised pre-training), ``explain`` and ``mistakes`` (interpretability), ``export``,
``distill``, ``privacy``, ``licences`` and ``cards`` (deployment). One lesson's own helpers live in
``notebooks/lessons/``.
Import the submodules you need; this top level stays light (no TensorFlow import).
"""

import os

__version__ = "0.1.0"

# Hide TensorFlow's C++ INFO lines (oneDNN, CUDA probing); warnings and errors still show.
# Set TF_CPP_MIN_LOG_LEVEL yourself before importing tltf to choose otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
