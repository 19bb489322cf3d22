"""Shared machinery of the exercise checkers: run the reader's function, compare, explain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch


@dataclass
class CheckResult:
    """The outcome of one exercise check (printed for the reader, asserted on in tests)."""

    exercise: str
    passed: bool
    message: str

    def __str__(self) -> str:
        mark = "✓" if self.passed else "✗"
        return f"{mark} {self.exercise}: {self.message}"

    def __bool__(self) -> bool:
        return self.passed


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        flat = value.detach().flatten()[:4].tolist()
        shown = ", ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in flat)
        more = ", …" if value.numel() > 4 else ""
        return f"tensor of shape {list(value.shape)} [{shown}{more}]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def compare(got: Any, expected: Any, rtol: float = 1e-4, atol: float = 1e-5) -> str | None:
    """None when ``got`` matches ``expected``; otherwise what differs, in words."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor, got {type(got).__name__} ({_describe(got)})"
        if got.shape != expected.shape:
            return f"expected shape {list(expected.shape)}, got shape {list(got.shape)}"
        if not torch.allclose(got.double(), expected.double(), rtol=rtol, atol=atol, equal_nan=False):
            return f"expected {_describe(expected)}, got {_describe(got)}"
        return None
    if isinstance(expected, (int, float)):
        try:
            value = float(got)
        except (TypeError, ValueError):
            return f"expected a number, got {type(got).__name__} ({_describe(got)})"
        if abs(value - expected) > atol + rtol * abs(expected):
            return f"expected {expected:.6g}, got {value:.6g}"
        return None
    return None if got == expected else f"expected {_describe(expected)}, got {_describe(got)}"


def check_function(
    exercise: str,
    reader_fn: Callable,
    reference_fn: Callable,
    cases: Iterable[tuple],
    hint: str,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    verbose: bool = True,
) -> CheckResult:
    """Call ``reader_fn`` and ``reference_fn`` on each case and compare; print and return the result.

    A stub that raises NotImplementedError (or returns None) reads as "not done yet", not as an error.
    """
    result = None
    for i, args in enumerate(cases, start=1):
        try:
            got = reader_fn(*args)
        except NotImplementedError:
            result = CheckResult(exercise, False, f"not done yet: fill in the function, then run this cell again. Hint: {hint}")
            break
        except Exception as err:  # the reader's code may fail in any way: report it, don't crash
            result = CheckResult(exercise, False, f"your function raised {type(err).__name__}: {err}. Hint: {hint}")
            break
        if got is None:
            result = CheckResult(exercise, False, f"your function returned None: did you forget `return`? Hint: {hint}")
            break
        problem = compare(got, reference_fn(*args), rtol, atol)
        if problem:
            result = CheckResult(exercise, False, f"test case {i}: {problem}. Hint: {hint}")
            break
    if result is None:
        result = CheckResult(exercise, True, "correct, well done.")
    if verbose:
        print(result)
    return result
