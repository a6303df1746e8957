"""The exercise solutions in notebooks/solutions run and give sensible answers (quick mode)."""

import itertools

import numpy as np
import pandas as pd
import pytest

from solutions import ex00, ex01, ex02, ex03, ex04, ex05, ex06, ex07, ex08, ex09, ex10, ex11, ex12, ex13, ex14, ex15
from tltf import assets, curves, data, explain, models, recipes, recommend, stages, text


def test_ex00_top5_names_a_daisy(flowers):
    import keras

    for name in ("mobilenet_025_top", "imagenet_class_index"):
        assets.fetch(name, quiet=True)
    guesses = ex00.top5(
        keras.applications.MobileNet(alpha=0.25, weights="imagenet"), flowers / "daisy" / "10437754174_22ec990b77_m.jpg"
    )
    assert len(guesses) == 5 and guesses[0][0] == "daisy"
    assert all(a[1] >= b[1] for a, b in itertools.pairwise(guesses))


def test_ex00_inner_layer_and_small_backbone_features(flowers):
    base = models.load_backbone("mobilenet_v2")
    assert ex00.layer_features(base, "block_6_expand_relu").output_shape == (None, 192)
    assert ex00.small_backbone_features().output_shape == (None, 256)


def test_ex00_knn_accuracy_separates_clusters():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    assert ex00.knn_accuracy(rng.normal(size=(60, 8)) + 5 * y[:, None], y) > 0.95
    assert ex00.knn_accuracy(rng.normal(size=(60, 8)), y) < 0.7


def test_ex01_another_backbone(quick_flowers):
    splits = quick_flowers
    accuracy, seconds = ex01.backbone_validation_accuracy("mobilenet_025", splits, views=1, epochs=2)
    assert 0 <= accuracy <= 1 and seconds > 0


def test_ex01_few_shot_curve_rises_with_more_labels():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 50)
    centers = rng.normal(size=(4, 32)) * 3
    x = (centers[y] + rng.normal(size=(200, 32))).astype("float32")
    curve = ex01.few_shot_curve((x[::2], y[::2]), (x[1::2], y[1::2]), [1, 25], epochs=30)
    assert set(curve) == {1, 25} and curve[25] >= curve[1] and curve[25] > 0.8


def test_ex01_deeper_head_shape():
    head = ex01.deeper_head(1280, 5)
    assert head.output_shape == (None, 5) and len(head.layers) == 4


def small_mobilenet():
    import keras

    keras.utils.set_random_seed(0)
    return keras.applications.MobileNetV2(
        input_shape=(96, 96, 3), alpha=0.35, include_top=False, weights=None, pooling="avg"
    )


def test_ex02_weight_change_is_zero_for_frozen_blocks_and_seen_where_weights_moved():
    before, after = small_mobilenet(), small_mobilenet()
    after.set_weights(before.get_weights())
    kernel = after.get_layer("block_16_project").kernel
    kernel.assign(kernel * 1.5)
    change = ex02.weight_change_by_block(before, after)
    assert next(iter(change)) == "expanded_conv" and list(change)[-1] == "block_16"
    assert change["block_15"] == 0 and 0 < change["block_16"] < 0.5


def test_ex02_gradual_unfreezing_ends_with_the_top_blocks_trainable():
    import keras
    import tensorflow as tf

    base = small_mobilenet()
    base.trainable = False
    inputs = keras.Input((96, 96, 3))
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(base(inputs)))
    rng = np.random.default_rng(0)
    images = tf.data.Dataset.from_tensor_slices(
        (rng.uniform(-1, 1, (8, 96, 96, 3)).astype("float32"), np.arange(8) % 2)
    ).batch(4)
    accuracies = ex02.gradual_unfreeze(model, base, images, images, max_blocks=2)
    assert len(accuracies) == 2 and all(0 <= a <= 1 for a in accuracies)
    assert base.get_layer("block_15_expand").trainable and not base.get_layer("block_14_expand").trainable


def test_ex03_hub_features_equal_keras_features(quick_flowers, mobilenet_module):
    splits = quick_flowers
    assert ex03.feature_difference(mobilenet_module, data.make_dataset(splits.test, (224, 224)).take(1)) < 1e-3


