"""One object per exercise: ``ex.check(answer)``, ``ex.hint(n)``, ``ex.solution()``.

An exercise knows its reference answer, a few input cases, staged hints, and the typical wrong
answers of its topic (``Mistake``), written as code. ``check`` tells "not attempted" apart from
"wrong", names the first case and element that differ (never the reference's whole output) and,
when the answer behaves like a known mistake, says which one and why it is wrong.

Two kinds:
- ``Exercise``: the reader writes a function; it is called on each case next to the reference.
- ``Prediction``: the reader writes down a value or a choice *before* running an experiment;
  ``check`` says whether it was right and then reveals the measured answer.
"""

from __future__ import annotations

import copy
import importlib.util
import inspect
import math
import re
import signal
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from .i18n import N_, _, language

TRY_FIRST = N_("Try it yourself first: a solution read before you have tried teaches little.")
SOLVED = N_("You have solved it: compare your answer with the reference solution.")


@dataclass
class CheckResult:
    """What ``check`` found: printed for the reader, asserted on in tests."""

    exercise: str
    status: str  # "correct", "not attempted", "incorrect"
    message: str
    mistake: str | None = None  # the name of the known mistake the answer matches, if any
    diagnosis: str | None = None  # a general diagnosis (diagnose.py: "sign", "factor", ...), if any

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    def __bool__(self) -> bool:
        return self.passed

    def _ipython_display_(self) -> None:
        """Shown as a cell's last value: nothing more, ``check`` has printed the verdict."""

    def __str__(self) -> str:
        mark = {"correct": "✓", "not attempted": "·"}.get(self.status, "✗")
        return f"{mark} {self.exercise}: {self.message}"


@dataclass(frozen=True)
class Case:
    """One set of inputs for an exercise, with an optional short label ("a batch of one")."""

    args: tuple
    label: str = ""


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``fn`` computes it (same signature as the reference)."""

    name: str  # short, e.g. "summed over the batch instead of averaged"
    why: str  # one or two sentences: why it is wrong
    fn: Callable
    hint: int = 0  # the staged hint that addresses this mistake (0: none in particular)


STUCK = N_("Stuck? .hint() on this exercise gives a nudge.")


class _NotAttempted(Exception):
    pass


class TimeLimitExceeded(Exception):
    """A call to the reader's function ran past the exercise's time limit."""


TIME_LIMIT = 30.0  # seconds per call of the reader's function (a check must never hang the kernel)


def call_with_time_limit(fn: Callable, args: tuple, seconds: float):
    """``fn(*args)``, interrupted after ``seconds`` where the platform allows (Unix, main thread)."""
    if seconds <= 0 or not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return fn(*args)

    def stop(signum, frame):
        raise TimeLimitExceeded

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _copy_args(args: tuple) -> tuple:
    """A deep copy of a case's inputs (models and optimizers included, sharing kept)."""
    return copy.deepcopy(args)


def _as_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return torch.tensor(float(value), dtype=torch.float64)
    return None


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _fmt_apart(a: float, b: float) -> tuple[str, str]:
    """Both numbers with as many digits as it takes to see that they differ."""
    for digits in (6, 9, 12, 17):
        x, y = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if x != y:
            return x, y
    return x, y


_KINDS = {"tuple": N_("tuple"), "list": N_("list")}  # a sequence's kind, as a message names it


def _kind(value: Any) -> str:
    """The kind of ``value`` in the reader's language ("tuple" is 元组 in Chinese)."""
    name = type(value).__name__
    return _(_KINDS[name]) if name in _KINDS else name


_SPACE_IN_CHINESE = re.compile(r"(?<=[\u3400-\u9fff]) (?=[\u3400-\u9fff])")


def _tidy(text: str) -> str:
    """``text`` without a space between two Chinese characters (a filled-in template can leave one)."""
    return _SPACE_IN_CHINESE.sub("", text)


def _shown_choice(choice: str) -> str:
    """A choice as a message shows it: in Chinese in quotes, as the reader types it (a bare English word would
    read as part of the sentence)."""
    return repr(choice) if language() == "zh" else choice


def _choice_list(choices: Sequence[str]) -> str:
    """The choices as a message lists them: ['a', 'b'] in English, 'a' 或 'b' in Chinese."""
    if language() != "zh" or len(choices) < 2:
        return str(list(choices))
    return "、".join(repr(c) for c in choices[:-1]) + _(" or ") + repr(choices[-1])


