"""tltf.ssl: SimCLR's views, encoder, loss and training step, written with Keras 3 layers and ops."""

import keras
import numpy as np
import pytest

from tltf import data, ssl


def test_nt_xent_rewards_finding_the_partner():
    rng = np.random.default_rng(0)
    z_a = rng.normal(size=(8, 16)).astype("float32")
    near = z_a + 0.05 * rng.normal(size=z_a.shape).astype("float32")
    paired = float(ssl.nt_xent(z_a, near))
    shuffled = float(ssl.nt_xent(z_a, near[rng.permutation(8)]))
    assert paired < 0.5 < np.log(15) < shuffled  # 2n - 1 = 15 candidates per view
    # Projections that carry no information: every candidate is as likely, the loss is log(2n - 1).
    same = np.ones((8, 16), "float32")
    assert float(ssl.nt_xent(same, same)) == pytest.approx(np.log(15), abs=1e-5)
    # Symmetric in the two views, and a lower temperature sharpens a correct match.
    assert float(ssl.nt_xent(near, z_a)) == pytest.approx(paired, abs=1e-6)
    assert float(ssl.nt_xent(z_a, near, temperature=0.1)) < paired


def test_views_are_seeded_random_per_image_and_per_domain():
    images = np.tile(np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype("float32"), (4, 1, 1, 1))
    first = np.asarray(ssl.views("flowers", seed=3)(images, training=True))
    again = np.asarray(ssl.views("flowers", seed=3)(images, training=True))
    other = np.asarray(ssl.views("flowers", seed=4)(images, training=True))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert not np.allclose(first[0], first[1])  # one copy of an image, four different views
    assert first.shape == images.shape
    np.testing.assert_array_equal(ssl.views("xray", seed=0)(images, training=False), images)  # inactive at inference
    names = {d: [type(layer).__name__ for layer in ssl.views(d).layers] for d in ssl.VIEWS}
    assert "RandomFlip" in names["flowers"] and "RandomFlip" not in names["xray"]  # a mirrored chest is no chest
    assert "RandomGrayscale" not in names["xray"]
    assert [type(x).__name__ for x in ssl.views("flowers", colour=False).layers] == [
        "RandomFlip",
        "RandomZoom",
        "RandomTranslation",
    ]
    assert [type(x).__name__ for x in ssl.views("flowers", crop=False).layers] == [
        "RandomColorJitter",
        "RandomGrayscale",
    ]
    with pytest.raises(ValueError, match="choose one of flowers, xray"):
        ssl.views("mri")


def test_encoder_shapes():
    encoder = ssl.encoder((28, 28), (8, 16, 32))
    assert encoder.output.shape == (None, 32)
    assert ssl.features(encoder, np.zeros((5, 28, 28, 3), "uint8")).shape == (5, 32)


def _pretrain(seed: int, images: np.ndarray, labels: np.ndarray):
    keras.utils.set_random_seed(seed)
    encoder = ssl.encoder((16, 16), (8, 16))
    model = ssl.SimCLR(encoder, ssl.views("flowers", seed=seed), projection=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    watch = ssl.ProbeMonitor(encoder, (images, labels), (images, labels), every=2)
    history = model.fit(images, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[watch])
    return encoder, history.history["loss"], watch


def test_simclr_trains_the_encoder_reproducibly_and_is_watched_by_a_probe():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    labels = np.repeat([0, 1], 8)
    untrained = ssl.features(ssl.encoder((16, 16), (8, 16)), images)
    encoder, losses, watch = _pretrain(0, images, labels)
    _, again, _ = _pretrain(0, images, labels)
    assert len(losses) == 3 and all(np.isfinite(losses))
    np.testing.assert_allclose(losses, again, rtol=1e-5)  # same seed, same run
    assert not np.allclose(ssl.features(encoder, images), untrained)
    assert [epochs for epochs, _ in watch.history] == [0, 2, 3]  # before, every 2 epochs, and the last
    assert all(0 <= accuracy <= 1 for _, accuracy in watch.history) and watch.seconds > 0


def test_decode_images_resizes_arrays_already_in_memory():
    grey = data.Examples(images=np.zeros((3, 28, 28), "uint8"), labels=np.array([0, 1, 0]))
    decoded = data.decode_images(grey, (32, 32))
    assert decoded.images.shape == (3, 32, 32, 3) and decoded.images.dtype == np.uint8
    np.testing.assert_array_equal(decoded.labels, grey.labels)
