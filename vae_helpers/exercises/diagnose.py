"""General diagnoses of a wrong answer: the one simple thing that separates it from the right one.

``diagnose`` looks at every case that ran, the reader's output next to the reference's, and returns
one short explanation when the whole difference is one thing: a lost autograd graph, a swapped pair or
a transpose, values that overflowed to inf or nan, a lower-precision dtype, a sign, a constant factor
(½, 2, ln 2, the batch size, …), a constant offset (log k, ln 2, ½ log 2π, …), the log or the exp of
the answer, or its square or square root. ``core.Exercise.check`` also asks whether the answer changes
between two calls with the same inputs, and whether it changed an input in place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .i18n import N_, _


@dataclass(frozen=True)
class Diagnosis:
    kind: str  # "graph", "swapped", "transposed", "overflow", "dtype", "sign", "factor", "offset", ...
    text: str


LOW_PRECISION = (torch.float16, torch.bfloat16, torch.float32)
RANDOM_TEXT = N_("your function gives different results for the same inputs: it draws noise of its own "
                 "(torch.randn, .sample(), a global generator) where it should use the ε or generator it is "
                 "given. Make it deterministic given its inputs.")


def random_diagnosis() -> Diagnosis:
    return Diagnosis("random", _(RANDOM_TEXT))


def _tensor(x: Any) -> torch.Tensor | None:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return torch.tensor(float(x), dtype=torch.float64)
    return None


def _parts(x: Any) -> list:
    return list(x) if isinstance(x, (tuple, list)) else [x]


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float = 1e-3, atol: float = 1e-6) -> bool:
    a, b = a.detach().double(), b.detach().double()
    if a.shape != b.shape:
        return False
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        return False
    return bool(torch.allclose(a, b, rtol=rtol, atol=atol))


def _pairs(got: list, expected: list) -> tuple[torch.Tensor, torch.Tensor, list[tuple[torch.Tensor, torch.Tensor]]] | None:
    """All numbers of all cases, flattened side by side (None when the structures differ)."""
    per_case = []
    for g, e in zip(got, expected):
        gp, ep = _parts(g), _parts(e)
        if len(gp) != len(ep):
            return None
        gs, es = [], []
        for a, b in zip(gp, ep):
            ta, tb = _tensor(a), _tensor(b)
            if ta is None or tb is None or ta.numel() != tb.numel():
                return None
            gs.append(ta.detach().double().reshape(-1))
            es.append(tb.detach().double().reshape(-1))
        per_case.append((torch.cat(gs), torch.cat(es)))
    if not per_case:
        return None
    return torch.cat([g for g, _ in per_case]), torch.cat([e for _, e in per_case]), per_case


def _sizes(args: tuple, names: list[str]) -> list[tuple[int, str]]:
    """Whole numbers a case offers as a possible constant: tensor dimensions and integer arguments."""
    found = []
    for name, value in zip(names, args):
        if isinstance(value, torch.Tensor):
            for d, n in enumerate(value.shape):
                if n >= 2:
                    found.append((int(n), _("dimension {d} of `{name}`", d=d, name=name) + f" ({n})"))
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 2:
            found.append((value, f"`{name}` ({value})"))
    return found


NAMED_FACTORS = [
    (2.0, N_("your result is twice the expected value: a factor ½ is missing (the ½ of a Gaussian's "
             "log-density or KL?).")),
    (0.5, N_("your result is half the expected value: an extra factor ½.")),
    (math.log(2), N_("your result is the expected value times ln 2: a bits ↔ nats conversion done the wrong way "
                     "(1 bit = ln 2 nats).")),
    (1 / math.log(2), N_("your result is the expected value divided by ln 2: a bits ↔ nats conversion done the "
                         "wrong way (1 bit = ln 2 nats).")),
    (math.log(10), N_("your result is the expected value times ln 10: log₁₀ where ln is meant (or the reverse).")),
    (1 / math.log(10), N_("your result is the expected value divided by ln 10: log₁₀ where ln is meant (or the "
                          "reverse).")),
    (math.log2(10), N_("your result is off by a factor log₂ 10: log₁₀ and log₂ mixed up.")),
    (1 / math.log2(10), N_("your result is off by a factor log₁₀ 2: log₁₀ and log₂ mixed up.")),
]
NAMED_FACTORS += [
    (math.sqrt(2 * math.pi), N_("your result is the expected value times √(2π) ≈ 2.507: the normal density's "
                                "1/√(2π) is missing.")),
    (1 / math.sqrt(2 * math.pi), N_("your result is the expected value divided by √(2π) ≈ 2.507: an extra 1/√(2π) "
                                    "(a normal density where its exponent alone is meant?).")),
    (math.sqrt(2), N_("your result is the expected value times √2: a variance and a standard deviation mixed up "
                      "somewhere, or a ½ inside a square root.")),
    (1 / math.sqrt(2), N_("your result is the expected value divided by √2: a variance and a standard deviation "
                          "mixed up somewhere, or a ½ inside a square root.")),
]
MINUS_FACTORS = {
    2.0: N_("your result is minus twice the expected value: a sign and a factor 2."),
    0.5: N_("your result is minus half the expected value: a sign and a factor 0.5."),
}
NAMED_OFFSETS = [
    (math.log(2), N_("ln 2: a bits/nats constant or a log 2 term")),
    (0.5, "½"),
    (1.0, "1"),
    (0.5 * math.log(2 * math.pi), N_("½ log 2π: the Gaussian's normalising constant")),
]


def _constant(values: torch.Tensor, rtol: float = 1e-4) -> float | None:
    if values.numel() == 0 or not torch.isfinite(values).all():
        return None
    c = float(values.median())
    return c if bool(torch.all((values - c).abs() <= rtol * max(abs(c), 1e-12) + 1e-9)) else None


def _same_size_in_every_case(per_case: list[float], sizes: list[list[tuple[int, str]]], relation) -> str | None:
    """The label of one size (the same argument and dimension in every case) that ``relation`` matches."""
    for _, label in sizes[0] if sizes else []:
        key = label.split(" (")[0]
        if all(any(t.split(" (")[0] == key and relation(v, n) for n, t in s) for v, s in zip(per_case, sizes)):
            return key
    return None


def _name_factor(c: float | None, per_case: list[float], sizes: list[list[tuple[int, str]]]) -> str | None:
    if c is not None:
        for value, text in NAMED_FACTORS:
            if math.isclose(c, value, rel_tol=1e-4):
                return _(text)
        for value, text in MINUS_FACTORS.items():
            if math.isclose(c, -value, rel_tol=1e-4):
                return _(text)
    for sign in (1, -1):
        key = _same_size_in_every_case(per_case, sizes, lambda v, n: math.isclose(sign * v, n, rel_tol=1e-4))
        if key and key.startswith("`"):  # an integer argument, not a tensor's dimension
            return _("your result is {sign}the expected value times {key}, in every case: this argument multiplies "
                     "where it should not (or divides where it should multiply).", key=key,
                     sign="" if sign == 1 else _("minus "))
        if key:
            return (_("your result is the expected value times {key}, in every case: a sum where a mean is meant "
                      "(or the reverse).", key=key) if sign == 1 else
                    _("your result is minus the expected value times {key}, in every case: a sum where a mean is "
                      "meant (or the reverse), and a sign.", key=key))
        key = _same_size_in_every_case(per_case, sizes, lambda v, n: math.isclose(sign * v, 1 / n, rel_tol=1e-4))
        if key and key.startswith("`"):
            return _("your result is {sign}the expected value divided by {key}, in every case: this argument "
                     "divides where it should not (or multiplies where it should divide).", key=key,
                     sign="" if sign == 1 else _("minus "))
        if key:
            return (_("your result is the expected value divided by {key}, in every case: a mean where a sum is "
                      "meant (or the reverse).", key=key) if sign == 1 else
                    _("your result is minus the expected value divided by {key}, in every case: a mean where a sum "
                      "is meant (or the reverse), and a sign.", key=key))
    if c is not None and c != 1 and abs(c - 1) < 0.01:
        return _("your result is the expected value times {c}: almost right, as if a constant were written with too "
                 "few digits (π as 3.14, ln 2 as 0.693, 1/ln 2 as 1.44); use math.pi, math.log(2).", c=f"{c:.6g}")
    if c is not None:
        pair = _two_factors(c)
        if pair is not None:
            return _("your result is the expected value times {c} = {product}: two slips at once, each a missing or "
                     "extra factor; fix one, then check again.", c=f"{c:.4g}", product=pair)
    if c is not None and abs(c) > 1e-12:
        for value, template in ((c, N_("your result is {sign}{n} times the expected value: a count (a batch size, "
                                        "a number of samples or of dimensions) multiplied where it should not be, or "
                                        "a division by it missing.")),
                                (1 / c, N_("your result is the expected value divided by {n}{sign2}: a count (a batch "
                                           "size, a number of samples or of dimensions) divided by where it should "
                                           "not be, or a factor of it missing."))):
            n = round(abs(value))
            if n >= 3 and math.isclose(abs(value), n, rel_tol=1e-6):
                return _(template, n=n, sign="−" if value < 0 else "", sign2=_(", and the sign flipped") if value < 0 else "")
    return None


ELEMENTARY = [(2.0, "2"), (0.5, "½"), (math.log(2), "ln 2"), (1 / math.log(2), "1/ln 2"), (math.log(10), "ln 10"),
              (1 / math.log(10), "1/ln 10"), (math.sqrt(2 * math.pi), "√(2π)"), (1 / math.sqrt(2 * math.pi), "1/√(2π)"),
              (4.0, "4"), (0.25, "¼")]


def _two_factors(c: float) -> str | None:
    """``c`` as ± one or two elementary factors (a sign counts as one), e.g. −(ln 2)² or 2 · ln 2."""
    if c < 0:
        for value, name in ELEMENTARY:
            if math.isclose(-c, value, rel_tol=1e-4):
                return f"−{name}"
    for i, (a, name_a) in enumerate(ELEMENTARY):
        for b, name_b in ELEMENTARY[i:]:
            if math.isclose(abs(c), a * b, rel_tol=1e-4) and not math.isclose(a * b, 1.0, rel_tol=1e-4):
                product = f"({name_a})²" if name_a == name_b else f"{name_a} · {name_b}"
                return ("−" if c < 0 else "") + product
    return None


def _per_element_offset(per_case: list[float], sizes: list[list[tuple[int, str]]]) -> str | None:
    """An offset of the same constant once per element of one input's axis (the −1 of a KL per coordinate)."""
    for value, text in ((0.5, "½"), (1.0, "1"), (0.5 * math.log(2 * math.pi), "½ log 2π"), (math.log(2), "ln 2")):
        key = _same_size_in_every_case(per_case, sizes, lambda v, n: math.isclose(abs(v), n * value, rel_tol=1e-4))
        if key and not key.startswith("`"):
            word = _("too large") if per_case[0] > 0 else _("too small")
            return _("your result is {word} by {amount} for each element of {key}, in every case: a constant term "
                     "of each coordinate (the −1 of a Gaussian KL, a ½ log 2π) is missing or extra.", word=word,
                     amount=text, key=key)
    return None


