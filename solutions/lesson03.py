"""Solutions to the exercises of notebook 03 · 重参数化技巧 (the reparameterization trick).

Each function has the name of the notebook's stub; compare with your own answer after trying.
"""

import math

import torch


def step_gradient(mu, sigma):
    """∂/∂μ P(z > 0) = ∂/∂μ Φ(μ/σ) = φ(μ/σ)/σ, the density of z at the jump.

    Every pathwise draw is 0 (f′ = 0 away from the jump), yet the true gradient is positive: moving
    the gradient inside the expectation is safe for an f that is differentiable almost everywhere and
    does not jump (absolutely continuous, e.g. Lipschitz, as ReLU networks are); a step jumps.
    """
    t = mu / sigma
    density = torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)
    return density / sigma


def reparameterize_full_cov(mu, cov, eps):
    """z = μ + Lε with L the Cholesky factor of Σ = cov (LLᵀ = Σ), for every row at once."""
    scale_tril = torch.linalg.cholesky(cov)
    return mu + eps @ scale_tril.T  # row b: mu_b + L @ eps_b


def optimal_baseline_sigma(mu, sigma):
    """b* = E[f s²]/E[s²] for f = z² and the σ-score s = (ε² − 1)/σ.

    E[s²] = E[(ε² − 1)²]/σ² = 2/σ²;
    E[f s²] = E[(μ² + 2μσε + σ²ε²)(ε⁴ − 2ε² + 1)]/σ²
            = (2μ² + 10σ²)/σ², so b* = μ² + 5σ² (not E[f] = μ² + σ²,
    and not the μ-gradient's μ² + 3σ²).
    """
    return mu**2 + 5 * sigma**2
