"""Exercises of notebook 07, answered the way a reader would write them
(tests/test_exercises.py: every solution passes, every stub reads as not attempted)."""

import math

import torch

from vae_helpers.exercises import lesson07


def test_mixture_density_with_the_largest_term_pulled_out_passes():
    def stable(z, mu, log_var):
        var = log_var.exp()
        per = -0.5 * (((z[:, None] - mu) ** 2) / var + torch.log(2 * math.pi * var)).sum(-1)  # [M, N]
        top = per.max(1, keepdim=True).values
        return (top + torch.log(torch.exp(per - top).mean(1, keepdim=True)))[:, 0]

    assert lesson07.aggregate_log_density.check(stable, verbose=False).passed


def test_mixture_density_as_a_loop_over_components_underflows_and_is_named():
    def loop(z, mu, log_var):
        total = 0
        for m, lv in zip(mu, log_var):
            var = lv.exp()
            total = total + torch.exp(-0.5 * ((z - m) ** 2 / var + torch.log(2 * math.pi * var)).sum(1))
        return torch.log(total / len(mu))

    result = lesson07.aggregate_log_density.check(loop, verbose=False)
    assert result.mistake == "the log of the mean of exp, computed directly (it underflows)"
    assert "case 4" in result.message and "-inf" in result.message


def test_mean_of_logs_written_by_hand_is_named():
    def mean_of_logs(z, mu, log_var):
        var = log_var.exp()
        per = -0.5 * (((z[:, None] - mu) ** 2) / var + torch.log(2 * math.pi * var)).sum(-1)
        return per.mean(1)

    result = lesson07.aggregate_log_density.check(mean_of_logs, verbose=False)
    assert result.mistake == "the mean of the logs instead of the log of the mean"


def test_logsumexp_without_log_n_is_named():
    def no_log_n(z, mu, log_var):
        d = torch.distributions.Normal(mu, log_var.mul(0.5).exp())
        return d.log_prob(z.unsqueeze(1)).sum(2).logsumexp(1)

    assert lesson07.aggregate_log_density.check(no_log_n, verbose=False).mistake == "log N left out"


def test_logsumexp_over_the_wrong_axis_is_wrong():
    def wrong_axis(z, mu, log_var):
        d = torch.distributions.Normal(mu, log_var.mul(0.5).exp())
        return d.log_prob(z.unsqueeze(1)).sum(2).logsumexp(0) - math.log(len(mu))

    result = lesson07.aggregate_log_density.check(wrong_axis, verbose=False)
    assert result.status == "incorrect" and "shape" in result.message


def test_moment_matched_kl_from_the_second_moment_passes():
    def via_second_moment(mu, log_var):
        m = mu.mean(0)
        second = (mu ** 2 + log_var.exp()).mean(0)  # E[z_j^2], as in section 3
        var = second - m ** 2
        return torch.sum(-0.5 * (1 + torch.log(var) - m ** 2 - var))

    assert lesson07.moment_matched_kl.check(via_second_moment, verbose=False).passed


def test_moment_matched_kl_with_torch_distributions_passes():
    def with_distributions(mu, log_var):
        m = mu.mean(0)
        std = torch.sqrt(log_var.exp().mean(0) + ((mu - m) ** 2).mean(0))
        g, p = torch.distributions.Normal(m, std), torch.distributions.Normal(torch.zeros_like(m), 1.0)
        return torch.distributions.kl_divergence(g, p).sum()

    assert lesson07.moment_matched_kl.check(with_distributions, verbose=False).passed


def test_a_tolerance_of_one_percent_does_not_pass():
    def off(mu, log_var):
        return lesson07._moment_matched_kl(mu, log_var) * 1.01

    assert not lesson07.moment_matched_kl.check(off, verbose=False).passed


def test_torch_var_default_is_named():
    def default_var(mu, log_var):
        m, var = mu.mean(0), log_var.exp().mean(0) + torch.var(mu, 0)
        return 0.5 * torch.sum(var + m ** 2 - 1 - torch.log(var))

    result = lesson07.moment_matched_kl.check(default_var, verbose=False)
    assert result.mistake == "the spread of the means divided by N − 1"


def test_the_activity_alone_as_the_variance_is_named():
    def activity_only(mu, log_var):
        m, var = mu.mean(0), ((mu - mu.mean(0)) ** 2).mean(0)
        return 0.5 * torch.sum(var + m ** 2 - 1 - torch.log(var))

    result = lesson07.moment_matched_kl.check(activity_only, verbose=False)
    assert result.mistake == "only the spread of the means as the variance"