def _name_offset(c: float | None, per_case: list[float], sizes: list[list[tuple[int, str]]]) -> str | None:
    word = _("too large") if (c if c is not None else per_case[0]) > 0 else _("too small")
    key = _same_size_in_every_case(per_case, sizes, lambda v, n: math.isclose(abs(v), math.log(n), rel_tol=1e-5))
    if key:
        return _("your result is {word} by log k, with k = {key}, in every case: the 1/k of an average inside the "
                 "log is missing (log-sum-exp where log-mean-exp is meant), or extra.", word=word, key=key)
    if c is not None:
        for value, text in NAMED_OFFSETS:
            if math.isclose(abs(c), value, rel_tol=1e-4):
                return _("your result is {word} by {amount}, everywhere.", word=word, amount=_(text))
    return _per_element_offset(per_case, sizes)


def diagnose(got: list, expected: list, args: list[tuple], names: list[str]) -> Diagnosis | None:
    """The general diagnosis of answers ``got`` against ``expected`` on the cases that ran (or None)."""
    if not got:
        return None
    # a gradient is needed but the answer lost its graph
    for g, e in zip(got, expected):
        for a, b in zip(_parts(g), _parts(e)):
            if isinstance(b, torch.Tensor) and b.requires_grad and isinstance(a, torch.Tensor) and not a.requires_grad:
                return Diagnosis("graph", _("your result has no autograd graph (it went through .item(), "
                                            ".detach(), .numpy(), a new torch.tensor(...) or torch.no_grad()), so no "
                                            "gradient can flow back through it. Keep every step a torch operation on "
                                            "the inputs."))
    # a swapped pair, or a transposed matrix
    if all(isinstance(e, (tuple, list)) and len(e) == 2 and isinstance(g, (tuple, list)) and len(g) == 2
           for g, e in zip(got, expected)):
        if all(_tensor(g[0]) is not None and _tensor(g[1]) is not None and _close(_tensor(g[1]), _tensor(e[0]))
               and _close(_tensor(g[0]), _tensor(e[1])) for g, e in zip(got, expected)):
            return Diagnosis("swapped", _("your two results are right but in the wrong order: swap them."))
    ts = [(_tensor(g), _tensor(e)) for g, e in zip(got, expected)]
    if all(a is not None and b is not None and b.dim() >= 2 and b.shape[-1] != b.shape[-2] for a, b in ts):
        if all(tuple(a.shape) == tuple(b.transpose(-1, -2).shape) and _close(a.transpose(-1, -2), b) for a, b in ts):
            return Diagnosis("transposed", _("your result is the transpose of the right one (its last two axes "
                                             "swapped): check which axis is which."))
    shape = _shape_diagnosis(ts)
    if shape is not None:
        return shape
    paired = _pairs(got, expected)
    if paired is None:
        return None
    g, e, per_case = paired
    if bool(torch.isfinite(e).all()) and not bool(torch.isfinite(g).all()):
        bad = "nan" if bool(torch.isnan(g).any()) else "inf"
        finite = torch.isfinite(g)
        if bool(finite.any()) and not _close(g[finite], e[finite]):
            # wrong even where finite: not (only) an overflow; judge the cases that stayed finite
            kept = [i for i, (gc, _ec) in enumerate(per_case) if bool(torch.isfinite(gc).all())]
            if kept and len(kept) < len(got):
                found = diagnose([got[i] for i in kept], [expected[i] for i in kept], [args[i] for i in kept], names)
                if found is not None:
                    return found
            if bad == "nan":
                return Diagnosis("nan", _("your result holds nan where the right one is finite, and other values are "
                                          "off too: a log or a square root of a negative number (a log-variance used "
                                          "as a variance, or a covariance's entries square-rooted one by one?), or "
                                          "0/0."))
            return None
        return Diagnosis("overflow", _("your result holds {bad} where the right one is finite: an exp that "
                                       "overflowed or underflowed. Stay in log space where you can (log₂(exp(a)) is a/ln 2); "
                                       "where a sum of exps is needed, subtract the maximum before exp, one maximum "
                                       "per group you sum over (per column or per image, not one for the whole "
                                       "tensor), and add it back after the log.", bad=bad))
    for a, b in zip(got, expected):
        for x, y in zip(_parts(a), _parts(b)):
            if (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and x.dtype in LOW_PRECISION
                    and y.dtype == torch.float64 and x.dtype != y.dtype):
                if _close(g, e, rtol=1e-2, atol=1e-4):
                    return Diagnosis("dtype", _("your result is {dtype} where float64 is expected: the lower "
                                                "precision loses the digits this check needs. Keep the inputs' dtype "
                                                "(no .float(), no new tensors of the default dtype).",
                                                dtype=str(x.dtype).removeprefix("torch.")))
    if not bool(torch.isfinite(g).all()):
        return None
    sizes = [_sizes(a, names) for a in args]
    scale = float(e.abs().max()) if e.numel() else 0.0
    if scale > 0 and _close(g, -e):
        return Diagnosis("sign", _("your result has the wrong sign everywhere: a minus sign is missing or extra "
                                   "(a loss is the negative of the bound)."))
    nonzero = e.abs() > 1e-9 * max(scale, 1e-300)
    if int(nonzero.sum()) >= 1 and scale > 0:
        ratio = g[nonzero] / e[nonzero]
        c = _constant(ratio)
        per = []
        for gc, ec in per_case:
            nz = ec.abs() > 1e-9 * max(scale, 1e-300)
            per.append(_constant(gc[nz] / ec[nz]) if bool(nz.any()) else None)
        if all(p is not None for p in per) and not all(math.isclose(p, 1.0, rel_tol=1e-4) for p in per) \
                and not all(p == 0 for p in per):  # all zeros: nothing computed yet, not a missing factor
            text = _name_factor(c, per, sizes)
            if text is None and c is not None and int(nonzero.sum()) >= 2:
                text = _("your result is the expected value times a constant, {c}, everywhere: a constant factor is "
                         "missing or extra.", c=f"{c:.4g}")
            if text:
                return Diagnosis("factor", text)
    d = g - e
    per_offset = [_constant(gc - ec, rtol=1e-4) for gc, ec in per_case]
    if all(o is not None and abs(o) > 1e-6 * max(scale, 1.0) for o in per_offset):
        c = _constant(d)
        text = _name_offset(c, per_offset, sizes)
        if text is None and c is not None and d.numel() >= 2:
            text = _("your result is off by the same constant, {c}, everywhere: a constant term is missing or "
                     "extra.", c=f"{c:+.4g}")
        if text:
            return Diagnosis("offset", text)
    if bool((e > 0).all()) and _close(g, e.log()):
        return Diagnosis("log", _("your result is the log of the right one: a log too many (or an exp missing)."))
    if bool((e < 50).all()) and _close(g, e.exp()):
        return Diagnosis("exp", _("your result is the exp of the right one: an exp too many (or a log missing)."))
    if _close(g, e.square()) and not _close(g, e):
        return Diagnosis("square", _("your result is the square of the right one: a variance where a standard "
                                     "deviation is meant (σ² for σ), or a square too many."))
    if bool((e >= 0).all()) and _close(g, e.sqrt()) and not _close(g, e):
        return Diagnosis("sqrt", _("your result is the square root of the right one: a standard deviation where "
                                   "a variance is meant (σ for σ²)."))
    return _rounding(g, e) or _order(per_case) or _constant_answer(g, e) or _near_miss(g, e)


