"""Two worker processes on loopback (MultiWorkerMirroredStrategy) train to what one process trains, and a crash
of the chief resumes from the backup that only it writes."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from tltf import workers

SCRIPT = str(Path(__file__).with_name("workers_run.py"))


def weights(path):
    with np.load(path) as stored:
        return {name: stored[name] for name in stored.files}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6)  # the all-reduce adds in another order


def test_two_workers_train_what_one_process_trains(tmp_path):
    one = workers.launch([SCRIPT, str(tmp_path / "one.npz"), str(tmp_path / "b1")], 1, timeout=240)
    assert one.returncode == 0, one.stderr + one.stdout[-2000:]
    two = workers.launch([SCRIPT, str(tmp_path / "two.npz"), str(tmp_path / "b2")], 2, timeout=240)
    assert two.returncode == 0, two.stderr + two.stdout[-2000:]
    assert "replicas 2 worker 0" in two.stdout
    assert_same(weights(tmp_path / "one.npz"), weights(tmp_path / "two.npz"))
    assert not (tmp_path / "b2" / workers.BACKUP).exists()  # a finished run removes its backup


def test_a_crashed_chief_stops_the_others_and_the_run_resumes(tmp_path):
    whole = workers.launch([SCRIPT, str(tmp_path / "whole.npz"), str(tmp_path / "a")], 2, timeout=240)
    assert whole.returncode == 0, whole.stderr
    crashed = workers.launch([SCRIPT, str(tmp_path / "resumed.npz"), str(tmp_path / "b"), "3"], 2, timeout=240)
    assert crashed.returncode == 1 and "worker 0 failed, so the others were stopped" in crashed.stderr
    assert (tmp_path / "b" / workers.BACKUP).exists() and not (tmp_path / "resumed.npz").exists()
    resumed = workers.launch([SCRIPT, str(tmp_path / "resumed.npz"), str(tmp_path / "b")], 2, timeout=240)
    assert resumed.returncode == 0, resumed.stderr
    assert_same(weights(tmp_path / "whole.npz"), weights(tmp_path / "resumed.npz"))


def test_a_worker_that_never_finishes_is_stopped(tmp_path):
    hang = tmp_path / "hang.py"
    hang.write_text("import time\ntime.sleep(60)\n")
    result = workers.launch([str(hang)], 2, timeout=2)
    assert result.returncode == 1 and "did not finish within 2 s" in result.stderr


def test_the_cluster_configuration():
    addresses = workers.free_addresses(2)
    assert len(set(addresses)) == 2 and all(a.startswith("127.0.0.1:") for a in addresses)
    config = {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": 1}}
    assert json.loads(workers.tf_config(addresses, 1)) == config
    assert sys.executable  # launch runs this Python
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TF_CONFIG", workers.tf_config(addresses, 1))
        assert workers.index() == 1 and not workers.is_chief()


def test_one_epoch_of_the_loop_is_one_epoch_of_keras_fit():
    """The same update as Keras's fit: the mean loss over each batch (the last one short) plus the L2 penalty."""
    import keras

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(70, 5)).astype("float32"), rng.integers(0, 3, 70)

    def model():
        keras.utils.set_random_seed(2)
        hidden = keras.layers.Dense(8, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2))
        return keras.Sequential([keras.Input((5,)), hidden, keras.layers.Dense(3, activation="softmax")])

    ours, theirs = model(), model()
    workers.train(ours, keras.optimizers.SGD(0.1), (x, y), (x, y), epochs=1, batch_size=32, seed=4)
    theirs.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    rows = np.random.default_rng([4, 0]).permutation(70)  # the loop's order of epoch 0
    theirs.fit(x[rows], y[rows], batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_each_worker_gets_its_own_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {4, 5, 6, 7, 8}, raising=False)
    assert workers.core_shares(2) == [{4, 5, 6}, {7, 8}]
    assert workers.core_shares(6) is None  # more workers than cores: each may use all of them
    monkeypatch.delattr(workers.os, "sched_getaffinity")
    assert workers.allowed_cores() is None and workers.core_shares(2) is None  # not Linux: no pinning


@pytest.mark.skipif(workers.allowed_cores() is None, reason="pinning to cores is Linux-only")
def test_pinned_workers_run_on_disjoint_cores(tmp_path):
    cores = workers.allowed_cores()
    if len(cores) < 2:
        pytest.skip("one core: nothing to share")
    code = (
        "import json, os, sys; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
        "open(sys.argv[1] + str(i), 'w').write(json.dumps(sorted(os.sched_getaffinity(0))))"
    )
    done = workers.launch(["-c", code, str(tmp_path / "cores")], 2, timeout=60, pin_cores=True)
    assert done.returncode == 0, done.stderr
    seen = [json.loads((tmp_path / f"cores{i}").read_text()) for i in range(2)]
    assert seen == [list(map(int, share)) for share in np.array_split(cores, 2)] and not set(seen[0]) & set(seen[1])
    assert workers.launch(["-c", code, str(tmp_path / "all")], 2, timeout=60).returncode == 0
    assert [json.loads((tmp_path / f"all{i}").read_text()) for i in range(2)] == [cores, cores]  # unpinned: shared
