"""tltf.audio: YAMNet's front end (shapes, padding, mel bins, resampling) and network (layout, weights)."""

import numpy as np
import pytest
import tensorflow as tf

from tltf import audio


def tone(freq: float, seconds: float = 1.0, rate: int = audio.SAMPLE_RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype("float32")


@pytest.mark.parametrize("samples, patches", [(100, 1), (15_600, 1), (23_279, 1), (23_280, 2), (48_000, 5)])
def test_patch_count_follows_the_specification(samples, patches):
    frames = 1 + (max(samples, audio.MIN_SAMPLES) - audio.WINDOW) // audio.HOP
    assert patches == 1 + (frames - audio.PATCH_FRAMES) // audio.PATCH_HOP
    assert audio.log_mel_patches(np.zeros(samples, "float32")).shape == (patches, 96, 64)


def test_silence_is_the_log_offset_and_stereo_is_refused():
    np.testing.assert_allclose(audio.log_mel_patches(np.zeros(16_000, "float32")), np.log(audio.LOG_OFFSET), rtol=1e-6)
    with pytest.raises(ValueError, match="mono"):
        audio.log_mel_patches(np.zeros((16_000, 2), "float32"))


@pytest.mark.parametrize("freq", [300.0, 1_000.0, 4_000.0])
def test_a_tone_lands_in_the_mel_bin_centred_nearest_it(freq):
    mel = lambda f: 1127.0 * np.log1p(f / 700.0)  # noqa: E731  (the HTK mel scale tf.signal uses)
    centres = np.linspace(mel(audio.MEL_LOW), mel(audio.MEL_HIGH), audio.MEL_BINS + 2)[1:-1]
    expected = int(np.argmin(np.abs(centres - mel(freq))))
    assert int(audio.log_mel_patches(tone(freq)).numpy().mean(axis=(0, 1)).argmax()) == expected


def test_resampling_8_to_16_khz_keeps_the_pitch():
    up = audio.resample(tone(1_000.0, rate=8_000), 8_000)
    assert up.shape == (16_000,) and up.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(up))
    assert np.fft.rfftfreq(len(up), 1 / audio.SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(1_000.0, abs=2)


def test_network_has_yamnets_layout():
    classifier, backbone = audio.yamnet()
    assert classifier.count_params() == 3_729_481 and backbone.count_params() == 3_195_456
    assert backbone.output_shape == (None, 1024) and classifier.output_shape == (None, 521)
    assert backbone.get_layer("layer14_pw") is classifier.get_layer("layer14_pw")  # shared layers


def test_yamnet_hears_speech_and_pink_noise(mirror, yamnet):
    folder = mirror / "pretrained" / "yamnet-keras"  # the two test recordings (alsa-utils, GPL-2+)
    classifier, _, names = yamnet
    for wav, expected in (("Front_Center", "Speech"), ("Noise", "Pink noise")):
        waveform, rate = tf.audio.decode_wav(tf.io.read_file(str(folder / "test_audio" / f"{wav}.wav")))
        assert int(rate) == audio.SAMPLE_RATE
        scores = classifier.predict(audio.log_mel_patches(waveform[:, 0]), verbose=0).mean(axis=0)
        assert names[int(scores.argmax())] == expected


def test_weights_from_the_tflite_file_equal_the_mirrors_keras_port(mirror, yamnet):
    classifier, _, names = yamnet
    reference, _ = audio.yamnet()
    reference.load_weights(mirror / "pretrained" / "yamnet-keras" / "yamnet_audioset.weights.h5")
    for got, want in zip(classifier.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(names) == 521 and names[0] == "Speech"


def test_a_file_that_is_not_yamnet_is_refused(tmp_path):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    (tmp_path / "tiny.tflite").write_bytes(converter.convert())
    with pytest.raises(ValueError, match="not YAMNet"):
        audio.weights_from_tflite(tmp_path / "tiny.tflite")


def test_fsdd_has_3000_recordings_of_10_digits_by_6_speakers(mirror):
    from tltf import assets, data

    recordings = data.scan_recordings(assets.fetch("free_spoken_digit", quiet=True))
    accents = dict(zip(recordings.speakers, recordings.accents, strict=True))
    assert len(recordings) == 3000 and np.bincount(recordings.labels).tolist() == [300] * 10
    assert sorted(accents) == sorted(set(recordings.speakers)) and len(accents) == 6
    assert set(recordings.indices) == set(range(50))


def test_fsdd_splits_official_and_held_out_speakers(mirror):
    from tltf import data

    official = data.load_spoken_digits("official", quick=False, verbose=False)
    assert (len(official.train), len(official.val), len(official.test)) == (2430, 270, 300)
    assert set(official.test.indices) == set(range(5)) and official.train.indices.min() >= 5
    speaker = data.load_spoken_digits("speaker", quick=False, verbose=False)
    assert set(speaker.test.speakers) == set(data.HELD_OUT_SPEAKERS) and len(speaker.test) == 1000
    assert not set(speaker.train.speakers) & set(data.HELD_OUT_SPEAKERS)
    assert not set(speaker.train.paths) & set(speaker.val.paths)
    with pytest.raises(ValueError, match="official"):
        data.load_spoken_digits("random", verbose=False)


def test_recordings_with_odd_names_are_errors(tmp_path):
    from tltf import data

    (tmp_path / "recordings").mkdir()
    (tmp_path / "speakers.csv").write_text("speaker,gender,accent,language\nann,female,USA,english\n")
    (tmp_path / "recordings" / "3_ann_0.wav").write_bytes(b"")
    assert data.scan_recordings(tmp_path).labels.tolist() == [3]
    (tmp_path / "recordings" / "3_bob_0.wav").write_bytes(b"")
    with pytest.raises(data.DataError, match="bob"):
        data.scan_recordings(tmp_path)
    (tmp_path / "recordings" / "3_bob_0.wav").rename(tmp_path / "recordings" / "three.wav")
    with pytest.raises(data.DataError, match="three.wav"):
        data.scan_recordings(tmp_path)


def test_first_patch_of_an_8_khz_recording(mirror):
    from tltf import assets

    path = assets.fetch("free_spoken_digit", quiet=True) / "recordings" / "0_george_0.wav"
    waveform, rate = audio.read_wav(path)
    assert rate == 8_000 and waveform.ndim == 1 and np.abs(waveform).max() <= 1
    patch = audio.first_patch(path)
    assert patch.shape == (96, 64) and patch.max() > np.log(audio.LOG_OFFSET) + 1  # not silence
