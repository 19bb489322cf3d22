"""Solutions to the exercises of notebook 03 · 重参数化技巧 (the reparameterization trick).

Each function has the name of the notebook's stub; compare with your own answer after trying.
"""

import math

import torch


def step_gradient(mu, sigma):
    """d/dmu P(z > 0) = d/dmu Phi(mu / sigma) = phi(mu / sigma) / sigma, the density of z at the jump.

    Every pathwise draw is 0 (f' = 0 away from the jump), yet the true gradient is positive: moving
    the gradient inside the expectation needs an f that is differentiable almost everywhere and does not
    jump (absolutely continuous, e.g. Lipschitz, as ReLU networks are); a step jumps.
    """
    t = mu / sigma
    density = torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)
    return density / sigma


def reparameterize_full_cov(mu, cov, eps):
    """z = mu + L eps with L the Cholesky factor of cov (L L^T = cov), for every row at once."""
    scale_tril = torch.linalg.cholesky(cov)
    return mu + eps @ scale_tril.T  # row b: mu_b + L @ eps_b


def optimal_baseline_sigma(mu, sigma):
    """b* = E[f s^2] / E[s^2] for f = z^2 and the sigma-score s = (eps^2 - 1) / sigma.

    E[s^2] = E[(eps^2 - 1)^2] / sigma^2 = 2 / sigma^2;
    E[f s^2] = E[(mu^2 + 2 mu sigma eps + sigma^2 eps^2)(eps^4 - 2 eps^2 + 1)] / sigma^2
             = (2 mu^2 + 10 sigma^2) / sigma^2, so b* = mu^2 + 5 sigma^2 (not E[f] = mu^2 + sigma^2,
    and not the mu-gradient's mu^2 + 3 sigma^2).
    """
    return mu**2 + 5 * sigma**2
