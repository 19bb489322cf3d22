"""Checkers for the exercises of notebook 03 (the reparameterization trick).

Each ``check_*`` takes the reader's function, runs it on a few fixed cases next to a reference
implementation, prints "✓ ..." or "✗ ... (why, and a hint)" and returns a CheckResult.
Solutions: ``solutions/lesson03.py``.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..gradients import pathwise_grad, score_function_grad
from .feedback import CheckResult, check_function


def _noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- 1. z = mu + sigma * eps


def reference_reparameterize_with_noise(mu: torch.Tensor, log_var: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + exp(log_var / 2) * eps: VAE.reparameterize with the noise given."""
    return mu + torch.exp(0.5 * log_var) * eps


def check_reparameterize_with_noise(reader_fn: Callable) -> CheckResult:
    """Exercise 1: the trick itself, with the noise eps passed in (so the answer is exact)."""
    cases = []
    for seed, shape in ((0, (4, 2)), (1, (3, 20)), (2, (1, 5))):
        mu, log_var, eps = (_noise(shape, seed + 10 * i) for i in range(3))
        cases.append((mu, 2.0 * log_var, eps))
    return check_function(
        "reparameterize_with_noise",
        reader_fn,
        reference_reparameterize_with_noise,
        cases,
        hint="sigma = exp(log_var / 2) (the square root of the variance, not exp(log_var)); "
        "then z = mu + sigma * eps, element by element.",
    )


# --------------------------------------------------------------------------- 2./3. the estimators

#: test functions f with their names (the hint may mention them)
TEST_FUNCTIONS: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
    ("z**2", lambda z: z**2),
    ("sin(z)", torch.sin),
    ("exp(-z/2)", lambda z: torch.exp(-0.5 * z)),
]


def _estimator_cases() -> list[tuple]:
    cases = []
    for i, ((_, f), mu, sigma) in enumerate(zip(TEST_FUNCTIONS, (1.5, -0.7, 0.3), (1.0, 0.5, 2.0))):
        cases.append((f, mu, sigma, _noise((1000,), 100 + i).double()))
    return cases


def reference_score_function_estimate(f: Callable, mu: float, sigma: float, eps: torch.Tensor) -> float:
    """Mean over the samples of f(z) (z - mu) / sigma^2, with z = mu + sigma * eps."""
    return score_function_grad(f, mu, sigma, eps, wrt="mu").mean().item()


def check_score_function_estimate(reader_fn: Callable) -> CheckResult:
    """Exercise 2: the score-function (REINFORCE) estimate of d/dmu E[f(z)]."""
    return check_function(
        "score_function_estimate",
        reader_fn,
        reference_score_function_estimate,
        _estimator_cases(),
        hint="z = mu + sigma * eps; the score of N(z; mu, sigma^2) with respect to mu is "
        "(z - mu) / sigma**2; average f(z) * score over the samples (no autograd needed).",
        rtol=1e-6,
        atol=1e-8,
    )


def reference_pathwise_estimate(f: Callable, mu: float, sigma: float, eps: torch.Tensor) -> float:
    """Mean over the samples of f'(mu + sigma * eps) (the derivative taken by autograd)."""
    return pathwise_grad(f, mu, sigma, eps, wrt="mu").mean().item()


def check_pathwise_estimate(reader_fn: Callable) -> CheckResult:
    """Exercise 3: the pathwise (reparameterization) estimate of d/dmu E[f(z)], by autograd."""
    return check_function(
        "pathwise_estimate",
        reader_fn,
        reference_pathwise_estimate,
        _estimator_cases(),
        hint="mu arrives as a float: make it a tensor that requires a gradient "
        "(torch.tensor(mu, dtype=eps.dtype, requires_grad=True)), build z from it, and let "
        "torch.autograd.grad differentiate the average of f(z) with respect to it.",
        rtol=1e-6,
        atol=1e-8,
    )


__all__ = [
    "check_reparameterize_with_noise",
    "check_score_function_estimate",
    "check_pathwise_estimate",
    "reference_reparameterize_with_noise",
    "reference_score_function_estimate",
    "reference_pathwise_estimate",
]
