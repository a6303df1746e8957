"""tltf.data.boxes: VOC files read exactly, boxes converted to rel_xyxy, bad files named in plain errors."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tltf import assets
from tltf.data import DataError
from tltf.data import boxes as voc

NAMES = {"cat": 0, "dog": 1}


def _write(folder: Path, stem: str, objects: list[tuple[str, tuple[int, int, int, int]]], size=(200, 100)) -> None:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "annotations" / "xmls").mkdir(parents=True, exist_ok=True)
    (folder / "images" / f"{stem}.jpg").write_bytes(b"")
    body = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{b[0]}</xmin><ymin>{b[1]}</ymin><xmax>{b[2]}</xmax>"
        f"<ymax>{b[3]}</ymax></bndbox></object>"
        for name, b in objects
    )
    size_tag = f"<size><width>{size[0]}</width><height>{size[1]}</height></size>"
    xml = f"<annotation><filename>{stem}.jpg</filename>{size_tag}{body}</annotation>"
    (folder / "annotations" / "xmls" / f"{stem}.xml").write_text(xml, encoding="utf-8")


def test_boxes_are_read_and_converted_exactly(tmp_path):
    _write(tmp_path, "a", [("cat", (1, 1, 200, 100))])
    _write(tmp_path, "b", [("dog", (51, 26, 100, 75)), ("cat", (101, 1, 150, 50))])
    found = voc.load_boxes(tmp_path, NAMES)
    assert list(found.labels) == [0, 1] and [Path(p).name for p in found.paths] == ["a.jpg", "b.jpg"]
    np.testing.assert_allclose(found.boxes[0], [[0, 0, 1, 1]])  # the whole image
    np.testing.assert_allclose(found.boxes[1], [[0.25, 0.25, 0.5, 0.75], [0.5, 0, 0.75, 0.5]])
    assert list(found.box_labels[1]) == [1, 0] and found.take(np.array([1])).boxes[0].shape == (2, 4)


@pytest.mark.parametrize(
    "objects, message",
    [
        ([("cat", (0, 1, 10, 10))], "leaves the 200 x 100 image"),
        ([("cat", (10, 1, 250, 10))], "leaves the 200 x 100 image"),
        ([("cat", (10, 10, 10, 20))], "is empty"),
        ([("horse", (1, 1, 10, 10))], "unknown class 'horse'; known: cat, dog"),
        ([], "has no <object>"),
    ],
)
def test_bad_boxes_are_named_in_plain_words(tmp_path, objects, message):
    _write(tmp_path, "bad", objects)
    with pytest.raises(DataError, match=message) as caught:
        voc.load_boxes(tmp_path, NAMES)
    assert "bad.xml" in str(caught.value)


def test_damaged_and_missing_files(tmp_path):
    with pytest.raises(DataError, match="no annotations/xmls"):
        voc.load_boxes(tmp_path, NAMES)
    _write(tmp_path, "ok", [("cat", (1, 1, 10, 10))])
    (tmp_path / "annotations" / "xmls" / "cut.xml").write_text("<annotation><size><width>3", encoding="utf-8")
    with pytest.raises(DataError, match=r"cut.xml is not a readable Pascal VOC file \(ParseError"):
        voc.load_boxes(tmp_path, NAMES)
    (tmp_path / "annotations" / "xmls" / "cut.xml").unlink()
    (tmp_path / "images" / "ok.jpg").unlink()
    with pytest.raises(DataError, match="describes ok.jpg, which is not in"):
        voc.load_boxes(tmp_path, NAMES)


@pytest.mark.skipif(not os.environ.get("TLTF_ASSETS"), reason="needs the course's asset mirror")
def test_the_mirror_pet_heads_read_as_documented(tmp_path):
    folder = assets.fetch("oxford_pet_heads", quiet=True)
    found = voc.load_boxes(folder, NAMES)
    counts = np.array([len(b) for b in found.boxes])
    assert len(found) == 296 and counts.sum() == 297
    assert [Path(p).name for p in found.paths[counts == 2]] == ["Bengal_105.jpg"]
    assert np.bincount(found.labels).tolist() == [197, 99]
    every = np.concatenate(found.boxes)
    assert every.min() >= 0 and every.max() <= 1 and np.all(every[:, 2:] > every[:, :2])
    # boxes.csv is the XML and nothing else: written again from the XML, it has the mirror's bytes.
    shutil.copytree(folder / "annotations" / "xmls", tmp_path / "annotations" / "xmls")
    assert voc.write_csv(tmp_path).read_bytes() == (folder / "boxes.csv").read_bytes()
