"""tltf.settings: one object per mode, read from the environment when asked, never at import time."""

import pytest

from tltf import settings as course


def test_the_mode_is_read_when_asked_and_tltf_quick_still_means_quick(monkeypatch):
    monkeypatch.delenv("TLTF_MODE", raising=False)
    monkeypatch.delenv("TLTF_QUICK", raising=False)
    assert course.settings().mode == "lesson"  # the default: what a learner runs
    monkeypatch.setenv("TLTF_QUICK", "1")
    assert course.settings().quick and course.is_quick() and not course.is_quick(False)
    monkeypatch.setenv("TLTF_MODE", "study")  # TLTF_MODE wins over TLTF_QUICK
    assert course.settings().study and course.settings().seeds == (0, 1, 2)
    monkeypatch.setenv("TLTF_MODE", "full")
    with pytest.raises(ValueError, match="quick, lesson, study"):
        course.settings()


def test_a_lesson_runs_one_seed_of_the_study_and_quick_is_smaller():
    quick, lesson, study = (course.settings(name) for name in course.MODES)
    assert lesson.seeds == study.seeds[:1] and lesson.per_class == study.per_class
    assert quick.epoch_rows < lesson.epoch_rows and quick.head_epochs < lesson.head_epochs
    assert lesson.pick(quick=1, lesson=2, study=3) == 2
    with pytest.raises(AttributeError):
        lesson.seeds = (5,)  # frozen: a run reads it, never changes it
