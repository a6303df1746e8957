"""tltf.recipes (notebook 09): L2-SP, the recipe's optimizer and loss, and Grid runs on cached activations."""

import keras
import numpy as np
import pytest

from lessons import overfitting as of
from tltf import data, recipes
from tltf.settings import settings


def _dense() -> keras.layers.Dense:
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    return layer


def test_l2_sp_is_zero_at_the_reference_and_grows_with_the_squared_distance():
    layer = _dense()
    recipes.attach_l2_sp(layer.trainable_weights, alpha=0.5)
    assert float(sum(layer.losses)) == 0.0
    penalties = []
    for step in (0.1, 0.2):
        layer.kernel.assign(layer.kernel + step)  # the kernel is now 0.1, then 0.3, from its reference
        penalties.append(float(sum(layer.losses)))
    np.testing.assert_allclose(penalties, [0.5 * 12 * 0.1**2, 0.5 * 12 * 0.3**2], rtol=1e-5)


def test_l2_sp_holds_the_weights_near_their_reference_during_fit():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 3)).astype("float32")
    moved = []
    for alpha in (0.0, 10.0):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        start = [w.copy() for w in model.get_weights()]
        if alpha:
            recipes.attach_l2_sp(model.trainable_weights, alpha)
        model.compile(keras.optimizers.SGD(0.01), "mse")
        model.fit(x, y, epochs=20, verbose=0)
        moved.append(sum(float(np.sum((w - s) ** 2)) for w, s in zip(model.get_weights(), start, strict=True)))
    assert moved[1] < 0.2 * moved[0]


def test_weight_decay_leaves_biases_alone_and_label_smoothing_off_equals_the_sparse_loss():
    layer = _dense()
    layer.bias.assign(np.ones(3))
    recipe = recipes.Recipe(weight_decay=0.5, peak_lr=0.1)
    optimizer = recipe.optimizer(recipe.schedule(1))
    kernel = layer.kernel.numpy().copy()
    optimizer.apply_gradients([(np.zeros_like(v.numpy()), v) for v in layer.trainable_weights])
    assert np.all(np.abs(layer.kernel.numpy()) <= np.abs(kernel)) and not np.allclose(layer.kernel.numpy(), kernel)
    np.testing.assert_allclose(layer.bias.numpy(), 1.0)
    probs = np.array([[0.7, 0.2, 0.1]], dtype="float32")
    sparse = keras.losses.SparseCategoricalCrossentropy()(np.array([0]), probs)
    assert np.isclose(float(recipes.Recipe().loss()(np.eye(3)[:1], probs)), float(sparse))
    assert float(recipes.Recipe(label_smoothing=0.1).loss()(np.eye(3)[:1], probs)) > float(sparse)


def test_every_technique_is_one_change_from_the_plain_recipe():
    plain = recipes.Recipe()
    for name, change in recipes.TECHNIQUES.items():
        changed = {f for f in change if getattr(plain.but(**change), f) != getattr(plain, f)}
        assert changed == set(change), name


def test_a_grid_run_is_repeatable_and_leaves_the_cache_as_it_found_it(recipe_grid):
    grid = recipe_grid
    cache = grid.cache
    top_before = cache.top.get_weights()
    first = grid.run(recipes.Recipe(epochs=2, l2_sp=0.1), 5, seed=0)
    assert grid.run(recipes.Recipe(epochs=2, l2_sp=0.1), 5, seed=0) is first  # made once
    second = recipes.Grid(cache, grid.images, grid.views).run(recipes.Recipe(epochs=2, l2_sp=0.1), 5, seed=0)  # anew
    np.testing.assert_allclose(first.test_probs, second.test_probs, atol=1e-6)
    assert len(first.val_probs) == 2 and first.val_probs[0].shape == (len(cache.labels("val")), cache.num_classes)
    assert first.val_acc == first.history["val_accuracy"][-1] and first.per_class == 5
    assert not cache.base.trainable and all(w.regularizer is None for w in cache.top.weights)
    assert all(np.array_equal(a, b) for a, b in zip(top_before, cache.top.get_weights(), strict=True))


def test_a_fold_run_validates_on_the_held_out_training_photos(recipe_grid):
    grid = recipe_grid
    rows = grid.cache.subset(5, seed=0)
    fold = (rows[:15], rows[15:])
    result = grid.run(recipes.Recipe(epochs=2, l2_sp=0.1, early_stopping=True), 5, seed=0, fold=fold)
    assert result.kept_val_probs.shape == (len(fold[1]), grid.num_classes)
    assert 0 <= result.kept < len(result.history["loss"]) <= 4
    assert all(w.regularizer is None for w in grid.cache.top.weights)
    with pytest.raises(ValueError, match="MixUp"):
        grid.run(recipes.Recipe(mix="mixup"), 5, seed=0, fold=fold)


