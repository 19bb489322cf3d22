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


def rho_from_weights() -> str:
    """Prediction: choice "b", about N = 10^4.

    With sums, rho_hat = N sum_i w_i^2 / (sum_i w_i)^2. When one draw carries all of the weight,
    sum_i w_i^2 = (sum_i w_i)^2, so rho_hat = N = 10^4, whatever the true rho (about 10^18 for the 4 of
    section 7). In general N s^2 <= rho_hat <= N s for the heaviest share s, so rho_hat <= N: N / rho_hat is
    Kish's effective sample size, at least 1. The weights' own estimate saturates at N.
    """
    return "b"


def log_marginal_and_ess(log_joint, q, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p_hat_N(x), ESS) for N draws z_i ~ q(z|x), with w_i = p(x, z_i) / q(z_i|x). Shape [B] each.

    log p_hat_N(x) = log (1/N) sum_i w_i and ESS = (sum_i w_i)^2 / sum_i w_i^2, both from the log-weights:
    z holds the draws, [N, B, d]; log_joint(z) and q.log_prob(z) are [N, B].
    """
    log_w = log_joint(z) - q.log_prob(z)  # log importance weights; never exponentiated (they underflow)
    log_sum = torch.logsumexp(log_w, dim=0)  # log sum_i w_i
    log_sum_sq = torch.logsumexp(2 * log_w, dim=0)  # log sum_i w_i^2: a square doubles a log
    return log_sum - math.log(log_w.shape[0]), torch.exp(2 * log_sum - log_sum_sq)  # log of the mean; the ESS
