"""tltf.data.xrays: the PneumoniaMNIST files, bad files refused in plain words, grey arrays in the pipeline."""

import numpy as np
import pytest

from tltf import assets, data
from tltf.data import DataError


def write_npz(path, n=(6, 4, 4), size=28, **override):
    arrays = {}
    for split, count in zip(("train", "val", "test"), n, strict=True):
        arrays[f"{split}_images"] = np.random.default_rng(0).integers(0, 256, (count, size, size), dtype=np.uint8)
        arrays[f"{split}_labels"] = (np.arange(count) % 2).reshape(-1, 1).astype("uint8")
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def test_a_medmnist_file_reads_as_three_splits(tmp_path):
    splits = data.read_medmnist(write_npz(tmp_path / "x.npz"))
    assert [len(splits[s]) for s in ("train", "val", "test")] == [6, 4, 4]
    assert splits["train"].images.shape == (6, 28, 28) and splits["train"].labels.dtype == "int64"
    assert splits["val"].labels.tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"val_labels": None}, "no val_images / val_labels"),
        ({"train_images": np.zeros((6, 28, 28), "float32")}, "dtype float32"),
        ({"test_images": np.zeros((4, 28, 28, 2), "uint8")}, r"shape \(4, 28, 28, 2\)"),
        ({"test_labels": np.zeros((3, 1), "uint8")}, "shape \\(3, 1\\) for 4 images"),
    ],
)
def test_a_file_that_is_not_medmnist_is_refused(tmp_path, override, message):
    with pytest.raises(DataError, match=message):
        data.read_medmnist(write_npz(tmp_path / "x.npz", **override))


def test_a_damaged_file_says_what_to_do(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="not a readable .npz file.*fetch pneumoniamnist_balanced"):
        data.read_medmnist(tmp_path / "x.npz")


def test_labels_other_than_normal_and_pneumonia_are_refused(tmp_path, monkeypatch):
    write_npz(tmp_path / "pneumoniamnist_balanced.npz", val_labels=np.array([[0], [1], [2], [1]], "uint8"))
    monkeypatch.setattr(assets, "fetch", lambda name, quiet=False: tmp_path)
    with pytest.raises(DataError, match=r"val split has labels \[0 1 2\]"):
        data.load_xrays(quick=False, verbose=False)


def test_the_mirror_subset_is_balanced_and_split_as_published(mirror):
    splits = data.load_xrays(quick=False, verbose=False)
    table = splits.table()
    assert table.loc["normal", ["train", "val", "test"]].tolist() == [1214, 135, 234]
    assert table.loc["pneumonia", ["train", "val", "test"]].tolist() == [1214, 135, 234]
    assert splits.train.images.shape == (2428, 28, 28) and splits.class_names == ["normal", "pneumonia"]
    quick = data.load_xrays(quick=True, verbose=False)
    assert [len(quick.train), len(quick.val), len(quick.test)] == [32, 16, 16]
    assert assets.verify("pneumoniamnist_balanced")[0] == "ok"


def test_grey_arrays_become_rgb_batches_with_the_chosen_interpolation():
    images = np.zeros((2, 4, 4), np.uint8)
    images[:, :2] = 200  # top half bright
    examples = data.Examples(images=images, labels=np.array([0, 1]))
    nearest, labels = next(iter(data.make_dataset(examples, (8, 8), interpolation="nearest")))
    bilinear, _ = next(iter(data.make_dataset(examples, (8, 8))))
    assert nearest.shape == (2, 8, 8, 3) and labels.numpy().tolist() == [0, 1]
    assert np.all(nearest[..., 0] == nearest[..., 2])  # grey copied to every channel
    assert set(np.unique(nearest)) == {0.0, 200.0}  # nearest only repeats pixels
    assert len(np.unique(bilinear)) > 2  # bilinear blends them at the edge
