"""Every exercise checker of every lesson: the reference solution passes, an unfilled stub reads as
'not done yet'. The lesson files test_exercises_lessonNN.py check the typical mistakes."""

from __future__ import annotations

import importlib

import pytest

from lesson_solutions import SOLUTIONS, load_solutions

LESSONS = sorted(p.stem for p in SOLUTIONS.glob("lesson[0-9][0-9].py"))


def checker(lesson: str, name: str):
    return getattr(importlib.import_module(f"vae_helpers.exercises.{lesson}"), f"check_{name}")


def exercise_names(lesson: str) -> list[str]:
    """The exercises a lesson's module checks: its own check_<name> functions."""
    module = importlib.import_module(f"vae_helpers.exercises.{lesson}")
    return [name.removeprefix("check_") for name, obj in vars(module).items()
            if name.startswith("check_") and getattr(obj, "__module__", None) == module.__name__]


CASES = [(lesson, name) for lesson in LESSONS for name in exercise_names(lesson)]


def test_every_lesson_has_its_exercises():
    assert LESSONS == [f"lesson{n:02d}" for n in range(1, 9)]
    for lesson in LESSONS:
        assert sum(case[0] == lesson for case in CASES) >= 3, f"{lesson} has fewer than three checkers"


@pytest.mark.parametrize("lesson, name", CASES, ids=[f"{lesson}-{name}" for lesson, name in CASES])
def test_solution_passes(lesson, name, capsys):
    result = checker(lesson, name)(getattr(load_solutions(lesson), name))
    assert result.passed, result.message
    assert "✓" in capsys.readouterr().out


@pytest.mark.parametrize("lesson, name", CASES, ids=[f"{lesson}-{name}" for lesson, name in CASES])
def test_an_unfilled_stub_reads_as_not_done_yet(lesson, name, capsys):
    def stub(*args):
        raise NotImplementedError

    result = checker(lesson, name)(stub)
    assert not result.passed and "not done yet" in result.message
    assert "✗" in capsys.readouterr().out
