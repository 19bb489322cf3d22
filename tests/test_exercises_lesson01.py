"""Notebook 01's exercises, answered the way a reader might (right, and with typical mistakes).

The generic checks (solution passes, stub not attempted, every listed mistake named) are in
tests/test_exercises.py; here the mistakes are written independently of the listed ones.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from vae_helpers import toy
from vae_helpers.exercises import lesson01


def test_mixture_written_with_explicit_loops_passes():
    def by_loops(x, log_weights, means, sigma):
        rows = []
        for xb in x:
            terms = [lw + Normal(m, sigma).log_prob(xb) for lw, m in zip(log_weights, means)]
            rows.append(torch.logsumexp(torch.stack(terms), dim=0))
        return torch.stack(rows)

    assert lesson01.mixture_log_density.check(by_loops, verbose=False).passed


def test_mixture_with_the_log_inside_the_sum_is_named():
    def jensen(x, log_weights, means, sigma):
        log_n = -0.5 * torch.log(torch.tensor(2 * math.pi * sigma**2)) - (x[:, None] - means) ** 2 / (2 * sigma**2)
        return (torch.exp(log_weights) * log_n).sum(dim=1)

    result = lesson01.mixture_log_density.check(jensen, verbose=False)
    assert result.status == "incorrect" and result.mistake.startswith("the mean of the logs")
    assert "Jensen" in result.message and "case 1" in result.message


def test_mixture_computed_with_densities_fails_only_far_from_the_components():
    def with_densities(x, log_weights, means, sigma):
        density = torch.exp(-(x[:, None] - means) ** 2 / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
        return torch.log(density @ torch.exp(log_weights))

    result = lesson01.mixture_log_density.check(with_densities, verbose=False)
    assert result.status == "incorrect" and "case 4" in result.message and "underflow" in result.message


def test_mixture_that_ignores_the_weights_is_named():
    def unweighted(x, log_weights, means, sigma):
        return torch.log(torch.exp(Normal(means, sigma).log_prob(x[:, None])).mean(-1))

    result = lesson01.mixture_log_density.check(unweighted, verbose=False)
    # wrong on the first case already; on the far points it also underflows, so no single mistake fits
    assert result.status == "incorrect" and "case 1" in result.message


def test_rho_estimate_from_prior_draws_matches_the_closed_form():
    # section 5's toy model (d = 2, D = 5, sigma = 0.5): rho estimated from 200,000 prior draws of each x
    gen = torch.Generator().manual_seed(0)
    model = toy.make_linear_gaussian(latent_dim=2, data_dim=5, noise_std=0.5, generator=gen)
    x, _ = model.sample(3, generator=gen)
    z = torch.randn((200_000, 1, 2), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    log_w = model.likelihood(z).log_prob(x)  # log p(x_b | z_i), [N, 3]
    estimate = lesson01.reference_log_rho_estimate(log_w).exp()
    exact = toy.log_second_moment_ratio(model, x).exp()
    assert ((estimate / exact - 1).abs() < 0.05).all(), (estimate, exact)


def test_rho_estimate_never_exceeds_n_however_large_rho_is():
    # the question at the end of the exercise: sum w^2 <= (sum w)^2, so rho_hat <= N
    log_w = 40.0 * torch.randn((1_000, 4), generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    log_rho = lesson01.reference_log_rho_estimate(log_w)
    assert (log_rho <= math.log(1_000) + 1e-9).all() and (log_rho > math.log(1_000) - 1.0).all()


def test_rho_from_weights_answer_is_n_when_one_draw_dominates():
    # the prediction of exercise 3: weights 300 nats apart, as for section 8's digits, give rho_hat = N
    log_w = torch.randn((10_000, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64) * 20
    log_w[0] += 300.0  # one draw carries all of the weight
    rho_hat = lesson01.reference_log_rho_estimate(log_w).exp()
    assert ((rho_hat / 1e4 - 1).abs() < 1e-6).all(), rho_hat
    assert lesson01.RHO_HAT_CHOICES[lesson01.rho_from_weights.answer()] == 1e4


def test_wide_proposal_prediction_matches_a_measurement():
    # rho of a q widened 1.2-fold around a Gaussian posterior, measured by Monte Carlo in 1-D, then multiplied
    c, n = 1.2, 400_000
    z = c * torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = Normal(0.0, 1.0).log_prob(z).exp() / Normal(0.0, c).log_prob(z).exp()  # p(z|x) / q(z|x)
    per_direction = w.pow(2).mean().item()
    assert abs(per_direction - c**2 / math.sqrt(2 * c**2 - 1)) < 0.002
    draws = (per_direction**200 - 1) / 0.1**2
    closest = min(lesson01.DRAWS_CHOICES, key=lambda k: abs(math.log(lesson01.DRAWS_CHOICES[k] / draws)))
    assert closest == lesson01.wide_proposal_draws.answer() == "c"
    assert abs(lesson01.wide_proposal_draws_answer(latent_dim=20) - 166) < 1  # section 9: d = 20
    per_widening = lesson01.wide_proposal_draws.check("d", verbose=False)
    assert per_widening.status == "incorrect" and "1.05" in per_widening.message
    assert abs(math.log10(1.2**200 / 0.1**2) - math.log10(lesson01.DRAWS_CHOICES["d"])) < 0.1


def test_no_hint_is_the_solution_code():
    ex = lesson01.mixture_log_density
    assert not any("logsumexp(log_weights +" in hint for hint in ex.hints), ex.name
    assert not any("10⁴" in hint or "10,000" in hint for hint in lesson01.rho_from_weights.hints)
    assert not any("million" in hint or "18,000" in hint for hint in lesson01.wide_proposal_draws.hints)


def test_mixture_with_one_global_maximum_fails_on_the_issue_27_cases():
    def mix_one_max(x, log_weights, means, sigma):
        t = log_weights + Normal(means, sigma).log_prob(x.unsqueeze(-1))
        m = t.max()
        return m + torch.log(torch.exp(t - m).sum(-1))

    assert not lesson01.mixture_log_density.check(mix_one_max, verbose=False).passed
    for case in lesson01.mixture_log_density.cases()[-2:]:  # 800 nats apart, float32 near −110
        assert not torch.isfinite(mix_one_max(*case.args) if "apart" in case.label
                                  else lesson01._mix_direct_exp(*case.args)).all()
