"""tltf.data: scanning (with bad input), splits, subsets and pipelines."""

import numpy as np
import pytest
from PIL import Image

from tltf import data
from tltf.data import DataError


def test_scan_reads_classes_in_sorted_order(make_tree):
    root = make_tree({"b_class": 4, "a class with spaces": 3, "Ünïcode": 5})
    folder = data.scan_images(root, verbose=False)
    assert folder.class_names == ["a class with spaces", "b_class", "Ünïcode"]  # code-point order
    assert folder.counts() == {"a class with spaces": 3, "b_class": 4, "Ünïcode": 5}
    images = folder.images
    assert all(folder.class_names[label] in path for path, label in zip(images.paths, images.labels, strict=True))


def test_grayscale_rgba_palette_and_png_images_become_rgb(make_tree):
    root = make_tree({"a": 2, "b": 2})
    source = Image.open(root / "a" / "img_000.jpg")
    source.convert("L").save(root / "a" / "gray.jpg")
    source.convert("RGBA").save(root / "a" / "rgba.png")
    source.convert("P").save(root / "b" / "palette.gif")
    source.save(root / "b" / "png_named_jpg.jpg", format="PNG")
    folder = data.scan_images(root, verbose=False)
    assert len(folder.images) == 8 and folder.skipped == []
    images, _labels = next(iter(data.make_dataset(folder.images, (32, 32), batch_size=8)))
    assert images.shape == (8, 32, 32, 3) and images.dtype == "float32"
    assert float(np.min(images)) >= 0 and float(np.max(images)) <= 255


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        ("truncated", "truncated or corrupt JPEG"),
        ("garbage", "the extension says JPEG but the content is not an image"),
        ("empty", "empty file"),
    ],
)
def test_undecodable_image_is_an_error_naming_the_file_and_the_reason(make_tree, damage, reason):
    root = make_tree({"a": 3, "b": 3})
    target = root / "b" / "img_001.jpg"
    body = target.read_bytes()
    target.write_bytes({"truncated": body[: len(body) // 2], "garbage": b"not an image", "empty": b""}[damage])
    with pytest.raises(DataError, match=rf"1 image file\(s\).*b/img_001.jpg \(cannot be decoded: {reason}.*--skip-bad"):
        data.scan_images(root, verbose=False)


def test_skip_bad_leaves_undecodable_images_out_and_reports_them(make_tree, capsys):
    root = make_tree({"a": 3, "b": 3})
    (root / "a" / "img_000.jpg").write_bytes(b"\xff\xd8\xff truncated")
    folder = data.scan_images(root, skip_bad=True)
    assert len(folder.images) == 5
    assert [rel for rel, _ in folder.skipped] == ["a/img_000.jpg"]
    assert "Skipped 1 file(s):\n  a/img_000.jpg: cannot be decoded" in capsys.readouterr().out


def test_non_image_files_are_reported_not_silently_dropped(make_tree):
    root = make_tree({"a": 3, "b": 3})
    (root / "a" / "notes.txt").write_text("hello")
    (root / "b" / "LICENSE").write_text("x")
    (root / "stray.jpg").write_bytes((root / "a" / "img_000.jpg").read_bytes())
    folder = data.scan_images(root, verbose=False)
    assert len(folder.images) == 6
    text = data.report(folder)
    for expected in (
        "a/notes.txt: not an image file (.txt)",
        "b/LICENSE: not an image file (no extension)",
        "stray.jpg: image outside any class folder",
    ):
        assert expected in text


def test_empty_class_folder_is_an_error(make_tree):
    root = make_tree({"a": 3, "b": 3})
    (root / "empty").mkdir()
    with pytest.raises(DataError, match="empty.*no usable images"):
        data.scan_images(root, verbose=False)


def test_one_class_or_no_folder_is_an_error(make_tree, tmp_path):
    with pytest.raises(DataError, match="at least two"):
        data.scan_images(make_tree({"only": 3}), verbose=False)
    with pytest.raises(DataError, match="is not a folder"):
        data.scan_images(tmp_path / "nowhere", verbose=False)


def test_splits_are_stratified_disjoint_complete_and_seeded(make_tree):
    folder = data.scan_images(make_tree({"a": 20, "b": 10, "c": 15}), verbose=False)
    splits = data.split_stratified(folder, seed=3)
    parts = [set(s.paths) for s in (splits.train, splits.val, splits.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert set.union(*parts) == set(folder.images.paths)
    for split, fraction in ((splits.train, 0.6), (splits.val, 0.2), (splits.test, 0.2)):
        assert np.bincount(split.labels).tolist() == [round(n * fraction) for n in (20, 10, 15)]
    again = data.split_stratified(folder, seed=3)
    other = data.split_stratified(folder, seed=4)
    assert list(again.test.paths) == list(splits.test.paths)
    assert list(other.test.paths) != list(splits.test.paths)


def test_too_small_class_cannot_be_split(make_tree):
    folder = data.scan_images(make_tree({"a": 10, "b": 2}), verbose=False)
    with pytest.raises(DataError, match="'b' has 2 image"):
        data.split_stratified(folder)


def test_per_class_takes_exactly_k_of_each_class(make_tree):
    folder = data.scan_images(make_tree({"a": 8, "b": 5}), verbose=False)
    subset = data.per_class(folder.images, 4, seed=1)
    assert np.bincount(subset.labels).tolist() == [4, 4]
    assert set(subset.paths) <= set(folder.images.paths)
    with pytest.raises(DataError, match="fewer than the 6"):
        data.per_class(folder.images, 6)


def test_dataset_batches_keep_labels_aligned_with_files(make_tree):
    folder = data.scan_images(make_tree({"a": 3, "b": 3}), verbose=False)
    labels = np.concatenate([y for _, y in data.make_dataset(folder.images, (16, 16), batch_size=4)])
    assert labels.tolist() == folder.images.labels.tolist()
    shuffled = data.make_dataset(folder.images, (16, 16), batch_size=6, shuffle=True, seed=0)
    assert sorted(np.concatenate([y for _, y in shuffled]).tolist()) == sorted(labels.tolist())


def test_augmentation_acts_only_in_training():
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    augment = data.augmentation(seed=0)
    assert np.allclose(augment(images, training=False), images)
    assert not np.allclose(augment(images, training=True), images)


def test_quick_flowers_are_the_real_photos_split_60_20_20(flowers):
    splits = data.load_flowers(quick=True, verbose=False)
    assert splits.class_names == ["daisy", "dandelion", "roses", "sunflowers", "tulips"]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (60, 20, 20)
    assert all(str(flowers) in p for p in splits.test.paths)


def test_examples_keep_columns_aligned_and_say_what_is_missing():
    from tltf.data import Examples

    rows = Examples(texts=np.array(["a", "b", "c", "d"]), labels=np.array([0, 1, 0, 1]), domains=np.array(list("xxyy")))
    assert rows.take(np.array([3, 0])).texts.tolist() == ["a", "d"]  # original order kept
    assert rows.take(rows.labels == 1).texts.tolist() == ["b", "d"]  # a mask works too
    assert rows.where(domains="y", labels=1).texts.tolist() == ["d"]
    with pytest.raises(AttributeError, match="no column 'paths'; they have texts, labels, domains"):
        _ = rows.paths
    with pytest.raises(ValueError, match="lengths"):
        Examples(texts=np.array(["a"]), labels=np.array([0, 1]))
    with pytest.raises(ValueError, match="labels"):
        Examples(texts=np.array(["a"]))


def test_splits_table_counts_by_class_or_by_any_columns():
    from tltf.data import Examples, Splits

    def part(labels, speakers):
        return Examples(labels=np.array(labels), speakers=np.array(speakers), accents=np.array(["x"] * len(labels)))

    splits = Splits(part([0, 0, 1], ["a", "b", "b"]), part([1], ["a"]), part([0, 1], ["b", "b"]), ["cat", "dog"])
    table = splits.table()
    assert table.loc["cat"].tolist() == [2, 0, 1, 3] and table.loc["total"].tolist() == [3, 1, 2, 6]
    assert list(table.columns) == ["train", "val", "test", "total"]
    by_speaker = Splits(splits.train, splits.val, splits.test, ["cat", "dog"], by=("speakers", "accents")).table()
    assert by_speaker.loc[("b", "x")].tolist() == [2, 0, 2, 4]
    assert len(splits.where(speakers="a").test) == 0


def test_per_image_applies_a_layer_to_each_image_on_its_own():
    import keras

    centre = keras.layers.Lambda(lambda x: x - keras.ops.mean(x))  # one mean per call
    images = np.stack([np.full((4, 4, 3), v, dtype="float32") for v in (10.0, 50.0)])
    per_image = keras.ops.convert_to_numpy(data.PerImage(centre)(images))
    assert np.allclose(per_image, 0.0)  # each image centred on its own mean, not the batch's
    assert not np.allclose(keras.ops.convert_to_numpy(centre(images)), 0.0)
    flip = data.PerImage(keras.layers.RandomFlip("horizontal", seed=0))
    assert np.array_equal(keras.ops.convert_to_numpy(flip(images, training=False)), images)
    restored = data.PerImage.from_config(flip.get_config())
    assert isinstance(restored.layer, keras.layers.RandomFlip)
