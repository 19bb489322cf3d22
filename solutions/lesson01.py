"""Solutions to the exercises of notebook 01 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import torch
from torch.distributions import Normal


def mixture_log_density(x: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor,
                        sigma: float) -> torch.Tensor:
    """log p(x) = log sum_k pi_k N(x; mu_k, sigma^2): the likelihood integral for a discrete z. Shape [B]."""
    log_lik = Normal(means, sigma).log_prob(x.unsqueeze(-1))  # log p(x_b | z = k), a [B, K] table
    return torch.logsumexp(log_weights + log_lik, dim=-1)  # log sum_k p(z = k) p(x_b | z = k)


def effective_sample_size(log_weights: torch.Tensor) -> torch.Tensor:
    """ESS = (sum_i w_i)^2 / sum_i w_i^2 over dim 0, from log w_i, without overflow. Shape [B]."""
    log_sum = torch.logsumexp(log_weights, dim=0)  # log sum_i w_i
    log_sum_of_squares = torch.logsumexp(2 * log_weights, dim=0)  # log sum_i w_i^2
    return torch.exp(2 * log_sum - log_sum_of_squares)
    # also right: w = torch.softmax(log_weights, dim=0); 1 / w.pow(2).sum(dim=0)


def ring_share_inside() -> str:
    """Prediction: choice "a", about 39 %.

    g(z) = z/10 + z/||z|| points along z with length ||g(z)|| = ||z||/10 + 1, so ||g(z)|| < 1.1
    exactly when ||z|| < 1. For z ~ N(0, I_2), ||z||^2 = z_1^2 + z_2^2 is chi-squared with two
    degrees of freedom, an exponential distribution with mean 2: P(||z||^2 < 1) = 1 - exp(-1/2) = 0.393.
    """
    return "a"
