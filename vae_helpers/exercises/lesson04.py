"""Checkers for the exercises of notebook 04 (the KL term in closed form).

Each ``check_*`` takes the reader's function, runs it on a few fixed cases next to a reference
implementation, prints "✓ ..." or "✗ ... (why, and a hint)" and returns a CheckResult.
Solutions: ``solutions/lesson04.py``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.distributions import Normal, kl_divergence

from ..losses import gaussian_kl
from .feedback import CheckResult, check_function


def _noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(mu, log_var) pairs [B, D] of a few shapes, log-variances between about -4 and 2."""
    cases = []
    for seed, shape in ((0, (4, 3)), (1, (2, 20)), (2, (1, 1))):
        mu = 1.5 * _noise(shape, seed)
        log_var = (1.5 * _noise(shape, seed + 100) - 1.0).clamp(-4.0, 2.0)
        cases.append((mu, log_var))
    return cases


# --------------------------------------------------------------------------- 1. KL to N(0, I)


def check_kl_standard_normal(reader_fn: Callable) -> CheckResult:
    """Exercise 1: KL(N(mu, diag sigma^2) || N(0, I)) per row, from (mu, log_var) [B, D] → [B]."""
    return check_function(
        "kl_standard_normal",
        reader_fn,
        gaussian_kl,
        _batches(),
        hint="-0.5 * (1 + log_var - mu**2 - exp(log_var)), summed over the last dimension "
        "(dim=1), one number per row: the result has shape [B].",
    )


# --------------------------------------------------------------------------- 2. KL between two Gaussians


def reference_kl_diagonal_gaussians(
    mu_q: torch.Tensor, log_var_q: torch.Tensor, mu_p: torch.Tensor, log_var_p: torch.Tensor
) -> torch.Tensor:
    """KL(q || p) for diagonal Gaussians, summed over the last dimension (torch.distributions)."""
    q = Normal(mu_q, torch.exp(0.5 * log_var_q))
    p = Normal(mu_p, torch.exp(0.5 * log_var_p))
    return kl_divergence(q, p).sum(dim=-1)


def _pairs() -> list[tuple[torch.Tensor, ...]]:
    cases = []
    for i, (mu_q, log_var_q) in enumerate(_batches()):
        mu_p = _noise(tuple(mu_q.shape), 200 + i)
        log_var_p = 0.5 * _noise(tuple(mu_q.shape), 300 + i)
        cases.append((mu_q, log_var_q, mu_p, log_var_p))
    # p = N(0, I) must give back the standard-normal formula
    mu_q, log_var_q = _batches()[0]
    cases.append((mu_q, log_var_q, torch.zeros_like(mu_q), torch.zeros_like(log_var_q)))
    return cases


def check_kl_diagonal_gaussians(reader_fn: Callable) -> CheckResult:
    """Exercise 2: KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)), diagonal, per row → [B]."""
    return check_function(
        "kl_diagonal_gaussians",
        reader_fn,
        reference_kl_diagonal_gaussians,
        _pairs(),
        hint="redo section 2 with log p(z) = -log(2 pi)/2 - log_var_p/2 - (z - mu_p)**2 / (2 "
        "exp(log_var_p)) and E_q[(z - mu_p)**2] = exp(log_var_q) + (mu_q - mu_p)**2; sum the "
        "per-dimension terms over dim=1. With mu_p = 0, log_var_p = 0 it must equal exercise 1.",
    )


# --------------------------------------------------------------------------- 3. Monte Carlo KL


def reference_kl_monte_carlo(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Mean over S samples z = mu + sigma * eps[s] of log q(z) - log p(z), summed over dims → [B]."""
    sigma = torch.exp(0.5 * log_var)
    z = mu + sigma * eps  # [S, B, D]
    log_q = Normal(mu, sigma).log_prob(z).sum(dim=-1)
    log_p = Normal(torch.zeros_like(mu), torch.ones_like(mu)).log_prob(z).sum(dim=-1)
    return (log_q - log_p).mean(dim=0)


def _mc_cases() -> list[tuple[torch.Tensor, ...]]:
    cases = []
    for i, (mu, log_var) in enumerate(_batches()):
        cases.append((mu, log_var, _noise((64, *mu.shape), 400 + i)))
    return cases


def check_kl_monte_carlo(reader_fn: Callable) -> CheckResult:
    """Exercise 3: a Monte Carlo estimate of the KL with given noise eps [S, B, D] → [B]."""
    return check_function(
        "kl_monte_carlo",
        reader_fn,
        reference_kl_monte_carlo,
        _mc_cases(),
        hint="z = mu + exp(0.5 * log_var) * eps has shape [S, B, D]; use "
        "Normal(mu, sigma).log_prob(z) and Normal(0, 1).log_prob(z), sum over the last "
        "dimension, then average over the S samples (dim=0).",
    )


__all__ = [
    "check_kl_standard_normal",
    "check_kl_diagonal_gaussians",
    "check_kl_monte_carlo",
    "reference_kl_diagonal_gaussians",
    "reference_kl_monte_carlo",
]
