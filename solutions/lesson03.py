"""Solutions to the exercises of notebook 03 · 重参数化技巧 (the reparameterization trick).

Each function has the name of the notebook's stub; compare with your own answer after trying.
"""

import torch


def reparameterize_with_noise(mu, log_var, eps):
    """z = mu + sigma * eps with sigma = exp(log_var / 2)."""
    sigma = torch.exp(0.5 * log_var)
    return mu + sigma * eps


def reparameterize_full_cov(mu, cov, eps):
    """z = mu + L eps with L the Cholesky factor of cov (L L^T = cov), for every row at once."""
    scale_tril = torch.linalg.cholesky(cov)
    return mu + eps @ scale_tril.T  # row b: mu_b + L @ eps_b


def score_variance_linear(mu, sigma):
    """Var of the one-sample score-function estimate of d/dmu E[z].

    g = z (z - mu) / sigma^2 = (mu + sigma eps) eps / sigma = (mu / sigma) eps + eps^2, and eps,
    eps^2 are uncorrelated: Var[g] = mu^2 / sigma^2 Var[eps] + Var[eps^2] = mu^2 / sigma^2 + 2.
    """
    return mu**2 / sigma**2 + 2
