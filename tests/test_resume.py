"""A run killed mid-way (SIGKILL) and started again ends with the same weights as one never interrupted."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("resumable_run.py")


def weights(stored):
    return [stored[name] for name in stored.files if name not in ("epochs", "val_loss")]


def train(folder, out, source, kill_at=None):
    args = [sys.executable, str(SCRIPT), str(folder), str(out), source, *([] if kill_at is None else [str(kill_at)])]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("source", ["arrays", "tfdata"])
def test_a_killed_run_resumes_to_the_same_weights(tmp_path, source):
    whole = train(tmp_path / "backup_whole", tmp_path / "whole.npz", source)
    assert whole.returncode == 0, whole.stderr[-2000:]
    killed = train(tmp_path / "backup", tmp_path / "resumed.npz", source, kill_at=2)
    assert killed.returncode == -9 and not (tmp_path / "resumed.npz").exists()
    assert (tmp_path / "backup" / "latest.weights.h5").exists()  # the backup of epoch 3 is there
    resumed = train(tmp_path / "backup", tmp_path / "resumed.npz", source)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not (tmp_path / "backup").exists()  # a finished run removes its backup
    with np.load(tmp_path / "whole.npz") as a, np.load(tmp_path / "resumed.npz") as b:
        assert int(b["epochs"]) < int(a["epochs"])  # the second run started where the first stopped
        assert 3 < int(a["epochs"]) < 30  # early stopping ended it, after the crash point
        # the weights kept are those of an epoch after the crash: the check covers the training that resumed
        # (were the best epoch before it, early stopping would restore weights saved before the crash)
        assert int(np.argmin(a["val_loss"])) > 2
        for x, y in zip(weights(a), weights(b), strict=True):
            np.testing.assert_array_equal(x, y)


def test_keras_alone_resumes_to_other_weights(tmp_path):
    """The check above can fail: with Keras's BackupAndRestore alone, the resumed run restarts the shuffle and
    forgets early stopping's best weights, and ends elsewhere."""
    assert train(tmp_path / "a", tmp_path / "whole.npz", "keras").returncode == 0
    assert train(tmp_path / "b", tmp_path / "resumed.npz", "keras", kill_at=2).returncode == -9
    assert train(tmp_path / "b", tmp_path / "resumed.npz", "keras").returncode == 0
    with np.load(tmp_path / "whole.npz") as a, np.load(tmp_path / "resumed.npz") as b:
        assert any(not np.array_equal(x, y) for x, y in zip(weights(a), weights(b), strict=True))