def _index(idx: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(i) for i in idx) + "]"


def describe_value(value: Any) -> str:
    """A short description of an input or output: a tensor by shape and dtype, a number by value."""
    if isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return f"tensor({value.item():.4g})"
        dtype = str(value.dtype).removeprefix("torch.")
        return _("tensor of shape {shape} ({dtype})", shape=list(value.shape), dtype=dtype)
    if isinstance(value, torch.nn.Module):
        return _("a {kind} model", kind=type(value).__name__)
    if isinstance(value, torch.optim.Optimizer):
        return _("a {kind} optimizer", kind=type(value).__name__)
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, (list, tuple)) and len(value) > 4:
        return _("a {kind} of {n} items", kind=_kind(value), n=len(value))
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def difference(got: Any, expected: Any, rtol: float, atol: float, where: str | None = None,
               reveal: bool = True) -> str | None:
    """None when ``got`` matches ``expected``; otherwise the first thing that differs, in words.

    Shows at most one element of ``expected`` (and none when ``reveal`` is False or the expected
    value is a single number, which would give the answer away).
    """
    where = _("the result") if where is None else where
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            n = len(got) if isinstance(got, (tuple, list)) else None
            return _tidy(_("{where} should be a {kind} of {n} values, got {got}", where=where,
                           kind=_kind(expected), n=len(expected),
                           got=describe_value(got) if n is None else _("{n} values", n=n)))
        for i, (g, e) in enumerate(zip(got, expected)):
            problem = difference(g, e, rtol, atol, _("item {n} of {where}", n=i + 1, where=where), reveal)
            if problem:
                return problem
        return None
    if isinstance(expected, bool) or isinstance(expected, str) or expected is None:
        if got == expected:
            return None
        return (_("{where} is {got}, which is not right", where=where, got=repr(got)) if not reveal
                else _("{where}: expected {expected}, got {got}", where=where, expected=repr(expected), got=repr(got)))
    exp = _as_tensor(expected)
    if exp is None:
        return None if got == expected else _("{where} is {got}, which is not right", where=where,
                                               got=describe_value(got))
    value = _as_tensor(got)
    if value is None:
        kind = _("a tensor") if isinstance(expected, torch.Tensor) else _("a number")
        return _("{where} should be {kind}, got {type} ({got})", where=where, kind=kind,
                 type=type(got).__name__, got=describe_value(got))
    if isinstance(expected, torch.Tensor) and tuple(value.shape) != tuple(exp.shape):
        return _("{where} has shape {shape}; expected shape {expected}", where=where, shape=list(value.shape),
                 expected=list(exp.shape))
    if not isinstance(expected, torch.Tensor) and value.numel() != 1:
        return _("{where} should be a single number, got {got}", where=where, got=describe_value(got))
    e, g = exp.double().reshape(-1), value.double().reshape(-1)
    bad = ~(torch.isclose(g, e, rtol=rtol, atol=atol) | (torch.isnan(g) & torch.isnan(e)))
    if not bad.any():
        return None
    k = int(bad.nonzero()[0])
    if e.numel() == 1 or not reveal:
        side = _("too large") if g[k] > e[k] else _("too small") if g[k] < e[k] else _("not a number")
        value = _fmt_apart(float(g[k]), float(e[k]))[0]
        if e.numel() == 1:
            return _("{where} is {value}, which is {side}", where=where, value=value, side=side)
        at = _index(tuple(int(i) for i in torch.unravel_index(torch.tensor(k), exp.shape)))
        return _("{where} at index {index} is {value}, which is {side}", where=where, index=at, value=value,
                 side=side)
    idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(k), exp.shape))
    shown_e, shown_g = _fmt_apart(float(e[k]), float(g[k]))
    return _("{where} first differs at index {index}: expected {expected}, got {got} ({bad} of {n} values differ)",
             where=where, index=_index(idx), expected=shown_e, got=shown_g, bad=int(bad.sum()), n=e.numel())


def _source_of(path, name: str) -> str | None:
    """The source of function ``name`` in the file ``path`` (None when the file is missing)."""
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"_solutions_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    obj = getattr(module, name, None)
    if obj is None:
        return None
    return inspect.getsource(obj) if callable(obj) else f"{name} = {obj!r}\n"


