"""Checkers for the exercises of notebook 01 (latent-variable models and the likelihood integral).

Each ``check_*`` calls the reader's function on a few fixed cases, compares it with a reference
implementation and prints ✓ or ✗ with a reason. Solutions: ``solutions/lesson01.py``.
"""

from __future__ import annotations

import torch
from torch.distributions import Normal

from .. import toy
from .feedback import CheckResult, check_function

_F64 = torch.float64


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(101)


def reference_log_mean_exp(log_values: torch.Tensor) -> torch.Tensor:
    """log((1/n) sum_i exp(a_i)) along dim 0."""
    return toy.log_mean_exp(log_values, dim=0)


def reference_marginal_covariance(weight: torch.Tensor, noise_std: float) -> torch.Tensor:
    """Cov[x] = W W^T + sigma^2 I for x = W z + b + sigma eps."""
    return weight @ weight.T + noise_std**2 * torch.eye(weight.shape[0], dtype=weight.dtype)


def reference_gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, noise_std: float) -> torch.Tensor:
    """log N(x; mean, sigma^2 I), summed over the last dimension."""
    return Normal(mean, noise_std).log_prob(x).sum(-1)


def check_log_mean_exp(reader_fn) -> CheckResult:
    """Exercise 1: a numerically stable log-mean-exp over dim 0."""
    g = _generator()
    cases = [
        (torch.randn(6, generator=g, dtype=_F64),),
        (torch.randn(5, 3, generator=g, dtype=_F64),),
        (torch.tensor([-1000.0, -1001.0, -1003.0], dtype=_F64),),  # exp underflows to 0
        (torch.tensor([[800.0, -2.0], [805.0, -1.0]], dtype=_F64),),  # exp overflows to inf
    ]
    hint = (
        "exp(-1000) underflows to 0 and exp(800) overflows to inf, so never exponentiate a directly: "
        "with m = max(a), log mean exp(a) = m + log mean exp(a - m). Reduce over dim 0."
    )
    return check_function("log_mean_exp", reader_fn, reference_log_mean_exp, cases, hint)


def check_marginal_covariance(reader_fn) -> CheckResult:
    """Exercise 2: the covariance of p(x) for the linear-Gaussian model."""
    g = _generator()
    cases = [
        (torch.randn(3, 1, generator=g, dtype=_F64), 0.5),
        (torch.randn(4, 2, generator=g, dtype=_F64), 0.1),
        (torch.randn(5, 3, generator=g, dtype=_F64), 1.3),
    ]
    hint = (
        "x - b = W z + sigma * eps is a sum of two independent terms, so their covariances add: "
        "Cov[W z] = W Cov[z] W^T and Cov[sigma * eps] = sigma^2 I. The result has shape [D, D]."
    )
    return check_function("marginal_covariance", reader_fn, reference_marginal_covariance, cases, hint)


def check_gaussian_log_likelihood(reader_fn) -> CheckResult:
    """Exercise 3: log p(x|z) for a Gaussian decoder, one number per row."""
    g = _generator()
    cases = []
    for rows, dim, noise_std in ((1, 2, 1.0), (4, 3, 0.5), (3, 6, 0.05)):
        x = torch.randn(rows, dim, generator=g, dtype=_F64)
        mean = torch.randn(rows, dim, generator=g, dtype=_F64)
        cases.append((x, mean, noise_std))
    hint = (
        "log N(x; m, s^2 I) = sum_j [ -0.5 log(2 pi s^2) - (x_j - m_j)^2 / (2 s^2) ]: keep the "
        "normalising constant and sum over the last dimension (result shape [B])."
    )
    return check_function("gaussian_log_likelihood", reader_fn, reference_gaussian_log_likelihood, cases, hint)
