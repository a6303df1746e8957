"""Learning curves (tltf.curves): subsets, the cut backbone, exact caching, summaries and costs."""

import numpy as np
import pytest

from lessons import time_and_cost
from tltf import curves, data, models
from tltf.curves import Run


def test_per_class_index_draws_exactly_k_per_class_and_depends_on_the_seed():
    labels = np.repeat(np.arange(3), [5, 7, 9])
    index = data.per_class_index(labels, 4, seed=1)
    assert np.bincount(labels[index]).tolist() == [4, 4, 4]
    assert np.array_equal(index, data.per_class_index(labels, 4, seed=1))
    assert not np.array_equal(index, data.per_class_index(labels, 4, seed=2))
    with pytest.raises(data.DataError, match="Class 0 has 5"):
        data.per_class_index(labels, 6)


@pytest.mark.parametrize("name, blocks, shape", [("mobilenet_v2", 6, (14, 14, 96)), ("resnet50", 2, (7, 7, 2048))])
def test_split_top_composes_to_the_whole_backbone(name, blocks, shape):
    spec = models.get_backbone(name)
    base = models.load_backbone(spec, weights=None)
    lower, top = models.split_top(spec, base, blocks)
    assert lower.output_shape[1:] == shape
    assert all(layer is base.get_layer(layer.name) for layer in top.layers[1:])  # shared, not copied
    x = np.random.default_rng(0).uniform(0, 255, (2, *spec.image_size, 3)).astype("float32")
    whole = base.predict_on_batch(models.preprocessing_layer(spec)(x))
    np.testing.assert_allclose(top.predict_on_batch(lower.predict_on_batch(x)), whole, atol=1e-5)
    with pytest.raises(ValueError, match="at least one block"):
        models.split_top(spec, base, 0)
    with pytest.raises(ValueError, match="cannot take the last 99"):
        models.split_top(spec, base, 99)


def test_cached_features_equal_the_frozen_extractor(experiment):
    extractor = models.feature_extractor(experiment.spec, experiment.base)
    images = np.concatenate([x for x, _ in data.make_dataset(experiment.splits.test)])
    np.testing.assert_allclose(experiment.features["test"], extractor.predict(images, verbose=0), atol=1e-4)
    n = len(experiment.splits.train)
    assert len(experiment.cut["train"]) == 2 * n  # the original and one augmented view
    assert experiment.small["train"].shape == (n, 64, 64, 3)


def test_each_approach_runs_and_fine_tuning_starts_from_imagenet_every_time(experiment):
    imagenet = experiment.top.get_weights()
    first = experiment.fine_tuned(2, seed=0)
    trained = experiment.top.get_weights()
    assert not all(np.array_equal(a, b) for a, b in zip(imagenet, trained, strict=True))  # it trained
    # that the same seed gives the same run again (the top's ImageNet weights restored) is notebook 04's assert
    assert not experiment.base.trainable  # left frozen for the next feature-extraction run
    assert first.per_class == 2 and first.epochs == len(first.val_curve)
    fe = experiment.feature_extraction(2, seed=0)
    scratch = experiment.scratch(2, seed=0)
    assert fe.trainable_params == 1280 * 5 + 5  # the head only
    assert first.trainable_params > fe.trainable_params
    assert scratch.approach == "scratch" and 0 <= scratch.test_acc <= 1
    n_test = len(experiment.splits.test)
    assert scratch.probs["test"].shape == (n_test, 5) and fe.test_auc is None  # AUC is for two classes
    assert fe.test_acc == np.mean(fe.probs["test"].argmax(1) == experiment.splits.test.labels)
    assert experiment.feature_extraction(None, seed=0).per_class == len(experiment.splits.train) // 5


def _run(approach, k, seed, acc, curve=()):
    return Run(approach, k, seed, acc, 1.0, len(curve), 10, list(curve))


def test_summarize_and_seconds_to_target():
    runs = [
        _run("fe", 5, 0, 0.8, [(1, 0.5), (2, 0.75)]),
        _run("fe", 5, 1, 0.6, [(1, 0.72)]),
        _run("fe", 2, 0, 0.5),
        _run("scratch", 5, 0, 0.3, [(10, 0.5), (20, 0.6)]),
    ]
    rows = {(r["approach"], r["per_class"]): r for r in curves.summarize(runs)}
    assert "auc" not in rows["fe", 5]  # no AUC recorded: no AUC summarised
    two_class = [Run("ft", 5, seed, 0.8, 1.0, 1, 1, test_auc=auc) for seed, auc in ((0, 0.9), (1, 0.8))]
    assert curves.summarize(two_class)[0]["auc"]["values"] == [0.9, 0.8]
    # two seeds: mean 0.7, standard error 0.1, t(0.975, 1 df) = 12.706
    assert rows["fe", 5].pop("ci95") == pytest.approx([0.7 - 1.2706, 0.7 + 1.2706], abs=1e-4)
    assert rows["fe", 2]["ci95"] is None  # one seed: no interval
    assert rows["fe", 5] == {
        "approach": "fe",
        "per_class": 5,
        "seeds": 2,
        "mean": 0.7,
        "std": 0.1,
        "min": 0.6,
        "max": 0.8,
        "seconds": 1.0,
        "trainable_params": 10,
    }
    assert rows["fe", 2]["seeds"] == 1
    # fe reaches 0.7 after 2 s (seed 0) and 1 s (seed 1), plus 3 s of caching; scratch never does.
    assert time_and_cost.seconds_to_target(runs, 0.7, {"fe": 3.0}) == {"fe": 4.5, "scratch": None}
    assert time_and_cost.best_val_acc(runs) == {"fe": 0.735, "scratch": 0.6}


def test_cost_in_core_hours_and_dollars():
    assert time_and_cost.cost(3600, cores=2, core_hour_usd=0.05, gpu_hour_usd=1.0) == {
        "cpu_core_hours": 2.0,
        "cpu_usd": 0.1,
        "gpu_hours": 1.0,
        "gpu_usd_same_time": 1.0,
    }


def test_run_grid_reuses_the_runs_it_is_given():
    calls = []

    class Counting:
        def fe(self, k, seed):
            calls.append((k, seed))
            return _run("fe", k, seed, 0.5)

    given = _run("fe", 5, 0, 0.9)
    runs = curves.run_grid(Counting(), approaches=("fe",), per_class=(5,), seeds=(0, 1), done=[given], progress=None)
    assert runs[0] is given and calls == [(5, 1)]


def test_classifier_rebuilds_each_run_and_statistics_must_be_named(experiment):
    fe = experiment.feature_extraction(2, seed=0)
    ft = experiment.fine_tuned(2, seed=0)
    for run in (fe, ft):
        whole = experiment.classifier(run).predict(
            np.concatenate([x for x, _ in data.make_dataset(experiment.splits.test)]), verbose=0
        )
        cached = experiment.classifier(run, from_activations=True).predict(experiment.cut["test"], verbose=0)
        np.testing.assert_allclose(whole, run.probs["test"], atol=1e-4)
        np.testing.assert_allclose(cached, run.probs["test"], atol=1e-4)
    experiment.reset_top()
    with pytest.raises(ValueError, match="no transfer model"):
        experiment.classifier(Run("scratch", 2, 0, 0.5, 1.0, 1, 10))
    with pytest.raises(ValueError, match='statistics must be "imagenet" or "train"'):
        curves.Experiment(experiment.splits, statistics="target")
