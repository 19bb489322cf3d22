"""Exercises of notebook 07 (exploring the latent space · 探索潜空间). Solutions: solutions/lesson07.py."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from .core import Case, Exercise, Mistake, OnPaper, Prediction

LESSON = "lesson07"


def _noise(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --------------------------------------------------------------------------- 1. transfer: log q(z) of the mixture


def _aggregate_log_density(z, mu, log_var):
    """[M]: log q_N(z_m), q_N(z) = (1/N) Σₙ N(z; μₙ, diag σₙ²); z [M, d], mu and log_var [N, d].

    Computed in float64 (the component log densities broadcast to [M, N, d], then one log-sum-exp per code) and
    returned in the inputs' dtype, so that a float32 answer is judged against the exact value.
    """
    z64, mu64, log_var64 = z.double(), mu.double(), log_var.double()
    log_components = Normal(mu64, torch.exp(0.5 * log_var64)).log_prob(z64[:, None, :]).sum(-1)  # [M, N]
    return (torch.logsumexp(log_components, dim=1) - math.log(mu.shape[0])).to(z.dtype)


def _log_components(z, mu, log_var, std=None):
    std = torch.exp(0.5 * log_var) if std is None else std
    return Normal(mu, std).log_prob(z[:, None, :]).sum(-1)  # [M, N]


def _mean_of_logs(z, mu, log_var):
    return _log_components(z, mu, log_var).mean(dim=1)


def _no_log_n(z, mu, log_var):
    return torch.logsumexp(_log_components(z, mu, log_var), dim=1)


def _variance_as_std(z, mu, log_var):
    return torch.logsumexp(_log_components(z, mu, log_var, std=log_var.exp()), dim=1) - math.log(mu.shape[0])


def _one_component(z, mu, log_var):
    return Normal(mu[0], torch.exp(0.5 * log_var[0])).log_prob(z).sum(-1)


def _naive_log_mean(z, mu, log_var):
    return torch.log(torch.exp(_log_components(z, mu, log_var)).mean(dim=1))


def _one_global_max(z, mu, log_var):
    log_components = _log_components(z, mu, log_var)
    top = log_components.max()  # one maximum for the whole [M, N] table, not one per code
    return top + torch.log(torch.exp(log_components - top).mean(dim=1))


def _density_cases():
    cases = []
    for seed, (m, n, d) in enumerate(((3, 5, 2), (4, 7, 3), (1, 6, 2))):
        mu = 1.5 * _noise((n, d), 10 + seed)
        log_var = (0.7 * _noise((n, d), 20 + seed) - 1.0).clamp(-3, 1)
        cases.append(Case((_noise((m, d), 30 + seed), mu, log_var), f"{m} codes, a mixture of {n} in {d}-D"))
    # narrow 20-D components far from the codes: log densities from about -32500 to -65700, whose exp is 0 in float64
    mu, log_var = 3.0 * _noise((6, 20), 13), torch.full((6, 20), -6.0, dtype=torch.float64)
    cases.append(Case((_noise((2, 20), 33), mu, log_var), "2 codes far from 6 narrow 20-D components"))
    # two codes whose log densities are hundreds of nats apart: about -5 for the first, about -800 for the second
    mu, log_var = 0.3 * _noise((5, 2), 14), torch.full((5, 2), -2.0, dtype=torch.float64)
    z = torch.tensor([[0.2, -0.1], [10.5, 10.5]], dtype=torch.float64)
    cases.append(Case((z, mu, log_var), "2 codes in 2-D whose log densities are about 800 nats apart"))
    # float32 at VAE scale: component log densities near -110 nats, a few nats apart
    mu, log_var = 0.3 * _noise((8, 20), 15), 0.1 * _noise((8, 20), 25)
    z = 3.1 + 0.2 * _noise((3, 20), 35)
    cases.append(Case((z.float(), mu.float(), log_var.float()), "float32, 3 codes, log densities near -110"))
    return cases


aggregate_log_density = Exercise(
    "aggregate_log_density", _aggregate_log_density, _density_cases,
    hints=["q_N(z) is an average of N Gaussian densities, and you want its log: log q_N(z) = log (1/N) Σₙ q(z|xₙ), "
           "the log of the average, not the average of the logs. Work on the log scale throughout.",
           "You need all M × N component log densities at once: give z a middle axis, [M, 1, d], so that it "
           "broadcasts against the [N, d] parameters to [M, N, d]; then add up the d coordinates. The standard "
           "deviation is σ = exp(½ log σ²). One check case has 20-D codes far from narrow components: each density is "
           "at most e^(−32000), 0 even in float64, while its log is an ordinary number.",
           "Never exponentiate the log densities yourself: exp(−110) is 0 in float32. The log of a sum of "
           "exponentials is computed safely by pulling out the largest term of each code's row (one maximum per "
           "code, not one for the whole table); and since the mean is the sum times 1/N, on the log scale it is "
           "that log-sum minus log N."],
    lesson=LESSON,
    mistakes=[
        Mistake("the mean of the logs instead of the log of the mean",
                "averaging log q(z|xₙ) over n gives a lower bound on log q_N(z) (Jensen's inequality), "
                "not the log of the mixture's density.", _mean_of_logs, hint=1),
        Mistake("log N left out", "logsumexp gives the log of the *sum* of the N densities; the mixture "
                "weights each by 1/N, so subtract log N.", _no_log_n, hint=3),
        Mistake("exp(log_var) used as the standard deviation",
                "exp(log_var) is the variance σ²; the standard deviation is σ = exp(½ log σ²).",
                _variance_as_std, hint=2),
        Mistake("the density of one component only", "q_N(z) mixes all N encoder Gaussians, not the first one.",
                _one_component, hint=1),
        Mistake("the log of the mean of exp, computed directly (it underflows)",
                "a 20-D log density of −32500 has exp(−32500) = 0 even in float64 (and exp(−110) = 0 in float32), "
                "so log(mean(exp(·))) gives −∞; torch.logsumexp subtracts each row's largest term before "
                "exponentiating.", _naive_log_mean, hint=3),
        Mistake("one maximum for the whole table instead of one per code",
                "with codes whose log densities are 800 nats apart, subtracting the overall maximum still leaves "
                "exp(−800) = 0 in the other code's row; subtract each code's own maximum (torch.logsumexp(…, dim=1) "
                "does).", _one_global_max, hint=3),
    ],
    rtol=1e-5, atol=1e-8)

# --------------------------------------------------------------------------- 2. derive: KL(q(z) || p(z)) from below


def _kl_to_prior(m, var):
    """KL(N(m, diag var) || N(0, I)), summed over the coordinates."""
    return 0.5 * (var + m.pow(2) - 1 - var.log()).sum()


def _moment_matched_kl(mu, log_var):
    """KL(g || N(0, I)) for g = N(m, diag s^2), the Gaussian with the mixture q_N's mean and coordinate variances."""
    m = mu.mean(dim=0)
    s2 = log_var.exp().mean(dim=0) + mu.var(dim=0, unbiased=False)  # law of total variance
    return _kl_to_prior(m, s2)


