"""The exercises of notebook 01 (latent-variable models and the likelihood integral).

- ``mixture_log_density`` (transfer): p(x) = sum_z p(x|z) p(z) for a discrete z, in log space;
- ``wide_proposal_draws`` (predict): the draws a slightly too wide proposal needs in 200 dimensions;
- ``rho_from_weights`` (predict): what the weights' own estimate of ρ says when one draw carries all the weight.

Solutions: ``solutions/lesson01.py``.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from .core import Case, Exercise, Mistake, Prediction

_F64 = torch.float64
LESSON = "lesson01"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


# --------------------------------------------------------------------------- 1. a finite mixture


def _log_components(x, means, sigma):
    """log N(x_b; mean_k, sigma^2) as a [B, K] table."""
    return Normal(means, sigma).log_prob(x.unsqueeze(-1))


def reference_mixture_log_density(x, log_weights, means, sigma):
    """log p(x) = log sum_k pi_k N(x; mu_k, sigma^2) for each x, shape [B]."""
    return torch.logsumexp(log_weights + _log_components(x, means, sigma), dim=-1)


def _mixture_cases() -> list[Case]:
    cases = []
    for seed, (b, k, sigma) in enumerate(((5, 3, 0.7), (4, 2, 1.5), (2, 6, 0.3))):
        x = 2.0 * _randn((b,), seed)
        log_weights = torch.log_softmax(_randn((k,), 10 + seed), dim=0)  # uneven mixing weights
        means = 2.0 * _randn((k,), 20 + seed)
        cases.append(Case((x, log_weights, means, sigma), f"{b} points, {k} components"))
    far = torch.tensor([0.5, 40.0, -60.0], dtype=_F64)  # far from every component: densities underflow
    log_weights = torch.log(torch.tensor([0.2, 0.5, 0.3], dtype=_F64))
    cases.append(Case((far, log_weights, torch.tensor([-1.0, 0.0, 2.0], dtype=_F64), 0.5),
                      "points far from every component"))
    # rows hundreds of nats apart: log N(x; μₖ, σ²) near −5 for the first point, near −800 for the second,
    # so one maximum for the whole table (instead of one per point) underflows for the second point
    apart = torch.tensor([3.0, 40.0], dtype=_F64)
    cases.append(Case((apart, torch.log(torch.tensor([0.6, 0.4], dtype=_F64)), torch.tensor([0.0, 0.5], dtype=_F64), 1.0),
                      "two points whose log-terms are about 800 nats apart"))
    # float32 at VAE scale: every log-term near −110, a few nats apart; exp(−110) underflows in float32
    near = torch.tensor([15.0, -14.5, 15.3], dtype=torch.float32)
    cases.append(Case((near, torch.log(torch.tensor([0.3, 0.7], dtype=torch.float32)),
                       torch.tensor([0.0, 0.4], dtype=torch.float32), 1.0),
                      "float32, log-terms near −110"))
    return cases


def _mix_mean_of_logs(x, log_weights, means, sigma):
    return (log_weights.exp() * _log_components(x, means, sigma)).sum(-1)


def _mix_no_weights(x, log_weights, means, sigma):
    return torch.logsumexp(_log_components(x, means, sigma), dim=-1) - math.log(means.shape[0])


def _mix_direct_exp(x, log_weights, means, sigma):
    dens = torch.exp(_log_components(x, means, sigma))
    return torch.log((log_weights.exp() * dens).sum(-1))


def _mix_sigma_as_variance(x, log_weights, means, sigma):
    return torch.logsumexp(log_weights + Normal(means, math.sqrt(sigma)).log_prob(x.unsqueeze(-1)), dim=-1)


def _mix_variance_as_scale(x, log_weights, means, sigma):
    return torch.logsumexp(log_weights + Normal(means, sigma**2).log_prob(x.unsqueeze(-1)), dim=-1)


def _mix_no_constant(x, log_weights, means, sigma):
    log_kernel = -((x.unsqueeze(-1) - means) ** 2) / (2 * sigma**2)
    return torch.logsumexp(log_weights + log_kernel, dim=-1)


def _mix_max(x, log_weights, means, sigma):
    return (log_weights + _log_components(x, means, sigma)).max(dim=-1).values


def _mix_wrong_axis(x, log_weights, means, sigma):
    return torch.logsumexp(log_weights + _log_components(x, means, sigma), dim=0)


mixture_log_density = Exercise(
    "mixture_log_density",
    reference_mixture_log_density,
    _mixture_cases,
    hints=[
        "This is the likelihood integral with a discrete z: the integral over z becomes a sum over "
        "the K components, each weighted by its prior probability πₖ = exp(log_weights[k]). The log "
        "goes outside the sum: log p(x) = log Σₖ πₖ N(x; μₖ, σ²).",
        "Far from every component each density N(x; μₖ, σ²) underflows to 0, but its log is an "
        "ordinary number. Work with the logs: keep log πₖ + log N(x_b; μₖ, σ²) in a [B, K] table "
        "(one row per point, one column per component), and never form the densities themselves.",
        "Build the [B, K] table of log πₖ + log N(x_b; μₖ, σ²) by broadcasting x against the K means. "
        "Each row holds the log-terms of one point: reduce each row, over the component axis, with the "
        "stable log-of-a-sum-of-exponentials, which shifts each row by its own largest term, so that each "
        "point gets one number.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the log-weights dropped altogether",
                "each component counts with its weight: add log π_k to its log-density inside the log-sum-exp; "
                "without it the sum adds the K densities instead of weighting them.",
                lambda x, log_weights, means, sigma: torch.logsumexp(_log_components(x, means, sigma), dim=-1), hint=2),
        Mistake("the mean of the logs where the log of the mean is meant",
                "Σₖ πₖ log N(x; μₖ, σ²) is E_z[log p(x|z)], which by Jensen's inequality is "
                "below log E_z[p(x|z)] = log p(x): the log goes outside the sum.", _mix_mean_of_logs, hint=1),
        Mistake("the mixing weights left out",
                "averaging the K densities with equal weights 1/K ignores p(z): each component counts "
                "with its prior probability πₖ.", _mix_no_weights, hint=1),
        Mistake("densities exponentiated before the sum (underflow)",
                "far from every component each density exp(log N) underflows to 0, so the log of the "
                "sum is −∞; torch.logsumexp shifts by the largest term first.", _mix_direct_exp, hint=2),
        Mistake("σ written where σ² is meant",
                "the density has (x − μ)²/(2σ²) and log(2πσ²): with σ in place of "
                "σ² it is a Gaussian of variance σ, not σ².", _mix_sigma_as_variance),
        Mistake("σ² given as the scale of Normal",
                "Normal(loc, scale) takes the standard deviation σ, not the variance σ².",
                _mix_variance_as_scale),
        Mistake("the normalising constant of the Gaussian dropped",
                "log N(x; μ, σ²) includes −½ log(2πσ²); without it p(x) does not "
                "integrate to one.", _mix_no_constant),
        Mistake("only the most probable component kept (max instead of logsumexp)",
                "the max is a lower bound on the log of the sum: every component contributes to p(x), "
                "not only the best one.", _mix_max, hint=3),
        Mistake("the sum taken over the batch instead of over the components",
                "reduce over the K components (the last axis of the [B, K] table): the result has one "
                "value per point, shape [B].", _mix_wrong_axis, hint=3),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- 2. a good proposal in more dimensions


def wide_proposal_draws_answer(widen: float = 1.2, latent_dim: int = 200, rel_error: float = 0.1) -> float:
    """(rho - 1) / delta^2 for q = the posterior widened c-fold in each of d directions (Gaussians)."""
    rho = (widen**2 / math.sqrt(2 * widen**2 - 1)) ** latent_dim
    return (rho - 1) / rel_error**2


DRAWS_CHOICES = {"a": 170, "b": 2_600, "c": 1_800_000, "d": 7e17}

wide_proposal_draws = Prediction(
    "wide_proposal_draws",
    answer="c",
    lesson=LESSON,
    choices=list(DRAWS_CHOICES),
    explain="Over independent directions the ratio ρ multiplies: 1.05 per direction gives ρ = 1.05²⁰ = 2.66 "
    "for d = 20 and 1.05²⁰⁰ = 2.66¹⁰ ≈ 18,000 for d = 200. A 10 % error then takes (ρ − 1)/0.1² ≈ 1.8 million "
    "draws. Even a proposal that is only a little off in each direction pays exponentially in d, so an "
    "encoder has to fit the posterior closely.",
    hints=[
        "Section 8's ρ for d = 20 is a product of 20 equal factors, one per direction. What is one factor?",
        "In d = 200 directions there are ten times as many factors. How does ρ grow: ten times, or to the tenth power?",
        "Section 4 turned ρ into a number of draws for a relative error δ. Use it with δ = 0.1.",
    ],
    mistakes={
        "a": "1.7×10² draws is the cost for d = 20. The widening per direction is the same, but ρ is a product "
        "over directions: ten times the directions raise it to the tenth power.",
        "b": "2.6×10³ ≈ (10 × 2.66 − 1)/0.1² lets ρ grow ten times, from 2.66 to 26.6. But ρ is a product "
        "over directions: ten times the directions raise it to the tenth power, 2.66¹⁰ ≈ 18,000.",
        "d": "6.9×10¹⁷ ≈ 1.2²⁰⁰/0.1² takes the widening c = 1.2 as the factor per direction. The factor is "
        "c²/√(2c² − 1) = 1.05: a proposal slightly too wide costs little per direction, though the "
        "directions still multiply.",
    },
)


# --------------------------------------------------------------------------- 3. what the weights say about rho


def reference_log_rho_estimate(log_w):
    """log rho_hat = log mean(w^2) - 2 log mean(w), over the N draws (axis 0) of each column. Shape [B]."""
    return _log_mean_exp(2 * log_w) - 2 * _log_mean_exp(log_w)


def _log_mean_exp(a, dim=0):
    return torch.logsumexp(a, dim=dim) - math.log(a.shape[dim])


RHO_HAT_CHOICES = {"a": 1e18, "b": 1e4, "c": 100.0, "d": 1.0}

rho_from_weights = Prediction(
    "rho_from_weights",
    answer="b",
    lesson=LESSON,
    choices=list(RHO_HAT_CHOICES),
    explain="With sums, ρ̂ = N·Σw²/(Σw)². When one draw carries all of the weight, Σw² ≈ (Σw)², so ρ̂ ≈ N = 10⁴, "
    "whatever the true ρ (about 10¹⁸ for this digit). In general N·s² ≤ ρ̂ ≤ N·s for the heaviest share s, so ρ̂ "
    "never exceeds N: N/ρ̂ is Kish's effective sample size, at least 1. The weights can say that an estimate "
    "rests on one draw, but not how far off it is.",
    hints=[
        "The averages divide by N, the number of prior draws per digit in section 7. Write ρ̂ with sums, "
        "Σw² and Σw, and keep track of the N's.",
        "When one draw carries nearly all of the weight, how do Σw² and (Σw)² compare?",
        "The ratio of the sums is then near 1. Put back the N's of hint 1: which factor is left over?",
    ],
    mistakes={
        "a": "About 10¹⁸ is the true ρ of this digit. But ρ̂ = N·Σw²/(Σw)² is built from these 10⁴ weights, and "
        "Σw² ≤ (Σw)² for positive weights: it cannot exceed N.",
        "c": "100 = √N would come from an sd, but ρ̂ is a ratio of second moments: Σw² ≈ (Σw)² leaves the full "
        "factor N of the averages.",
        "d": "ρ̂ ≈ 1 means nearly equal weights, as for a proposal near the posterior. Here one draw holds all "
        "of the weight, the opposite case.",
    },
)