class _Hints:
    """Staged hints: hint(1) nudges, each later one comes closer; only the last nears the answer."""

    name: str
    hints: Sequence[str]
    lesson: str
    solution_name: str
    solved = False  # not a field: a passing check sets it, and solution() then says "compare", not "try first"

    def hint(self, n: int = 1) -> None:
        """Print hint ``n`` (1 = a nudge)."""
        total = len(self.hints)
        if total == 0:
            print(_("{name} has no hints: write down your choice; the check explains the answer.", name=self.name))
            return
        if not 1 <= n <= total:
            print(_("{name} has hints 1 to {total}; after the last one, {name}.solution().", name=self.name,
                    total=total))
            return
        more = _(" (next: .hint({next}))", next=n + 1) if n < total else _(" (the last hint; then .solution())")
        print(_("Hint {n} of {total} for {name}{more}:", n=n, total=total, name=self.name, more=more))
        print(_(self.hints[n - 1]))

    def solution(self) -> None:
        """Print the reference solution from solutions/<lesson>.py, after a "try first" line (after a passing check:
        "compare")."""
        from ..data import project_root

        path = project_root() / "solutions" / f"{self.lesson}.py"
        source = _source_of(path, self.solution_name)
        print(_(SOLVED) if self.solved else _(TRY_FIRST))
        if source is None:
            print(_("(the solution is {name} in solutions/{lesson}.py of the vae-notebooks repository; that file "
                    "is not next to this installation)", name=self.solution_name, lesson=self.lesson))
        else:
            print(_translated_source(source).rstrip())


def _translated_source(source: str) -> str:
    """A function's source with its docstring and comments in the reader's language (the code stays as written)."""
    import ast
    import textwrap

    lines = source.splitlines()
    for first, last, column, whole_line, text in reversed(comment_blocks(source)):  # from the end: rows stay valid
        translated = _(text)
        if translated == text:
            continue
        if whole_line:
            lines[first - 1: last] = [lines[first - 1][:column] + "# " + line for line in translated.splitlines()]
        else:
            lines[first - 1] = lines[first - 1][:column] + "# " + " ".join(translated.splitlines())
    source = "\n".join(lines) + "\n"
    try:
        node = ast.parse(textwrap.dedent(source)).body[0]
    except (SyntaxError, IndexError):
        return source
    doc = ast.get_docstring(node) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    translated = _(doc) if doc else None
    if not doc or translated == doc:
        return source
    first = node.body[0]
    lines = source.splitlines()
    indent = lines[first.lineno - 1][: len(lines[first.lineno - 1]) - len(lines[first.lineno - 1].lstrip())]
    body = "\n".join(indent + line if line else "" for line in translated.splitlines())
    new = [f'{indent}"""{body.lstrip()}', f'{indent}"""'] if "\n" in translated else [f'{indent}"""{translated}"""']
    return "\n".join(lines[: first.lineno - 1] + new + lines[first.end_lineno:]) + "\n"


def comment_blocks(source: str) -> list[tuple[int, int, int, bool, str]]:
    """The comments of ``source`` as (first row, last row, column, whole line?, text), rows counted from 1.

    Consecutive whole-line comments in one column are one block, their texts joined by spaces (one message
    to translate); a comment after code on its line is a block of its own.
    """
    import io
    import tokenize

    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return []
    lines, blocks = source.splitlines(), []
    for token in tokens:
        text = token.string[1:].strip() if token.type == tokenize.COMMENT else ""
        if not text:
            continue
        (row, column), previous = token.start, blocks[-1] if blocks else None
        whole_line = not lines[row - 1][:column].strip()
        if whole_line and previous and previous[3] and previous[2] == column and previous[1] == row - 1:
            previous[1], previous[4] = row, previous[4] + " " + text
        else:
            blocks.append([row, row, column, whole_line, text])
    return [tuple(block) for block in blocks]


class OnPaper(_Hints):
    """An exercise worked on paper: nothing to check; staged hints, if any, and the reference answer."""

    def __init__(self, name: str, lesson: str, hints: Sequence[str] = ()) -> None:
        self.name = self.solution_name = name
        self.lesson = lesson
        self.hints = tuple(hints)

    def hint(self, n: int = 1) -> None:
        """Print hint ``n``; without hints, say how to check the derivation."""
        if self.hints:
            super().hint(n)
        else:
            print(_("{name} is worked on paper: write your derivation down, then compare it with {name}.solution().",
                    name=self.name))