def _moments_cases():
    cases = []
    for seed, (n, d) in enumerate(((5, 3), (8, 2), (4, 6))):
        mu = 0.3 + 0.8 * _noise((n, d), 50 + seed)
        log_var = (0.6 * _noise((n, d), 60 + seed) - 1.5).clamp(-4, 0.5)
        cases.append(Case((mu, log_var), f"{n} encoder Gaussians in {d}-D"))
    return cases


def _means_only(mu, log_var):
    return _kl_to_prior(mu.mean(0), mu.var(0, unbiased=False))


def _variances_only(mu, log_var):
    return _kl_to_prior(mu.mean(0), log_var.exp().mean(0))


def _unbiased(mu, log_var):
    return _kl_to_prior(mu.mean(0), log_var.exp().mean(0) + mu.var(0))


def _std_as_variance(mu, log_var):
    return _kl_to_prior(mu.mean(0), torch.exp(0.5 * log_var).mean(0) + mu.var(0, unbiased=False))


def _second_moment_as_variance(mu, log_var):
    return _kl_to_prior(mu.mean(0), (log_var.exp() + mu.pow(2)).mean(0))


def _average_kl(mu, log_var):
    return (-0.5 * (1 + log_var - mu.pow(2) - log_var.exp())).sum(1).mean()


def _reverse_kl(mu, log_var):
    m, s2 = mu.mean(0), log_var.exp().mean(0) + mu.var(0, unbiased=False)
    return 0.5 * ((1 + m.pow(2)) / s2 - 1 + s2.log()).sum()


def _mean_over_dims(mu, log_var):
    m, s2 = mu.mean(0), log_var.exp().mean(0) + mu.var(0, unbiased=False)
    return 0.5 * (s2 + m.pow(2) - 1 - s2.log()).mean()


