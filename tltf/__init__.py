"""tltf: the helper package of a transfer-learning course in Keras 3 / TensorFlow.

Modules, one concern each: ``assets`` (registry, mirror, cache), ``checksums`` (hashes, manifests,
pooch downloads), ``data`` (datasets, splits, pipelines), ``models`` (backbone registry, classifier
builder), ``train`` (seeding, feature caching, callbacks), ``text`` (sentence encoder, GloVe,
padded batches), ``audio`` (YAMNet front end and network), ``plots``, ``stats`` (95 % intervals),
``record`` (what a notebook measured), ``bench`` (``python -m tltf.bench``: runs a notebook, keeps
its record) and ``cli`` (``python -m tltf``).
Import the submodules you need; this top level stays light (no TensorFlow import).
"""

import os

__version__ = "0.1.0"

# Hide TensorFlow's C++ INFO lines (oneDNN, CUDA probing); warnings and errors still show.
# Set TF_CPP_MIN_LOG_LEVEL yourself before importing tltf to choose otherwise.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

#: Quick mode (``TLTF_QUICK=1``, set by the tests): same code, small subsets and few epochs.
QUICK: bool = os.environ.get("TLTF_QUICK", "") == "1"
