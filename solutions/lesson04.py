"""Solutions to the exercises of notebook 04 · KL散度的闭式解 (the KL term in closed form).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import torch
from torch.distributions import Normal


def kl_standard_normal(mu, log_var):
    """KL(N(mu, sigma^2) || N(0, I)) per row: -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)."""
    return -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1)


def kl_diagonal_gaussians(mu_q, log_var_q, mu_p, log_var_p):
    """KL(q || p) for two diagonal Gaussians, summed over dimensions, one number per row."""
    per_dim = 0.5 * (log_var_p - log_var_q + (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp() - 1)
    return per_dim.sum(dim=1)


def kl_monte_carlo(mu, log_var, eps):
    """Average over the S noise draws of log q(z) - log p(z) (summed over dimensions)."""
    sigma = torch.exp(0.5 * log_var)
    z = mu + sigma * eps  # [S, B, D]: mu and sigma broadcast over the sample dimension
    log_q = Normal(mu, sigma).log_prob(z).sum(dim=-1)
    log_p = Normal(0.0, 1.0).log_prob(z).sum(dim=-1)
    return (log_q - log_p).mean(dim=0)
