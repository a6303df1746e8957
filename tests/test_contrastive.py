"""tltf.contrastive: SimCLR's views, encoder, loss and training step, written with Keras 3 layers and ops."""

import keras
import numpy as np
import pytest

from tltf import contrastive, data


def test_nt_xent_rewards_finding_the_partner():
    rng = np.random.default_rng(0)
    z_a = rng.normal(size=(8, 16)).astype("float32")
    near = z_a + 0.05 * rng.normal(size=z_a.shape).astype("float32")
    paired = float(contrastive.nt_xent(z_a, near))
    shuffled = float(contrastive.nt_xent(z_a, near[rng.permutation(8)]))
    assert paired < 0.5 < np.log(15) < shuffled  # 2n - 1 = 15 candidates per view
    # Projections that carry no information: every candidate is as likely, the loss is log(2n - 1).
    same = np.ones((8, 16), "float32")
    assert float(contrastive.nt_xent(same, same)) == pytest.approx(np.log(15), abs=1e-5)
    # Symmetric in the two views, and a lower temperature sharpens a correct match.
    assert float(contrastive.nt_xent(near, z_a)) == pytest.approx(paired, abs=1e-6)
    assert float(contrastive.nt_xent(z_a, near, temperature=0.1)) < paired


def test_views_are_seeded_random_per_image_and_per_domain():
    images = np.tile(np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype("float32"), (4, 1, 1, 1))
    first = np.asarray(contrastive.views("flowers", seed=3)(images, training=True))
    again = np.asarray(contrastive.views("flowers", seed=3)(images, training=True))
    other = np.asarray(contrastive.views("flowers", seed=4)(images, training=True))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    assert not np.allclose(first[0], first[1])  # one copy of an image, four different views
    assert first.shape == images.shape
    np.testing.assert_array_equal(
        contrastive.views("xray", seed=0)(images, training=False), images
    )  # inactive at inference
    names = {d: [type(layer).__name__ for layer in contrastive.views(d).layers] for d in contrastive.VIEWS}
    assert "RandomFlip" in names["flowers"] and "RandomFlip" not in names["xray"]  # a mirrored chest is no chest
    assert "RandomGrayscale" not in names["xray"]
    assert [type(x).__name__ for x in contrastive.views("flowers", colour=False).layers] == [
        "RandomFlip",
        "RandomZoom",
        "RandomTranslation",
    ]
    assert [type(x).__name__ for x in contrastive.views("flowers", crop=False).layers] == [
        "RandomColorJitter",
        "RandomGrayscale",
    ]
    with pytest.raises(ValueError, match="choose one of flowers, xray"):
        contrastive.views("mri")
    with pytest.raises(ValueError, match="leave nothing"):
        contrastive.views("xray", crop=False, colour=False)


def test_each_layer_of_a_view_draws_its_own_random_numbers():
    # One seed for every layer would make flips, zooms and greys move together: each gets its own.
    for domain in contrastive.VIEWS:
        seeds = [layer.seed for layer in contrastive.views(domain, seed=7).layers]
        assert seeds == list(range(7, 7 + len(seeds)))
    images = np.tile(np.random.default_rng(1).uniform(0, 255, (1, 16, 16, 3)).astype("float32"), (200, 1, 1, 1))
    flowers = contrastive.views("flowers", seed=0)
    drawn = np.asarray(flowers(images, training=True))
    grey = np.ptp(drawn, axis=-1).max(axis=(1, 2)) < 1e-3  # the three channels equal
    assert 0.1 < grey.mean() < 0.3  # about a fifth of the views are grey
    assert drawn.min() >= 0 and drawn.max() <= 255  # still in the images' range


def test_encoder_shapes_and_seeded_weights():
    encoder = contrastive.encoder((28, 28), (8, 16, 32))
    assert encoder.output.shape == (None, 32)
    # Drawn right after seeding, an encoder's random weights are the same every time: the notebook's random
    # baseline is the very start of the self-supervised encoder of the same seed.
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(5)
        weights.append(contrastive.encoder((28, 28), (8, 16)).get_weights())
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert [layer.momentum for layer in encoder.layers if isinstance(layer, keras.layers.BatchNormalization)] == [
        0.9
    ] * 6
    assert contrastive.features(encoder, np.zeros((5, 28, 28, 3), "uint8")).shape == (5, 32)


def _pretrain(seed: int, images: np.ndarray, labels: np.ndarray):
    keras.utils.set_random_seed(seed)
    encoder = contrastive.encoder((16, 16), (8, 16))
    model = contrastive.SimCLR(encoder, contrastive.views("flowers", seed=seed), projection=8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    watch = contrastive.ProbeMonitor(encoder, (images, labels), (images, labels), every=2)
    history = model.fit(images, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[watch])
    return encoder, history.history["loss"], watch


def test_simclr_trains_the_encoder_reproducibly_and_is_watched_by_a_probe():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (16, 16, 16, 3)).astype("float32")
    labels = np.repeat([0, 1], 8)
    untrained = contrastive.features(contrastive.encoder((16, 16), (8, 16)), images)
    encoder, losses, watch = _pretrain(0, images, labels)
    _, again, _ = _pretrain(0, images, labels)
    assert len(losses) == 3 and all(np.isfinite(losses))
    np.testing.assert_allclose(losses, again, rtol=1e-5)  # same seed, same run
    assert not np.allclose(contrastive.features(encoder, images), untrained)
    assert [epochs for epochs, _ in watch.history] == [0, 2, 3]  # before, every 2 epochs, and the last
    assert all(0 <= accuracy <= 1 for _, accuracy in watch.history) and watch.seconds > 0


def test_decode_images_resizes_arrays_already_in_memory():
    grey = data.Examples(images=np.zeros((3, 28, 28), "uint8"), labels=np.array([0, 1, 0]))
    decoded = data.decode_images(grey, (32, 32))
    assert decoded.images.shape == (3, 32, 32, 3) and decoded.images.dtype == np.uint8
    np.testing.assert_array_equal(decoded.labels, grey.labels)
