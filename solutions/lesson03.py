"""Solutions to the exercises of notebook 03 · 重参数化技巧 (the reparameterization trick).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import torch


def reparameterize_with_noise(mu, log_var, eps):
    """z = mu + sigma * eps with sigma = exp(log_var / 2)."""
    sigma = torch.exp(0.5 * log_var)
    return mu + sigma * eps


def score_function_estimate(f, mu, sigma, eps):
    """REINFORCE: the mean of f(z) * d/dmu log N(z; mu, sigma^2) = f(z) (z - mu) / sigma^2."""
    z = mu + sigma * eps
    score = (z - mu) / sigma**2
    return (f(z) * score).mean()


def pathwise_estimate(f, mu, sigma, eps):
    """Pathwise: differentiate the Monte Carlo average of f(mu + sigma * eps) with autograd."""
    mu = torch.tensor(mu, dtype=eps.dtype, requires_grad=True)
    z = mu + sigma * eps
    (grad,) = torch.autograd.grad(f(z).mean(), mu)
    return grad
