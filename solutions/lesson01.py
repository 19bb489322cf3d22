"""Solutions to the exercises of notebook 01 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch


def log_mean_exp(log_values: torch.Tensor) -> torch.Tensor:
    """log((1/n) sum_i exp(a_i)) along dim 0, without overflow or underflow."""
    m = log_values.max(dim=0).values  # shift by the largest value: exp(a - m) <= 1
    return m + torch.log(torch.exp(log_values - m).mean(dim=0))
    # the same in one line: torch.logsumexp(log_values, dim=0) - math.log(log_values.shape[0])


def marginal_covariance(weight: torch.Tensor, noise_std: float) -> torch.Tensor:
    """Cov[x] for x = W z + b + sigma * eps, z ~ N(0, I_d), eps ~ N(0, I_D): W W^T + sigma^2 I_D."""
    data_dim = weight.shape[0]
    return weight @ weight.T + noise_std**2 * torch.eye(data_dim, dtype=weight.dtype)


def gaussian_log_likelihood(x: torch.Tensor, mean: torch.Tensor, noise_std: float) -> torch.Tensor:
    """log N(x; mean, sigma^2 I) per row: sum_j [-0.5 log(2 pi sigma^2) - (x_j - mean_j)^2 / (2 sigma^2)]."""
    per_dim = -0.5 * math.log(2 * math.pi * noise_std**2) - (x - mean) ** 2 / (2 * noise_std**2)
    return per_dim.sum(dim=-1)
