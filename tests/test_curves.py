"""Learning curves on a read-only cache (tltf.cache, tltf.stages, tltf.curves): subsets, the cut backbone, exact
caching, runs that share no state, summaries and costs."""

import numpy as np
import pytest

from lessons import far_domains, time_and_cost
from tltf import adapt, curves, data, models, plots, stages
from tltf.cache import ActivationCache
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


def test_cached_features_equal_the_frozen_extractor(cache):
    extractor = models.feature_extractor(cache.spec, cache.base)
    images = np.concatenate([x for x, _ in data.make_dataset(cache.splits.test)])
    np.testing.assert_allclose(cache.features["test"], extractor.predict(images, verbose=0), atol=1e-4)
    n = len(cache.splits.train)
    assert len(cache.cut["train"]) == 2 * n  # the original and one augmented view
    assert cache.small["train"].shape == (n, 64, 64, 3)


def test_stages_in_either_order_give_the_same_runs_and_leave_the_cache_as_it_was(cache):
    top_before = cache.top.get_weights()
    tuned_first = [stages.fine_tuned(cache, 2, seed=0), stages.feature_extraction(cache, 2, seed=1)]
    head_first = [stages.feature_extraction(cache, 2, seed=1), stages.fine_tuned(cache, 2, seed=0)][::-1]
    for a, b in zip(tuned_first, head_first, strict=True):
        assert a.test_acc == b.test_acc and a.history["val_loss"] == b.history["val_loss"]
        np.testing.assert_array_equal(a.probs["test"], b.probs["test"])
    assert all(np.array_equal(x, y) for x, y in zip(top_before, cache.top.get_weights(), strict=True))
    assert not cache.base.trainable
    fresh = models.feature_extractor(cache.spec, models.load_backbone(cache.spec))  # built anew, never trained
    images = np.concatenate([x for x, _ in data.make_dataset(cache.splits.test)])
    np.testing.assert_allclose(cache.features["test"], fresh.predict(images, verbose=0), atol=1e-4)


def test_each_approach_runs(cache):
    first = stages.fine_tuned(cache, 2, seed=0)
    assert not all(np.array_equal(a, b) for a, b in zip(cache.top.get_weights(), first.top_weights, strict=True))
    assert first.per_class == 2 and first.epochs == len(first.val_curve) == len(first.history["loss"])
    fe = stages.feature_extraction(cache, 2, seed=0)
    scratch = stages.scratch(cache, 2, seed=0)
    assert fe.trainable_params == 1280 * 5 + 5  # the head only
    assert first.trainable_params > fe.trainable_params
    assert scratch.approach == "scratch" and 0 <= scratch.test_acc <= 1
    n_test = len(cache.splits.test)
    assert scratch.probs["test"].shape == (n_test, 5) and fe.test_auc is None  # AUC is for two classes
    assert fe.test_acc == np.mean(fe.probs["test"].argmax(1) == cache.splits.test.labels)
    assert fe.val_acc == fe.history["val_accuracy"][fe.kept]
    assert stages.feature_extraction(cache, None, seed=0).per_class == len(cache.splits.train) // 5


def _run(approach, k, seed, acc, curve=()):
    """A run whose validation accuracy after each epoch is ``curve``'s (seconds since start, accuracy)."""
    seconds = np.diff([0, *(t for t, _ in curve)]).tolist()
    history = {"seconds": seconds, "val_accuracy": [a for _, a in curve]}
    return Run(approach, k, seed, acc, 1.0, len(curve), 10, history=history)


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
    # two seeds: mean 0.7, standard error 0.1, t(0.975, 1 df) = 12.706: the t interval would be -0.57 to 1.97
    assert rows["fe", 5].pop("ci95") == [0.0, 1.0]  # an accuracy's interval is cut to [0, 1]
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


def test_the_recorded_study_s_curves_are_drawn_dashed_and_labelled_beside_the_run():
    summary = [{"approach": a, "per_class": 180, "mean": 0.8, "min": 0.8, "max": 0.8} for a in curves.APPROACHES]
    stored = {"points": [5, 180], **{f"{a}_{k}_mean": 0.5 for a in curves.APPROACHES for k in (5, 180)}}
    fig = time_and_cost.add_recorded_curves(plots.plot_learning_curves(summary), stored)
    recorded = [line for line in fig.axes[0].lines if line.get_label().endswith("recorded study")]
    assert len(recorded) == 3 and all(line.get_linestyle() == "--" for line in recorded)
    assert list(recorded[0].get_xdata()) == [5, 180]
    xray = {f"xray_acc_{m}_{k}_mean": 0.5 for m in far_domains.METHOD_NAMES.values() for k in far_domains.GRID_POINTS}
    fig = far_domains.add_recorded_curves(plots.plot_learning_curves(summary), xray, largest=1214)
    assert [list(line.get_xdata()) for line in fig.axes[0].lines][-1] == [10, 50, 1214]
    quick = far_domains.add_recorded_curves(plots.plot_learning_curves(summary), xray, largest=16)
    assert not any(line.get_label().endswith("recorded study") for line in quick.axes[0].lines)
    table = far_domains.choice_beside({"nearest": {"mean": 0.9, "ci95": [0.8, 0.95]}}, {"bilinear": {"mean": 0.85}})
    assert (
        table.loc["bilinear"].iloc[0].startswith("recorded only") and table.loc["nearest"].iloc[1] == "not recorded yet"
    )


def test_run_grid_reuses_the_runs_it_is_given(monkeypatch):
    calls = []

    def fe(cache, k, seed):
        calls.append((k, seed))
        return _run("fe", k, seed, 0.5)

    monkeypatch.setattr(stages, "fe", fe, raising=False)
    given = _run("fe", 5, 0, 0.9)
    runs = curves.run_grid(None, approaches=("fe",), per_class=(5,), seeds=(0, 1), done=[given], progress=None)
    assert runs[0] is given and calls == [(5, 1)]


def test_a_classifier_is_a_new_model_that_changes_neither_the_cache_nor_the_run(cache):
    fe = stages.feature_extraction(cache, 2, seed=0)
    ft = stages.fine_tuned(cache, 2, seed=0)
    images = np.concatenate([x for x, _ in data.make_dataset(cache.splits.test)])
    for run in (fe, ft):
        model = stages.classifier(cache, run)
        np.testing.assert_allclose(model.predict(images, verbose=0), run.probs["test"], atol=1e-4)
        cached = stages.classifier(cache, run, from_activations=True).predict(cache.cut["test"], verbose=0)
        np.testing.assert_allclose(cached, run.probs["test"], atol=1e-4)
        adapt.reestimate_batchnorm(model, images[:8])  # changes the classifier's statistics only
    np.testing.assert_allclose(cache.lower.predict(images, verbose=0), cache.cut["test"], atol=1e-4)
    np.testing.assert_allclose(stages.classifier(cache, ft).predict(images, verbose=0), ft.probs["test"], atol=1e-4)
    with pytest.raises(ValueError, match="no transfer model"):
        stages.classifier(cache, Run("scratch", 2, 0, 0.5, 1.0, 1, 10))
    with pytest.raises(ValueError, match='statistics must be "imagenet" or "train"'):
        ActivationCache(cache.splits, statistics="target")
