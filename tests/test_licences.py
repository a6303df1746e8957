"""tltf.licences and ``python -m tltf.assets licences``: every asset's licence and what it allows."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tltf import licences
from tltf.registry import registry


def test_every_asset_has_a_licence_a_verdict_and_a_reason():
    table = licences.table()
    assert list(table.columns) == licences.COLUMNS
    assert list(table["asset"]) == [*registry(), *licences.EXTERNAL]  # registry order, then the others
    assert table["licence"].str.len().min() > 0 and table["note"].str.len().min() > 20
    assert set(table["terms"]) <= set(licences.TERMS)
    for asset in registry().values():
        assert asset.terms in licences.TERMS and asset.terms_note.endswith("."), asset.name


def test_imagenet_weights_are_flagged_and_data_is_not_trained():
    table = licences.table().set_index("asset")
    weights = [a.name for a in registry().values() if a.kind == "keras-file" and a.name != "imagenet_class_index"]
    assert len(weights) == 7
    for name in weights:  # an open weight file learned from ImageNet photos under research-only terms
        assert table.loc[name, "trained_on"] == "ImageNet (ILSVRC-2012)"
        assert table.loc[name, "terms"] == "unclear" and "image-net.org" in table.loc[name, "note"]
    assert pd.isna(table.loc["imagenet_class_index", "trained_on"])  # metadata: names, not learned weights
    for asset in registry().values():
        if asset.kind == "dataset":
            assert asset.trained_on is None, asset.name
    assert table.loc["yamnet_tflite", "trained_on"].startswith("AudioSet")
    assert table.loc["glove_6b_50d_top40k", "trained_on"] == "Wikipedia 2014 + Gigaword 5"
    flagged = set(licences.flagged(licences.table())["asset"])
    assert set(weights) | {"yamnet_tflite", licences.MINILM} <= flagged
    assert "flower_photos" not in flagged and "free_spoken_digit" not in flagged


def test_minilm_is_listed_with_the_licence_of_its_model_card():
    row = licences.table([licences.MINILM]).iloc[0]
    assert row["kind"] == "pip package" and row["terms"] == "unclear"
    assert row["licence"].startswith("Apache-2.0")
    assert "billion sentence pairs" in row["trained_on"]
    source = Path(licences.__file__).with_name("text.py").read_text(encoding="utf-8")  # not imported: TensorFlow
    assert f'MINILM_PACKAGE = "{licences.MINILM_DISTRIBUTION}==' in source  # the package tltf.text loads


def test_a_selection_keeps_registry_order_and_unknown_names_are_errors():
    assert list(licences.table(["all_minilm_l6_v2", "vgg16_notop", "flower_photos"])["asset"]) == [
        "flower_photos",
        "vgg16_notop",
        "all_minilm_l6_v2",
    ]
    with pytest.raises(ValueError, match=r"Unknown asset\(s\) 'imagenet'.*Known: flower_photos"):
        licences.table(["flower_photos", "imagenet"])


def test_render_falls_back_to_aligned_text_without_tabulate(monkeypatch):
    table = licences.table(["flower_photos", "vgg16_notop"])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    text = licences.render(table)
    assert "|" not in text.splitlines()[0] and "vgg16_notop" in text and "ImageNet (ILSVRC-2012)" in text
    assert licences.verdict(table).startswith("1 of 2 flagged (terms not open: vgg16_notop).")


def run(*args):
    return subprocess.run([sys.executable, "-m", "tltf.assets", *args], capture_output=True, text=True)


def test_command_line_prints_every_asset_and_the_count():
    result = run("licences")
    assert result.returncode == 0, result.stderr
    for name in licences.known():
        assert name in result.stdout
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(f"{len(licences.flagged(licences.table()))} of {len(licences.known())} flagged")
    assert "not legal advice" in last


def test_command_line_rejects_an_unknown_name():
    result = run("licences", "flower_photos", "no_such_asset")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: Unknown asset(s) 'no_such_asset'")
