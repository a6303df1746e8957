"""Photos with boxes in Pascal VOC XML files (one per photo), as the Oxford-IIIT Pet head boxes are kept:
read, checked, and returned as ``Examples`` with boxes in Keras's ``rel_xyxy`` format.

A folder holds ``images/NAME.jpg`` and ``annotations/xmls/NAME.xml``. VOC coordinates are pixels, 1-based and
inclusive: ``xmin = 1`` is the first column, ``xmax = width`` the last. As ``rel_xyxy`` (fractions of the
width and height, edges between pixels), a box is ((xmin - 1) / w, (ymin - 1) / h, xmax / w, ymax / h).

Why our own reader: Keras and KerasHub read no VOC XML (TFDS does, but builds the whole upstream set, online);
the format is a few tags, read here with the standard library's ``xml.etree``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import numpy as np

from tltf.data.examples import DataError, Examples

#: The per-object fields a VOC file may carry beside the name and the box, kept as text.
FLAGS = ("pose", "truncated", "occluded", "difficult")
#: The columns of ``boxes.csv``: one row per box.
CSV_COLUMNS = ("filename", "width", "height", "species", "breed", "xmin", "ymin", "xmax", "ymax", *FLAGS)


def read_voc(path: str | Path) -> dict:
    """One VOC file: ``{"filename", "width", "height", "objects": [{"name", "box": (xmin, ymin, xmax, ymax),
    "pose", "truncated", "occluded", "difficult"}]}``, pixel coordinates as written, the last four as text.
    Raises DataError naming the file when it cannot be parsed or lacks a field."""
    path = Path(path)
    try:
        root = ElementTree.parse(path).getroot()
        size = root.find("size")
        width, height = int(size.findtext("width")), int(size.findtext("height"))
        objects = [
            {
                "name": obj.findtext("name").strip(),
                "box": tuple(int(float(obj.find("bndbox").findtext(k))) for k in ("xmin", "ymin", "xmax", "ymax")),
                **{k: (obj.findtext(k) or "").strip() for k in FLAGS},
            }
            for obj in root.iter("object")
        ]
        filename = root.findtext("filename") or path.with_suffix(".jpg").name
    except (ElementTree.ParseError, AttributeError, TypeError, ValueError) as err:
        raise DataError(
            f"{path} is not a readable Pascal VOC file ({type(err).__name__}: {err}). Restore it from the "
            "dataset's copy, or move it out of annotations/xmls to leave its photo out."
        ) from None
    return {"filename": filename, "width": width, "height": height, "objects": objects}


def check_box(box: tuple[int, int, int, int], width: int, height: int, where: str) -> None:
    """Raise DataError unless the VOC box lies inside a ``width`` x ``height`` image and is not empty."""
    xmin, ymin, xmax, ymax = box
    if not (1 <= xmin < xmax <= width and 1 <= ymin < ymax <= height):
        raise DataError(
            f"{where}: the box {box} (xmin, ymin, xmax, ymax) is empty or leaves the {width} x {height} image. "
            "Fix the file's <bndbox>, or move the file out of annotations/xmls to leave its photo out."
        )


def relative(box: tuple[int, int, int, int], width: int, height: int) -> np.ndarray:
    """A VOC pixel box as ``rel_xyxy``: (4,) float32 in [0, 1]."""
    xmin, ymin, xmax, ymax = box
    return np.array([(xmin - 1) / width, (ymin - 1) / height, xmax / width, ymax / height], "float32")


def load_boxes(folder: str | Path, names: dict[str, int]) -> Examples:
    """Every photo of ``folder`` that has a VOC file, in file-name order: ``paths`` (str), ``boxes`` (object
    array: one (k, 4) float32 ``rel_xyxy`` array per photo), ``box_labels`` (object array: (k,) int64 per
    photo) and ``labels`` (int64: the first box's class, the photo's class). ``names`` maps each object
    name a file may use to its class index. Raises DataError, in plain words, for a missing or damaged
    file, an unknown name, a box outside its image or empty, or a folder without annotations."""
    folder = Path(folder)
    xmls = sorted((folder / "annotations" / "xmls").glob("*.xml"))
    if not xmls:
        raise DataError(
            f"{folder} has no annotations/xmls/*.xml: point to a folder laid out as images/ + annotations/xmls/."
        )
    paths, boxes, box_labels = [], [], []
    for xml in xmls:
        voc = read_voc(xml)
        photo = folder / "images" / voc["filename"]
        if not photo.is_file():
            raise DataError(f"{xml} describes {photo.name}, which is not in {folder / 'images'}.")
        if not voc["objects"]:
            raise DataError(f"{xml} has no <object>: every photo here needs at least one box.")
        for obj in voc["objects"]:
            if obj["name"] not in names:
                raise DataError(f"{xml}: unknown class {obj['name']!r}; known: {', '.join(sorted(names))}.")
            check_box(obj["box"], voc["width"], voc["height"], str(xml))
        paths.append(str(photo))
        boxes.append(np.stack([relative(o["box"], voc["width"], voc["height"]) for o in voc["objects"]]))
        box_labels.append(np.array([names[o["name"]] for o in voc["objects"]], "int64"))
    labels = np.array([b[0] for b in box_labels], "int64")
    return Examples(paths=np.array(paths), labels=labels, boxes=_ragged(boxes), box_labels=_ragged(box_labels))


def _ragged(arrays: list[np.ndarray]) -> np.ndarray:
    """A 1-D object array holding ``arrays`` as they are (NumPy would stack equal shapes into one block)."""
    column = np.empty(len(arrays), object)
    for i, array in enumerate(arrays):
        column[i] = array
    return column


def write_csv(folder: str | Path) -> Path:
    """Write ``folder/boxes.csv``: one row per box of every ``annotations/xmls/*.xml``, in file-name order, with
    ``CSV_COLUMNS`` (the species is the VOC ``<name>``; the breed is the file name without its ``_n``). It
    holds the XML's numbers and nothing else: the course mirror's copy was written the same way. Returns its path."""
    folder = Path(folder)
    rows = [",".join(CSV_COLUMNS)]
    for xml in sorted((folder / "annotations" / "xmls").glob("*.xml")):
        voc = read_voc(xml)
        breed = xml.stem.rsplit("_", 1)[0]
        for obj in voc["objects"]:
            values = (f"images/{voc['filename']}", voc["width"], voc["height"], obj["name"], breed, *obj["box"])
            rows.append(",".join(str(v) for v in (*values, *(obj[k] for k in FLAGS))))
    path = folder / "boxes.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
