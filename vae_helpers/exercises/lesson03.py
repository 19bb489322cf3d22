"""The exercises of notebook 03 (the reparameterization trick).

- ``reparameterize_with_noise`` (restates the lesson): z = mu + exp(log_var / 2) * eps;
- ``reparameterize_full_cov`` (transfer): the trick for a Gaussian with a full covariance matrix;
- ``score_variance_linear`` (derive): the variance of the score-function estimate for f(z) = z.

Solutions: ``solutions/lesson03.py``.
"""

from __future__ import annotations

import torch

from .core import Case, Exercise, Mistake

_F64 = torch.float64
LESSON = "lesson03"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


# --------------------------------------------------------------------------- 1. z = mu + sigma * eps


def reference_reparameterize_with_noise(mu, log_var, eps):
    """z = mu + exp(log_var / 2) * eps: VAE.reparameterize with the noise given."""
    return mu + torch.exp(0.5 * log_var) * eps


def _noise_cases() -> list[Case]:
    cases = []
    for seed, shape in ((0, (4, 2)), (1, (3, 5)), (2, (1, 3))):
        mu, log_var, eps = (_randn(shape, seed + 10 * i) for i in range(3))
        cases.append(Case((mu, 1.5 * log_var, eps), f"[{shape[0]}, {shape[1]}] tensors"))
    return cases


reparameterize_with_noise = Exercise(
    "reparameterize_with_noise",
    reference_reparameterize_with_noise,
    _noise_cases,
    hints=[
        "The encoder gives the log-variance log sigma^2; the trick needs the standard deviation sigma.",
        "sigma = sqrt(exp(log_var)) = exp(log_var / 2).",
        "Shift and scale the noise element by element: mu + sigma * eps.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("exp(log_var) where exp(0.5 * log_var) is meant",
                "exp(log_var) is the variance sigma^2; the noise is scaled by the standard deviation "
                "sigma = exp(log_var / 2).",
                lambda mu, lv, eps: mu + torch.exp(lv) * eps),
        Mistake("log_var used as the standard deviation",
                "log_var can be negative; the scale is exp(log_var / 2), always positive.",
                lambda mu, lv, eps: mu + lv * eps),
        Mistake("the mean left out",
                "sigma * eps has mean 0; z ~ N(mu, sigma^2) is the noise shifted by mu.",
                lambda mu, lv, eps: torch.exp(0.5 * lv) * eps),
        Mistake("the mean scaled too, (mu + eps) * sigma",
                "only the noise is scaled: (mu + eps) * sigma has mean mu * sigma, not mu.",
                lambda mu, lv, eps: (mu + eps) * torch.exp(0.5 * lv)),
    ],
    rtol=1e-6, atol=1e-8,
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
        "So A must satisfy A A^T = cov: the Cholesky factor L = torch.linalg.cholesky(cov) is the "
        "lower-triangular one, and MultivariateNormal(mu, cov).rsample() uses it.",
        "eps holds one noise vector per row: L eps_b for every row b at once is eps @ L.T; add mu.",
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


# --------------------------------------------------------------------------- 3. variance for f(z) = z


def reference_score_variance_linear(mu, sigma):
    """Var[z (z - mu) / sigma^2] for z ~ N(mu, sigma^2): mu^2 / sigma^2 + 2 (elementwise)."""
    return mu**2 / sigma**2 + 2


def _linear_cases() -> list[Case]:
    return [
        Case((torch.tensor([0.4, 1.0, -2.0, 3.5], dtype=_F64), torch.tensor([0.5, 2.0, 0.3, 1.7], dtype=_F64)),
             "four (mu, sigma) pairs"),
        Case((torch.tensor([1.5, -0.7], dtype=_F64), torch.tensor([1.0, 1.0], dtype=_F64)), "sigma = 1"),
    ]


score_variance_linear = Exercise(
    "score_variance_linear",
    reference_score_variance_linear,
    _linear_cases,
    hints=[
        "Write the one-sample estimate with z = mu + sigma eps: g = z (z - mu) / sigma^2 = (mu + sigma eps) "
        "eps / sigma. Its mean is the true gradient d/dmu E[z] = 1.",
        "Expand: g = (mu / sigma) eps + eps^2. Then Var[g] = E[g^2] - E[g]^2, or use that eps and eps^2 "
        "are uncorrelated (E[eps^3] = 0).",
        "Var[eps] = 1 and Var[eps^2] = E[eps^4] - E[eps^2]^2 = 3 - 1.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("E[g^2] where Var[g] = E[g^2] - E[g]^2 is meant",
                "the estimate has mean 1 (the true gradient); its variance is the second moment minus "
                "1^2.",
                lambda mu, sigma: mu**2 / sigma**2 + 3),
        Mistake("sigma where sigma^2 is meant",
                "g = (mu / sigma) eps + eps^2, so the first part has variance mu^2 / sigma^2: the "
                "score (z - mu) / sigma^2 is divided by the variance.",
                lambda mu, sigma: mu**2 / sigma + 2),
        Mistake("E[eps^4] taken as 1 (it is 3)",
                "for a standard normal E[eps^4] = 3, so Var[eps^2] = 3 - 1 = 2, not 0.",
                lambda mu, sigma: mu**2 / sigma**2),
        Mistake("the score without its 1 / sigma^2, (z - mu) alone",
                "d/dmu log N(z; mu, sigma^2) = (z - mu) / sigma^2; without the division the estimate "
                "is not even centred on the true gradient unless sigma = 1.",
                lambda mu, sigma: mu**2 * sigma**2 + 2 * sigma**4),
    ],
    rtol=1e-6, atol=1e-8,
)


__all__ = ["reparameterize_with_noise", "reparameterize_full_cov", "score_variance_linear"]
