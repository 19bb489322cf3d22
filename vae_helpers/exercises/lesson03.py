"""The exercises of notebook 03 (the reparameterization trick).

- ``step_gradient`` (when the trick fails): the true gradient of P(z > 0), where every pathwise draw is 0;
- ``reparameterize_full_cov`` (transfer): the trick for a Gaussian with a full covariance matrix;
- ``optimal_baseline_sigma`` (derive): the variance-minimising constant baseline for the sigma-gradient of E[z^2].

Solutions: ``solutions/lesson03.py``.
"""

from __future__ import annotations

import math

import torch

from .core import Case, Exercise, Mistake

_F64 = torch.float64
LESSON = "lesson03"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


# --------------------------------------------------------------------------- 1. a step function


def _phi(t):
    return torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)


def reference_step_gradient(mu, sigma):
    """d/dmu P(z > 0) for z ~ N(mu, sigma^2): the density of z at the jump, phi(mu / sigma) / sigma."""
    return _phi(mu / sigma) / sigma


def _step_cases() -> list[Case]:
    return [
        Case((torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=_F64), torch.tensor([1.0, 0.5, 1.5, 2.0], dtype=_F64)),
             "four (mu, sigma) pairs"),
        Case((torch.tensor([1.5, -0.3], dtype=_F64), torch.tensor([0.7, 3.0], dtype=_F64)), "two more pairs"),
    ]


step_gradient = Exercise(
    "step_gradient",
    reference_step_gradient,
    _step_cases,
    hints=[
        "Forget the estimators for a moment: E[1[z > 0]] = P(z > 0). Write z = mu + sigma eps and express that "
        "probability with Phi, the standard normal CDF; then differentiate it with respect to mu.",
        "P(z > 0) = P(eps > -mu / sigma) = Phi(mu / sigma). Phi' is the standard normal density "
        "phi(t) = exp(-t^2 / 2) / sqrt(2 pi).",
        "Evaluate phi and the chain-rule factor d(mu / sigma)/dmu at t = mu / sigma. Then compare with the pathwise "
        "estimate, which sees only f'(z) = 0 away from the jump.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("zero: the pathwise estimate taken for the gradient",
                "f'(z) = 0 for every z except the jump, so every pathwise draw is 0; but P(z > 0) grows with mu, "
                "so its gradient is positive. The exchange of gradient and expectation fails at the jump.",
                lambda mu, sigma: torch.zeros_like(mu * sigma)),
        Mistake("the probability Phi(mu / sigma) instead of its gradient",
                "Phi(mu / sigma) is E[f] itself; the exercise asks for its derivative in mu.",
                lambda mu, sigma: 0.5 * (1 + torch.erf(mu / (sigma * math.sqrt(2))))),
        Mistake("the factor 1 / sigma of the chain rule left out",
                "d/dmu Phi(mu / sigma) = phi(mu / sigma) * d(mu / sigma)/dmu = phi(mu / sigma) / sigma.",
                lambda mu, sigma: _phi(mu / sigma)),
        Mistake("the sign flipped",
                "moving mu to the right moves probability mass past 0 onto the positive side: P(z > 0) grows, "
                "so the gradient is positive.",
                lambda mu, sigma: -_phi(mu / sigma) / sigma),
    ],
    rtol=1e-6, atol=1e-9,
)


# --------------------------------------------------------------------------- 2. full covariance


def reference_reparameterize_full_cov(mu, cov, eps):
    """z_b = mu_b + L eps_b with L = cholesky(cov), L L^T = cov; rows of [B, d] at once."""
    scale_tril = torch.linalg.cholesky(cov)
    return mu + eps @ scale_tril.T


def _cov(d: int, seed: int) -> torch.Tensor:
    a = _randn((d, d), seed)
    return a @ a.T + 0.5 * torch.eye(d, dtype=_F64)


def _cov_cases() -> list[Case]:
    cases = []
    for seed, (b, d) in enumerate(((4, 3), (5, 2), (2, 4))):
        cases.append(Case((_randn((b, d), seed), _cov(d, 10 + seed), _randn((b, d), 20 + seed)),
                          f"{b} rows, d = {d}"))
    return cases


def _cov_symmetric_root(mu, cov, eps):
    values, vectors = torch.linalg.eigh(cov)
    root = vectors @ torch.diag(values.sqrt()) @ vectors.T
    return mu + eps @ root.T


