"""The exercises of notebook 01 (latent-variable models and the likelihood integral).

- ``mixture_log_density`` (transfer): p(x) = sum_z p(x|z) p(z) for a discrete z, in log space;
- ``log_marginal_and_ess``: section 8's estimate log (1/N) sum_i w_i and Kish's effective sample size
  (sum_i w_i)^2 / sum_i w_i^2 of its draws, both in log space;
- ``wide_proposal_draws`` (predict): the draws a slightly too wide proposal needs in 200 dimensions;
- ``rho_from_weights`` (predict): what the weights' own estimate of ρ says when one draw carries all the weight.

Solutions: ``solutions/lesson01.py``.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch.distributions import MultivariateNormal, Normal

from .core import Case, Exercise, Mistake, Prediction
from .i18n import N_, _
from .. import toy

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


# --------------------------------------------------------------------------- 2. the estimate and its effective sample size


class _LogJoint:
    """z -> log p(x, z) of a linear-Gaussian model for fixed points x: [N, B, d] -> [N, B]."""

    def __init__(self, model, x):
        self.model, self.x = model, x

    def __call__(self, z):
        return self.model.log_joint(self.x, z)

    def __repr__(self) -> str:
        return f"log p(x, z) of {self.x.shape[0]} points"


class _DiscussedExercise(Exercise):
    """An exercise whose written follow-up question is answered after a correct function."""

    def __init__(self, *args, discussion, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._discussion = discussion

    def _check(self, fn):
        result = super()._check(fn)
        if result.status == "correct":
            result = dataclasses.replace(result, message=result.message + "\n  " + self._discussion())
        return result


def _ess(log_w, dim=0):
    """Kish's (sum w)^2 / sum w^2 over axis ``dim``, from the log-weights: exp(2 lse(log w) - lse(2 log w))."""
    return torch.exp(2 * torch.logsumexp(log_w, dim=dim) - torch.logsumexp(2 * log_w, dim=dim))


def reference_log_marginal_and_ess(log_joint, q, z):
    """(log p_hat_N(x), ESS) for draws z [N, B, d] from q: log (1/N) sum_i w_i and (sum_i w_i)^2 / sum_i w_i^2,
    with w_i = p(x, z_i) / q(z_i|x). Shape [B] each."""
    log_w = log_joint(z) - q.log_prob(z)  # log importance weights, [N, B]
    return _log_mean_exp(log_w), _ess(log_w)


def _estimator_cases() -> list[Case]:
    gen = torch.Generator().manual_seed(7)
    model = toy.make_linear_gaussian(latent_dim=2, data_dim=5, noise_std=0.5, generator=gen)
    x = model.sample(3, generator=gen)[0]
    log_joint = _LogJoint(model, x)
    prior = model.prior()
    posterior = model.posterior(x)
    wide = MultivariateNormal(posterior.mean, scale_tril=1.2 * posterior.scale_tril)
    far_x = model.bias + 30.0  # 30 units from the offset b in each of the 5 coordinates
    far_x = torch.stack([far_x, -far_x])
    far_posterior = model.posterior(far_x)
    far_wide = MultivariateNormal(far_posterior.mean, scale_tril=1.2 * far_posterior.scale_tril)
    return [
        Case((log_joint, prior, toy.sample_gaussian(prior.expand((3,)), 500, generator=gen)),
             "q = the prior, 500 draws for each of 3 points"),
        Case((log_joint, posterior, toy.sample_gaussian(posterior, 10, generator=gen)),
             "q = the posterior"),
        Case((log_joint, wide, toy.sample_gaussian(wide, 40, generator=gen)),
             "q = the posterior 1.2 times too wide, 40 draws"),
        Case((_LogJoint(model, far_x), far_wide, toy.sample_gaussian(far_wide, 200, generator=gen)),
             "points far from the model's data, q 1.2 times too wide: log-weights below −6,700"),
    ]


ESS_DISCUSSION = N_("The follow-up: with q = p(z|x) every weight equals p(x), so ESS = N (case 2: {posterior} of "
                    "10 draws). For large N, Σw/N → E_q[w] = p(x) and Σw²/N → E_q[w²] = ρ·p(x)², with section 8's "
                    "ρ = E_q[(p(z|x)/q(z|x))²]; so ESS/N → 1/ρ. Case 4's q, 1.2 times too wide in d = 2 directions, "
                    "has ρ = 1.05² = 1.10: N/ρ = {n_over_rho} of its 200 draws, and its weights gave {far}. The prior "
                    "of case 1 kept only {prior} of 500 draws.")


def _ess_discussion() -> str:
    cases = _estimator_cases()
    ess = [reference_log_marginal_and_ess(*case.args)[1].tolist() for case in cases]
    rho = (1.2**2 / math.sqrt(2 * 1.2**2 - 1)) ** 2
    return _(ESS_DISCUSSION, posterior=f"{ess[1][0]:.1f}", n_over_rho=f"{200 / rho:.0f}",
             far=" / ".join(f"{v:.0f}" for v in ess[3]), prior=" / ".join(f"{v:.1f}" for v in ess[0]))


def _log_w(log_joint, q, z):
    return log_joint(z) - q.log_prob(z)


