"""Every exercise of every lesson, through the exercise API (vae_helpers.exercises.core):

- the reference solution in solutions/lessonNN.py passes;
- an unfilled stub reads as "not attempted", and that message holds no hint;
- every known mistake, as code, is diagnosed by its name;
- a wrong answer's message never shows the reference's whole output;
- an answer that changes its inputs in place gets the verdict of its out-of-place twin.

The lesson files test_exercises_lessonNN.py add mistakes written the way a reader would write them.
"""

from __future__ import annotations

import importlib
import re

import pytest
import torch

from lesson_solutions import SOLUTIONS, load_solutions
from vae_helpers.exercises.core import Exercise, Prediction

LESSONS = sorted(p.stem for p in SOLUTIONS.glob("lesson[0-9][0-9].py"))


def exercises_of(lesson: str) -> list:
    module = importlib.import_module(f"vae_helpers.exercises.{lesson}")
    return [obj for obj in vars(module).values() if isinstance(obj, (Exercise, Prediction))]


EXERCISES = [(lesson, ex) for lesson in LESSONS for ex in exercises_of(lesson) if isinstance(ex, Exercise)]
PREDICTIONS = [(lesson, ex) for lesson in LESSONS for ex in exercises_of(lesson) if isinstance(ex, Prediction)]
ex_ids = [f"{lesson}-{ex.name}" for lesson, ex in EXERCISES]
pred_ids = [f"{lesson}-{ex.name}" for lesson, ex in PREDICTIONS]


def solution_of(lesson: str, ex):
    return getattr(load_solutions(lesson), ex.solution_name)


def expected_numbers(ex: Exercise) -> list[list[str]]:
    """The reference's outputs, each as the list of its values printed the way messages print them."""
    shown = []
    for case in ex.cases():
        out = ex.reference(*case.args)
        parts = out if isinstance(out, (tuple, list)) else [out]
        for part in parts:
            if isinstance(part, torch.Tensor):
                shown.append([f"{v:.6g}" for v in part.detach().double().flatten().tolist()])
            elif isinstance(part, (int, float)) and not isinstance(part, bool):
                shown.append([f"{float(part):.6g}"])
    return shown


def assert_no_full_output(message: str, ex: Exercise) -> None:
    for values in expected_numbers(ex):
        found = [v for v in values if re.search(rf"(?<![\d.]){re.escape(v)}(?![\d])", message)]
        if len(values) == 1:
            assert not found, f"{ex.name}: the message gives the expected number away:\n{message}"
        else:
            assert len(found) <= 1, f"{ex.name}: the message shows {len(found)} expected values:\n{message}"


def test_every_lesson_has_its_exercises():
    assert LESSONS[:8] == [f"lesson{n:02d}" for n in range(1, 9)]
    for lesson in LESSONS:
        found = exercises_of(lesson)
        assert 2 <= len(found) <= 5, f"{lesson} has {len(found)} exercises (want 2-4)"
        for ex in found:
            assert len(ex.hints) >= 2 or isinstance(ex, Prediction), f"{lesson}.{ex.name}: staged hints"


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_solution_passes(lesson, ex, capsys):
    result = ex.check(solution_of(lesson, ex))
    assert result.passed, result.message
    assert capsys.readouterr().out.startswith("✓")


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_unfilled_stub_is_not_attempted_and_gives_no_hint(lesson, ex):
    def stub(*args):
        raise NotImplementedError

    for fn in (stub, lambda *args: None, None):
        result = ex.check(fn, verbose=False)
        assert result.status == "not attempted", result
        assert "hint" not in result.message.lower()
        for hint in ex.hints:
            assert hint[:30] not in result.message


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_every_known_mistake_is_named(lesson, ex):
    assert ex.mistakes, f"{ex.name} lists no typical mistakes"
    for mistake in ex.mistakes:
        result = ex.check(mistake.fn, verbose=False)
        assert result.status == "incorrect", f"{ex.name}: the mistake '{mistake.name}' passes the check"
        assert result.mistake == mistake.name and mistake.name in result.message, (
            f"{ex.name}: '{mistake.name}' diagnosed as {result.mistake!r}:\n{result.message}")
        assert_no_full_output(result.message, ex)


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_a_wrong_answer_is_located_without_the_answer(lesson, ex):
    solution = solution_of(lesson, ex)

    def off_by_a_bit(*args):
        out = solution(*args)
        if isinstance(out, (tuple, list)):
            return type(out)(o * 1.1 + 0.5 if isinstance(o, (torch.Tensor, float)) else o for o in out)
        return out * 1.1 + 0.5

    result = ex.check(off_by_a_bit, verbose=False)
    assert result.status == "incorrect", result
    assert "case 1" in result.message
    assert_no_full_output(result.message, ex)
    assert len(result.message.splitlines()) <= 6


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_an_in_place_answer_gets_the_verdict_of_its_twin(lesson, ex):
    """The answer scribbles over its inputs after computing: the verdict must not change."""
    solution = solution_of(lesson, ex)

    def scribbles(*args):
        out = solution(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
        with torch.no_grad():
            for a in args:
                if isinstance(a, torch.Tensor) and a.is_floating_point():
                    a.mul_(-3.0).add_(1.0)
        return out

    assert ex.check(scribbles, verbose=False).passed
    for mistake in ex.mistakes[:2]:
        def scribbling_mistake(*args, _fn=mistake.fn):
            out = _fn(*[a.clone() if isinstance(a, torch.Tensor) else a for a in args])
            with torch.no_grad():
                for a in args:
                    if isinstance(a, torch.Tensor) and a.is_floating_point():
                        a.mul_(-3.0)
            return out

        assert ex.check(scribbling_mistake, verbose=False).mistake == mistake.name


@pytest.mark.parametrize("lesson, ex", EXERCISES, ids=ex_ids)
def test_hints_are_staged_and_the_solution_comes_after_a_warning(lesson, ex, capsys):
    ex.solved = False  # as for a reader who has not passed the check (other tests pass it)
    for n in range(1, len(ex.hints) + 1):
        ex.hint(n)
        assert f"Hint {n} of {len(ex.hints)}" in capsys.readouterr().out
    ex.solution()
    out = capsys.readouterr().out
    assert out.startswith("Try it yourself first") and f"def {ex.solution_name}" in out


def test_after_a_passing_check_the_solution_says_compare_not_try_first(capsys):
    from vae_helpers.exercises import lesson05

    ex = lesson05.elbo_in_nats
    ex.solved = False
    ex.check(ex.reference, verbose=False)
    ex.solution()
    out = capsys.readouterr().out
    assert out.startswith("You have solved it") and "Try it yourself first" not in out
    ex.solved = False


@pytest.mark.parametrize("lesson, ex", PREDICTIONS, ids=pred_ids)
def test_prediction_verdicts(lesson, ex):
    assert ex.check(None, verbose=False).status == "not attempted"
    assert ex.check(..., verbose=False).status == "not attempted"
    answer = ex.answer()
    right = ex.check(answer, verbose=False)
    assert right.passed, right.message
    for wrong, why in ex.mistakes.items():
        result = ex.check(wrong, verbose=False)
        assert result.status == "incorrect" and why in result.message


def test_on_paper_exercise_points_to_its_solution(capsys):
    from vae_helpers.exercises import lesson07

    lesson07.shift_and_rescale.hint(1)
    assert "worked on paper" in capsys.readouterr().out
    lesson07.shift_and_rescale.solution()
    out = capsys.readouterr().out
    assert "def shift_and_rescale" in out and "1/2 (S_j - 1 - log S_j)" in out
