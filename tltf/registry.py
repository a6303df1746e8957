"""The asset registry (``tltf/assets.json``, shipped with the package) and where each asset is looked
for: the mirror named by ``$TLTF_ASSETS``, the local cache, Keras's own models folder. ``tltf.assets``
fetches through it."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tltf.checksums import AssetError, file_hash

REPO = Path(__file__).resolve().parents[1]
REGISTRY = resources.files("tltf") / "assets.json"
MIRROR_ENV = "TLTF_ASSETS"
CACHE_ENV = "TLTF_CACHE"


@dataclass(frozen=True)
class Asset:
    """One registry entry; ``upstream`` and ``mirror`` hold url/path, sha256, size and a note."""

    name: str
    kind: str  # "dataset" (a class-per-folder tree), "keras-file" (goes to Keras's models folder) or "files"
    required: bool  # needed by the notebooks; `fetch` with no names fetches these
    description: str
    upstream: dict
    mirror: dict | None
    license: str
    citation: str
    file: str | None = None  # keras-file: the official Keras file name
    subset: dict | None = None  # dataset: how the course subset is drawn from the upstream set
    files: dict | None = None  # files: {file name: {"sha256", "size", optional "url"}} of one folder
    trained_on: str | None = None  # weights: the data they were learned from; None for data itself
    terms: str = "unclear"  # "open", "research-only" or "unclear": what the licence and its sources allow
    terms_note: str = ""  # one sentence saying why (tltf.licences)

    def provenance(self) -> str:
        """A few lines saying what the asset is, its licence and how to cite it."""
        return f"{self.name}: {self.description}\n  licence: {self.license}\n  cite: {self.citation}"


def registry() -> dict[str, Asset]:
    """All assets in ``tltf/assets.json``, by name."""
    entries = json.loads(REGISTRY.read_text(encoding="utf-8"))
    return {name: Asset(name=name, **fields) for name, fields in entries.items()}


def get(name: str) -> Asset:
    """The registry entry called ``name``; a clear error lists the known names."""
    assets = registry()
    if name not in assets:
        raise AssetError(f"Unknown asset {name!r}. Known assets: {', '.join(sorted(assets))}.")
    return assets[name]


def mirror_dir() -> Path | None:
    """The mirror folder named by ``$TLTF_ASSETS``, or None when the variable is unset."""
    value = os.environ.get(MIRROR_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise AssetError(
            f"{MIRROR_ENV}={value} is not a folder. Point it at a copy of the course's "
            "asset mirror, or unset it to download from upstream."
        )
    return path


def cache_dir() -> Path:
    """Where datasets are downloaded and unpacked: ``$TLTF_CACHE``, else the repository's ``data/`` in a
    checkout, else ``~/.tltf`` (an installed package must not write into its own folder)."""
    default = REPO / "data" if (REPO / "pyproject.toml").exists() else Path.home() / ".tltf"
    return Path(os.environ.get(CACHE_ENV) or default).expanduser()


def keras_models_dir() -> Path:
    """The folder ``keras.utils.get_file(..., cache_subdir="models")`` reads: Keras's own rule."""
    from keras.src.backend.config import keras_home  # Keras has no public accessor for it

    base = Path(keras_home()).expanduser()
    if base.exists() and not os.access(base, os.W_OK):
        base = Path(tempfile.gettempdir()) / ".keras"
    return base / "models"


def local_path(asset: Asset) -> Path:
    """Where an asset's local (cached or downloaded) copy lives: Keras's models folder for a Keras
    file, ``cache_dir()/datasets/NAME`` for a dataset, ``cache_dir()/<mirror path>`` for files (and
    ``cache_dir()/datasets/NAME`` for files that are not in the mirror)."""
    if asset.kind == "keras-file":
        return keras_models_dir() / asset.file
    if asset.kind == "dataset":
        return cache_dir() / "datasets" / asset.name
    return cache_dir() / (asset.mirror["path"] if asset.mirror else f"datasets/{asset.name}")


def identify(asset: Asset, path: Path) -> str | None:
    """Which recorded version ``path`` holds: "official bytes", "mirror rebuild" or None (no match)."""
    sha = file_hash(path)
    if sha == asset.upstream.get("sha256") or (
        asset.upstream.get("md5") and file_hash(path, "md5") == asset.upstream["md5"]
    ):
        return "official bytes"
    if asset.mirror and sha == asset.mirror["sha256"]:
        return "mirror rebuild" if "REBUILT" in asset.mirror.get("note", "") else "official bytes"
    return None


def unavailable(asset: Asset, looked: list[str], err: AssetError) -> AssetError:
    """The one error a user sees when an asset can be found nowhere."""
    where = "; ".join(looked)
    return AssetError(
        f"Asset {asset.name!r} is not available. Looked in: {where}. {err} "
        f"Offline? Set {MIRROR_ENV} to a folder holding the course's asset mirror (see the README, "
        f"'Offline and classroom use'), or go online and run: python -m tltf.assets fetch {asset.name}"
    )


def mirror_copy(asset: Asset) -> Path | None:
    """The asset's path inside the mirror, or None when there is no mirror or it lacks the asset."""
    root = mirror_dir()
    if root is None or asset.mirror is None:
        return None
    path = root / asset.mirror["path"]
    return path if path.exists() else None


def mirror_note(asset: Asset) -> str:
    """Why the mirror did not provide ``asset``, in words."""
    mirror = mirror_dir()
    if mirror is None:
        return f"mirror: {MIRROR_ENV} is not set"
    if asset.mirror is None:
        return f"mirror {mirror}: this asset is not part of the mirror layout"
    return f"mirror {mirror / asset.mirror['path']}: not there"
