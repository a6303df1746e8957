"""Find, verify and download the course's assets (datasets and Keras weight files).

The registry lives in ``tltf/assets.json`` (read by ``tltf.registry``). Each asset resolves in this order:

1. a mirror folder named by the environment variable ``TLTF_ASSETS`` (read-only is fine);
2. a local cache: Keras's own models folder for Keras files, ``$TLTF_CACHE`` (default ``data/``) for
   datasets and folders of files;
3. a download from upstream, checked against the registry's sha256 (or Keras's md5) and written
   atomically.

Keras files end up where Keras itself looks (``$KERAS_HOME/models``, default ``~/.keras/models``), so
``keras.applications.MobileNetV2(weights="imagenet")`` works unchanged afterwards.

Command line: ``python -m tltf.assets fetch [NAME ...]``, ``verify [NAME ...]``, ``list``, ``licences [NAME ...]``
(each asset's licence and what it allows, ``tltf.licences``).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from tltf.checksums import AssetError, download, file_hash, staged, verify_tree, write_manifest
from tltf.registry import (
    REGISTRY,
    Asset,
    cache_dir,
    get,
    identify,
    keras_models_dir,
    local_path,
    mirror_copy,
    mirror_dir,
    mirror_note,
    registry,
    unavailable,
)

#: This module's own functions, and the registry's that users call as ``assets.get`` and so on.
__all__ = [
    "REGISTRY",
    "Asset",
    "AssetError",
    "cache_dir",
    "choose_subset",
    "download",
    "fetch",
    "file_hash",
    "get",
    "keras_models_dir",
    "local_path",
    "main",
    "mirror_dir",
    "registry",
    "verify",
    "verify_tree",
    "write_manifest",
]


def _fetch_keras_file(asset: Asset) -> tuple[Path, str]:
    target = local_path(asset)
    source = mirror_copy(asset)
    if source is not None:
        if identify(asset, source) is None:
            raise AssetError(
                f"{source} fails its checksum (expected sha256 {asset.mirror['sha256']}): "
                "the mirror copy is damaged. Restore it from the original mirror."
            )
        if not target.exists() or file_hash(target) != asset.mirror["sha256"]:
            with staged(target) as part:
                shutil.copyfile(source, part)
        return target, f"mirror {source}"
    if target.exists():
        version = identify(asset, target)
        if version:
            return target, f"Keras cache ({version})"
        if not (asset.upstream.get("sha256") or asset.upstream.get("md5")):
            return target, "Keras cache (unverified: no published hash)"
        print(f"{target} matches no recorded hash; downloading it again.", file=sys.stderr)
    try:
        sha = download(
            asset.upstream["url"], target, sha256=asset.upstream.get("sha256"), md5=asset.upstream.get("md5")
        )
    except AssetError as err:
        raise unavailable(asset, [mirror_note(asset), f"Keras cache {target}: not there"], err) from None
    checked = (
        "verified"
        if asset.upstream.get("sha256") or asset.upstream.get("md5")
        else f"UNVERIFIED: no published hash; received sha256 {sha}"
    )
    return target, f"download {asset.upstream['url']} ({checked})"


# --- datasets -------------------------------------------------------------------------------


def choose_subset(full_root: Path, subset: dict) -> list[str]:
    """The course subset of a class-per-folder tree: relative paths, drawn as the registry says."""
    excluded = set(subset["exclude"])
    chosen = []
    for cls in sorted(p.name for p in full_root.iterdir() if p.is_dir()):
        names = sorted(n for n in os.listdir(full_root / cls) if f"{cls}/{n}" not in excluded)
        picked = random.Random(subset["seed"]).sample(names, subset["per_class"])
        chosen += [f"{cls}/{n}" for n in picked]
    return chosen


def paired_files(files: list[str], rules: dict[str, list[str]]) -> list[str]:
    """The companions of kept files: for each ``folder: [pattern, ...]`` rule, each pattern filled with the
    ``stem`` of every file of ``files`` directly in ``folder`` (``"images/{stem}.jpg"`` for ``xmls/a.xml``)."""
    return [
        pattern.format(stem=PurePosixPath(rel).stem)
        for folder, patterns in rules.items()
        for rel in files
        if PurePosixPath(rel).parent.as_posix() == folder
        for pattern in patterns
    ]


def derive(folder: Path, rel: str) -> str:
    """Write the derived file ``rel`` in ``folder`` from the files already there; returns ``rel``. Known:
    ``boxes.csv`` (``tltf.data.boxes.write_csv``, from Pascal VOC files)."""
    from tltf.data import boxes  # tltf.data imports this module

    writers = {"boxes.csv": boxes.write_csv}
    if rel not in writers:
        raise AssetError(f"tltf cannot derive {rel!r}: it knows {', '.join(writers)}. Fix the registry entry.")
    writers[rel](folder)
    return rel


def _fetch_dataset(asset: Asset) -> tuple[Path, str]:
    source = mirror_copy(asset)
    if source is not None:
        count = verify_tree(source, asset.mirror["manifest"], asset.mirror["sha256"])
        return source, f"mirror {source} ({count} files verified)"
    local = local_path(asset)
    same = "identical to the course mirror"
    if local.is_dir():
        count = verify_tree(local)
        note = same if file_hash(local / "MANIFEST.sha256") == asset.mirror["sha256"] else "differs from the mirror"
        return local, f"cache {local} ({count} files verified; {note})"
    archive = cache_dir() / "downloads" / Path(asset.upstream["url"]).name
    try:
        if not (archive.exists() and file_hash(archive) == asset.upstream["sha256"]):
            download(asset.upstream["url"], archive, sha256=asset.upstream["sha256"])
    except AssetError as err:
        raise unavailable(asset, [mirror_note(asset), f"cache {local}: not there"], err) from None
    full = local.with_name(asset.name + "_full")
    local.parent.mkdir(parents=True, exist_ok=True)
    if not full.is_dir():
        with tempfile.TemporaryDirectory(dir=local.parent) as tmp:
            try:
                if archive.suffix == ".zip":  # zipfile keeps every path inside the folder
                    with zipfile.ZipFile(archive) as zf:
                        zf.extractall(tmp)
                else:
                    with tarfile.open(archive) as tar:
                        tar.extractall(tmp, filter="data")
            except (zipfile.BadZipFile, tarfile.TarError) as err:
                raise AssetError(
                    f"The download {archive} is damaged ({err}). Delete it and fetch again: "
                    f"python -m tltf.assets fetch {asset.name}"
                ) from None
            top = next(p for p in Path(tmp).iterdir() if p.is_dir())
            os.replace(top, full)
    if asset.subset:
        files = choose_subset(full, asset.subset)
    else:  # every file named in "keep", or under a folder it names, and the files "keep_paired" adds
        files = sorted(
            p.relative_to(full).as_posix()
            for kept in asset.upstream["keep"]
            for p in ([full / kept] if (full / kept).is_file() else (full / kept).rglob("*"))
            if p.is_file()
        )
        files += paired_files(files, asset.upstream.get("keep_paired", {}))
    if missing := [rel for rel in files if not (full / rel).is_file()]:
        raise AssetError(
            f"The download of {asset.name} lacks {len(missing)} file(s) the registry expects (first: {missing[0]}), "
            f"in {full}. Delete that folder and fetch again; if it persists, the upstream files changed."
        )
    staging = Path(tempfile.mkdtemp(dir=local.parent, prefix=f".{asset.name}."))
    for rel in files:
        (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(full / rel, staging / rel)
    for rel, content in asset.upstream.get("write", {}).items():  # small files the course derives
        (staging / rel).write_text(content, encoding="utf-8")
    derived = [derive(staging, rel) for rel in asset.upstream.get("derive", [])]
    digest = write_manifest(staging, files + list(asset.upstream.get("write", {})) + derived)
    os.replace(staging, local)
    note = (
        same
        if digest == asset.mirror["sha256"]
        else f"differs from the mirror's manifest: sha256 {digest}; the full set is in {full}"
    )
    checked = "verified" if asset.upstream["sha256"] else "UNVERIFIED: no published hash"
    return local, f"download {asset.upstream['url']} ({checked}), {len(files)} files ({note})"


# --- folders of files (text data, word vectors) ----------------------------------------------


def _files_problems(asset: Asset, folder: Path) -> list[str]:
    """What is wrong with ``folder`` as a copy of a "files" asset: missing or changed files."""
    problems = []
    for rel, meta in asset.files.items():
        algorithm = "sha256" if meta.get("sha256") else "md5"  # an official file may publish only an md5
        if not (folder / rel).is_file():
            problems.append(f"missing {rel}")
        elif file_hash(folder / rel, algorithm) != meta[algorithm]:
            problems.append(f"changed {rel} (expected {algorithm} {meta[algorithm]})")
    return problems


def _derive_top_rows(asset: Asset, archive: Path, folder: Path) -> None:
    """Write the first ``rows`` lines of a GloVe text file inside ``archive`` as ``.npy`` + vocabulary."""
    import numpy as np

    words, vectors = [], []
    with zipfile.ZipFile(archive) as zf, zf.open(asset.upstream["member"]) as member:
        for line in member:
            word, *values = line.decode("utf-8").rstrip("\n").split(" ")
            words.append(word)
            vectors.append(np.array(values, dtype="float32"))
            if len(words) == asset.upstream["rows"]:
                break
    npy, vocab = sorted(asset.files)  # "<name>.npy", "<name>.vocab.txt"
    with staged(folder / npy) as part, open(part, "wb") as f:
        np.save(f, np.stack(vectors))
    with staged(folder / vocab) as part:
        part.write_text("".join(w + "\n" for w in words), encoding="utf-8")


def _fetch_files(asset: Asset) -> tuple[Path, str]:
    source = mirror_copy(asset)
    if source is not None:
        if problems := _files_problems(asset, source):
            raise AssetError(
                f"The mirror copy {source} is damaged: {'; '.join(problems)}. Restore it from the original mirror."
            )
        return source, f"mirror {source} ({len(asset.files)} files verified)"
    local = local_path(asset)
    if local.is_dir() and not _files_problems(asset, local):
        return local, f"cache {local} ({len(asset.files)} files verified)"
    try:
        if "member" not in asset.upstream:  # each file has its own verified download
            for rel, meta in asset.files.items():
                download(meta["url"], local / rel, sha256=meta.get("sha256"), md5=meta.get("md5"))
            return local, f"download of {len(asset.files)} files (verified)"
        archive = cache_dir() / "downloads" / Path(asset.upstream["url"]).name
        sha = file_hash(archive) if archive.exists() else download(asset.upstream["url"], archive)
    except AssetError as err:
        if local.is_dir() and not any(local.iterdir()):
            local.rmdir()  # the failed download's empty folder would read as a damaged copy
        raise unavailable(asset, [mirror_note(asset), f"cache {local}: not there"], err) from None
    _derive_top_rows(asset, archive, local)
    problems = _files_problems(asset, local)
    note = (
        "identical to the course mirror"
        if not problems
        else f"differs from the course mirror's bytes: {'; '.join(problems)}"
    )
    return local, f"download {asset.upstream['url']} (UNVERIFIED: no published hash; received sha256 {sha}), {note}"


def fetch(name: str, *, quiet: bool = False) -> Path:
    """Make asset ``name`` available locally and return its path.

    A dataset's path is its class-per-folder tree; a Keras file's path is inside Keras's models
    folder; a "files" asset's path is the folder holding its files. Prints one line saying where
    the asset came from unless ``quiet``. Raises AssetError when the asset is nowhere to be found or fails its checksum.
    """
    asset = get(name)
    path, source = {"dataset": _fetch_dataset, "keras-file": _fetch_keras_file, "files": _fetch_files}[asset.kind](
        asset
    )
    if not quiet:
        label = ""
        if asset.kind == "keras-file" and identify(asset, path) == "mirror rebuild":
            label = " [mirror rebuild: real ImageNet values, not the official bytes]"
        print(f"{name}: {source}{label}")
    return path


def verify(name: str) -> tuple[str, str]:
    """Check every local copy of one asset without downloading; returns (status, detail).

    Status is "ok", "missing" (no copy anywhere), "unverified" (a copy with no published hash
    to check) or "corrupt" (a copy fails its checksum or manifest).
    """
    asset = get(name)
    copies = []
    if (source := mirror_copy(asset)) is not None:
        copies.append(("mirror", source))
    local = local_path(asset)
    if local.exists():
        copies.append(("cache", local))
    if not copies:
        return "missing", f"not in the mirror or the cache; {asset.upstream['url']}"
    details, statuses = [], []
    for where, path in copies:
        try:
            if asset.kind == "files":
                if problems := _files_problems(asset, path):
                    raise AssetError("; ".join(problems))
                details.append(f"{where}: {len(asset.files)} files match their checksums")
                statuses.append("ok")
                continue
            if asset.kind == "dataset":
                expected = asset.mirror["sha256"] if where == "mirror" else None
                details.append(f"{where}: {verify_tree(path, expected=expected)} files match the manifest")
                statuses.append("ok")
                continue
            version = identify(asset, path)
            if version is None and (asset.upstream.get("sha256") or asset.upstream.get("md5") or where == "mirror"):
                raise AssetError(f"{path} matches no recorded hash")
            sha = file_hash(path)[:12]
            if version is None:
                details.append(f"{where}: sha256 {sha}… (no published hash to compare)")
                statuses.append("unverified")
            else:
                details.append(f"{where}: sha256 {sha}… = {version}")
                statuses.append("ok")
        except AssetError as err:
            details.append(f"{where}: {err}")
            statuses.append("corrupt")
    status = next((s for s in ("corrupt", "unverified") if s in statuses), "ok")
    return status, "; ".join(details)


def main(argv: list[str] | None = None) -> int:
    """``python -m tltf.assets {list,fetch,verify,licences} [NAME ...]``; returns the exit status (1: an
    asset is unknown, cannot be fetched, or is damaged)."""
    parser = argparse.ArgumentParser(prog="python -m tltf.assets", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["list", "fetch", "verify", "licences"])
    parser.add_argument("names", nargs="*", help="assets (default: fetch the required ones; verify and licences: all)")
    args = parser.parse_args(argv)
    assets = registry()
    if args.command == "list":
        for asset in assets.values():
            print(
                f"{asset.name:22} {asset.kind:11} {'required' if asset.required else 'optional'}  {asset.description}"
            )
        return 0
    if args.command == "licences":
        from tltf import licences  # pandas: only for this command

        try:
            table = licences.table(args.names or None)
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        print(licences.render(table))
        print(licences.verdict(table))
        return 0
    if args.command == "fetch":
        names = args.names or [a.name for a in assets.values() if a.required]
        try:
            for name in names:
                fetch(name)
        except AssetError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
        return 0
    failed = False
    for name in args.names or list(assets):
        status, detail = verify(name)
        failed |= status == "corrupt" or (status == "missing" and get(name).required)
        print(f"{name:22} {status:10} {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
