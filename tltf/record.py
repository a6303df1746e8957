"""What a notebook run measured, kept for ``python -m tltf.bench``: ``record(name=value, ...)``.

A notebook calls ``record`` with its headline results. Run by hand, the call does nothing visible.
Run by the benchmark runner, which names a JSON file in ``$TLTF_RECORD``, each call merges its
results into that file, with the kernel's peak memory so far. The runner adds the commit, date,
machine, mode and wall time, and the machine's speed (``speed``), so that times recorded on
different machines compare (``at_reference``). Works on Linux, macOS and Windows.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

#: The environment variable naming the JSON file that ``record`` writes to.
ENV = "TLTF_RECORD"
#: The speed (``speed``, images per second) that ``at_reference`` scales recorded times to.
REFERENCE_IPS = 100


def flatten(results: dict) -> dict:
    """``{"acc": {"mean": m, "ci95": c, "values": v}}`` becomes ``acc_mean``, ``acc_ci95``, ``acc_values``;
    NumPy scalars and arrays become plain numbers and lists, floats are rounded to 6 decimals."""
    flat = {}
    for key, value in results.items():
        if isinstance(value, dict) and "mean" in value:
            flat.update({f"{key}_{part}": v for part, v in value.items()})
        else:
            flat[key] = value
    return _rounded(json.loads(json.dumps(flat, default=_plain)))


def _rounded(value, digits: int = 6):
    """Floats rounded to ``digits`` decimals, inside lists and dicts too (no 55.00000000000001)."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, list):
        return [_rounded(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    return value


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"record() cannot store a {type(value).__name__}: pass numbers, strings, lists or dicts.")


def record(**results) -> None:
    """Store named results of this run (numbers, lists, dicts; a ``tltf.stats.summary`` dict is
    flattened, see ``flatten``). Side effect: merges them into the file named by ``$TLTF_RECORD``, if set."""
    flat = flatten(results)
    path = os.environ.get(ENV)
    if not path:
        return
    path = Path(path)
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    stored.update(flat)
    memory = peak_rss_mb()
    if memory is not None:
        stored["peak_rss_mb"] = max(stored.get("peak_rss_mb", 0.0), memory)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(stored, indent=1), encoding="utf-8")
    staged.replace(path)


def peak_rss_mb() -> float | None:
    """Peak resident memory of this process so far, or of the largest process it started and waited for (a
    ``python -m tltf`` command run by a notebook), whichever is larger, in MiB; None where the system does not say.
    Several processes at once (``--workers``) count as the largest of them, not their sum.

    ``resource`` reports KiB on Linux and bytes on macOS, and does not exist on Windows (psutil's
    peak working set of this process is used there, when installed).
    """
    try:
        import resource
    except ImportError:
        try:
            import psutil
        except ImportError:
            return None
        return round(psutil.Process().memory_info().peak_wset / 2**20, 1)
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)


def cores() -> int:
    """CPU cores this process may use (Python 3.13's ``os.process_cpu_count``, else ``os.cpu_count``)."""
    return getattr(os, "process_cpu_count", os.cpu_count)() or 1


def machine() -> str:
    """One line describing this machine and the software versions that set the numbers."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    versions = []
    for package in ("tensorflow", "keras"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    return f"{cores()} CPU cores ({cpu}), {platform.system()}, Python {platform.python_version()}, " + ", ".join(
        versions
    )


def speed(*, images: int = 256, batch: int = 32, size: int = 224, seed: int = 0) -> float:
    """This machine's speed, in images per second: MobileNetV2 ``predict`` at ``size`` px, batch ``batch``,
    over ``images`` images after one warm-up batch (a few seconds on a laptop CPU); the median of the
    batches' rates, so that a moment of load from another program does not halve it.

    Why: a wall time alone says little when the machine is not known; measured in the same run, with
    the course's own backbone and the same Keras and TensorFlow, the speed turns a recorded time into
    the time on a reference machine (``at_reference``). The weights are random (``weights=None``: no
    download, and the speed does not depend on them), the inputs random pixel values from a fixed seed.
    """
    import keras

    model = keras.applications.MobileNetV2(weights=None, input_shape=(size, size, 3))
    pixels = np.random.default_rng(seed).uniform(0, 255, size=(images, size, size, 3)).astype("float32")
    model.predict(pixels[:batch], batch_size=batch, verbose=0)  # warm-up: builds and traces the function
    rates = []
    for start in range(0, images, batch):
        chunk = pixels[start : start + batch]
        begin = time.perf_counter()
        model.predict(chunk, batch_size=batch, verbose=0)
        rates.append(len(chunk) / (time.perf_counter() - begin))
    del model, pixels
    keras.backend.clear_session()
    return float(np.median(rates))


def at_reference(seconds: float, speed_ips: float) -> float:
    """``seconds`` measured on a machine of speed ``speed_ips`` (``speed``), scaled to a machine of
    speed ``REFERENCE_IPS``: a machine twice as fast as the reference takes half as long."""
    return seconds * speed_ips / REFERENCE_IPS
