"""Solutions to the exercises of notebook 07 · 探索潜空间 (exploring the latent space).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import torch


def inverse_cdf_grid(n, quantile):
    """n values of z with equal prior probability between neighbours: Phi^{-1} of evenly spaced p."""
    probs = torch.linspace(quantile, 1 - quantile, n)
    return torch.distributions.Normal(0.0, 1.0).icdf(probs)


def interpolate(z_a, z_b, steps):
    """The straight line from z_a to z_b in `steps` points, both ends included: shape [steps, d]."""
    t = torch.linspace(0, 1, steps, dtype=z_a.dtype)[:, None]
    return (1 - t) * z_a + t * z_b


def kl_per_dimension(mu, log_var):
    """Average over the batch of KL(q(z_j|x) || N(0, 1)) for each dimension j: shape [d]."""
    kl = -0.5 * (1 + log_var - mu**2 - torch.exp(log_var))  # [B, d], one term per dimension
    return kl.mean(dim=0)