def test_ex03_exported_model_reloads_with_the_same_outputs(tmp_path):
    import keras

    from tltf import hub_layer

    layer = hub_layer.HubLayer(hub_layer.build_demo_module(tmp_path / "demo"), trainable=True)
    model = keras.Sequential([keras.Input((3,)), layer, keras.layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    assert ex03.export_and_reload(model, tmp_path / "exported", x) < 1e-6


def test_ex04_normalisation_gain_scores_both_heads_on_validation(cache):
    gain = ex04.normalisation_gain(cache, [2], seeds=[0])
    assert list(gain) == [2] and all(0 <= acc <= 1 for acc in gain[2])


def test_ex04_grid_cost_adds_runs_and_preparation():
    runs = [curves.Run("fe", 1, seed, 0.5, 900.0, 1, 1) for seed in (0, 1)]
    runs.append(curves.Run("scratch", 1, 0, 0.2, 3600.0, 1, 1))
    cost = ex04.grid_cost(runs, {"fe": 1800.0}, cores=2, core_hour_usd=0.05, gpu_hour_usd=1.0)
    assert cost["fe"]["cpu_core_hours"] == 2.0 and cost["scratch"]["gpu_usd_same_time"] == 1.0


def test_ex04_diminishing_returns():
    points = ((1, 0.4), (5, 0.6), (10, 0.7), (25, 0.705), (50, 0.8))
    summary = [{"approach": "fe", "per_class": k, "mean": m} for k, m in points]
    assert ex04.diminishing_returns(summary, "fe") == 10
    assert ex04.diminishing_returns(summary, "fe", threshold=0.001) is None


def test_ex05_best_ngram_range_scores_each_range_on_validation(quick_sentiment):
    sentiment = quick_sentiment
    scores, best = ex05.best_ngram_range(sentiment, ranges=((1, 1), (1, 2)))
    assert set(scores) == {(1, 1), (1, 2)} and best in scores and scores[best] == max(scores.values())


def test_ex05_truncation_cost_and_target_sentences_needed(quick_sentiment, minilm):
    sentiment = quick_sentiment
    preprocessor, encoder = minilm
    features = {name: text.embed(getattr(sentiment, name).texts, preprocessor, encoder) for name in ("train", "val")}
    head = text.frozen_head((features["train"], sentiment.train.labels), (features["val"], sentiment.val.labels))
    cost = ex05.truncation_cost(head, preprocessor, encoder, sentiment.val, lengths=(4, 64))
    assert preprocessor.sequence_length == text.SEQUENCE_LENGTH  # restored
    assert cost[64][0] > cost[4][0]  # two word pieces and [CLS]/[SEP] say little about a review
    k = ex05.target_sentences_needed(features, sentiment, "amazon", "imdb", (0, 8, 48), tolerance=1.0)
    assert k == 0  # any accuracy is within a tolerance of 1.0
    assert ex05.target_sentences_needed(features, sentiment, "amazon", "imdb", (0,), tolerance=-1.0) is None


def test_ex06_level_normalisation_removes_a_gain():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 12)
    shape = rng.normal(size=(10, 64))[labels]  # each digit its own spectral shape
    patches = np.repeat((shape + rng.normal(scale=0.3, size=shape.shape))[:, None, :], 96, axis=1)
    loud = patches + 5.0  # the same clips, louder: a constant log-level shift
    assert ex06.level_normalised_baseline((patches, labels), (loud, labels)) > 0.9


def test_ex06_most_confused_and_speaker_accuracy():
    labels = np.array([1, 1, 1, 7, 7, 3])
    predictions = np.array([7, 7, 1, 7, 1, 3])
    assert ex06.most_confused(labels, predictions) == (1, 7, 2)
    speakers = np.array(["a", "a", "b", "b", "b", "a"])
    assert ex06.speaker_accuracy(labels, predictions, speakers) == {"a": 0.3333, "b": 0.6667}


def test_ex07_threshold_for_sensitivity_and_the_screening_reading():
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.65, 0.5, 0.7, 0.9])
    assert ex07.threshold_for_sensitivity(labels, scores, 1.0) == pytest.approx(0.5)  # the lowest positive
    assert ex07.threshold_for_sensitivity(labels, scores, 0.6) == pytest.approx(0.7)
    reading = ex07.screening_reading((labels, scores), (labels, scores), target=1.0)
    assert reading["screening"]["sensitivity"] == 1.0 and reading["screening"]["specificity"] == 0.75