def test_the_elbo_kl_term_is_named():
    def elbo_kl(mu, log_var):
        return torch.mean(torch.sum(0.5 * (mu ** 2 + log_var.exp() - 1 - log_var), 1))

    assert lesson07.moment_matched_kl.check(elbo_kl, verbose=False).mistake == "the average of the per-image KLs"


def test_the_bound_holds_for_a_mixture():
    """KL(g || p) <= KL(q || p), with KL(q || p) estimated by Monte Carlo on a two-component mixture."""
    mu = torch.tensor([[-1.5, 0.4], [1.5, 0.2]], dtype=torch.float64)
    log_var = torch.full((2, 2), math.log(0.09), dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    n = torch.randint(0, 2, (40000,), generator=g)
    z = mu[n] + 0.3 * torch.randn(40000, 2, generator=g, dtype=torch.float64)
    log_q = lesson07._aggregate_log_density(z, mu, log_var)
    kl_q = float((log_q - torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)).mean())
    bound = float(lesson07._moment_matched_kl(mu, log_var))
    assert 0 < bound < kl_q - 0.1


def test_midpoint_prediction():
    ex = lesson07.midpoint_length
    assert ex.answer() == "c"
    assert abs(lesson07._midpoint_length() - math.sqrt(10)) < 0.1
    assert ex.check("C", verbose=False).passed
    wrong = ex.check("b", verbose=False)
    assert not wrong.passed and "single draw" in wrong.message
    assert ex.check(math.sqrt(20), verbose=False).status == "incorrect"  # a number is not one of the choices
    assert ex.check("d", verbose=False).mistake == "d"
    assert ex.check("b", verbose=False).mistake == "b"


def test_the_package_mixture_density_equals_the_textbook_one():
    """latent.mixture_log_density (matrix products, used by notebook 07 on 20-D mixtures) equals the reference."""
    from vae_helpers import latent

    g = torch.Generator().manual_seed(1)
    mu = 2 * torch.randn(300, 20, generator=g, dtype=torch.float64)
    log_var = torch.randn(300, 20, generator=g, dtype=torch.float64) - 2
    z = mu[:50] + torch.randn(50, 20, generator=g, dtype=torch.float64)
    textbook = torch.distributions.Normal(mu, log_var.mul(0.5).exp()).log_prob(z[:, None]).sum(-1)
    expected = torch.logsumexp(textbook, dim=1) - math.log(len(mu))
    assert torch.allclose(latent.mixture_log_density(z, mu, log_var), expected, rtol=1e-10, atol=1e-8)
    assert torch.allclose(lesson07._aggregate_log_density(z, mu, log_var), expected, rtol=1e-12, atol=1e-10)


def _log_components(z, mu, log_var):
    return torch.distributions.Normal(mu, log_var.mul(0.5).exp()).log_prob(z[:, None]).sum(-1)  # [M, N]


def test_one_global_maximum_is_named_and_points_to_hint_3():
    def one_max(z, mu, log_var):
        per = _log_components(z, mu, log_var)
        top = per.max()
        return top + torch.log(torch.exp(per - top).mean(1))

    result = lesson07.aggregate_log_density.check(one_max, verbose=False)
    assert result.mistake == "one maximum for the whole table instead of one per code"
    assert ".hint(3)" in result.message


def test_no_stabilisation_fails_on_the_float32_case():
    """exp(-110) is 0 in float32: an unstabilised answer in the inputs' dtype fails there (and only there)."""
    cases = lesson07.aggregate_log_density.cases()
    z, mu, log_var = cases[-1].args
    assert z.dtype == torch.float32
    log_q = lesson07._aggregate_log_density(z, mu, log_var)
    assert torch.isfinite(log_q).all() and (-120 < log_q).all() and (log_q < -105).all()
    naive = torch.log(torch.exp(_log_components(z, mu, log_var)).mean(1))
    assert torch.isinf(naive).all()


def test_a_stable_float32_answer_passes():
    def stable(z, mu, log_var):
        return torch.logsumexp(_log_components(z, mu, log_var), 1) - math.log(len(mu))

    assert lesson07.aggregate_log_density.check(stable, verbose=False).passed


def test_the_far_apart_case_is_hundreds_of_nats_apart():
    z, mu, log_var = lesson07.aggregate_log_density.cases()[-2].args
    log_q = lesson07._aggregate_log_density(z, mu, log_var)
    assert log_q[0] > -10 and log_q[1] < -600
