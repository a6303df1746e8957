"""tltf.cards: model cards after Mitchell et al. (2019), their checks, and where they are written."""

import re

import pytest

from tltf import cards, licences

ASSETS = ["flower_photos", "mobilenet_v2_notop", licences.MINILM]


def card(**changes) -> cards.ModelCard:
    fields = dict(
        name="flowers-int8",
        summary="Sorts a photo of a flower into one of 5 classes.",
        details={"Architecture": "MobileNetV2 + dense head", "Format": "LiteRT int8", "File size": "2.6 MB"},
        assets=ASSETS,
        intended_use="Learners sorting their own flower photos.",
        out_of_scope="Deciding whether a plant is safe to eat.",
        factors="Class, and corruption of the photo.",
        metrics={
            "test accuracy": {"mean": 0.87, "ci95": [0.8412, 0.8951], "n": 300},
            "latency (ms)": {"mean": 3.75, "ci95": [3.6, 3.9], "note": "1 thread | CPU"},
        },
        training_data="1,200 flower photos (tf_flowers subset).",
        evaluation_data="300 held-out flower photos.",
        analyses={"accuracy under fog, severity 3": {"mean": 0.61, "ci95": [0.55, 0.67], "n": 300}},
        ethics="No people are shown.",
        caveats=["Measured on one machine."],
    )
    return cards.ModelCard(**{**fields, **changes})


def test_every_section_appears_once_in_order():
    text = card().markdown()
    assert text.startswith("# Model card: flowers-int8\n\nSorts a photo")
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings == list(cards.SECTIONS)
    assert cards.SECTIONS[:3] == ("Model details", "Intended use", "Factors") and cards.SECTIONS[-1] == "Licences"


def test_metrics_show_their_intervals_and_cells_stay_one_line():
    text = card().markdown()
    assert "| test accuracy | 0.870 | 0.841 to 0.895 | 300 |  |" in text
    assert "| latency (ms) | 3.750 | 3.600 to 3.900 |  | 1 thread \\| CPU |" in text  # the pipe is escaped
    assert "| accuracy under fog, severity 3 | 0.610 | 0.550 to 0.670 | 300 |" in text
    assert "- **Out-of-scope uses:** Deciding whether" in text and "- Measured on one machine." in text
    assert [cards.number(x) for x in (0.8712, 12.34, 4321.0, 1500)] == ["0.871", "12.3", "4,321", "1,500"]


def test_licences_section_lists_each_asset_and_marks_the_flagged_ones():
    text = card().markdown()
    section = text.split("## Licences")[1]
    table = licences.table(ASSETS)
    for row in table.itertuples():
        assert row.licence in section
        line = next(x for x in section.splitlines() if x.startswith(f"| {row.asset} |"))
        assert ("**flagged: unclear**" in line) == (row.terms != "open")
    assert "| open |" in section  # the flower photos
    assert section.strip().endswith(licences.NOT_LEGAL_ADVICE)
    assert "2 of 3 flagged" in section


def test_bad_input_is_refused_with_a_plain_message():
    with pytest.raises(ValueError, match="Unknown asset.*'imagenet'"):
        card(assets=["imagenet"])
    with pytest.raises(ValueError, match="metric 'acc' needs a 'mean' and a 'ci95'"):
        card(metrics={"acc": {"mean": 0.9}})
    with pytest.raises(ValueError, match="metric 'acc' needs"):
        card(metrics={"acc": {"ci95": [0.8, 0.9]}})
    with pytest.raises(ValueError, match="analysis 'fog': the interval .* does not contain its mean 0.9"):
        card(analyses={"fog": {"mean": 0.9, "ci95": [0.5, 0.6]}})
    changed = card()
    changed.metrics["acc"] = {"mean": 0.5, "ci95": [0.6, 0.7]}  # a card changed after it was made
    with pytest.raises(ValueError, match="'acc'"):
        changed.markdown()
    assert "Licences" in card(assets=[]).markdown()  # a model made of the user's own data only


def test_write_card_path_and_missing_cards(tmp_path):
    (tmp_path / "flowers.keras").write_bytes(b"k")
    (tmp_path / "flowers.int8.tflite").write_bytes(b"t")
    saved = tmp_path / "sub" / "flowers_savedmodel"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"s")
    (tmp_path / "notes.json").write_text("{}")
    assert cards.card_path(tmp_path / "flowers.int8.tflite") == tmp_path / "flowers.int8.tflite.md"
    assert cards.card_path(f"{saved}/") == tmp_path / "sub" / "flowers_savedmodel.md"  # beside the folder
    models = [saved, tmp_path / "flowers.int8.tflite", tmp_path / "flowers.keras"]
    assert cards.missing_cards(tmp_path) == sorted(models)

    path = cards.write(card(name="Blüten"), tmp_path / "flowers.int8.tflite")
    assert path == tmp_path / "flowers.int8.tflite.md"
    assert path.read_text(encoding="utf-8").startswith("# Model card: Blüten")
    assert cards.write(card(), saved) == tmp_path / "sub" / "flowers_savedmodel.md"
    assert cards.missing_cards(tmp_path) == [tmp_path / "flowers.keras"]
    with pytest.raises(FileNotFoundError, match="save or export the model"):
        cards.write(card(), tmp_path / "absent.keras")