def test_ex07_probes_on_validation(mirror):
    xrays = data.load_xrays(quick=True, verbose=False)
    base = models.load_backbone("mobilenet_v2")
    by_method = ex07.interpolation_on_validation(xrays, base, methods=("bilinear", "area"))
    assert set(by_method) == {"bilinear", "area"}
    assert all(0 <= v["ci95"][0] <= v["mean"] <= v["ci95"][1] <= 1 for v in by_method.values())
    gain = ex07.imagenet_minus_random(xrays, layers=("block_2_add", "out_relu"))
    assert set(gain) == {"block_2_add", "out_relu"} and all(-100 <= g <= 100 for g in gain.values())


def test_ex08_drop_and_reestimation_by_target_count(cache):
    model = stages.classifier(cache, stages.feature_extraction(cache, None, seed=0))
    test = data.decode_images(cache.splits.test, cache.spec.image_size)
    drop = ex08.drop_under(model, test.images, test.labels, ("shot_noise",))
    assert set(drop) == {"clean", "shot_noise"} and all(0 <= v <= 1 for v in drop.values())
    before = model.get_weights()
    by_count = ex08.accuracy_by_target_count(model, test.images, test.labels, counts=(1, None))
    assert set(by_count) == {1, len(test)}
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))  # restored


def test_ex08_flags_a_shift_and_not_the_clean_photos():
    rng = np.random.default_rng(0)
    clean = rng.normal(size=(80, 6))
    flagged = ex08.flag_shifts(clean, {"same": clean + rng.normal(0, 0.01, clean.shape), "moved": clean + 1.0})
    assert flagged == ["moved"]
    assert 0.3 < ex08.null_domain_accuracy(clean) < 0.7


def test_ex09_alpha_on_validation_and_a_decay_that_moves_it(recipe_grid):
    plain = recipes.Recipe(epochs=1)
    chosen = ex09.choose_alpha(recipe_grid, plain, alphas=(100.0,), per_class=5, seeds=(0, 1))
    assert chosen["alpha"] == 100.0 and set(chosen["val"]) == {100.0}
    assert chosen["test_effect_points"]["ci95"] is not None
    val, moved = ex09.decay_that_matters(recipe_grid, plain, decays=(1e4,), per_class=5)
    assert set(val) == {1e4} and moved in (None, 1e4)


def test_ex09_mixup_on_augmented_photos(recipe_grid):
    accuracies = ex09.mixup_on_augmented_photos(recipe_grid, recipes.Recipe(epochs=1), per_class=5, seeds=(0,))
    assert set(accuracies) == {"mixup", "flip_rotate_zoom", "both"} and all(0 <= a <= 1 for a in accuracies.values())