def _shape_diagnosis(ts: list) -> Diagnosis | None:
    """What a wrong shape says: an axis not reduced, one reduced too many, the wrong axis, or merged axes."""
    pairs = [(a, b) for a, b in ts if a is not None and b is not None and tuple(a.shape) != tuple(b.shape)]
    if not pairs or len(pairs) < len([1 for a, b in ts if a is not None and b is not None]):
        return None
    got, want = pairs[0]
    shape, expected = list(got.shape), list(want.shape)
    if got.numel() == want.numel() and [n for n in shape if n != 1] == [n for n in expected if n != 1]:
        return Diagnosis("shape", _("your result has shape {shape} where {expected} is expected: an axis of size 1 "
                                    "too many or too few (keepdim=True, unsqueeze, or [:, None]); squeeze it, or "
                                    "reduce without keepdim.", shape=shape, expected=expected))
    if got.numel() == want.numel():
        return Diagnosis("shape", _("your result has the right number of values in shape {shape} where {expected} is "
                                    "expected: the axes were merged or split differently (flatten(1) keeps the "
                                    "batch axis, flatten() merges it too).", shape=shape, expected=expected))
    if got.dim() > want.dim() and shape[:want.dim()] == expected:
        return Diagnosis("shape", _("your result has shape {shape} where {expected} is expected: an axis is not "
                                    "reduced; the sum (or mean) over the last axis is missing.", shape=shape,
                                    expected=expected))
    if got.dim() < want.dim():
        return Diagnosis("shape", _("your result has shape {shape} where {expected} is expected: it was reduced over "
                                    "too many axes; keep one value per row (give sum or mean a dim=).", shape=shape,
                                    expected=expected))
    if got.dim() == want.dim():
        return Diagnosis("shape", _("your result has shape {shape} where {expected} is expected: it was reduced (or "
                                    "indexed) along the wrong axis; check which axis of each input indexes what.",
                                    shape=shape, expected=expected))
    return None


