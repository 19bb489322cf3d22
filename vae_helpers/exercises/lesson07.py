"""Checkers for the exercises of notebook 07 (exploring the latent space · 探索潜空间).

Each ``check_*`` takes the reader's function, runs it on a few fixed cases next to a reference
implementation, prints "✓ ..." or "✗ ... (why, and a hint)" and returns a CheckResult.
Solutions: ``solutions/lesson07.py``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch.distributions import Normal

from .feedback import CheckResult, check_function


def _noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --------------------------------------------------------------------------- 1. the manifold's grid


def reference_inverse_cdf_grid(n: int, quantile: float) -> torch.Tensor:
    """n latent values z_i = Phi^{-1}(p_i), p_i evenly spaced from quantile to 1 - quantile.

    The same spacing as ``plotting.manifold_images`` (which uses float32).
    """
    probs = torch.linspace(quantile, 1 - quantile, n, dtype=torch.float64)
    return Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)).icdf(probs)


def check_inverse_cdf_grid(reader_fn: Callable) -> CheckResult:
    """Exercise 1: the 1-D grid behind the decoded manifold (equal prior mass between neighbours)."""
    return check_function(
        "inverse_cdf_grid",
        reader_fn,
        reference_inverse_cdf_grid,
        [(5, 0.05), (20, 0.05), (7, 0.01), (2, 0.25)],
        hint="probs = torch.linspace(quantile, 1 - quantile, n); then the standard normal's inverse "
        "CDF: torch.distributions.Normal(0.0, 1.0).icdf(probs). Evenly spaced z values "
        "(torch.linspace(-2, 2, n)) are not the answer: they give the tails as much room as the centre.",
        rtol=1e-5,
        atol=1e-5,
    )


# --------------------------------------------------------------------------- 2. interpolation


def reference_interpolate(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """[steps, d]: z(t) = (1 - t) z_a + t z_b for t evenly spaced from 0 to 1 (both ends included)."""
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype).unsqueeze(1)
    return (1 - t) * z_a.unsqueeze(0) + t * z_b.unsqueeze(0)


def check_interpolate(reader_fn: Callable) -> CheckResult:
    """Exercise 2: a straight line between two latent codes."""
    cases = [(_noise((20,), 1), _noise((20,), 2), 8), (_noise((2,), 3), _noise((2,), 4), 3),
             (_noise((5,), 5), _noise((5,), 6), 2)]
    return check_function(
        "interpolate",
        reader_fn,
        reference_interpolate,
        cases,
        hint="t = torch.linspace(0, 1, steps) as a column (t[:, None]); return (1 - t) * z_a + t * z_b, "
        "shape [steps, d]: row 0 is exactly z_a and the last row exactly z_b.",
    )


# --------------------------------------------------------------------------- 3. KL per dimension


def reference_kl_per_dimension(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """[d]: KL(q(z_j|x) || N(0, 1)) for each latent dimension j, averaged over the batch."""
    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).mean(dim=0)


def check_kl_per_dimension(reader_fn: Callable) -> CheckResult:
    """Exercise 3: how many nats each latent dimension carries (0 = the dimension is unused)."""
    cases = []
    for seed, (b, d) in enumerate(((6, 4), (3, 20), (1, 2))):
        mu = 1.5 * _noise((b, d), 10 + seed)
        log_var = (_noise((b, d), 20 + seed) - 1.0).clamp(-4, 2)
        cases.append((mu, log_var))
    return check_function(
        "kl_per_dimension",
        reader_fn,
        reference_kl_per_dimension,
        cases,
        hint="the closed-form KL term by term, -0.5 * (1 + log_var - mu**2 - exp(log_var)), "
        "has shape [B, d]; average over the images (dim=0), do not sum over the dimensions: the "
        "result has one number per latent dimension, shape [d].",
    )


__all__ = [
    "check_inverse_cdf_grid",
    "check_interpolate",
    "check_kl_per_dimension",
    "reference_inverse_cdf_grid",
    "reference_interpolate",
    "reference_kl_per_dimension",
]