reparameterize_full_cov = Exercise(
    "reparameterize_full_cov",
    reference_reparameterize_full_cov,
    _cov_cases,
    hints=[
        "In one dimension z = mu + sigma eps has variance sigma^2: the noise is scaled by a square root "
        "of the variance. In d dimensions, z = mu + A eps has covariance A A^T.",
        "So A must satisfy A A^T = cov. The lower-triangular A with a positive diagonal is the Cholesky "
        "factor L; torch.linalg computes it, and MultivariateNormal(mu, cov).rsample() uses it.",
        "z has shape [B, d]: each row is one vector. L eps_b is written for a column vector eps_b; when the "
        "vectors are rows, which side does the matrix multiply from, and transposed or not?",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the covariance where its square root is meant",
                "z = mu + cov eps has covariance cov cov^T = cov^2, not cov: like sigma (not sigma^2) in "
                "one dimension, the noise is scaled by a square root L with L L^T = cov.",
                lambda mu, cov, eps: mu + eps @ cov.T),
        Mistake("the factor on the wrong side (L^T eps instead of L eps)",
                "L^T eps has covariance L^T L, which is not cov; with rows of noise, L eps_b is eps @ L.T.",
                lambda mu, cov, eps: mu + eps @ torch.linalg.cholesky(cov)),
        Mistake("only the diagonal: the correlations dropped",
                "scaling each coordinate by its own standard deviation gives the right variances but "
                "independent coordinates; the off-diagonal covariances are lost.",
                lambda mu, cov, eps: mu + eps * cov.diagonal().sqrt()),
        Mistake("another square root of the covariance (right distribution, other numbers)",
                "any A with A A^T = cov gives z the right distribution, but for a given eps the numbers "
                "depend on A: use the Cholesky factor, as MultivariateNormal.rsample does.",
                _cov_symmetric_root),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- 3. the optimal baseline for sigma


def reference_optimal_baseline_sigma(mu, sigma):
    """E[f s^2] / E[s^2] for f = z^2 and the sigma-score s = (eps^2 - 1) / sigma: mu^2 + 5 sigma^2."""
    return mu**2 + 5 * sigma**2


def _baseline_cases() -> list[Case]:
    return [
        Case((torch.tensor([0.4, 1.0, -2.0, 3.5], dtype=_F64), torch.tensor([0.5, 2.0, 0.3, 1.7], dtype=_F64)),
             "four (mu, sigma) pairs"),
        Case((torch.tensor([1.5, -0.7], dtype=_F64), torch.tensor([1.0, 1.0], dtype=_F64)), "sigma = 1"),
    ]


optimal_baseline_sigma = Exercise(
    "optimal_baseline_sigma",
    reference_optimal_baseline_sigma,
    _baseline_cases,
    hints=[
        "b* = E[f s^2] / E[s^2] with f = z^2 = (mu + sigma eps)^2 and s = (eps^2 - 1) / sigma. Both expectations "
        "are sums of Gaussian moments: E[eps^2] = 1, E[eps^4] = 3, E[eps^6] = 15, odd ones 0.",
        "E[s^2] = E[(eps^2 - 1)^2] / sigma^2 = (3 - 2 + 1) / sigma^2. For E[f s^2], expand "
        "(mu^2 + 2 mu sigma eps + sigma^2 eps^2)(eps^4 - 2 eps^2 + 1) / sigma^2 and drop the odd powers.",
        "E[s^2] = 2 / sigma^2. In E[f s^2] only the even powers eps^0, eps^2, eps^4, eps^6 survive, and the "
        "sigma^2 part is the one that needs E[eps^6]. Collect the mu^2 and sigma^2 parts, then divide by E[s^2].",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the mean E[f] = mu^2 + sigma^2",
                "E[f] is a fine baseline but not the best one: the optimum weights f by s^2, and s^2 is large where "
                "|eps| is large, which is where f is large too.",
                lambda mu, sigma: mu**2 + sigma**2),
        Mistake("the mu-gradient's baseline mu^2 + 3 sigma^2",
                "each parameter has its own score and so its own optimal baseline; for sigma the score is "
                "(eps^2 - 1) / sigma, not eps / sigma.",
                lambda mu, sigma: mu**2 + 3 * sigma**2),
        Mistake("E[f s^2] without the division by E[s^2]",
                "b* = E[f s^2] / E[s^2], and E[s^2] = 2 / sigma^2 here.",
                lambda mu, sigma: (2 * mu**2 + 10 * sigma**2) / sigma**2),
        Mistake("E[eps^6] taken as 9 (it is 15)",
                "the sixth moment of a standard normal is 5 * 3 * 1 = 15, so the sigma^2 part is (15 - 6 + 1) sigma^2.",
                lambda mu, sigma: mu**2 + 2 * sigma**2),
    ],
    rtol=1e-6, atol=1e-8,
)


__all__ = ["step_gradient", "reparameterize_full_cov", "optimal_baseline_sigma"]