def _whole(x: torch.Tensor) -> bool:
    return bool(torch.all((x - x.round()).abs() < 1e-9))


def _rounding(g: torch.Tensor, e: torch.Tensor) -> Diagnosis | None:
    if _whole(e) and not _whole(g) and bool(torch.all((g - e).abs() < 1)):
        return Diagnosis("rounding", _("your result is not a whole number where one is expected: round it the way "
                                       "the question asks (// or math.floor for a size, math.ceil for \"at least\")."))
    if _whole(g) and not _whole(e) and bool(torch.all((g - e).abs() < 1)):
        return Diagnosis("rounding", _("your result was rounded to a whole number where a fraction is expected: // "
                                       "or int() where / is meant."))
    if _whole(g) and _whole(e) and bool(torch.all((g - e).abs() <= 1)):
        return Diagnosis("rounding", _("your result is off by one: rounded the wrong way (round where ceil or floor "
                                       "is meant), or a +1 or −1 missing in a size formula."))
    return None


def _order(per_case: list) -> Diagnosis | None:
    """The right numbers in the wrong order, in every case."""
    if not per_case or not all(gc.numel() > 1 for gc, _ in per_case):
        return None
    same = all(_close(gc.sort().values, ec.sort().values) for gc, ec in per_case)
    if same and not all(_close(gc, ec) for gc, ec in per_case):
        return Diagnosis("order", _("your result holds the right numbers in the wrong order: the values were "
                                    "permuted (a permute or transpose before flattening, or an index in the wrong "
                                    "order)."))
    return None


