"""Checkers for the exercises of notebook 08 (evaluating log p(x) · 评估对数似然).

Each ``check_*`` takes the reader's function, runs it on a few fixed cases next to a reference
implementation, prints "✓ ..." or "✗ ... (why, and a hint)" and returns a CheckResult.
Solutions: ``solutions/lesson08.py``.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from .feedback import CheckResult, check_function


def _log_weights(k: int, b: int, seed: int, scale: float = 3.0, shift: float = -100.0) -> torch.Tensor:
    """Log weights [k, B] like a VAE's: large negative numbers (about -100 nats) with a spread."""
    g = torch.Generator().manual_seed(seed)
    return shift + scale * torch.randn(k, b, generator=g, dtype=torch.float64)


# --------------------------------------------------------------------------- 1. log-mean-exp


def reference_log_mean_exp(log_w: torch.Tensor) -> torch.Tensor:
    """[B]: log((1/k) sum_i exp(log_w[i])) over the k samples (dim 0), computed stably."""
    return torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])


def check_log_mean_exp(reader_fn: Callable) -> CheckResult:
    """Exercise 1: the average of the weights, in log space, without overflow or underflow."""
    cases = [(_log_weights(10, 3, 0),), (_log_weights(1, 4, 1),), (_log_weights(500, 2, 2, shift=-800.0),),
             (_log_weights(50, 5, 3, scale=20.0, shift=0.0),)]
    return check_function(
        "log_mean_exp",
        reader_fn,
        reference_log_mean_exp,
        cases,
        hint="exp(-800) is 0 in floating point, so never exponentiate the log weights directly: "
        "torch.logsumexp(log_w, dim=0) - math.log(k) with k = log_w.shape[0] (the mean divides by k).",
        rtol=1e-9,
        atol=1e-9,
    )


# --------------------------------------------------------------------------- 2. L_k from K samples


def reference_iwae_from_log_weights(log_w: torch.Tensor, k: int) -> torch.Tensor:
    """[B]: the mean of L_k over the K/k disjoint groups of k consecutive samples of log_w [K, B]."""
    K, B = log_w.shape
    groups = log_w.reshape(K // k, k, B)
    return (torch.logsumexp(groups, dim=1) - math.log(k)).mean(dim=0)


def check_iwae_from_log_weights(reader_fn: Callable) -> CheckResult:
    """Exercise 2: estimate E[L_k] for a small k from K = (K/k) * k samples, all of them used."""
    log_w = _log_weights(1000, 3, 4)
    cases = [(log_w, 1), (log_w, 10), (log_w, 1000), (_log_weights(12, 2, 5), 4)]
    return check_function(
        "iwae_from_log_weights",
        reader_fn,
        reference_iwae_from_log_weights,
        cases,
        hint="log_w.reshape(K // k, k, B) puts each group of k consecutive samples in one row; "
        "log-mean-exp inside each group (dim=1), then the plain mean over the groups (dim=0). "
        "k = 1 must give log_w.mean(0) (the ELBO estimate), k = K the single K-sample bound.",
        rtol=1e-9,
        atol=1e-9,
    )


# --------------------------------------------------------------------------- 3. effective sample size


def reference_effective_sample_size(log_w: torch.Tensor) -> torch.Tensor:
    """[B]: (sum_i w_i)^2 / sum_i w_i^2, from log weights [k, B], computed in log space."""
    return torch.exp(2 * torch.logsumexp(log_w, dim=0) - torch.logsumexp(2 * log_w, dim=0))


def check_effective_sample_size(reader_fn: Callable) -> CheckResult:
    """Exercise 3: how many of the k samples really count (1 = one weight dominates, k = all equal)."""
    cases = [(_log_weights(100, 3, 6),), (_log_weights(100, 3, 7, scale=0.01),),
             (_log_weights(1000, 2, 8, shift=-700.0, scale=1.0),), (torch.zeros(5, 2, dtype=torch.float64),)]
    return check_function(
        "effective_sample_size",
        reader_fn,
        reference_effective_sample_size,
        cases,
        hint="ESS = (sum w)^2 / sum w^2; in logs: exp(2 * logsumexp(log_w, 0) - logsumexp(2 * log_w, 0)). "
        "Equal weights must give k, and weights of exp(-700) must not turn into 0/0.",
        rtol=1e-7,
        atol=1e-7,
    )


__all__ = [
    "check_log_mean_exp",
    "check_iwae_from_log_weights",
    "check_effective_sample_size",
    "reference_log_mean_exp",
    "reference_iwae_from_log_weights",
    "reference_effective_sample_size",
]
