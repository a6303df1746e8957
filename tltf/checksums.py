"""Verified local files: sha256 / md5 digests, manifests of whole folders, and downloads (pooch)
that land only when their checksum matches. ``tltf.assets`` decides what to fetch from where.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pooch
import requests


class AssetError(RuntimeError):
    """An asset is missing, cannot be downloaded, or fails its checksum."""


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


@contextmanager
def staged(dest: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; move it onto ``dest`` only if the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, part = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(part)
        os.replace(part, dest)
    finally:
        if os.path.exists(part):
            os.unlink(part)


def download(url: str, dest: Path, *, sha256: str | None = None, md5: str | None = None) -> str:
    """Download ``url`` to ``dest`` with pooch (progress bar, temporary file, atomic move, hash check);
    returns the sha256 received.

    ``dest`` is written only when the checksum given (sha256, else md5) matches, so it is never left
    half-written or wrong. Raises AssetError on a network failure or a checksum mismatch.
    """
    name, expected = ("sha256", sha256) if sha256 else ("md5", md5)
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Said on stdout, and the bar drawn only in a terminal: in a notebook, stderr would show as an error.
    print(f"Downloading {url} to {dest} …", flush=True)
    logger, level = pooch.get_logger(), pooch.get_logger().level
    logger.setLevel("WARNING")  # pooch's own "Downloading data from …" line goes to stderr
    try:
        pooch.retrieve(
            url,
            known_hash=f"{name}:{expected}" if expected else None,
            fname=dest.name,
            path=dest.parent,
            progressbar=sys.stderr.isatty(),
        )
    except ValueError as err:  # pooch's hash mismatch; it has removed the download
        raise AssetError(
            f"Checksum mismatch for {url}: expected {name} {expected}. {err} "
            "The download was discarded; try again, or use a mirror."
        ) from None
    except (requests.RequestException, OSError) as err:
        raise AssetError(f"Download of {url} failed ({err}).") from err
    finally:
        logger.setLevel(level)
    return file_hash(dest)


def write_manifest(root: Path, files: list[str], name: str = "MANIFEST.sha256") -> str:
    """Write ``<sha256>  <relative path>`` lines, sorted by path, into ``root/name``; returns its sha256."""
    lines = [f"{file_hash(root / rel)}  {rel}\n" for rel in sorted(files)]
    (root / name).write_text("".join(lines), encoding="utf-8")
    return file_hash(root / name)


def verify_tree(root: Path, manifest: str = "MANIFEST.sha256", expected: str | None = None) -> int:
    """Check every file under ``root`` against its manifest; returns the number of files checked.

    Raises AssetError naming the problems: a manifest that is missing or differs from ``expected``,
    and files that are missing, changed, or present but not listed.
    """
    listing = root / manifest
    if not listing.is_file():
        raise AssetError(f"{root} has no {manifest}, so it cannot be verified.")
    if expected and file_hash(listing) != expected:
        raise AssetError(f"{listing} is not the registered manifest (sha256 {expected}).")
    wanted = {}
    for line in listing.read_text(encoding="utf-8").splitlines():
        digest, rel = line.split("  ", 1)
        wanted[rel] = digest
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {manifest}
    problems = [f"missing {rel}" for rel in sorted(wanted.keys() - present)]
    problems += [f"not in the manifest: {rel}" for rel in sorted(present - wanted.keys())]
    problems += [f"changed {rel}" for rel in sorted(wanted.keys() & present) if file_hash(root / rel) != wanted[rel]]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise AssetError(
            f"{root} does not match {manifest}: {len(problems)} problem(s): {shown}. "
            "Restore the original files, or delete the folder and fetch it again."
        )
    return len(wanted)
