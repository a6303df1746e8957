"""tltf.plots: what the figures show, checked on their artists."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
from sklearn.metrics import confusion_matrix

from tltf import plots


def test_history_marks_where_each_stage_starts():
    stages = {
        "feature extraction": {
            "loss": [1.0, 0.8, 0.7],
            "val_loss": [1.1, 0.9, 0.8],
            "accuracy": [0.5, 0.6, 0.7],
            "val_accuracy": [0.5, 0.6, 0.6],
        },
        "fine-tuning": {"loss": [0.5, 0.4], "val_loss": [0.6, 0.5], "accuracy": [0.8, 0.9], "val_accuracy": [0.7, 0.8]},
    }
    fig = plots.plot_history(stages)
    loss_axes = fig.axes[0]
    vertical = [line for line in loss_axes.lines if len(set(line.get_xdata())) == 1]
    assert [line.get_xdata()[0] for line in vertical] == [3.5]
    second_stage = next(line for line in loss_axes.lines if line.get_label() == "fine-tuning: train")
    assert list(second_stage.get_xdata()) == [4, 5]


def test_confusion_matrix_counts_match_sklearn():
    y_true = np.array([0, 0, 1, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0, 2])
    fig = plots.plot_confusion(y_true, y_pred, ["a", "b", "c"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == [str(v) for v in confusion_matrix(y_true, y_pred).ravel()]


def test_prediction_grid_marks_errors_in_red():
    images = np.zeros((3, 8, 8, 3))
    fig = plots.plot_predictions(images, np.array([0, 1, 1]), np.array([0, 0, 1]), ["cat", "dog"], columns=3)
    titles = [(ax.get_title(), ax.title.get_color()) for ax in fig.axes]
    assert titles == [("cat", "black"), ("cat\n(true: dog)", "red"), ("dog", "black")]


def test_learning_curves_plot_mean_per_approach_sorted_by_point():
    summary = [
        {"approach": "fe", "per_class": k, "mean": m, "min": m - 0.1, "max": m + 0.1}
        for k, m in ((10, 0.7), (1, 0.4), (5, 0.6))
    ]
    summary.append({"approach": "scratch", "per_class": 10, "mean": 0.3, "min": 0.2, "max": 0.4})
    ax = plots.plot_learning_curves(summary, chance=0.2).axes[0]
    fe = next(line for line in ax.lines if line.get_label() == "fe")
    assert list(fe.get_xdata()) == [1, 5, 10] and list(fe.get_ydata()) == [0.4, 0.6, 0.7]
    assert ax.get_xscale() == "log" and len(ax.collections) == 2  # one spread band per approach


def test_accuracy_over_time_plots_each_curve_and_the_target():
    fig = plots.plot_accuracy_over_time({"fe": [(1.0, 0.5), (2.0, 0.8)], "scratch": [(10.0, 0.3)]}, target=0.6)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["fe", "scratch", "target 0.60"]
