"""Solutions to the exercises of notebook 02 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch


def best_isotropic_q(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The q = N(mu, s^2 I) closest to N(mu, cov) in KL(q || p). With Lambda = cov^-1,
    KL = 1/2 [s^2 tr(Lambda) - d - d log s^2 - log|Lambda|]; its derivative in s^2,
    1/2 [tr(Lambda) - d / s^2], vanishes at s^2 = d / tr(Lambda). Put back, the price is
    1/2 [d log(tr(Lambda) / d) - log|Lambda|] = 1/2 [d log(tr(Lambda) / d) + log|cov|]."""
    d = cov.shape[-1]
    trace_precision = torch.linalg.inv(cov).diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    price = 0.5 * (d * torch.log(trace_precision / d) + torch.logdet(cov))
    return d / trace_precision, price


def forward_kl_estimate(log_w: torch.Tensor) -> torch.Tensor:
    """KL(p(z|x) || q) = E_p[log w] - log p(x), with E_p[f] = E_q[(w / p(x)) f]: an importance-
    weighted average of log w over the k samples of q (dim 0), p(x) estimated by the mean weight."""
    k = log_w.shape[0]
    log_p_hat = torch.logsumexp(log_w, dim=0) - math.log(k)  # log((1/k) sum_i w_i)
    ratio = torch.exp(log_w - log_p_hat)  # w_i / p_hat, averages to one
    return torch.mean(ratio * (log_w - log_p_hat), dim=0)


# Exercise 3 (a prediction): in standardised coordinates C^-1 = I / (1 - r^2) for the best diagonal q,
# so n Lambda - (n-1) C^-1 = [[1, -n r], [-n r, 1]] / (1 - r^2), positive definite for n < 1/|r|.
moment_order_of_best_diagonal_q = 1 / 0.4  # 2.5: rho_q (n = 2) is finite at r = 0.4