def _constant_answer(g: torch.Tensor, e: torch.Tensor) -> Diagnosis | None:
    """The same number whatever the inputs, where the right answer varies."""
    if g.numel() < 2 or _constant(e, rtol=1e-6) is not None:
        return None
    c = _constant(g, rtol=1e-6)
    if c is None:
        return None
    return Diagnosis("constant", _("your result is {c} whatever the inputs, where the right one varies: your expression "
                                   "cancels to a constant (normalised weights that sum to 1, or the same quantity "
                                   "above and below a fraction bar); check each square and each normalisation.",
                                   c=f"{c:.4g}"))


def _near_miss(g: torch.Tensor, e: torch.Tensor) -> Diagnosis | None:
    """Close everywhere (within 3 %) but not equal: an estimate where the exact value is asked."""
    scale = e.abs().clamp_min(1e-12)
    worst = float(((g - e).abs() / scale).max())
    if 0 < worst < 0.03:
        return Diagnosis("near", _("your result is close to the right one everywhere (within {pct} %) but not equal: "
                                   "a Monte-Carlo estimate or an approximation where the exact value is asked, or a "
                                   "small term left out.", pct=f"{100 * worst:.2g}"))
    return None


_ERRORS = [
    ("view size is not compatible", "view", N_("view needs the tensor's values to lie in memory in the order you "
                                               "ask for, and this case's input is not contiguous in memory (transposed, "
                                               "sliced or stored channels_last). Use reshape(…) or flatten(1), which copy when they must.")),
    ("shapes cannot be multiplied", "matmul", N_("a matrix product whose inner sizes do not match: write down each "
                                                 "factor's shape (rows × columns). A batch of row vectors x is "
                                                 "multiplied on the right, x @ Aᵀ, not A @ x.")),
    ("is invalid for input of size", "view", N_("the shape you asked view or reshape for does not hold all the "
                                                "values: count them (C·H·W per image, not H·W), or write -1 for the "
                                                "size you do not want to compute.")),
    ("must match the size of tensor", "broadcast", N_("two tensors whose shapes do not broadcast: line up their axes "
                                                      "(add a new axis with [:, None] or unsqueeze where one tensor "
                                                      "should be repeated against the other).")),
    ("expected scalar type", "dtype", N_("tensors of different dtypes in one operation: make the new tensors with "
                                         "the inputs' dtype (torch.zeros_like, or dtype=x.dtype).")),
    ("can't call numpy() on tensor that requires grad", "graph", N_("numpy() would cut the autograd graph: stay with "
                                                                    "torch operations on the inputs.")),
    ("a leaf variable that requires grad is being used in an in-place operation", "in place",
     N_("an in-place operation on an input that needs a gradient: compute a new tensor instead.")),
]


def diagnose_error(error: Exception) -> Diagnosis | None:
    """What a raised error means, for the errors a learner's tensor code typically raises."""
    text = str(error).lower()
    for needle, kind, explanation in _ERRORS:
        if needle in text:
            return Diagnosis(kind, _(explanation))
    return None