def test_new_views_forget_the_runs_made_on_the_old_ones_and_stage_1_keeps_its_fit(recipe_grid):
    grid = recipes.Grid(recipe_grid.cache, recipe_grid.images, recipe_grid.views)
    augmented, plain = recipes.Recipe(epochs=1, augment="flip_rotate_zoom"), recipes.Recipe(epochs=1)
    first, plain_run = grid.run(augmented, 5, seed=0), grid.run(plain, 5, seed=0)
    grid.views = {"flip_rotate_zoom": grid.cache.cut["train"][None]}  # one view: the photos as they are
    again = grid.run(augmented, 5, seed=0)
    assert again is not first and grid.run(plain, 5, seed=0) is plain_run
    np.testing.assert_allclose(again.test_probs, plain_run.test_probs, atol=1e-6)
    head, fit = grid.stage1(5, seed=0)
    assert grid.head(5, seed=0) is head and fit.epochs == len(fit.history["val_loss"]) > 0


def test_photos_transformed_before_mixing_do_not_depend_on_which_pools_came_first(recipe_grid):
    cache, images = recipe_grid.cache, recipe_grid.images
    one, other = (recipes.Grid(cache, images, {}, before_mix=data.augmentation(42)) for _ in range(2))
    one.mixed("mixup", 5, seed=1, pools=1)
    np.testing.assert_allclose(one.mixed("mixup", 5, 0, pools=1)[0], other.mixed("mixup", 5, 0, pools=1)[0], atol=1e-5)


def test_mixed_photos_have_soft_labels_that_sum_to_one(recipe_grid):
    x, y = recipe_grid.mixed("cutmix", 5, seed=0, pools=2)
    assert x.shape[:2] == y.shape[:2] == (2, settings().epoch_rows)
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, atol=1e-5)
    assert (y.max(axis=-1) < 1).any()
    everything = recipe_grid.run(recipes.Recipe(epochs=1, mix="mixup"), None, seed=1)  # all photos: pools of seed 0
    assert ("mixup", None, 0) in recipe_grid._mixed and everything.per_class == 12


def test_the_combined_recipe_takes_what_helped_on_validation_and_one_photo_technique():
    def effect(mean):
        return {"mean": mean, "ci95": [mean - 1, mean + 1]}

    val = {
        ("dropout", 10): effect(1.0),
        ("dropout", None): effect(-0.5),
        ("l2_sp", 10): effect(-2.0),
        ("l2_sp", None): effect(1.0),
        ("mixup", 10): effect(2.0),
        ("mixup", None): effect(0.0),
        ("cutmix", 10): effect(3.0),
        ("cutmix", None): effect(0.0),
    }
    assert of.choose(val, (10, None)) == ["dropout", "cutmix"]
    assert of.regret([0.5, 0.7, 0.6], [1, 2, 3]) == [20.0, 0.0, 10.0]


def test_runs_on_one_compiled_model_do_not_depend_on_the_runs_before_them(recipe_grid):
    """A grid trains every run of one architecture on one model, reset before each run: the same runs
    in the opposite order (and schedules of other lengths between them) give the same predictions."""
    plain, dropout, decay = (
        recipes.Recipe(epochs=1),
        recipes.Recipe(epochs=1, dropout=0.5),
        recipes.Recipe(epochs=1, weight_decay=0.05),
    )
    order = [(plain, 0), (dropout, 1), (decay, 0), (plain.but(epochs=2, early_stopping=True), 1), (dropout, 0)]
    forward = [recipe_grid.run(r, 5, seed) for r, seed in order]
    backward = recipes.Grid(recipe_grid.cache, recipe_grid.images, recipe_grid.views)
    for (recipe, seed), first in zip(order[::-1], forward[::-1], strict=True):
        np.testing.assert_allclose(backward.run(recipe, 5, seed).test_probs, first.test_probs, atol=1e-5)
    assert len(recipe_grid._trainers) == 3


def test_a_reset_trainer_has_the_run_s_schedule_and_dropout_draws_of_its_seed(recipe_grid):
    trainer = recipe_grid._trainer(recipes.Recipe(dropout=0.5))
    head, dropout = recipe_grid.head(5, seed=0), trainer.head.layers[-2]
    three, six = recipes.Recipe(epochs=3).schedule(7), recipes.Recipe(epochs=3, early_stopping=True).schedule(7)
    masks = []
    for seed, schedule in ((0, three), (1, six), (0, three)):
        trainer.reset(head, schedule, seed)
        steps = range(7 * 6 + 3)  # past the end of both schedules
        np.testing.assert_allclose([float(trainer.schedule(k)) for k in steps], [float(schedule(k)) for k in steps])
        masks.append(keras.ops.convert_to_numpy(dropout(np.ones((4, 16), "float32"), training=True)))
    assert np.array_equal(masks[0], masks[2]) and not np.array_equal(masks[0], masks[1])
