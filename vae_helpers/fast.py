"""Speed code for ``fit``'s default path: the same loss as ``losses.vae_loss``, computed faster on a CPU.

``losses`` writes the loss as the textbook does, with torch's
``F.binary_cross_entropy_with_logits``. On a CPU, that kernel and its backward pass each take
several passes over the [B, 784] logits (among them a log-sigmoid or ``log1p``, which some CPU
builds of torch run slowly). ``bernoulli_nll`` below gives the same numbers and gradients
(tests compare them) with ``log`` in place of ``log1p`` and the backward pass written out as
sigmoid(l) - x. On a GPU, where every kernel launch costs more than the arithmetic of this small
model, it hands the work to ``F.binary_cross_entropy_with_logits``, which launches fewer kernels.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F

from .losses import check_logits, gaussian_kl


class _BernoulliNLL(torch.autograd.Function):
    """softplus(l) - x*l with the gradient sigmoid(l) - x written out."""

    @staticmethod
    def forward(ctx, logits, x):
        ctx.save_for_backward(logits, x)
        # softplus(l) = max(l, 0) + log(1 + e^-|l|), stable for any l; torch.log, not log1p
        # (the difference is float32 rounding, about 1e-6 per pixel)
        return logits.clamp_min(0) - x * logits + torch.log(1 + torch.exp(-logits.abs()))

    @staticmethod
    def backward(ctx, grad):
        logits, x = ctx.saved_tensors
        grad_logits = grad * (torch.sigmoid(logits) - x) if ctx.needs_input_grad[0] else None
        grad_x = -grad * logits if ctx.needs_input_grad[1] else None
        return grad_logits, grad_x


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-pixel Bernoulli cross-entropy on logits: ``losses.bernoulli_nll``, faster on a CPU."""
    if logits.device.type != "cpu":
        return F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    return _BernoulliNLL.apply(logits, x)


