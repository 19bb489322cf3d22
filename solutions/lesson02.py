"""Solutions to the exercises of notebook 02 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch


def best_isotropic_q(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The q = N(mu, s^2 I) closest to N(mu, cov) in KL(q || p). With Lambda = cov^-1,
    KL = 1/2 [s^2 tr(Lambda) - d - d log s^2 - log|Lambda|]; its derivative in s^2,
    1/2 [tr(Lambda) - d / s^2], vanishes at s^2 = d / tr(Lambda). Put back, the price is
    1/2 [d log(tr(Lambda) / d) - log|Lambda|] = 1/2 [d log(tr(Lambda) / d) + log|cov|].

    Compared with the diagonal family's price 1/2 [sum_i log Lambda_ii - log|Lambda|], the difference is
    1/2 [d log(mean_i Lambda_ii) - sum_i log Lambda_ii] >= 0 (the log of an average is at least the average of
    the logs: Jensen again). The two are equal exactly when all Lambda_ii are equal; in 2-D, when
    Sigma_11 = Sigma_22. On the lesson's toy model (sds 0.3 and 0.4, r = 0.8) the isotropic q pays 0.551 nats
    against the diagonal q's 0.511."""
    d = cov.shape[-1]
    trace_precision = torch.linalg.inv(cov).diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    price = 0.5 * (d * torch.log(trace_precision / d) + torch.logdet(cov))
    return d / trace_precision, price


def forward_kl_estimate(log_w: torch.Tensor) -> torch.Tensor:
    """KL(p(z|x) || q) = E_p[log w] - log p(x), with E_p[f] = E_q[(w / p(x)) f]: an importance-
    weighted average of log w over the k samples of q (dim 0), p(x) estimated by the mean weight.

    On the lesson's toy model (r = 0.8) the matched q's estimate is close to the exact KL(p || matched) = 0.511,
    but the best q's falls well short of the exact 1.267: the posterior's tails along its long axis, where
    log p/q is largest, are the places the narrow best q rarely samples, so the weights that should carry
    them almost never appear (the self-normalised estimate is biased low). The fix is a q whose weights have
    finite variance: for the best q, C^-1 = diag(Lambda), and 2 Lambda - diag(Lambda) has the diagonal
    Lambda_ii and off-diagonal 2 Lambda_12, so its determinant is Lambda_11 Lambda_22 (1 - 4 r^2): positive
    definite, and the estimate reliable, only for |r| < 1/2 (try r = 0.4)."""
    k = log_w.shape[0]
    log_p_hat = torch.logsumexp(log_w, dim=0) - math.log(k)  # log((1/k) sum_i w_i)
    ratio = torch.exp(log_w - log_p_hat)  # w_i / p_hat, averages to one
    return torch.mean(ratio * (log_w - log_p_hat), dim=0)


# Exercise 1 (a prediction): with unit variances and every pair correlated 0.5, |Sigma| = 0.5 * 0.5 * 2 = 0.5
# and Lambda_ii = 1.5, so KL* = 1/2 (3 log 1.5 + log 0.5) = 0.262 nats.
diagonal_price_3d = 0.5 * (3 * math.log(1.5) + math.log(0.5))