def _labelled(n: int, seed: int):
    """``n`` random 16-px images and two balanced labels (what the solutions compute is checked, not learnt)."""
    return np.random.default_rng(seed).uniform(0, 255, (n, 16, 16, 3)).astype("float32"), np.repeat([0, 1], n // 2)


def test_ex10_views_ablation_and_temperatures_score_on_validation():
    labelled, val = _labelled(32, 0), _labelled(16, 1)
    settings = {"epochs": 1, "batch": 16}
    parts = ex10.views_ablation(labelled, val, "flowers", (8, 16), **settings)
    assert list(parts) == ["crops and colour", "crops only", "colour only"]
    assert all(0 <= a <= 1 for a in parts.values())
    assert set(ex10.temperatures(labelled, val, "xray", (8,), values=(0.1, 0.5), **settings)) == {0.1, 0.5}
    momenta = ex10.momentum_and_reestimation(labelled, val, "flowers", (8,), **settings)
    assert list(momenta) == ["momentum 0.9", "momentum 0.99", "momentum 0.99, statistics re-estimated"]
    assert all(0 <= a <= 1 for a in momenta.values())


def test_ex10_knn_accuracy_separates_clusters():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    centres = rng.normal(size=(3, 8)) * 4
    x = centres[y] + rng.normal(size=(60, 8))
    assert ex10.knn_accuracy(x[::2], y[::2], x[1::2], y[1::2]) > 0.95
    assert ex10.knn_accuracy(rng.normal(size=(30, 8)), y[::2], rng.normal(size=(30, 8)), y[1::2]) < 0.7


def _toy_classifier():
    """A small CNN in a nested base with a Dense head, as the course builds them: (model, 4 images, labels)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="c1", bias_initializer="random_normal")(inputs)
    x = keras.layers.Conv2D(6, 3, activation="relu", name="c2", bias_initializer="random_normal")(x)
    base = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="base")
    outer = keras.Input((16, 16, 3))
    head = keras.layers.Dense(3, activation="softmax", name="head")
    model = keras.Model(outer, head(base(keras.layers.Rescaling(1 / 255)(outer))))
    images, _ = _labelled(4, 3)
    return model, images, np.array([0, 1, 2, 0])


def test_ex11_true_class_and_earlier_layer():
    model, images, labels = _toy_classifier()
    predicted, true = ex11.true_and_predicted(model, images, labels)
    same = explain.predicted(model, images) == labels
    assert predicted.shape == true.shape == (4, 16, 16)
    np.testing.assert_allclose(predicted[same], true[same], atol=1e-6)
    assert not np.allclose(predicted[~same], true[~same])
    rho = ex11.head_randomisation(model, images, "c1")  # no backbone blocks here: the "head" step is every layer
    assert rho.shape == (4,) and np.all((rho >= -1) & (rho <= 1)) and rho.mean() < 0.99


def test_ex11_smoothgrad_without_noise_is_the_gradient():
    model, images, _ = _toy_classifier()
    np.testing.assert_allclose(
        ex11.smoothgrad(model, images, samples=2, sigma=0.0), explain.gradient_saliency(model, images), atol=1e-5
    )
    noisy = ex11.smoothgrad(model, images, samples=2, sigma=15.0)
    assert noisy.shape == (4, 16, 16) and not np.allclose(noisy, explain.gradient_saliency(model, images))


def test_ex11_insertion_runs_from_the_fill_to_the_image():
    model, images, _ = _toy_classifier()
    classes, fill = explain.predicted(model, images), np.full_like(images, 127.5)
    order = np.tile(np.arange(16), (4, 1))
    curves = ex11.insertion_curves(model, images, order, classes, patch=4, steps=4, fill=fill)
    rows = np.arange(4)
    np.testing.assert_allclose(curves[:, 0], model.predict(fill, verbose=0)[rows, classes], atol=1e-6)
    np.testing.assert_allclose(curves[:, -1], model.predict(images, verbose=0)[rows, classes], atol=1e-6)


@pytest.fixture(scope="module")
def toy_export(tmp_path_factory):
    """A small CNN that learned to tell red, green and blue images apart, as a SavedModel: (model, folder, images)."""
    import keras

    from tltf import export

    keras.utils.set_random_seed(0)
    labels = np.repeat(np.arange(3), 20)
    images = np.random.default_rng(0).uniform(0, 120, (60, 16, 16, 3)).astype("float32")
    images[np.arange(60), :, :, labels] += 120
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(keras.optimizers.Adam(1e-2), "sparse_categorical_crossentropy")
    model.fit(images, labels, epochs=30, verbose=0)
    return model, export.saved_model(model, tmp_path_factory.mktemp("ex12") / "saved"), images


def test_ex12_calibration_counts_and_threads(toy_export):
    model, saved, images = toy_export
    agreement = ex12.calibration_agreement(
        saved, images, (1, 20), images, model.predict(images, verbose=0)
    )  # toy: one set
    assert set(agreement) == {1, 20} and all(0 <= a <= 1 for a in agreement.values()) and agreement[20] >= 0.9
    from tltf import export

    latency = ex12.thread_latency(export.to_litert(saved, "float32"), images[0], repeats=5)
    assert set(latency) == {1, 2} and all(v > 0 for v in latency.values())


def test_ex12_mixed_targets_run_from_labels_to_teacher():
    teacher = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]], "float32")
    np.testing.assert_allclose(ex12.mixed_targets(np.array([2, 0]), teacher, 1.0, 2.0), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(ex12.mixed_targets(np.array([2, 0]), teacher, 0.0, 1.0), teacher, atol=1e-6)
    half = ex12.mixed_targets(np.array([2, 0]), teacher, 0.5, 2.0)
    np.testing.assert_allclose(half.sum(axis=1), 1, atol=1e-6)
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 120)
    features = rng.normal(0, 1, (120, 6)).astype("float32")
    features[np.arange(120), labels] += 3
    probs = np.eye(3)[labels] * 0.8 + 0.2 / 3
    accuracy = ex12.mixed_students(features, labels, probs, features, labels, epochs=30, learning_rate=1e-2)
    assert set(accuracy) == {0, 0.5, 1} and min(accuracy.values()) > 0.8


def test_ex12_confidence_attack_sees_an_overconfident_model():
    rng = np.random.default_rng(0)
    members, others = rng.dirichlet([20, 1, 1], 200), rng.dirichlet([2, 1, 1], 200)
    leak = ex12.confidence_attack(members, others, resamples=300)
    assert leak["ci95"][0] > 0.7
    same = ex12.confidence_attack(members, members.copy(), resamples=300)
    assert same["mean"] == 0.5


def test_ex13_pooled_box_head_and_found_share():
    model = ex13.pooled_box_model(32, None)
    out = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert out["box"].shape == (2, 4) and out["class"].shape == (2, 2)
    true = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], "float32")
    predicted = np.array([[0, 0, 10, 10], [2, 0, 12, 10]], "float32")  # IoU 1 and 80 / 120
    assert ex13.found_share(true, predicted, 0.5) == 1 and ex13.found_share(true, predicted, 0.75) == 0.5


def test_ex13_counts_true_false_and_missed_detections():
    boxes, labels = [np.array([[0.1, 0.1, 0.4, 0.4], [0.5, 0.5, 0.9, 0.9]])], [np.array([0, 1])]
    predicted = {
        "boxes": np.array([[[10, 10, 40, 40], [12, 12, 40, 40], [50, 50, 90, 90], [0, 60, 30, 90]]], "float32"),
        "confidence": np.array([[0.9, 0.8, 0.4, 0.6]]),
        "labels": np.array([[0, 0, 0, 1]]),  # a hit, a duplicate, the wrong class, a miss
        "num_detections": np.array([4]),
    }
    assert ex13.count_at_threshold(predicted, boxes, labels, 100, 0.5) == {"true": 1, "false": 2, "missed": 1}
    assert ex13.count_at_threshold(predicted, boxes, labels, 100, 0.3) == {"true": 1, "false": 3, "missed": 1}


class _PerfectDetector:
    """Answers every image with the one box it holds (the test's photos), at confidence 0.9."""

    def predict(self, images, batch_size, verbose):
        boxes = np.tile(np.array([[[4, 4, 12, 12]]], "float32"), (len(images), 1, 1))
        return {
            "boxes": boxes,
            "confidence": np.full((len(images), 1), 0.9),
            "labels": np.zeros((len(images), 1)),
            "num_detections": np.ones(len(images)),
        }


def test_ex13_scores_whole_photos():
    scored = ex13.score_on_photos(
        _PerfectDetector(),
        np.zeros((3, 16, 16, 3), np.uint8),
        [np.array([[0.25, 0.25, 0.75, 0.75]])] * 3,
        [[0]] * 3,
        ["cat"],
    )
    assert scored["ap"] == pytest.approx(1.0)


def test_ex14_texts_every_rating_and_the_prior_added_back():
    movies = pd.DataFrame({"movie": [7, 9], "title": ["Heat (1995)", "Up (2009)"], "genres": [("Crime",), ()]})
    tags = pd.DataFrame({"user": [3, 5], "movie": [9, 9], "tag": ["balloons", "Sad"], "time": [1, 2]})
    assert ex14.texts_with_every_tag(movies, tags)[1] == "Up (2009). Genres: none. Tags: balloons, sad."
    train = pd.DataFrame({"user": [3, 5, 5], "movie": [9, 7, 9], "rating": [1.0, 4.0, 2.5], "time": [1, 2, 3]})
    split = data.RatingSplit(train, train.iloc[:0], train.iloc[:0], np.array([]), pd.Series(dtype="int64"))
    found = ex14.every_rating(split, pd.Index([3, 5]), pd.Index([7, 9]))
    assert found["users"].tolist() == [0, 1, 1] and found["movies"].tolist() == [1, 0, 1]  # low ratings too
    np.testing.assert_allclose(found["prior"], [2 / 5, 3 / 5])
    uniform = ex14.uniform_prior(4)
    assert uniform.sum() == pytest.approx(1) and len(set(uniform)) == 1

    tower = recommend.two_tower(2, 4, uniform, known=np.ones(4, bool), dim=4, hidden=8)
    real = np.array([0.1, 0.2, 0.3, 0.4], "float32")
    added = ex14.with_real_prior(tower, real, 2) - tower.scores(2, 4)
    np.testing.assert_allclose(added, np.log(real)[None].repeat(2, 0), rtol=1e-5)


def _two_genres(users: int = 12, per_genre: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each user likes every comedy and every drama of a small catalogue, in a seeded order over time."""
    movies = pd.DataFrame(
        {
            "movie": np.arange(1, 2 * per_genre + 1),
            "title": [f"Movie {i}" for i in range(2 * per_genre)],
            "genres": [("Comedy",)] * per_genre + [("Drama",)] * per_genre,
        }
    )
    rng = np.random.default_rng(0)
    rows = [
        (user, movie, 4.0 + (movie % 2), time)
        for user in range(1, users + 1)
        for time, movie in enumerate(rng.permutation(movies.movie))
    ]
    return pd.DataFrame(rows, columns=["user", "movie", "rating", "time"]), movies


def test_ex14_target_gain_scores_the_new_users_on_movies_they_had_not_rated():
    ratings, movies = _two_genres()
    found = ex14.target_gain(ratings, movies, {"Comedy"}, 1, epochs=1, batch_size=16)
    shift = data.genre_shift(ratings, movies, {"Comedy"}, 1)
    assert found["new_users"].tolist() == shift.new_users.tolist()  # every new user, and only them
    # a new user likes every comedy: the 10 rated before the test are never proposed again, which leaves
    # exactly their 10 test comedies as candidates (proposing an unused early comedy would miss one)
    for arm in ("pretrained", "scratch"):
        np.testing.assert_array_equal(found[arm]["recall"], 1.0)
    assert found["gain"]["mean"] == 0


def test_ex15_held_out_speakers_are_in_the_test_folder_only(mirror, tmp_path):
    from tltf import cli, fitting

    root = ex15.speaker_folders(tmp_path / "digits")
    files = {part: sorted((root / part).glob("*/*.wav")) for part in ("train", "val", "test")}
    speakers = {part: {p.stem.split("_")[1] for p in paths} for part, paths in files.items()}  # <digit>_<speaker>_<i>
    held_out = set(data.HELD_OUT_SPEAKERS)
    assert speakers["test"] == held_out
    assert speakers["train"] and speakers["val"] and not (speakers["train"] | speakers["val"]) & held_out
    names = [p.name for paths in files.values() for p in paths]
    assert len(names) == len(set(names))  # no recording in two parts
    assert all(p.parent.name == p.stem.split("_")[0] for paths in files.values() for p in paths)  # digit folders
    expected = data.load_spoken_digits("speaker", verbose=False)
    assert {part: len(paths) for part, paths in files.items()} == {part: len(getattr(expected, part)) for part in files}
    assert cli.guess_kind(root) == "sound"
    kept, _ = fitting.read(cli.fit_options([root]))  # fit keeps the split made by hand
    assert sorted(map(str, kept.test.paths)) == sorted(map(str, files["test"]))


def _reviews(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["text", "label", "split", "source"])


def test_ex15_source_shares_follow_the_split_fit_draws(tmp_path):
    from tltf import cli, fitting

    rng = np.random.default_rng(0)
    sources = rng.choice(["amazon", "imdb", "yelp"], size=60, p=[0.5, 0.3, 0.2])
    labels = np.repeat(["negative", "positive"], 30)
    rows = [(f"review {i} from {s}", y, "train", s) for i, (s, y) in enumerate(zip(sources, labels, strict=True))]
    path = tmp_path / "reviews.csv"
    _reviews([rows[i] for i in rng.permutation(60)]).to_csv(path, index=False)  # the split column is ignored
    source_of = {text: source for text, _, _, source in rows}
    found = {}
    for seed, test in ((42, 0.2), (7, 0.3)):
        drawn = ex15.drawn_split(path, test=test, seed=seed)
        fit, _ = fitting.read(cli.fit_options([path, "--test", test, "--seed", seed]))
        for part in ("train", "val", "test"):
            assert getattr(drawn, part).texts.tolist() == getattr(fit, part).texts.tolist()
            assert [source_of[t] for t in getattr(drawn, part).texts] == getattr(drawn, part).sources.tolist()
        shares = found[seed] = ex15.source_shares(path, test=test, seed=seed)
        assert shares.index.tolist() == ["train", "val", "test"] and shares.columns.tolist() == [
            "amazon",
            "imdb",
            "yelp",
        ]
        np.testing.assert_allclose(shares.sum(axis=1), 1)
        in_test = pd.Series([source_of[t] for t in fit.test.texts]).value_counts(normalize=True)
        np.testing.assert_allclose(shares.loc["test", in_test.index], in_test)
    assert not np.allclose(found[42], found[7])  # stratified by label only: the sources' shares move with the seed


def test_ex15_stars_tsv_is_read_with_its_column_options(tmp_path):
    from tltf import cli, fitting

    rows = [(f'good, "really" {i}', "positive", "train", "yelp") for i in range(6)]
    rows += [(f"bad {i}", "negative", "train", "imdb") for i in range(6)]
    rows += [("fine val", "positive", "val", "amazon"), ("poor val", "negative", "val", "amazon")]
    rows += [("great test", "positive", "test", "yelp"), ("awful\ttest", "negative", "test", "imdb")]
    _reviews(rows).to_csv(tmp_path / "reviews.csv", index=False)
    arguments = ex15.stars_tsv(tmp_path / "reviews.csv", tmp_path / "stars.tsv")
    assert arguments[0] == str(tmp_path / "stars.tsv")
    assert pd.read_csv(tmp_path / "stars.tsv", sep="\t").columns.tolist() == ["review", "stars", "split"]
    splits, _ = fitting.read(cli.fit_options(arguments))
    assert splits.class_names == ["1", "5"]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (12, 2, 2)
    assert splits.test.texts.tolist() == ["great test", "awful\ttest"] and splits.test.labels.tolist() == [1, 0]
    assert splits.train.texts[0] == 'good, "really" 0'
    with pytest.raises(ValueError, match=r"\.tsv"):
        ex15.stars_tsv(tmp_path / "reviews.csv", tmp_path / "stars.csv")


def test_ex15_confident_mistakes_are_wrong_and_sure():
    predicted = pd.DataFrame(
        {
            "input": ["a", "b", "c", "d", "e", "f"],
            "class": ["pos", "neg", "pos", "neg", "pos", "neg"],
            "probability": [0.95, 0.9, 0.89, 0.99, 0.97, 0.93],
        }
    )
    labels = ["neg", "pos", "neg", "neg", "neg", "pos"]  # d is right (and sure); c is wrong below 0.9
    mistakes = ex15.confident_mistakes(predicted, labels)
    assert mistakes.columns.tolist() == ["input", "class", "probability", "label"]
    assert mistakes.input.tolist() == ["e", "a", "f", "b"]  # highest first, 0.9 itself included
    assert (mistakes["class"] != mistakes.label).all() and mistakes.index.tolist() == [4, 0, 5, 1]
    assert ex15.confident_mistakes(predicted, labels, threshold=0.96).input.tolist() == ["e"]
    numbers = predicted.assign(**{"class": [1, 5, 1, 5, 1, 5]})  # read_csv gives ints for classes "1" and "5"
    assert ex15.confident_mistakes(numbers, ["5", "1", "5", "5", "5", "1"]).input.tolist() == ["e", "a", "f", "b"]
    with pytest.raises(ValueError, match="labels"):
        ex15.confident_mistakes(predicted, labels[:3])