moment_matched_kl = Exercise(
    "moment_matched_kl", _moment_matched_kl, _moments_cases,
    hints=["Draw z from q_N(z) in two steps: pick an image n, then z from q(z|xₙ). The mean of z is the average "
           "of the means; its variance is not the average of the variances alone.",
           "The law of total variance: Var(zⱼ) = Eₙ[Var(zⱼ | n)] + Varₙ(E[zⱼ | n]), both over the N images "
           "with weight 1/N each.",
           "Both averages weigh each of the N images by exactly 1/N (a population variance, not a sample one). With "
           "m and s² in hand, notebook 04's closed form for one coordinate applies to KL(g ‖ p); "
           "add up the coordinates."],
    lesson=LESSON,
    mistakes=[
        Mistake("the mean term m² left out",
                "KL(N(m, s²) ‖ N(0, 1)) = ½(s² + m² − 1 − log s²) per coordinate: the mixture's mean m counts too.",
                lambda mu, log_var: _kl_to_prior(torch.zeros_like(mu.mean(dim=0)),
                                                 log_var.exp().mean(dim=0) + mu.var(dim=0, unbiased=False))),
        Mistake("only the spread of the means as the variance",
                "each q(z|xₙ) has its own width too: Var(zⱼ) = Eₙ[σⱼ²] + Varₙ(μⱼ).", _means_only, hint=2),
        Mistake("only the encoders' variances",
                "the means differ from image to image, and that spread adds to the variance: "
                "Var(zⱼ) = Eₙ[σⱼ²] + Varₙ(μⱼ).", _variances_only, hint=2),
        Mistake("the spread of the means divided by N − 1",
                "q_N(z) is the mixture of exactly these N Gaussians, each with weight 1/N: its variance is an "
                "average over them (unbiased=False), not an estimate from a sample.", _unbiased, hint=3),
        Mistake("σ where σ² is meant", "exp(0.5 * log_var) is the standard deviation σ; the law of total "
                "variance adds variances, σ² = exp(log_var).", _std_as_variance, hint=2),
        Mistake("the second moment used as the variance",
                "E[zⱼ²] = sⱼ² + mⱼ²: with the mean also in the KL, mⱼ² is counted twice.",
                _second_moment_as_variance, hint=2),
        Mistake("the average of the per-image KLs",
                "that is the KL term of the ELBO, I(n; z) + KL(q_N ‖ p) (section 5): an upper bound, "
                "not the KL of the aggregate's Gaussian.", _average_kl),
        Mistake("KL in the wrong direction", "KL(p ‖ g) is another number; the lower bound is KL(g ‖ p), "
                "the expectation under g of log g − log p.", _reverse_kl, hint=3),
        Mistake("averaged over the dimensions instead of summed",
                "the KL of a Gaussian with independent coordinates is the sum of the coordinates' KLs.",
                _mean_over_dims, hint=3),
    ],
    rtol=1e-6, atol=1e-9)

# --------------------------------------------------------------------------- exercise 3, on paper


shift_and_rescale = OnPaper("shift_and_rescale", LESSON)

# --------------------------------------------------------------------------- 3. predict: the midpoint's length

#: the options of the prediction, and the length each stands for
MIDPOINT_CHOICES = {"a": math.sqrt(40), "b": math.sqrt(20), "c": math.sqrt(10), "d": math.sqrt(5)}


def _midpoint_length(d: int = 20, n: int = 20000) -> float:
    """The average length of the midpoint (z_a + z_b) / 2 of two independent draws of N(0, I_d), measured."""
    g = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)
    return float(((z_a + z_b) / 2).norm(dim=1).mean())


def _midpoint_choice() -> str:
    """The option nearest to the measured average length."""
    measured = _midpoint_length()
    return min(MIDPOINT_CHOICES, key=lambda c: abs(MIDPOINT_CHOICES[c] - measured))


midpoint_length = Prediction(
    "midpoint_length", _midpoint_choice, lesson=LESSON, choices=list(MIDPOINT_CHOICES),
    explain="a draw of N(0, I₂₀) has length close to √20 ≈ 4.47, but the midpoint (z_a + z_b)/2 of two "
    "independent draws is N(0, ½ I₂₀): its length is close to √10 ≈ 3.16 (3.12 on average, measured "
    "over 20000 pairs). The middle of a straight line between two prior draws lies well inside the sphere, off "
    "the thin shell at radius √20 where the prior puts almost all its draws. Section 4's second moments near 1 give "
    "the 20-D model's test codes a mean squared length of about 22, near the prior's 20, so a midpoint is also much "
    "shorter than a typical code. Whether it lands in section 7's holes, the paragraph after this exercise measures. Spherical "
    "interpolation, which keeps the length, was proposed for paths between prior draws (White, 2016).",
    hints=["Each coordinate of (z_a + z_b) / 2 is the average of two independent N(0, 1) values: what is its variance?",
           "The length of a d-dimensional vector with independent coordinates of variance v is close to √(d v)."],
    mistakes={"a": "√40 is the length of the sum z_a + z_b, whose coordinates have variance 2; the midpoint is half "
                   "the sum, which divides each variance by 4.",
              "b": "that is the length of a single draw; averaging two independent draws halves every variance.",
              "d": "halving the length would mean halving the standard deviation; averaging halves the variance."})

__all__ = ["MIDPOINT_CHOICES", "aggregate_log_density", "midpoint_length", "moment_matched_kl", "shift_and_rescale"]
