"""Solutions to the exercises of notebook 02 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch


def best_isotropic_q(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The q = N(μ, s² I) closest to N(μ, cov) in KL(q ‖ p). With Λ = cov⁻¹,
    KL = ½ [s² tr(Λ) − d − d log s² − log|Λ|]; its derivative in s²,
    ½ [tr(Λ) − d / s²], vanishes at s² = d / tr(Λ). Put back, the price is
    ½ [d log(tr(Λ) / d) − log|Λ|] = ½ [d log(tr(Λ) / d) + log|cov|].

    Compared with the diagonal family's price ½ [Σᵢ log Λᵢᵢ − log|Λ|], the difference is
    ½ [d log(meanᵢ Λᵢᵢ) − Σᵢ log Λᵢᵢ] ≥ 0 (the log of an average is at least the average of
    the logs: Jensen again). The two are equal exactly when all Λᵢᵢ are equal; in 2-D, when
    Σ₁₁ = Σ₂₂. On the lesson's toy model (sds 0.3 and 0.4, r = 0.8) the isotropic q pays 0.552 nats
    against the diagonal q's 0.511."""
    d = cov.shape[-1]
    trace_precision = torch.linalg.inv(cov).diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    price = 0.5 * (d * torch.log(trace_precision / d) + torch.logdet(cov))
    return d / trace_precision, price


def forward_kl_estimate(log_w: torch.Tensor) -> torch.Tensor:
    """KL(p(z|x) ‖ q) = E_p[log w] − log p(x), with E_p[f] = E_q[(w / p(x)) f]: an importance-
    weighted average of log w over the k samples of q (dim 0), p(x) estimated by the mean weight.
    Everything stays in logs, with one maximum per observation (logsumexp over dim 0), so log-weights
    near −800, or near −110 in float32, do not underflow.

    On the lesson's toy model (r = 0.8) the matched q's estimate is close to the exact KL(p ‖ matched) = 0.511
    every time, but the best q's is erratic: usually well short of the exact 1.267, now and then far above it.
    The posterior's tails along its long axis, where log p/q is largest, are the places the narrow best q rarely
    samples; the weights that should carry them are usually missing, and when one appears it dominates
    (the best q's weights have infinite variance).

    In 2-D the two directions swap: KL(p ‖ matched) = KL(best ‖ p) = 0.511 and
    KL(p ‖ best) = KL(matched ‖ p) = 1.267."""
    k = log_w.shape[0]
    log_p_hat = torch.logsumexp(log_w, dim=0) - math.log(k)  # log((1/k) sum_i w_i)
    ratio = torch.exp(log_w - log_p_hat)  # w_i / p_hat, averages to one
    return torch.mean(ratio * (log_w - log_p_hat), dim=0)


# Exercise 1, the guess: less than three pair prices, since every two pairs share a coordinate and the
# neighbours' information about it overlaps.
diagonal_price_3d_guess = "less"

# Exercise 1, the computation: with unit variances and every pair correlated 0.5, |Σ| = 0.5 · 0.5 · 2 = 0.5
# and Λᵢᵢ = 1.5, so KL* = ½ (3 log 1.5 + log 0.5) = 0.262 nats.
diagonal_price_3d = 0.5 * (3 * math.log(1.5) + math.log(0.5))

# Exercise 4: averaged over x, μ̄(x) has mean 0 and covariance I − Σ̄ (law of total covariance), so the best q that
# ignores x has m = 0 and cᵢ = 1/Λ̄ᵢᵢ, and its amortization gap is ½ tr(Λ̄(I − Σ̄)) = ½ (tr Λ̄ − d) = 23.1 nats.
constant_q_gap = 0.5 * (1 / (0.3**2 * (1 - 0.8**2)) + 1 / (0.4**2 * (1 - 0.8**2)) - 2)