class Exercise(_Hints):
    """Write a function; ``check(fn)`` runs it next to ``reference`` on every case.

    ``cases`` is a list of ``Case`` or a function returning one (built fresh for each check).
    The reference runs first, on its own copy of each case; the reader's function, and each known
    mistake, get copies too, so an answer that works in place is judged like its twin that doesn't.
    """

    def __init__(self, name: str, reference: Callable, cases, hints: Sequence[str], *,
                 lesson: str, mistakes: Sequence[Mistake] = (), solution_name: str | None = None,
                 rtol: float = 1e-4, atol: float = 1e-5, compare: Callable | None = None,
                 time_limit: float = TIME_LIMIT, reveal: bool = True) -> None:
        if len(hints) < 2:
            raise ValueError(f"{name}: give at least two staged hints")
        self.name, self.reference, self._cases = name, reference, cases
        self.hints, self.mistakes, self.lesson = tuple(hints), tuple(mistakes), lesson
        self.solution_name = solution_name or name
        self.rtol, self.atol, self.time_limit = rtol, atol, time_limit
        self.reveal = reveal  # False: a wrong element is called too large or too small, never shown beside its expected value
        self._compare = compare  # optional: (got, expected) -> transformed pair before comparing
        self.arg_names = list(inspect.signature(reference).parameters)

    def __repr__(self) -> str:
        return (f"<exercise {self.name} ({self.lesson}): {self.name}.check(your_function), "
                f".hint(1..{len(self.hints)}), .solution()>")

    def cases(self) -> list[Case]:
        raw = self._cases() if callable(self._cases) else self._cases
        return [c if isinstance(c, Case) else Case(tuple(c)) for c in raw]

    def _describe_case(self, i: int, n: int, case: Case) -> str:
        parts = [f"{a}={describe_value(v)}" for a, v in zip(self.arg_names, case.args)]
        head = (_("case {i} of {n} ({label}): ", i=i, n=n, label=_(case.label)) if case.label
                else _("case {i} of {n}: ", i=i, n=n))
        return head + ", ".join(parts)

    def _call(self, fn: Callable, case: Case):
        return call_with_time_limit(fn, _copy_args(case.args), self.time_limit)

    def _run(self, fn: Callable, case: Case) -> tuple[Any, list[str]]:
        """The reader's output on a copy of the case, and the names of the inputs it changed in place."""
        args = _copy_args(case.args)
        before = _copy_args(args)
        got = call_with_time_limit(fn, args, self.time_limit)
        changed = [name for name, new, old in zip(self.arg_names, args, before)
                   if isinstance(new, torch.Tensor) and isinstance(old, torch.Tensor)
                   and (new.shape != old.shape or not torch.equal(new.detach(), old.detach()))]
        return got, changed

    def _matches(self, got: Any, expected: Any) -> bool:
        if self._compare is not None:
            got, expected = self._compare(got, expected)
        try:
            return difference(got, expected, self.rtol, self.atol) is None
        except Exception:
            return False

    def _agreement(self, mistake: Mistake, answers: list, cases: list[Case]) -> list[bool]:
        """Per case: does the mistake do what the reader's answer did (the same output, or also raise)?"""
        agree = []
        for got, case in zip(answers, cases):
            try:
                out = self._call(mistake.fn, case)
            except Exception as err:
                agree.append(isinstance(got, _Raised) and type(got.error) is type(err))
                continue
            agree.append(not isinstance(got, _Raised) and got is not None and self._matches(got, out))
        return agree

    def _diagnose(self, answers: list, cases: list[Case], failing: int) -> tuple[Mistake | None, bool]:
        """A known mistake that explains the answer on every case, else on most cases and the failing one."""
        best, best_count = None, 0
        for mistake in self.mistakes:
            agree = self._agreement(mistake, answers, cases)
            if all(agree):
                return mistake, True
            count = sum(agree)
            if agree[failing] and 2 * count > len(agree) and count > best_count:
                best, best_count = mistake, count
        return best, False

    def _two_mistakes(self, answers: list, cases: list[Case], expected: list) -> tuple[Mistake, Mistake] | None:
        """Two known mistakes made at once, each explaining its own part of the difference on every case.

        Their effects combine when they touch different numbers of the output, or when one of them is a
        constant offset (it adds) or a constant factor (it multiplies) within each case.
        """
        from .diagnose import _close, _pairs

        if any(a is None or isinstance(a, _Raised) for a in answers) or len(self.mistakes) < 2:
            return None
        ran = [(a, e) for a, e in zip(answers, expected)]
        if self._compare is not None:
            ran = [self._compare(a, e) for a, e in ran]
        both = _pairs([a for a, _ in ran], [e for _, e in ran])
        if both is None:
            return None
        got, ref, per_case = both
        bounds = torch.tensor([0] + [len(e) for _, e in per_case]).cumsum(0).tolist()

        def constant_per_case(values: torch.Tensor) -> bool:
            """The same within every case; where a case is one number, the same in every case."""
            if all(hi - lo <= 1 for lo, hi in zip(bounds, bounds[1:])):
                return bool(torch.allclose(values, values[:1].expand_as(values), rtol=1e-6, atol=1e-9))
            return all(bool(torch.allclose(values[lo:hi], values[lo:hi][:1].expand(hi - lo), rtol=1e-6, atol=1e-9))
                       for lo, hi in zip(bounds, bounds[1:]) if hi > lo)

        effects = []  # (mistake, its output flattened over all cases)
        for mistake in self.mistakes:
            try:
                outs = [self._call(mistake.fn, c) for c in cases]
                if self._compare is not None:
                    outs = [self._compare(o, e)[0] for o, e in zip(outs, expected)]
                flat = _pairs(outs, [e for _, e in ran])
            except Exception:
                continue
            if flat is not None and not _close(flat[0], ref, 1e-6, 1e-9):
                effects.append((mistake, flat[0]))
        nonzero = bool((ref.abs() > 1e-12).all())
        for i, (first, a) in enumerate(effects):
            for second, b in effects[i + 1:]:
                if _close(got, a, 1e-6, 1e-9) or _close(got, b, 1e-6, 1e-9):
                    continue
                da, db = a - ref, b - ref
                apart = not bool(((da.abs() > 1e-9) & (db.abs() > 1e-9)).any())
                if (apart or constant_per_case(da) or constant_per_case(db)) and _close(got - ref, da + db, 1e-4, 1e-6):
                    return first, second
                if nonzero and (constant_per_case(a / ref) or constant_per_case(b / ref)) \
                        and _close(got / ref, (a / ref) * (b / ref), 1e-4, 1e-6):
                    return first, second
        return None

    def _general(self, fn: Callable, answers: list, cases: list[Case], expected: list, failing: int):
        """A general diagnosis (diagnose.py), or an answer that changes between two identical calls."""
        from .diagnose import diagnose, random_diagnosis

        try:
            again = self._call(fn, cases[failing])
            twice = self._call(self.reference, cases[failing])
            if (difference(twice, expected[failing], 0, 0) is None
                    and difference(again, answers[failing], 0, 0) is not None):
                return random_diagnosis()
        except Exception:
            pass
        ran = [(a, e, c.args) for a, e, c in zip(answers, expected, cases) if a is not None and not isinstance(a, _Raised)]
        if self._compare is not None:
            ran = [(*self._compare(a, e), args) for a, e, args in ran]
        try:
            return diagnose([a for a, _, _ in ran], [e for _, e, _ in ran], [x for _, _, x in ran], self.arg_names)
        except Exception:  # a diagnosis must never hide the verdict
            return None

    def _mistake_lines(self, mistake: Mistake, everywhere: bool) -> list[str]:
        template = (_("This looks like a known mistake, {name}: {why}") if everywhere
                    else _("On most cases this behaves like a known mistake, {name}: {why}"))
        pointer = (_(".hint({n}) is about this.", n=mistake.hint) if mistake.hint
                   else _("Fix that, then check again."))
        return ["  " + template.format(name=_(mistake.name), why=_(mistake.why)), "  " + pointer]

    def check(self, fn: Callable, verbose: bool = True) -> CheckResult:
        """Run ``fn`` on every case; print and return the verdict."""
        result = self._check(fn)
        self.solved = self.solved or result.passed
        if verbose:
            print(result)
        return result

    def _check(self, fn: Callable) -> CheckResult:
        if fn is None or fn is Ellipsis or not callable(fn):
            return CheckResult(self.name, "not attempted" if fn in (None, Ellipsis) else "incorrect",
                               _("not attempted yet: write the function above, then run this cell.")
                               if fn in (None, Ellipsis) else
                               _("pass your function itself (got {got}).", got=describe_value(fn)))
        cases = self.cases()
        expected = [self._call(self.reference, c) for c in cases]  # the reference first, on copies
        answers: list = []
        changed_any: list[str] = []
        for i, (case, exp) in enumerate(zip(cases, expected), start=1):
            try:
                got, changed = self._run(fn, case)
            except NotImplementedError:
                return CheckResult(self.name, "not attempted",
                                   _("not attempted yet: replace `raise NotImplementedError` with your code, "
                                     "then run this cell."))
            except TimeLimitExceeded:
                return CheckResult(self.name, "incorrect",
                                   _("your function did not return within {seconds} s on {case}", seconds=f"{self.time_limit:g}",
                                     case=self._describe_case(i, len(cases), case)) + "\n  "
                                   + _("An endless loop, or a Python loop over every element? These answers take "
                                       "milliseconds with tensor operations."), diagnosis="time")
            except Exception as err:  # the reader's code may fail in any way: report it, don't crash
                answers.append(_Raised(err))
                answers += [self._answer_or_raised(fn, later) for later in cases[i:]]
                mistake, everywhere = self._diagnose(answers, cases, i - 1)
                lines = [_("your function raised {error}: {message}", error=type(err).__name__, message=err)
                         + "\n  " + _("on {case}", case=self._describe_case(i, len(cases), case))]
                general = None
                if mistake is None:
                    from .diagnose import diagnose_error

                    general = diagnose_error(err)
                return self._incorrect(lines, mistake, everywhere, general)
            if got is None:
                if i == 1:
                    return CheckResult(self.name, "not attempted",
                                       _("not attempted yet (your function returned None): write the "
                                         "function above, with a `return`, then run this cell."))
                return CheckResult(self.name, "incorrect", _("your function returned None on {case}: is a `return` "
                                   "missing?", case=self._describe_case(i, len(cases), case)))
            answers.append(got)
            changed_any = changed_any or changed
            g, e = (self._compare(got, exp) if self._compare else (got, exp))
            problem = difference(g, e, self.rtol, self.atol, reveal=self.reveal)
            if problem is None and _lost_graph(got, exp):
                problem = _("the values are right, but the result carries no gradient")
            if problem is None:
                problem = self._quiet_problem(fn, case, got, exp, changed)
            if problem:
                answers += [self._answer_or_raised(fn, later) for later in cases[i:]]
                mistake, everywhere = self._diagnose(answers, cases, i - 1)
                general = None
                if mistake is None or not everywhere:
                    pair = self._two_mistakes(answers, cases, expected)
                    if pair is not None:
                        lines = [_("not yet right. On {case}", case=self._describe_case(i, len(cases), case)),
                                 f"  {problem}" + _(".")]
                        return self._two_mistakes_verdict(lines, *pair)
                    general = self._general(fn, answers, cases, expected, i - 1)
                    if general is not None:
                        mistake = None
                if general is None and mistake is None and changed:
                    from .diagnose import Diagnosis

                    general = Diagnosis("in place", _("your function changed its input `{name}` in place (an "
                                                      "operation ending in _ , or an assignment into it): compute "
                                                      "a new tensor instead, so the caller's values stay as they "
                                                      "were.", name=changed[0]))
                lines = [_("not yet right. On {case}", case=self._describe_case(i, len(cases), case)),
                         f"  {problem}" + _(".")]
                return self._incorrect(lines, mistake, everywhere, general)
        message = _("correct (1 case checked).") if len(cases) == 1 else _("correct ({n} cases checked).", n=len(cases))
        if changed_any:
            message += "\n  " + _("Note: your function changes its input `{name}` in place. The check gave it a copy, "
                                   "but called on your own tensors it would overwrite them: compute a new tensor "
                                   "instead.", name=changed_any[0])
        return CheckResult(self.name, "correct", message)

    def _two_mistakes_verdict(self, lines: list[str], first: Mistake, second: Mistake) -> CheckResult:
        """Two known mistakes at once: name both, and point to the hint about the first."""
        lines.append("  " + _("This looks like two known mistakes at once. First, {name}: {why}",
                              name=_(first.name), why=_(first.why)))
        lines.append("  " + _("Second, {name}: {why}", name=_(second.name), why=_(second.why)))
        hint = min((m.hint for m in (first, second) if m.hint), default=0)
        lines.append("  " + (_(".hint({n}) is about this.", n=hint) if hint else _("Fix both, then check again.")))
        return CheckResult(self.name, "incorrect", "\n".join(lines), f"{first.name} + {second.name}", None)

    def _incorrect(self, lines: list[str], mistake: Mistake | None, everywhere: bool, general) -> CheckResult:
        """The verdict on a wrong answer: what differs, then the named mistake, a diagnosis, or the nudge."""
        if mistake is not None:
            lines += self._mistake_lines(mistake, everywhere)
        elif general is not None:
            lines.append("  " + _("What is wrong: {text}", text=general.text))
        else:
            lines.append("  " + _(STUCK))
        return CheckResult(self.name, "incorrect", "\n".join(lines), mistake.name if mistake else None,
                           general.kind if general is not None else None)

    def _quiet_problem(self, fn: Callable, case: Case, got: Any, expected: Any, changed: list[str]) -> str | None:
        """What is wrong with an answer whose values are right: a lower precision, or an input the gradient no
        longer reaches. (An input changed in place only earns a note: the answer works on a copy.)"""
        for g, e in zip(_parts(got), _parts(expected)):
            if (isinstance(g, torch.Tensor) and isinstance(e, torch.Tensor) and e.dtype == torch.float64
                    and g.dtype in (torch.float32, torch.float16, torch.bfloat16)):
                return _("the values are close, but your result is {dtype} where the inputs are float64",
                         dtype=str(g.dtype).removeprefix("torch."))
        missing = self._unreached_inputs(fn, case)
        if missing:
            return _("the values are right, but no gradient reaches `{name}` (.detach(), .data or a constant made "
                     "from it cut the path); keep every step a torch operation on the inputs", name=missing[0])
        return None

    def _unreached_inputs(self, fn: Callable, case: Case) -> list[str]:
        """Inputs that get a gradient through the reference but none through ``fn``."""
        if not any(isinstance(a, torch.Tensor) and a.requires_grad for a in case.args):
            return []

        def reached(f):
            args = _copy_args(case.args)
            out = [o for o in _parts(call_with_time_limit(f, args, self.time_limit))
                   if isinstance(o, torch.Tensor) and o.requires_grad]
            inputs = [(n, a) for n, a in zip(self.arg_names, args) if isinstance(a, torch.Tensor) and a.requires_grad]
            if not out or not inputs:
                return set()
            total = sum(o.double().sum() for o in out)
            grads = torch.autograd.grad(total, [a for _, a in inputs], allow_unused=True)
            return {n for (n, _a), g in zip(inputs, grads) if g is not None and bool(g.abs().sum() > 0)}

        try:
            return sorted(reached(self.reference) - reached(fn))
        except Exception:
            return []

    def _answer_or_raised(self, fn: Callable, case: Case):
        try:
            return self._call(fn, case)
        except TimeLimitExceeded:
            raise
        except Exception as err:
            return _Raised(err)


