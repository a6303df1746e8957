"""``python -m tltf fit`` on your own texts and sounds, ``predict`` on what it saved, and every bad input's one line."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from scipy.io import wavfile

from tltf import cli, data


def run(*args):
    return subprocess.run([sys.executable, "-m", "tltf", *args], capture_output=True, text=True)


def last_json(result) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def reviews(tmp_path_factory, mirror) -> tuple:
    """A CSV of 40 positive and 40 negative real review sentences (Yelp, the course's copy), columns named
    "sentence" and "sentiment", one sentence repeated with the other label; and a text model fitted on it."""
    sentences = data.load_sentences(verbose=False).where(domains="yelp")
    folder = tmp_path_factory.mktemp("reviews")
    rows = [(t, data.SENTIMENT_CLASSES[y]) for y in (0, 1) for t in sentences.texts[sentences.labels == y][:40]]
    rows.append((rows[0][0], "positive"))  # the first negative sentence, labelled positive too
    path = folder / "reviews.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([("sentence", "sentiment"), *rows])
    model = folder / "reviews.keras"
    args = ("--text-column", "sentence", "--label-column", "sentiment", "--epochs", "30", "--out", str(model))
    return path, model, run("fit", str(path), *args)


def test_fit_on_a_csv_of_texts_reports_saves_and_warns(reviews):
    _, model, result = reviews
    summary = last_json(result)
    assert summary["kind"] == "text" and summary["classes"] == ["negative", "positive"]
    assert summary["n_train"] + summary["n_val"] + summary["n_test"] == 81
    assert summary["test_acc"] >= 0.6 and summary["model"] == str(model)
    assert not model.with_name(model.name + ".backup").exists()  # a finished run removes its backups
    assert "precision" in result.stdout and "recall" in result.stdout
    assert "warning: 1 text(s) in two classes" in result.stderr


def test_predict_reads_texts_a_text_file_and_a_csv(reviews, tmp_path):
    path, model, _ = reviews
    lines = tmp_path / "new.txt"
    lines.write_text("The food was wonderful and the staff were kind.\n\nCold fries, rude waiter, never again.\n")
    out = tmp_path / "predictions.csv"
    result = run("predict", str(model), "I loved every bite!", str(lines), str(path), "--csv", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    with open(out, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1 + 2 + 81  # one row per text
    assert [r["class"] for r in rows[:3]] == ["positive", "positive", "negative"]
    assert all(0.5 <= float(r["probability"]) <= 1 for r in rows)
    shown = run("predict", str(model), "I loved every bite!")
    assert shown.stdout.strip().split("\t")[:2] == ["I loved every bite!", "positive"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory, mirror) -> tuple:
    """Spoken "zero" and "one" (12 recordings each, one speaker), some written as 16 kHz stereo; and a model."""
    from tltf import assets, audio

    source = assets.fetch("free_spoken_digit", quiet=True) / "recordings"
    root = tmp_path_factory.mktemp("digits") / "spoken"
    for digit, name in ((0, "zero"), (1, "one")):
        (root / name).mkdir(parents=True)
        for index in range(12):
            original = source / f"{digit}_jackson_{index}.wav"
            if index % 4:
                shutil.copy(original, root / name / original.name)
            else:  # another rate, two channels
                waveform, rate = audio.read_wav(original)
                louder = (audio.resample(waveform, rate) * 32767).astype("int16")
                wavfile.write(root / name / original.name.upper(), 16000, np.stack([louder, louder], axis=1))
    model = root.parent / "digits.keras"
    return root, model, run("fit", str(root), "--epochs", "30", "--out", str(model))


def test_fit_on_a_folder_of_sounds_then_predict(digits):
    root, model, result = digits
    summary = last_json(result)
    assert summary["kind"] == "sound" and summary["classes"] == ["one", "zero"]
    assert summary["n_train"] + summary["n_val"] + summary["n_test"] == 24 and summary["test_acc"] >= 0.6
    files = [str(root / "zero" / "0_jackson_1.wav"), str(root / "one" / "1_jackson_2.wav")]
    shown = run("predict", str(model), *files)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert [line.split("\t")[1] for line in shown.stdout.strip().splitlines()] == ["zero", "one"]


def refused(capsys, monkeypatch, *argv) -> str:
    """Run ``python -m tltf`` in this process; assert exit status 2 and one plain line; return it."""
    monkeypatch.setenv("TLTF_VERBOSE", "1")  # keep this process's stderr as it is
    assert cli.main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def _csv(tmp_path, text: str, name: str = "texts.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.mark.parametrize(
    ("content", "encoding", "expected"),
    [
        ("", "utf-8", "is empty"),
        ("text,label\ncafé au lait,a\nthé,b\n", "latin-1", "--encoding"),
        ("review,stars\ngood,5\nbad,1\n", "utf-8", "columns are 'review', 'stars'. Name yours with --text-column"),
        ("text,label\n", "utf-8", "a header but no rows"),
        ("text,label\ngood,pos\n  ,neg\n", "utf-8", "1 row(s) have a blank text (first: row 3"),
        ("text,label\ngood,pos\nfine,pos\n", "utf-8", "every example is labelled 'pos'"),
        ("text,label\n" + "".join(f"t{i},a\n" for i in range(5)) + "u1,b\nu2,b\n", "utf-8", "Class 'b' has 2"),
    ],
)
def test_bad_text_files_get_one_plain_line(tmp_path, capsys, monkeypatch, content, encoding, expected):
    assert expected in refused(capsys, monkeypatch, "fit", _csv(tmp_path, content, encoding=encoding))


def test_a_text_folder_and_its_bad_files(tmp_path, capsys, monkeypatch):
    (tmp_path / "empty").mkdir()
    assert "holds no .txt files" in refused(capsys, monkeypatch, "fit", str(tmp_path / "empty"), "--kind", "text")
    (tmp_path / "t" / "a").mkdir(parents=True)
    (tmp_path / "t" / "a" / "one.txt").write_bytes("d\xe9j\xe0 vu".encode("cp1252"))
    assert "one.txt is not utf-8 text" in refused(capsys, monkeypatch, "fit", str(tmp_path / "t"))
    assert "does not exist" in refused(capsys, monkeypatch, "fit", str(tmp_path / "nothing.csv"))


def test_bad_sounds_get_one_plain_line(tmp_path, capsys, monkeypatch):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for i in range(3):
            wavfile.write(
                tmp_path / name / f"{i}.wav", 8000, (np.sin(np.arange(8000) / (3 + i)) * 9000).astype("int16")
            )
    (tmp_path / "b" / "broken.wav").write_bytes(b"RIFF....WAVEfmt not really")
    assert "broken.wav cannot be read as a WAV file" in refused(capsys, monkeypatch, "fit", str(tmp_path))
    wavfile.write(tmp_path / "b" / "broken.wav", 8000, np.zeros(8000, "int16"))
    assert "broken.wav is silent" in refused(capsys, monkeypatch, "fit", str(tmp_path))
    (tmp_path / "c").mkdir()
    assert "holds no WAV files" in refused(capsys, monkeypatch, "fit", str(tmp_path / "c"), "--kind", "sound")


def test_predict_refuses_what_the_model_does_not_read(reviews, digits, tmp_path, capsys, monkeypatch):
    _, text_model, _ = reviews
    sound_root, sound_model, _ = digits
    wav = str(sound_root / "zero" / "0_jackson_1.wav")
    assert "not one of what this text model reads" in refused(capsys, monkeypatch, "predict", str(text_model), wav)
    note = _csv(tmp_path, "just words", name="note.txt")
    assert "not one of what this sound model reads: WAV files" in refused(
        capsys, monkeypatch, "predict", str(sound_model), note
    )
    assert "is not a Keras 3 .keras file" in refused(capsys, monkeypatch, "predict", note, "hello")
    assert "does not exist" in refused(capsys, monkeypatch, "predict", str(tmp_path / "none.keras"), "hello")


def test_a_bad_input_in_a_fresh_process_prints_no_traceback(tmp_path):
    result = run("fit", _csv(tmp_path, "text,label\ngood,pos\n"))
    assert result.returncode == 2 and result.stderr.strip().startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_duplicates_are_counted_case_blind():
    def part(texts, labels):
        return data.Examples(texts=np.array(texts, object), labels=np.array(labels))

    splits = data.Splits(part(["Good", "bad"], [1, 0]), part(["ok"], [1]), part(["good ", "BAD", "new"], [0, 0, 1]), [])
    assert data.duplicate_texts(splits) == {"in two classes": 1, "in train and test": 2}


def test_fit_in_two_workers_writes_one_model_that_predicts(reviews, tmp_path):
    path, _, _ = reviews
    out = tmp_path / "two.keras"
    args = ("--text-column", "sentence", "--label-column", "sentiment", "--epochs", "20", "--out", str(out))
    result = run("fit", str(path), *args, "--workers", "2", "--workers-timeout", "400")
    summary = last_json(result)  # the chief's report, as it ran
    assert summary["kind"] == "text" and summary["model"] == str(out) and summary["test_acc"] >= 0.6
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two.json", "two.keras"]  # the chief's files only
    shown = run("predict", str(out), "I loved every bite!")
    assert shown.returncode == 0 and shown.stdout.split("\t")[1] == "positive"
    refused = run("fit", str(path), *args, "--workers", "2", "--fine-tune")
    assert refused.returncode == 2 and "fine-tuning a text model in several workers" in refused.stderr


def test_fit_sounds_fine_tuned_in_two_workers(digits, tmp_path):
    root, _, _ = digits
    out = tmp_path / "tuned.keras"
    options = ("--epochs", "10", "--fine-tune", "--fine-tune-epochs", "2", "--out", str(out))
    summary = last_json(run("fit", str(root), *options, "--workers", "2", "--workers-timeout", "400"))
    assert summary["fine_tune_epochs"] == 2 and summary["kind"] == "sound" and out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tuned.json", "tuned.keras"]


def test_what_fit_cannot_guess_or_read(tmp_path, capsys, monkeypatch):
    (tmp_path / "mixed" / "a").mkdir(parents=True)
    (tmp_path / "mixed" / "a" / "x.txt").write_text("words")
    wavfile.write(tmp_path / "mixed" / "a" / "y.wav", 8000, np.ones(800, "int16"))
    message = refused(capsys, monkeypatch, "fit", str(tmp_path / "mixed"))
    assert "1 sound file(s), 1 text file(s): say which to use with --kind" in message
    single = tmp_path / "mixed" / "a" / "y.wav"
    assert "fit takes a folder with one sub-folder per class" in refused(capsys, monkeypatch, "fit", str(single))
    tabbed = _csv(tmp_path, "text\tlabel\ngood\tpos\nbad\tneg\n", name="reviews.txt")
    assert "separated by tabs or semicolons" in refused(capsys, monkeypatch, "fit", tabbed)

    def unreadable(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "locked.csv"))

    monkeypatch.setattr("pandas.read_csv", unreadable)
    locked = _csv(tmp_path, "text,label\na,b\n", name="locked.csv")
    assert "may not read it. Check its permissions" in refused(capsys, monkeypatch, "fit", locked)


def test_predict_refuses_a_folder_and_a_missing_file(reviews, tmp_path, capsys, monkeypatch):
    _, model, _ = reviews
    assert "is a folder" in refused(capsys, monkeypatch, "predict", str(model), str(tmp_path))
    missing = str(tmp_path / "new.csv")
    assert "new.csv does not exist" in refused(capsys, monkeypatch, "predict", str(model), missing)


def test_bad_data_in_two_workers_is_still_one_line(tmp_path):
    result = run("fit", _csv(tmp_path, "text,label\ngood,pos\n"), "--workers", "2", "--workers-timeout", "120")
    assert result.returncode == 2 and "every example is labelled 'pos'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_backups_of_another_run_are_not_resumed(tmp_path):
    from tltf import resume

    folder = tmp_path / "m.keras.backup"
    assert resume.claim(folder, {"data": "a", "epochs": 5}) == ""
    (folder / "head").mkdir()
    assert "Resuming" in resume.claim(folder, {"data": "a", "epochs": 5}) and (folder / "head").exists()
    assert "starting over" in resume.claim(folder, {"data": "a", "epochs": 6}) and not (folder / "head").exists()


def test_a_split_column_is_kept_and_val_drawn_from_train_when_absent(tmp_path, capsys, monkeypatch):
    from tltf import fitting

    rows = [(f"good {i}", "pos", "train") for i in range(10)] + [(f"bad {i}", "neg", "TRAIN") for i in range(10)]
    rows += [("good val", "pos", "validation"), ("bad val", "neg", "val"), ("good t", "pos", "test")]
    table = "text,label,part\n" + "".join(",".join(row) + "\n" for row in rows)
    path = _csv(tmp_path, table)
    splits = fitting.read(cli.fit_options([path, "--split-column", "part"]))[0]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (20, 2, 1)
    assert list(splits.test.texts) == ["good t"] and sorted(splits.val.texts) == ["bad val", "good val"]
    no_val = _csv(tmp_path, table.replace("validation", "train").replace(",val\n", ",train\n"), name="b.csv")
    drawn = fitting.read(cli.fit_options([no_val, "--split-column", "part", "--val", 0.25]))[0]
    assert (len(drawn.train), len(drawn.val), len(drawn.test)) == (16, 6, 1)  # a quarter of train, per class
    assert np.bincount(drawn.val.labels).tolist() == [3, 3] and "good t" not in set(drawn.train.texts)
    odd = _csv(tmp_path, table.replace("good t,pos,test", "good t,pos,holdout"), name="c.csv")
    assert "names its splits 'holdout': use train, val" in refused(
        capsys, monkeypatch, "fit", odd, "--split-column", "part"
    )
    assert (
        "no column 'part '; its columns are 'text', 'label', 'part'. Name yours with --text-column, --label-col"
        in refused(capsys, monkeypatch, "fit", path, "--split-column", "part ")
    )


def _wavs(folder, count, pitch):
    folder.mkdir(parents=True)
    for i in range(count):
        tone = np.sin(np.arange(8000) * pitch * (1 + i / 50)) * 9000
        wavfile.write(folder / f"{i}.wav", 8000, tone.astype("int16"))


def test_train_val_test_folders_are_kept_as_given(tmp_path, capsys, monkeypatch):
    from tltf import fitting

    root = tmp_path / "sounds"
    for part, count in (("train", 4), ("Validation", 1), ("test", 2)):
        for name, pitch in (("high", 0.3), ("low", 0.05)):
            _wavs(root / part / name, count, pitch)
    assert data.split_folders(root).keys() == {"train", "val", "test"} and cli.guess_kind(root) == "sound"
    splits = fitting.read(cli.fit_options([root]))[0]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 2, 4)
    assert all("/test/" in p for p in splits.test.paths) and splits.class_names == ["high", "low"]
    assert splits.test.labels.tolist() == [0, 0, 1, 1]  # one class list for every part
    shutil.rmtree(root / "train" / "low")
    assert "Class 'low' has no training example" in refused(capsys, monkeypatch, "fit", str(root))
    shutil.rmtree(root / "test" / "high")  # a part may lack a class, as long as train has it
    _wavs(root / "train" / "low", 4, 0.05)
    assert fitting.read(cli.fit_options([root]))[0].test.labels.tolist() == [1, 1]
    _wavs(root / "valid" / "low", 1, 0.05)
    assert "has two val folders, Validation/ and valid/: keep one" in refused(capsys, monkeypatch, "fit", str(root))
    shutil.rmtree(root / "valid")
    _wavs(root / "extra" / "low", 1, 0.05)
    assert "other folders too (extra)" in refused(capsys, monkeypatch, "fit", str(root))
    shutil.rmtree(root / "extra")
    shutil.rmtree(root / "test")
    assert "has no test folder: a split made by hand is train/, test/" in refused(capsys, monkeypatch, "fit", str(root))


def test_a_class_called_train_is_a_class(tmp_path):
    for name in ("train", "bus"):
        _wavs(tmp_path / name, 3, 0.1)
    assert not data.split_folders(tmp_path)  # it holds recordings, not class folders
    assert cli.fit_options([tmp_path]).kind == "sound"


def test_val_drawn_from_too_few_training_examples_is_refused(tmp_path, capsys, monkeypatch):
    rows = "".join(f"good {i},pos,train\n" for i in range(6)) + "bad,neg,train\ngood t,pos,test\nbad t,neg,test\n"
    path = _csv(tmp_path, "text,label,split\n" + rows)
    assert "no validation part, and 1 training example(s) of class 'neg'" in refused(
        capsys, monkeypatch, "fit", path, "--split-column", "split"
    )
    blank = _csv(tmp_path, "text,label,split\ngood,pos,train\nbad,neg, \n", name="blank.csv")
    assert "1 row(s) have a blank split (first: row 3" in refused(
        capsys, monkeypatch, "fit", blank, "--split-column", "split"
    )