def vae_loss(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``losses.vae_loss`` (negative ELBO, reconstruction, KL; batch means) with the fast cross-entropy."""
    x = check_logits(logits, x)
    recon = bernoulli_nll(logits, x).sum(1).mean()
    kl = gaussian_kl(mu, log_var).mean()
    return recon + kl, recon, kl


class SlowPrecisionWarning(RuntimeWarning):
    """precision='bf16' was asked for on a CPU without native bfloat16 arithmetic."""


_CPUINFO = "/proc/cpuinfo"
_NATIVE_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}  # x86 AVX512-BF16 / AMX, ARM's BF16 extension
_warned_bf16 = False


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16, AMX or ARM BF16).

    Reads the CPU flags in /proc/cpuinfo; where there is none (macOS, Windows) it cannot
    tell and answers True, so nothing warns without cause.
    """
    try:
        with open(_CPUINFO) as f:
            text = f.read()
    except OSError:
        return True
    flags = set()
    for line in text.splitlines():
        name, _, values = line.partition(":")
        if name.strip().lower() in ("flags", "features"):
            flags.update(values.split())
    return bool(flags & _NATIVE_BF16_FLAGS)


def warn_if_slow_bf16(device: torch.device, precision: str) -> None:
    """Warn (once per process) that bf16 on a CPU without native bfloat16 is slow."""
    global _warned_bf16
    if precision != "bf16" or device.type != "cpu" or _warned_bf16 or cpu_has_native_bf16():
        return
    _warned_bf16 = True
    warnings.warn(
        "precision='bf16' on a CPU without native bfloat16 arithmetic (no AVX512-BF16 or AMX): "
        "training can be several times slower than in float32. Use precision='fp32' "
        "(CLI: --precision fp32) on this machine.",
        SlowPrecisionWarning, stacklevel=3,
    )


def cpu_model_name() -> str:
    """The CPU's model name from /proc/cpuinfo (or platform.processor()), '' where neither tells."""
    import platform

    try:
        with open(_CPUINFO) as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or ""


def describe_machine(device: torch.device) -> str:
    """One line naming what the timings of this process measure: torch, device, CPU, threads."""
    cpu = cpu_model_name() or "an unnamed CPU"
    threads = torch.get_num_threads()
    text = f"PyTorch {torch.__version__}; {cpu}, {threads} CPU thread{'s' if threads != 1 else ''}"
    if device.type == "cuda":
        text += f"; GPU: {torch.cuda.get_device_name(device)}"
    return text + f"; timing on {device.type}"


def can_compile(device: torch.device) -> tuple[bool, str]:
    """Whether ``torch.compile``'s default backend (Inductor) can build code here, and if not, why.

    Inductor writes C++ on a CPU (it needs a C++ compiler on the PATH) and Triton kernels on a GPU
    (it needs the ``triton`` package); elsewhere (Apple MPS, Windows without a compiler) it cannot.
    """
    import importlib.util
    import shutil

    if device.type == "cpu":
        found = any(shutil.which(cc) for cc in ("g++", "c++", "clang++", "cl"))
        return found, "" if found else "no C++ compiler on the PATH (Inductor needs one on a CPU)"
    if device.type == "cuda":
        found = importlib.util.find_spec("triton") is not None
        return found, "" if found else "the triton package is not installed (Inductor needs it on a GPU)"
    return False, f"torch.compile's Inductor backend does not target {device.type} here"


# --------------------------------------------------------------------------- notebook 09's plumbing


def quiet_logs() -> None:
    """Silence log lines that say nothing about a lesson's timings (for notebook 09).

    torch's C++-extension logger ("no CUDA runtime" on a CPU) and TorchDynamo's one-time warnings
    (e.g. that it ignores the profiler's ``record_function`` inside a compiled step).
    """
    import logging

    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    try:
        torch._logging.set_logs(dynamo=logging.ERROR)
    except Exception:  # an older torch without set_logs' dynamo knob: the warnings stay
        pass


class quiet_stderr:
    """Context manager: the process's native stderr (file descriptor 2) goes to /dev/null.

    ``torch.profiler`` (Kineto) writes start/stop and "no GPU" lines from C++, which Python cannot
    filter; Python's own ``sys.stderr`` is left alone.
    """

    def __enter__(self):
        import os
        import sys

        try:
            sys.stderr.flush()
            self._saved = os.dup(2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 2)
            os.close(devnull)
        except OSError:  # no file descriptor 2 (some embedded interpreters): nothing to silence
            self._saved = None
        return self

    def __exit__(self, *exc):
        import os

        if self._saved is not None:
            os.dup2(self._saved, 2)
            os.close(self._saved)
        return False


GROUPS = ("matrix products", "Adam's fused kernel", "other operators", "Python and autograd")


def group_of(name: str) -> str:
    """The group of a profiled event (notebook 09): the products (``aten::mm``, ``aten::addmm``), Adam's
    kernels (``aten::`` operators whose name contains "adam"), the other ``aten::`` operators, and the
    rest, whose self time is Python and autograd's bookkeeping (``Optimizer.step``'s own Python, the
    autograd engine's nodes, a custom ``autograd.Function``'s Python)."""
    if name in ("aten::mm", "aten::addmm"):
        return GROUPS[0]
    if name.startswith("aten::"):
        return GROUPS[1] if "adam" in name.lower() else GROUPS[2]
    return GROUPS[3]


def profile_shares(prof, steps: int, device: torch.device) -> tuple[dict, float, float]:
    """From a ``torch.profiler.profile`` of ``steps`` training steps: shares of the self time per group
    (``GROUPS``, see ``group_of``), ``aten::`` operations per step (those asked for by Python or by
    autograd, not the ones they call inside) and the profiled self time per step in seconds."""
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    share = dict.fromkeys(GROUPS, 0.0)
    for e in prof.key_averages():
        share[group_of(e.key)] += getattr(e, key)
    total = sum(share.values())
    share = {k: v / total for k, v in share.items()}
    top_level = [e for e in prof.events() if e.name.startswith("aten::")
                 and (e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::"))]
    return share, len(top_level) / steps, total * 1e-6 / steps


def bar_chart(values: dict, labels: dict, xlabel: str, title: str, *, colors=None,
              reference: float | None = None) -> None:
    """A horizontal bar chart, first key on top, each bar labelled with ``labels[key]`` (notebook 09's figures)."""
    import matplotlib.pyplot as plt

    names = list(values)[::-1]
    with plt.rc_context({"font.size": 10}):
        fig, ax = plt.subplots(figsize=(8.5, 0.55 * len(names) + 1.0))
        ax.barh(names, [values[n] for n in names], color=colors[::-1] if colors else "tab:blue")
        for i, n in enumerate(names):
            ax.text(values[n], i, "  " + labels[n], va="center")
        if reference is not None:
            ax.axvline(reference, color="k", lw=0.8)
        ax.set_xlim(0, 1.6 * max(values.values()))
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        fig.tight_layout()
        plt.show()


def alternate(fns: dict, rounds: int, min_run_time: float) -> dict:
    """Time several callables side by side with ``torch.utils.benchmark`` (notebook 09).

    ``rounds`` rounds; in each, every callable in turn runs ``blocked_autorange`` for
    ``min_run_time / rounds`` seconds. A busy machine then slows all of them alike, and each
    median (a ``Measurement`` over the blocks of all rounds) is comparable with the others.
    """
    from torch.utils import benchmark

    timers = {name: benchmark.Timer("fn()", globals={"fn": fn}, num_threads=torch.get_num_threads(),
                                    description=name.replace("\n", " ")) for name, fn in fns.items()}
    parts = {name: [] for name in fns}
    for _ in range(rounds):
        for name, timer in timers.items():
            parts[name].append(timer.blocked_autorange(min_run_time=min_run_time / rounds))
    return {name: benchmark.Measurement(1, [t for m in ms for t in m.times], ms[0].task_spec)
            for name, ms in parts.items()}


_VIEWS = {"aten::t", "aten::view", "aten::reshape", "aten::transpose", "aten::as_strided", "aten::expand",
          "aten::detach", "aten::empty", "aten::empty_like", "aten::empty_strided", "aten::_unsafe_view",
          "aten::alias", "aten::resolve_conj", "aten::resolve_neg", "aten::permute", "aten::select",
          "aten::slice", "aten::unsqueeze", "aten::squeeze", "aten::lift_fresh", "aten::result_type"}
ADAM_FLOPS_PER_WEIGHT = 12  # two moment updates, a square root, a division, the step: about a dozen
ADAM_BYTES_PER_WEIGHT = 28  # float32: weight, gradient and two moments read, three of them written


def kernel_groups(prof, steps: int, model: torch.nn.Module, batch: int, device: torch.device) -> dict:
    """Per training step, for the four ``GROUPS``: profiled self time, FLOPs and bytes.

    The profile must be recorded with ``record_shapes=True``. Matrix products: the exact count of
    the step's products (forward, weight gradients, input gradients of every linear layer but the
    first), each reading and writing its three float32 matrices once. Adam's fused kernel: about a
    dozen FLOPs and 28 bytes per weight. Other operators: each ``aten::`` operator that touches data
    (views and allocations left out) counted as one FLOP per element of its largest input, reading
    its inputs and writing one tensor of that size: a rough count, good to a small factor. Python and
    autograd: no FLOPs, no bytes. Returns ``{group: {"seconds", "flops", "bytes"}}``, all per step.
    """
    import math

    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    groups = {g: {"seconds": 0.0, "flops": 0.0, "bytes": 0.0} for g in GROUPS}
    products = groups[GROUPS[0]]
    for i, lin in enumerate(linears):
        n_products = 2 if i == 0 else 3  # the first layer's input (the images) needs no gradient
        products["flops"] += n_products * 2 * batch * lin.in_features * lin.out_features
        products["bytes"] += n_products * 4 * (batch * lin.in_features + lin.in_features * lin.out_features
                                               + batch * lin.out_features)
    n_weights = sum(p.numel() for p in model.parameters())
    groups[GROUPS[1]].update(flops=ADAM_FLOPS_PER_WEIGHT * n_weights, bytes=ADAM_BYTES_PER_WEIGHT * n_weights)
    for e in prof.key_averages(group_by_input_shape=True):
        group = group_of(e.key)
        groups[group]["seconds"] += getattr(e, key) * 1e-6 / steps
        if group != GROUPS[2] or e.key in _VIEWS:
            continue
        numels = [math.prod(s) for s in (e.input_shapes or []) if isinstance(s, (list, tuple)) and s
                  and all(isinstance(d, int) for d in s)]
        if numels:
            largest = max(numels)
            groups[group]["flops"] += e.count * largest / steps
            groups[group]["bytes"] += e.count * 4 * (sum(numels) + largest) / steps
    return groups


def place_groups(prof, steps: int, model: torch.nn.Module, batch: int, device: torch.device,
                 step_seconds: float, flops_per_s: float, bytes_per_s: float) -> dict:
    """``kernel_groups`` placed on the measured roofline (notebook 09, section 4).

    Each group's time is its share of the profile times ``step_seconds`` (a step's median, measured
    without the profiler). Adds per group: ``intensity`` (FLOP/byte), ``speed`` (FLOP/s reached),
    ``roof`` (min(flops_per_s, intensity x bytes_per_s)) and ``at_roof`` (seconds the group would
    need at its roof, at most its own time; 0 for Python and autograd, which has no roof).
    """
    groups = kernel_groups(prof, steps, model, batch, device)
    profiled = sum(g["seconds"] for g in groups.values())
    for g in groups.values():
        g["seconds"] = g["seconds"] / profiled * step_seconds
        g["intensity"] = g["flops"] / g["bytes"] if g["bytes"] else 0.0
        g["speed"] = g["flops"] / g["seconds"] if g["seconds"] else 0.0
        g["roof"] = min(flops_per_s, g["intensity"] * bytes_per_s)
        g["at_roof"] = min(g["seconds"], g["flops"] / g["roof"]) if g["flops"] else 0.0
    return groups


_GROUP_COLOURS = dict(zip(GROUPS, ["tab:blue", "tab:red", "tab:orange", "tab:gray"]))


def roofline_groups(groups: dict, flops_per_s: float, bytes_per_s: float, title: str) -> None:
    """``roofline`` with the groups of ``place_groups`` that do arithmetic, each labelled with its time."""
    points = {f"{name}: {1e3 * g['seconds']:.2f} ms, {100 * g['speed'] / g['roof']:.0f} % of roof":
              (g["intensity"], g["speed"], _GROUP_COLOURS[name])
              for name, g in groups.items() if g["flops"]}
    unplotted = [name for name, g in groups.items() if not g["flops"]]
    roofline(flops_per_s, bytes_per_s, points, title,
             note=", ".join(unplotted) + ": no FLOPs, not plotted" if unplotted else "")


def step_budget(steps: dict, title: str) -> None:
    """For each group of ``place_groups``, one bar per step of ``steps`` ({step name: groups}), side by side:
    dark, the time it needs at its roof; light, the rest (time below the roof: per-operation overhead and kernels
    slower than their roof, not split here). The title sums each step's light parts (notebook 09, section 4)."""
    import matplotlib.pyplot as plt

    names = list(next(iter(steps.values())))[::-1]
    n, gap = len(steps), 0.6
    belows = []
    for label, gs in steps.items():
        total = sum(g["seconds"] for g in gs.values())
        over = total - sum(g["at_roof"] for g in gs.values())
        belows.append(f"below the roofs, {label}: {1e3 * over:.2f} of {1e3 * total:.2f} ms ({100 * over / total:.0f} %)")
    longest = max(1e3 * g["seconds"] for gs in steps.values() for g in gs.values())
    with plt.rc_context({"font.size": 10}):
        fig, ax = plt.subplots(figsize=(8.5, 0.5 * len(names) * n + gap * 0.5 * (len(names) - 1) + 1.3))
        ticks = []
        for i, name in enumerate(names):
            base = i * (n + gap)
            ticks.append(base + (n - 1) / 2)
            for j, (label, gs) in enumerate(reversed(list(steps.items()))):  # the first step on top
                g, colour, y = gs[name], _GROUP_COLOURS[name], base + j
                ax.barh(y, 1e3 * g["at_roof"], color=colour)
                ax.barh(y, 1e3 * (g["seconds"] - g["at_roof"]), left=1e3 * g["at_roof"], color=colour, alpha=0.3,
                        hatch="//", edgecolor="white")
                what = (f"{1e3 * g['seconds']:.2f} ms ({1e3 * g['at_roof']:.2f} at its roof)" if g["flops"]
                        else f"{1e3 * g['seconds']:.2f} ms (no roof: all overhead)")
                if g["flops"] and not g["seconds"]:
                    what = "none (its Adam runs as other operators)"
                ax.text(1e3 * g["seconds"], y, f"  {label}: {what}", va="center")
        ax.set_yticks(ticks, names)
        ax.set_xlim(0, 2.2 * longest)
        ax.set_xlabel("milliseconds per step (dark: needed at the roof; light, hatched: below the roof)")
        ax.set_title("\n".join([title] + belows))
        fig.tight_layout()
        plt.show()


def calls_inside(prof, name: str, parent: str, steps: int) -> float:
    """Calls per step of the profiled operator ``name`` that run inside an operator ``parent`` (at any depth)."""
    n = 0
    for e in prof.events():
        if e.name == name:
            p = e.cpu_parent
            while p is not None and p.name != parent:
                p = p.cpu_parent
            n += p is not None
    return n / steps


def roofline(flops_per_s: float, bytes_per_s: float, points: dict, title: str, note: str = "") -> None:
    """The measured roofline: min(compute speed, intensity x memory speed), with ``points``
    ``{label: (FLOP/byte, FLOP/s, colour)}`` placed by their measured speed (notebook 09)."""
    import matplotlib.pyplot as plt
    import numpy as np

    balance = flops_per_s / bytes_per_s
    lo = min([0.02] + [0.5 * p[0] for p in points.values()])
    hi = max([400.0] + [2 * p[0] for p in points.values()])
    xs = np.geomspace(lo, hi, 200)
    with plt.rc_context({"font.size": 10}):
        fig, ax = plt.subplots(figsize=(8.5, 4.6))
        ax.loglog(xs, np.minimum(flops_per_s, xs * bytes_per_s) / 1e9, color="k", lw=1.5,
                  label="roof: the measured compute and memory speeds")
        ax.plot([balance, balance], [flops_per_s / 1e9, 1e9 * flops_per_s], color="k", ls=":", lw=0.8)  # above the roof only
        ax.text(balance, 1.3 * flops_per_s / 1e9, f" balance point {balance:.1f} FLOP/byte", va="bottom", fontsize=9)
        for label, (intensity, speed, colour) in points.items():
            ax.plot(intensity, speed / 1e9, "o", ms=9, color=colour)
            left = intensity < balance  # on the slope: below and to the right; on the flat roof: below, centred
            ax.annotate(label, (intensity, speed / 1e9), xytext=(intensity * (1.12 if left else 1.0), speed / 1.35e9),
                        fontsize=9, ha="left" if left else "center", va="top")  # just below its dot, clear of the roof
        ys = [p[1] / 1e9 for p in points.values()] + [flops_per_s / 1e9]
        ax.set_ylim(0.3 * min(ys), 4 * max(ys))
        ax.set_xlim(lo, hi)
        ax.set_xlabel("arithmetic intensity (FLOP per byte moved, log scale)")
        ax.set_ylabel("speed reached (GFLOP/s, log scale)")
        ax.set_title(title)
        if note:  # a legend line without a marker
            ax.plot([], [], " ", label=note)
        ax.legend(loc="lower right", fontsize=9)
        ax.grid(True, which="major", alpha=0.3)
        fig.tight_layout()
        plt.show()


def record_profile(fn, x: torch.Tensor, steps: int, device: torch.device):
    """A ``torch.profiler.profile`` of ``steps`` calls of ``fn(x)`` after the caller's warm-up, with
    ``record_shapes=True`` (for ``kernel_groups``); every profile of notebook 09 is taken this way."""
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with quiet_stderr(), profile(activities=activities, record_shapes=True) as prof:
        for _ in range(steps):
            fn(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return prof


def profile_step(fn, x: torch.Tensor, steps: int, device: torch.device) -> tuple[dict, float, float]:
    """``profile_shares`` of ``record_profile(fn, x, steps, device)``."""
    return profile_shares(record_profile(fn, x, steps, device), steps, device)


def count_ops(fn, x: torch.Tensor, steps: int, device: torch.device) -> float:
    """``aten::`` operators per call of ``fn(x)`` as ``profile_shares`` counts them (a short profile)."""
    return profile_step(fn, x, steps, device)[1]


def save_quoted(path, values: dict) -> None:
    """Write the numbers a lesson's prose quotes to ``path`` as JSON (a fill script rewrites the prose)."""
    import json
    from pathlib import Path

    Path(path).write_text(json.dumps(values, indent=1, ensure_ascii=False))


def profile_table(fns: dict, x: torch.Tensor, steps: int, device: torch.device, medians: dict | None = None) -> dict:
    """``profile_step`` of each ``fns[name](x)``: prints operations and ms per step by group (``GROUPS``),
    one row per name (notebook 09, section 5). Returns ``{name: (shares, operations, seconds, profile)}``.

    The profiler adds its own cost at each operation, by a different amount in each profile. With
    ``medians`` (``{name: seconds}``, each step's median measured without the profiler) each row is
    scaled to its median: the group's profiled share times the median, as section 4 does. Without it the
    row is the raw profiled time. Code that ``torch.compile`` generated runs outside ``aten::`` operators:
    its time counts under "Python and autograd"."""
    out = {}
    for name, fn in fns.items():
        prof = record_profile(fn, x, steps, device)
        out[name] = (*profile_shares(prof, steps, device), prof)
    short = {"matrix products": "products", "Adam's fused kernel": "Adam kernel", "other operators": "other ops",
             "Python and autograd": "Python+autograd"}
    names = {name: name.replace("\n", " ") for name in fns}
    width = max(len(n) for n in names.values()) + 2
    head = "ms per step (median x share)" if medians else "profiled ms per step"
    print(f"{head:<{width}}{'ops':>5}" + "".join(f"{short[g]:>16}" for g in GROUPS))
    for name, (share, ops, seconds, _) in out.items():
        total = medians[name] if medians else seconds
        print(f"{names[name]:<{width}}{ops:>5.0f}" + "".join(f"{1e3 * total * share[g]:>16.2f}" for g in GROUPS))
    return out


def calls_per_step(prof, steps: int) -> dict:
    """``{event name: calls per step}`` of a profile of ``steps`` steps (every event, operators and autograd nodes)."""
    return {e.key: e.count / steps for e in prof.key_averages()}


def grown_calls(prof_a, prof_b, steps: int, top: int = 4) -> dict:
    """The ``top`` events whose calls per step grow most from profile ``prof_a`` to ``prof_b`` (notebook 09):
    ``{name: (calls per step in a, in b)}``, largest growth first."""
    a, b = calls_per_step(prof_a, steps), calls_per_step(prof_b, steps)
    grown = sorted(b, key=lambda k: b[k] - a.get(k, 0.0), reverse=True)[:top]
    return {k: (a.get(k, 0.0), b[k]) for k in grown if b[k] > a.get(k, 0.0)}
