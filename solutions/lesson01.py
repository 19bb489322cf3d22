"""Solutions to the exercises of notebook 01 · 练习答案 (try them yourself first)."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal


def mixture_log_density(x: torch.Tensor, log_weights: torch.Tensor, means: torch.Tensor,
                        sigma: float) -> torch.Tensor:
    """log p(x) = log sum_k pi_k N(x; mu_k, sigma^2): the likelihood integral for a discrete z. Shape [B]."""
    log_lik = Normal(means, sigma).log_prob(x.unsqueeze(-1))  # log p(x_b | z = k), a [B, K] table
    return torch.logsumexp(log_weights + log_lik, dim=-1)  # log sum_k p(z = k) p(x_b | z = k)


def wide_proposal_draws() -> str:
    """Prediction: choice "c", about 1.8 million draws.

    For Gaussians, rho = E_q[(p(z|x) / q(z|x))^2] of a q that is c times wider than the posterior is
    c^2 / sqrt(2 c^2 - 1) per direction, and the directions multiply: 1.2 gives 1.0502 per direction,
    1.0502^20 = 2.66 for d = 20 and 1.0502^200 = 2.66^10 = 18,000 for d = 200. A 10 % error takes
    (rho - 1) / 0.1^2 = 1.8 million draws.
    """
    return "c"


def log_rho_estimate(log_w: torch.Tensor) -> torch.Tensor:
    """log rho_hat = log mean_i(w_i^2) - 2 log mean_i(w_i) over the N draws (axis 0), from log w. Shape [B].

    E[w] = p(x), so rho = E[w^2] / E[w]^2. Both means are taken in logs (log w^2 = 2 log w), so that
    no weight is ever formed: exp(log w) underflows far from the data, and w^2 overflows near it.

    rho_hat never exceeds N: rho_hat = N sum_i w_i^2 / (sum_i w_i)^2 <= N, since sum_i w_i^2 <= (sum_i w_i)^2
    for w_i >= 0 (N / rho_hat is Kish's effective sample size, at least 1). With s the heaviest draw's share
    of the weight, N s^2 <= rho_hat <= N s. On section 8's log_lik (N = 10,000 prior draws) that gives
    rho_hat about N = 10^4 for the five digits with s = 1.000, and about 2,600 to 5,100 for the third digit,
    a 1, with s = 0.513, while the true rho is about 10^17 to 10^21 (the 10^19 to 10^23 draws needed, times
    0.1^2). The weights' own estimate saturates at N: it says "effective sample size about 1", not how bad.
    """
    n = log_w.shape[0]
    log_mean_w2 = torch.logsumexp(2 * log_w, dim=0) - math.log(n)  # log (1/N) sum_i w_i^2
    log_mean_w = torch.logsumexp(log_w, dim=0) - math.log(n)  # log (1/N) sum_i w_i
    return log_mean_w2 - 2 * log_mean_w