def _is_mean_of_logs(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return log_w.mean(0), _ess(log_w)


def _is_no_proposal(log_joint, q, z):
    log_w = log_joint(z)
    return _log_mean_exp(log_w), _ess(log_w)


def _is_plus_log_q(log_joint, q, z):
    log_w = log_joint(z) + q.log_prob(z)
    return _log_mean_exp(log_w), _ess(log_w)


def _is_sum_not_mean(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return torch.logsumexp(log_w, dim=0), _ess(log_w)


def _is_direct_exp(log_joint, q, z):
    w = torch.exp(_log_w(log_joint, q, z))
    return torch.log(w.mean(0)), w.sum(0) ** 2 / (w**2).sum(0)


def _is_ess_direct_exp(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    w = torch.exp(log_w)
    return _log_mean_exp(log_w), w.sum(0) ** 2 / (w**2).sum(0)


def _is_wrong_axis(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return _log_mean_exp(log_w, dim=-1), _ess(log_w, dim=-1)


def _is_ess_upside_down(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return _log_mean_exp(log_w), 1 / _ess(log_w)


def _is_ess_with_means(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return _log_mean_exp(log_w), torch.exp(2 * _log_mean_exp(log_w) - _log_mean_exp(2 * log_w))


def _is_log_ess(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    return _log_mean_exp(log_w), torch.log(_ess(log_w))


def _is_squares_confused(log_joint, q, z):
    log_w = _log_w(log_joint, q, z)
    log_sum = torch.logsumexp(log_w, dim=0)
    return _log_mean_exp(log_w), torch.exp(2 * log_sum - 2 * log_sum)  # log sum w^2 taken as 2 log sum w


log_marginal_and_ess = _DiscussedExercise(
    "log_marginal_and_ess",
    reference_log_marginal_and_ess,
    _estimator_cases,
    hints=[
        "Both numbers come from one [N, B] table of log-weights, log wᵢ = log p(x, zᵢ) − log q(zᵢ|x), one "
        "column per point. The estimate is the log of the mean weight; the ESS compares the square of the sum "
        "of the weights with the sum of their squares. Return them as a pair, (log_p_hat, ess).",
        "Far from the data every wᵢ underflows to 0, and (Σw)²/Σw² becomes 0/0. Never form the weights: work "
        "with the logs of sums, and exponentiate only at the end, once the log of the ESS is an ordinary "
        "number. The ESS does not change when every weight is multiplied by the same constant.",
        "Reduce over the draws (axis 0) with exercise 1's stable log-of-a-sum-of-exponentials. In log space a "
        "mean subtracts log N, a square doubles, a ratio subtracts. Which log-terms give log Σᵢ wᵢ², the log "
        "of a sum of squares?",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the mean of the log-weights where the log of the mean weight is meant",
                "the mean of log w estimates E_q[log w], the bound at the end of section 8, which by Jensen's "
                "inequality lies below log E_q[w] = log p(x): the log goes outside the average.", _is_mean_of_logs, hint=1),
        Mistake("the proposal left out of the weights",
                "the draws come from q, not from the prior: each weight is p(x, z)/q(z|x), so subtract "
                "log q(z|x) from log p(x, z).", _is_no_proposal, hint=1),
        Mistake("log q(z|x) added instead of subtracted",
                "q(z|x) divides p(x, z) in the weight: in log space it is subtracted.", _is_plus_log_q, hint=1),
        Mistake("the sum of the weights where their mean is meant",
                "the estimate is the mean weight, (1/N) Σᵢ wᵢ: subtract log N after the log-sum-exp.",
                _is_sum_not_mean, hint=3),
        Mistake("weights exponentiated before the average (underflow)",
                "far from the data every weight exp(log w) underflows to 0, so the log of the mean is "
                "−∞ and the ESS is 0/0; torch.logsumexp shifts by the largest term first.", _is_direct_exp, hint=2),
        Mistake("the ESS computed from the weights themselves (0/0)",
                "far from the data every weight exp(log w) underflows to 0, and (Σw)²/Σw² is 0/0 = nan. "
                "Build the log of the ratio from log-sum-exps, and exponentiate that.", _is_ess_direct_exp, hint=2),
        Mistake("the average taken over the points instead of over the draws",
                "average over the N draws (axis 0 of the [N, B] table): each result has one value per "
                "point, shape [B].", _is_wrong_axis, hint=3),
        Mistake("the ESS upside down",
                "the ESS is (Σw)²/Σw²: N equal weights give N, not 1/N.", _is_ess_upside_down, hint=1),
        Mistake("the ESS with means where sums are meant",
                "with means, (mean w)²/mean(w²) is the ESS divided by N, a share of the draws; the ESS counts "
                "draws, (Σw)²/Σw².", _is_ess_with_means, hint=1),
        Mistake("the log of the ESS returned",
                "the check wants the ESS itself, a number of draws: exponentiate its log at the end.",
                _is_log_ess, hint=2),
        Mistake("the sum of the squares confused with the square of the sum",
                "Σᵢ wᵢ² (square each weight, then sum) and (Σᵢ wᵢ)² (sum, then square) differ; taken as equal, "
                "every ESS comes out as 1.", _is_squares_confused, hint=3),
    ],
    rtol=1e-6, atol=1e-8,
    discussion=_ess_discussion,
)


# --------------------------------------------------------------------------- 3. a good proposal in more dimensions


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


# --------------------------------------------------------------------------- 4. what the weights say about rho


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
    "never exceeds N: N/ρ̂ is exercise 2's effective sample size, at least 1. The weights can say that an estimate "
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
