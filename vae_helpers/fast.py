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
    text = f"PyTorch {torch.__version__}; {cpu}, {torch.get_num_threads()} CPU threads"
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
