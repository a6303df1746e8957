"""tltf: the helper package of a transfer-learning course in Keras 3 / TensorFlow.

Modules, one concern each: ``registry`` (the asset registry and where assets are looked for),
``assets`` (mirror, cache, verified downloads), ``checksums`` (hashes, manifests, pooch downloads),
``data`` (one container for every dataset; ``images``, ``sentences``, ``recordings``, ``xrays``,
``corruptions``), ``models``
(backbone registry, classifier builder, unfreezing), ``train`` (seeding, feature caching, callbacks, the
one fine-tuning routine), ``hub_layer`` (hub modules as Keras 3 layers), ``text`` (sentence encoder,
GloVe, padded batches), ``audio`` (YAMNet front end and network), ``curves`` (learning-curve
experiments), ``adapt`` (BatchNorm re-estimation and TENT, without labels), ``plots``, ``stats``
(95 % intervals), ``record`` (what a notebook measured), ``bench`` (``python -m tltf.bench``: runs a
notebook, keeps its record), ``tables`` (the README's benchmark tables) and ``cli``
(``python -m tltf``). One lesson's own helpers live in ``notebooks/lessons/``.
Import the submodules you need; this top level stays light (no TensorFlow import).
"""

import os

__version__ = "0.1.0"

# Hide TensorFlow's C++ INFO lines (oneDNN, CUDA probing); warnings and errors still show.
# Set TF_CPP_MIN_LOG_LEVEL yourself before importing tltf to choose otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

#: Quick mode (``TLTF_QUICK=1``, set by the tests): same code, small subsets and few epochs.
QUICK: bool = os.environ.get("TLTF_QUICK", "") == "1"
