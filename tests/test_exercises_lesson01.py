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
    # the prediction of exercise 4: weights 300 nats apart, as for section 8's digits, give rho_hat = N
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


def test_estimate_is_exact_with_the_posterior_and_the_ess_tends_to_n_over_rho():
    # section 8: q = p(z|x) makes every weight p(x), so the estimate is exact and ESS = N; with q = p(z),
    # the follow-up's limit ESS/N -> 1/rho, rho from section 4's closed form
    gen = torch.Generator().manual_seed(0)
    model = toy.make_linear_gaussian(latent_dim=2, data_dim=5, noise_std=0.5, generator=gen)
    x, _ = model.sample(3, generator=gen)
    exact = model.marginal().log_prob(x)
    log_joint = lesson01._LogJoint(model, x)
    posterior = model.posterior(x)
    log_p, ess = lesson01.reference_log_marginal_and_ess(log_joint, posterior, toy.sample_gaussian(posterior, 7, generator=gen))
    assert torch.allclose(log_p, exact, atol=1e-10) and torch.allclose(ess, torch.full_like(ess, 7.0), rtol=1e-10)
    prior = model.prior()
    z = toy.sample_gaussian(prior.expand((3,)), 400_000, generator=gen)
    log_p, ess = lesson01.reference_log_marginal_and_ess(log_joint, prior, z)
    assert ((log_p - exact).abs() < 0.05).all()
    rho = toy.log_second_moment_ratio(model, x).exp()
    assert ((ess / (len(z) / rho) - 1).abs() < 0.03).all(), (ess, len(z) / rho)


def test_estimate_written_with_a_loop_over_points_and_normalised_weights_passes():
    def by_points(log_joint, q, z):
        log_w = log_joint(z) - q.log_prob(z)
        log_p, ess = [], []
        for b in range(log_w.shape[1]):
            log_p.append(torch.logsumexp(log_w[:, b], 0) - math.log(len(log_w)))
            share = torch.softmax(log_w[:, b], 0)  # w_i / sum w: stable, and the ESS is 1 / sum share^2
            ess.append(1 / (share**2).sum())
        return torch.stack(log_p), torch.stack(ess)

    result = lesson01.log_marginal_and_ess.check(by_points, verbose=False)
    assert result.passed
    assert "1/ρ" in result.message and "10.0 of 10 draws" in result.message and "181 of its 200" in result.message


def test_a_wrong_answer_gets_no_discussion():
    def elbo_like(log_joint, q, z):
        log_w = log_joint(z) - q.log_prob(z)
        return torch.mean(log_w, dim=0), lesson01._ess(log_w)

    result = lesson01.log_marginal_and_ess.check(elbo_like, verbose=False)
    assert result.status == "incorrect" and result.mistake.startswith("the mean of the log-weights")
    assert "Jensen" in result.message and "1/ρ" not in result.message


def test_estimate_with_densities_fails_only_far_from_the_data():
    def with_densities(log_joint, q, z):
        w = log_joint(z).exp() / q.log_prob(z).exp()
        return w.mean(0).log(), w.sum(0).pow(2) / w.pow(2).sum(0)

    result = lesson01.log_marginal_and_ess.check(with_densities, verbose=False)
    assert result.status == "incorrect" and "case 4" in result.message and "underflow" in result.message
    # the same weights, each first shifted by the largest log-weight of its point: stable, and right
    def shifted(log_joint, q, z):
        log_w = log_joint(z) - q.log_prob(z)
        top = log_w.max(0).values
        w = (log_w - top).exp()
        return top + w.mean(0).log(), w.sum(0).pow(2) / w.pow(2).sum(0)

    assert lesson01.log_marginal_and_ess.check(shifted, verbose=False).passed


def test_ess_from_exponentiated_weights_is_named_on_the_far_points():
    def naive_ess(log_joint, q, z):
        log_w = log_joint(z) - q.log_prob(z)
        w = torch.exp(log_w)
        return torch.logsumexp(log_w, 0) - math.log(len(log_w)), w.sum(0) ** 2 / (w * w).sum(0)

    result = lesson01.log_marginal_and_ess.check(naive_ess, verbose=False)
    assert result.status == "incorrect" and "case 4" in result.message and result.mistake.startswith("the ESS computed")
    assert "nan" in result.message


def test_ess_as_a_share_of_the_draws_is_named():
    def share(log_joint, q, z):
        log_w = log_joint(z) - q.log_prob(z)
        n = len(log_w)
        log_mean = torch.logsumexp(log_w, 0) - math.log(n)
        return log_mean, torch.exp(2 * log_mean - (torch.logsumexp(2 * log_w, 0) - math.log(n)))

    result = lesson01.log_marginal_and_ess.check(share, verbose=False)
    assert result.status == "incorrect" and result.mistake == "the ESS with means where sums are meant"


def test_no_estimator_hint_is_the_solution_code():
    hints = " ".join(lesson01.log_marginal_and_ess.hints)
    assert "logsumexp(" not in hints and "2 * log_w" not in hints and "exp(2" not in hints