def _parts(x: Any) -> list:
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _lost_graph(got: Any, expected: Any) -> bool:
    """The reference's result can be differentiated, the reader's cannot."""
    pairs = zip(got, expected) if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)) else [(got, expected)]
    return any(isinstance(e, torch.Tensor) and e.requires_grad and not (isinstance(g, torch.Tensor) and g.requires_grad)
               for g, e in pairs)


@dataclass(frozen=True)
class _Raised:
    """What a call raised, kept in place of its output when diagnosing."""

    error: Exception


def _choice_key(text: str, choices: Sequence[str]) -> str:
    """A choice as written in any of the usual ways: case, spaces, commas, "torch.Size(...)", letter order."""
    key = text.strip().lower()
    if all(c.isalpha() and c.isascii() for c in "".join(choices)):  # letters: "abd", "a, b, d", "dba", "(a)", "b)"
        return "".join(sorted(c for c in key if c.isalpha() and c.isascii()))
    if key.startswith("torch.size(") and key.endswith(")"):
        key = key[len("torch.size("):-1]
    key = "".join(key.split())
    if key.startswith("(") and key.endswith(")"):  # a shape written as a tuple
        key = "[" + key[1:-1].rstrip(",") + "]"
    return key


class Prediction(_Hints):
    """Write down a prediction, then ``check`` it: the verdict reveals the measured answer.

    ``answer`` is the right value (a number, a string among ``choices``, or a function of no
    arguments that computes it, called at check time). Numbers are right within ``rtol``.
    ``explain`` is printed with every verdict after an attempt; ``mistakes`` map typical wrong
    predictions (a choice, or a number) to why they are wrong.
    """

    def __init__(self, name: str, answer, *, lesson: str, explain: str, choices: Sequence[str] = (),
                 hints: Sequence[str] = (), mistakes: dict | None = None, rtol: float = 0.1,
                 solution_name: str | None = None) -> None:
        self.name, self._answer, self.lesson, self.explain = name, answer, lesson, explain
        self.choices, self.hints, self.rtol = tuple(choices), tuple(hints), rtol
        self.mistakes = dict(mistakes or {})
        self.solution_name = solution_name or name

    def __repr__(self) -> str:
        what = f"one of {list(self.choices)}" if self.choices else "a number"
        return f"<prediction {self.name} ({self.lesson}): {self.name}.check({what})>"

    def answer(self):
        return self._answer() if callable(self._answer) else self._answer

    def accepted(self) -> set:
        """The choices counted right (the answer; a measured prediction may add a neighbour near a boundary)."""
        answer = self.answer()
        return {answer} if isinstance(answer, str) else set()

    def check(self, prediction, verbose: bool = True) -> CheckResult:
        result = self._check(prediction)
        self.solved = self.solved or result.passed
        if verbose:
            print(result)
        return result

    def _check(self, prediction) -> CheckResult:
        if prediction is None or prediction is Ellipsis:
            return CheckResult(self.name, "not attempted",
                               _("not attempted yet: write your prediction above, then run this cell."))
        if self.choices:
            valid = {_choice_key(c, self.choices): c for c in self.choices}
            key = _choice_key(str(prediction), self.choices)
            if key not in valid:
                return CheckResult(self.name, "incorrect", _("{prediction} is not one of the choices {choices}.",
                                                             prediction=repr(prediction),
                                                             choices=_choice_list(self.choices)))
            prediction = valid[key]
        answer = self.answer()
        if isinstance(answer, str):
            accepted = self.accepted()  # a measured answer near a boundary: a neighbouring choice is right too
            right = prediction == answer or prediction in accepted
            if len(accepted) > 1:
                answer = _(" or ").join(_shown_choice(a) for a in sorted(accepted))
            elif self.choices:
                answer = _shown_choice(answer)
        else:
            try:
                value = float(prediction)
            except (TypeError, ValueError):
                return CheckResult(self.name, "incorrect", _("give a number, got {got}.",
                                                             got=describe_value(prediction)))
            right = math.isclose(value, float(answer), rel_tol=self.rtol, abs_tol=1e-12)
        shown = answer if isinstance(answer, str) else _fmt(float(answer))
        explain = _(self.explain)
        if right:
            message = _("right: {answer}. {explain}", answer=shown, explain=explain)
            trap = getattr(self, "_traps", {}).get(prediction, "") if prediction != self.answer() else ""
            if trap:  # accepted only because the measurement lies near a boundary: still say what usually fails
                message += "\n  " + _("Your choice counts because this measurement lies near the boundary; on most "
                                       "machines the reasoning behind it fails: {why}", why=_(trap))
            return CheckResult(self.name, "correct", message)
        why = self.mistakes.get(prediction, "")
        if not why and not isinstance(answer, str):  # a catalogued number, written with other digits
            why, prediction = next(((text, key) for key, text in self.mistakes.items()
                                    if isinstance(key, (int, float)) and not isinstance(key, bool)
                                    and math.isclose(float(prediction), float(key), rel_tol=0.02, abs_tol=1e-12)),
                                   ("", prediction))
        lines = [_("you predicted {prediction}; the answer is {answer}.",
                   prediction=_shown_choice(prediction) if self.choices else repr(prediction), answer=shown)]
        if why:
            lines.append("  " + _("This is a known trap: {why}", why=_(why)))
        lines.append(f"  {explain}")
        return CheckResult(self.name, "incorrect", "\n".join(lines), prediction if why else None)


__all__ = ["Case", "CheckResult", "Exercise", "Mistake", "Prediction", "TRY_FIRST", "TimeLimitExceeded",
           "describe_value", "difference"]
