"""Solutions to the exercises of notebook 02 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch


def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag sigma^2) || N(0, I)) per row: 0.5 * sum_j (mu_j^2 + sigma_j^2 - 1 - log sigma_j^2)."""
    return 0.5 * torch.sum(mu**2 + log_var.exp() - 1 - log_var, dim=-1)


def elbo_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """The Monte-Carlo ELBO: the average over the k samples (dim 0) of log w_i."""
    return log_w.mean(dim=0)


def iw_bound_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """L_k = log((1/k) sum_i w_i), stably: logsumexp over the k samples minus log k."""
    k = log_w.shape[0]
    return torch.logsumexp(log_w, dim=0) - math.log(k)
