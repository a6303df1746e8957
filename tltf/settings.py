"""The course's three modes in one settings object: ``settings()`` gives every shared size, epoch
count and seed list of the mode chosen by ``$TLTF_MODE``.

- ``quick``: the tests (small subsets, 1-2 epochs; ``TLTF_MODE=quick``, or ``TLTF_QUICK=1``);
- ``lesson`` (the default): what a learner runs: the full data, realistic epochs, one seed;
- ``study``: what ``python -m tltf.bench`` records: the seeds, folds and grids behind each interval.

The environment is read when ``settings()`` is called, never at import time, so a test or the
benchmark runner can change the mode without re-importing anything. A value that only one notebook
uses is chosen there with ``settings().pick(quick=..., lesson=..., study=...)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

MODES = ("quick", "lesson", "study")
T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """The sizes of one mode. Frozen: a run reads it, never changes it."""

    mode: str
    #: Seeds of a repeated experiment: each seed draws the subset and the initial weights.
    seeds: tuple[int, ...]
    #: Labelled training images per class on a learning curve; None means every training image.
    per_class: tuple[int | None, ...]
    #: Rows per epoch at least, on cached activations (a smaller training set is repeated).
    epoch_rows: int
    #: Epoch limits: a head on cached features (stage 1), the top blocks with the head (stage 2),
    #: a CNN from scratch, a head on sentence features; the validation split stops most runs sooner.
    head_epochs: int
    fine_tune_epochs: int
    scratch_epochs: int
    text_head_epochs: int

    @property
    def quick(self) -> bool:
        return self.mode == "quick"

    @property
    def study(self) -> bool:
        return self.mode == "study"

    def pick(self, *, quick: T, lesson: T, study: T) -> T:
        """The value for this mode: ``settings().pick(quick=2, lesson=6, study=6)``."""
        return {"quick": quick, "lesson": lesson, "study": study}[self.mode]


_FULL = dict(
    per_class=(1, 5, 10, 25, 50, None),
    epoch_rows=320,
    head_epochs=100,
    fine_tune_epochs=3,
    scratch_epochs=60,
    text_head_epochs=150,
)
_SETTINGS = {
    "quick": Settings(
        "quick",
        seeds=(0, 1),
        per_class=(5, None),
        epoch_rows=64,
        head_epochs=5,
        fine_tune_epochs=1,
        scratch_epochs=2,
        text_head_epochs=20,
    ),
    "lesson": Settings("lesson", seeds=(0,), **_FULL),
    "study": Settings("study", seeds=(0, 1, 2), **_FULL),
}


def mode(default: str = "lesson") -> str:
    """The mode named by ``$TLTF_MODE`` (``TLTF_QUICK=1`` means quick when it is unset; else ``default``).
    Raises ValueError, naming the choices, for any other name."""
    name = os.environ.get("TLTF_MODE", "").strip().lower()
    if not name:
        return "quick" if os.environ.get("TLTF_QUICK", "") == "1" else default
    if name not in MODES:
        raise ValueError(f"TLTF_MODE={name!r} is not a mode: choose one of {', '.join(MODES)}.")
    return name


def settings(name: str | None = None) -> Settings:
    """The settings of mode ``name`` (default: ``mode()``, read now from the environment)."""
    name = name or mode()
    if name not in _SETTINGS:
        raise ValueError(f"{name!r} is not a mode: choose one of {', '.join(MODES)}.")
    return _SETTINGS[name]


def is_quick(quick: bool | None = None) -> bool:
    """``quick`` when given, else whether the current mode is quick (a data loader's default)."""
    return settings().quick if quick is None else quick
