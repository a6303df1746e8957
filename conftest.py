"""Test set-up for the unit tests and the notebooks (nbval): quick mode, the asset mirror, and
private Keras and tltf caches.

The environment is set here, before anything imports Keras (which reads KERAS_HOME once), and is
inherited by the notebook kernels that nbval starts.
"""

import os
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
_scratch = Path(tempfile.mkdtemp(prefix="tltf-tests-"))

os.environ["TLTF_MODE"] = "quick"  # tltf.settings: small subsets, 1-2 epochs
os.environ.pop("TLTF_QUICK", None)
os.environ["MPLBACKEND"] = "Agg"
os.environ["KERAS_HOME"] = str(_scratch / "keras")  # a writable copy; the mirror may be read-only
os.environ["TLTF_CACHE"] = str(_scratch / "cache")
# The asset mirror: $TLTF_ASSETS if set (CI sets it), else ../shared beside the repository.
if not os.environ.get("TLTF_ASSETS") and (REPO.parent / "shared" / "ASSETS.md").exists():
    os.environ["TLTF_ASSETS"] = str(REPO.parent / "shared")


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The asset mirror folder; tests that need real assets fail clearly without one."""
    value = os.environ.get("TLTF_ASSETS")
    if not value:
        pytest.fail("These tests need the asset mirror: set TLTF_ASSETS (see README).")
    return Path(value)


@pytest.fixture(scope="session")
def flowers(mirror) -> Path:
    """The course's flower photos (verified mirror copy)."""
    from tltf import assets

    return assets.fetch("flower_photos", quiet=True)


@pytest.fixture(scope="session")
def quick_flowers(flowers):
    """The quick-mode flower splits (20 photos per class), loaded once per run."""
    from tltf import data

    return data.load_flowers(quick=True, verbose=False)


@pytest.fixture(scope="session")
def quick_sentiment(mirror):
    """The quick-mode sentiment splits, loaded once per run."""
    from tltf import data

    return data.load_sentiment(quick=True, verbose=False)


@pytest.fixture(scope="session")
def minilm(mirror):
    """(preprocessor, encoder) of MiniLM, built once per run; tests must not change its weights."""
    from tltf import text

    return text.load_minilm()


@pytest.fixture(scope="session")
def yamnet(mirror):
    """(classifier, backbone, class names) of YAMNet, built once per run; tests must not change its weights."""
    from tltf import audio

    return audio.load_yamnet(verbose=False)


@pytest.fixture(scope="session")
def mobilenet_module(tmp_path_factory, mirror):
    """The locally built MobileNetV2 hub module (a SavedModel folder), built once per run."""
    from tltf import hub_layer

    return hub_layer.build_mobilenet_v2_module(tmp_path_factory.mktemp("hub") / "mobilenet_v2")


@pytest.fixture
def make_tree(tmp_path):
    """Build a class-per-folder tree of generated images: ``make_tree({"cls": n, ...})``.

    Each class gets ``n`` 64×48 JPEGs with a class-specific colour plus noise, so a pre-trained
    backbone separates them easily. Returns the root folder.
    """
    import numpy as np
    from PIL import Image

    def build(classes: dict[str, int], root: Path | None = None) -> Path:
        root = root or tmp_path / "tree"
        rng = np.random.default_rng(0)
        palette = [(220, 40, 40), (40, 60, 220), (40, 200, 60), (230, 220, 40), (160, 40, 200)]
        for i, (name, count) in enumerate(classes.items()):
            (root / name).mkdir(parents=True, exist_ok=True)
            for j in range(count):
                pixels = np.clip(np.array(palette[i % len(palette)]) + rng.normal(0, 30, (48, 64, 3)), 0, 255)
                Image.fromarray(pixels.astype("uint8")).save(root / name / f"img_{j:03d}.jpg")
        return root

    return build


@pytest.fixture(scope="session")
def cache(quick_flowers):
    """A read-only activation cache of the quick flowers (2 cached views per training photo): no run changes it."""
    from tltf.cache import ActivationCache

    return ActivationCache(quick_flowers, views=2)


@pytest.fixture
def recipe_grid(cache):
    """A fresh ``tltf.recipes.Grid`` on the quick cache (its own memo of runs); its flip views are the cache's
    second view."""
    from tltf import data, recipes

    photos = data.decode_images(cache.splits.train, cache.spec.image_size).images
    flips = cache.cut["train"][len(photos) :][None]
    return recipes.Grid(cache, photos, views={"flip_rotate_zoom": flips})


# Notebook 00 is executed by tests/test_bench.py through the benchmark runner (same cells, same asserts):
# nbval running it too would only repeat it.
collect_ignore = ["notebooks/00_what_is_transfer_learning.ipynb"]
