"""Notebook 04's exercises, answered the way a reader might (tests/test_exercises.py covers the
generic behaviour: solutions pass, stubs read as not attempted, every listed mistake is named)."""

import torch
from torch.distributions import Normal, kl_divergence

from lesson_solutions import load_solutions
from vae_helpers.exercises import lesson04
from vae_helpers.losses import gaussian_kl

solutions = load_solutions("lesson04")


def test_kl_standard_normal_reference_is_the_package_formula():
    for case in lesson04.kl_standard_normal.cases():
        assert torch.allclose(lesson04.kl_standard_normal.reference(*case.args), gaussian_kl(*case.args))


def test_kl_summed_over_the_batch_is_named_and_located_by_shape():
    result = lesson04.kl_standard_normal.check(
        lambda mu, log_var: (-0.5 * (1 + log_var - mu.pow(2) - torch.exp(log_var))).sum(0), verbose=False)
    assert result.mistake == "summed over the batch instead of the latent dimensions"
    assert "shape [3]; expected shape [4]" in result.message


def test_kl_with_the_standard_deviation_is_named():
    def wrong(mu, log_var):
        sigma = torch.exp(0.5 * log_var)
        return -0.5 * (1 + log_var - mu * mu - sigma).sum(dim=-1)

    assert lesson04.kl_standard_normal.check(wrong, verbose=False).mistake.startswith("σ where σ²")


def test_kl_by_torch_distributions_passes():
    def by_torch(mu, log_var):
        return kl_divergence(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(-1)

    assert lesson04.kl_standard_normal.check(by_torch, verbose=False).passed


def test_diagonal_kl_by_torch_distributions_passes_and_the_reverse_is_named():
    def by_torch(mu_q, lv_q, mu_p, lv_p):
        return kl_divergence(Normal(mu_q, (0.5 * lv_q).exp()), Normal(mu_p, (0.5 * lv_p).exp())).sum(1)

    def reversed_by_torch(mu_q, lv_q, mu_p, lv_p):
        return kl_divergence(Normal(mu_p, (0.5 * lv_p).exp()), Normal(mu_q, (0.5 * lv_q).exp())).sum(1)

    assert lesson04.kl_diagonal_gaussians.check(by_torch, verbose=False).passed
    result = lesson04.kl_diagonal_gaussians.check(reversed_by_torch, verbose=False)
    assert result.mistake == "the KL in the wrong direction, KL(p ‖ q)"


def test_diagonal_kl_ignoring_p_is_named_though_one_case_has_the_standard_prior():
    result = lesson04.kl_diagonal_gaussians.check(lambda mq, lq, mp, lp: gaussian_kl(mq, lq), verbose=False)
    assert result.mistake == "p taken as N(0, I): the standard-normal formula"
    assert "case 1" in result.message


def test_mc_kl_grad_variance_reference_matches_autograd_on_samples():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([0.8, -1.5, 0.0], dtype=torch.float64)
    log_var = torch.tensor([-0.5, 1.0, -3.0], dtype=torch.float64)
    eps = torch.randn(200_000, 3, generator=g, dtype=torch.float64)
    mu_s = mu.expand_as(eps).clone().requires_grad_()
    lv_s = log_var.expand_as(eps).clone().requires_grad_()
    z = mu_s + (0.5 * lv_s).exp() * eps
    one_sample_kl = Normal(mu_s, (0.5 * lv_s).exp()).log_prob(z) - Normal(0.0, 1.0).log_prob(z)
    d_mu, d_lv = torch.autograd.grad(one_sample_kl.sum(), (mu_s, lv_s))
    var_mu, var_lv = lesson04.mc_kl_grad_variance.reference(mu, log_var)
    assert torch.allclose(d_mu.mean(0), mu, atol=0.02)  # unbiased: the closed-form gradients
    assert torch.allclose(d_lv.mean(0), 0.5 * (log_var.exp() - 1), atol=0.02)
    assert torch.allclose(d_mu.var(0), var_mu, rtol=0.03)
    assert torch.allclose(d_lv.var(0), var_lv, rtol=0.03)


def test_mc_kl_grad_variance_returning_one_value_is_told_the_shape():
    result = lesson04.mc_kl_grad_variance.check(lambda mu, log_var: log_var.exp(), verbose=False)
    assert result.status == "incorrect" and "tuple of 2 values" in result.message


def test_swapped_kl_growth_answer_is_what_torch_measures():
    p = Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))
    sigmas = torch.tensor([1e-1, 1e-2, 1e-3], dtype=torch.float64)
    q = Normal(torch.full_like(sigmas, 0.7), sigmas)
    forward, reverse = kl_divergence(q, p), kl_divergence(p, q)
    assert torch.all(reverse > forward) and torch.all(reverse.diff() / forward.diff() > 10)
    assert torch.allclose(reverse * sigmas**2, torch.full_like(sigmas, 0.5 * (1 + 0.7**2)), rtol=0.05)  # like 1/sigma^2
    assert lesson04.swapped_kl_growth.answer() == "c"


def test_swapped_kl_growth():
    assert lesson04.swapped_kl_growth.check("C", verbose=False).passed
    same_rate = lesson04.swapped_kl_growth.check("d", verbose=False)
    assert not same_rate.passed and same_rate.mistake == "d" and "1/σ²" in same_rate.message
    bounded = lesson04.swapped_kl_growth.check("b", verbose=False)
    assert not bounded.passed and bounded.mistake == "b" and "without bound" in bounded.message
    one_over_sigma = lesson04.swapped_kl_growth.check("a", verbose=False)
    assert not one_over_sigma.passed and one_over_sigma.mistake == "a" and "not by σ" in one_over_sigma.message
    assert "not one of the choices" in lesson04.swapped_kl_growth.check("e", verbose=False).message
    assert solutions.swapped_kl_growth == lesson04.swapped_kl_growth.answer()


def _elbo_linear_gaussian(x, w, v, mu, log_var, beta=1.0):
    """The (beta-weighted) ELBO of x under z ~ N(0, 1), x | z ~ N(w z, v), for q = N(mu, exp(log_var))."""
    var = log_var.exp()
    reconstruction = -0.5 * torch.log(2 * torch.pi * v) - ((x - w * mu) ** 2 + w**2 * var) / (2 * v)
    return reconstruction - beta * 0.5 * (mu**2 + var - 1 - log_var)


def test_best_q_is_the_weighted_elbo_maximum():
    for case in lesson04.best_q.cases():
        x, w, v, beta = case.args
        mu, log_var = lesson04.best_q.reference(x, w, v, beta)
        mu_t, lv_t = mu.clone().requires_grad_(), log_var.clone().requires_grad_()
        grads = torch.autograd.grad(_elbo_linear_gaussian(x, w, v, mu_t, lv_t, beta).sum(), (mu_t, lv_t))
        assert all(torch.allclose(g, torch.zeros_like(g), atol=1e-10) for g in grads)  # a stationary point
        # and not the posterior: every case has beta != 1
        posterior = lesson04.best_q.reference(x, w, v, 1.0)
        assert not torch.allclose(posterior[1], log_var)


def test_best_q_at_beta_1_is_the_exact_posterior():
    x, w, v, _ = lesson04.best_q.cases()[0].args
    mu, log_var = lesson04.best_q.reference(x, w, v, 1.0)
    assert torch.allclose(log_var.exp(), 1 / (1 + w**2 / v)) and torch.allclose(mu, log_var.exp() * w * x / v)
    # the ELBO of the optimum equals log p(x), with p(x) = N(0, w^2 + v): the bound is tight
    log_px = Normal(torch.zeros_like(x), (w**2 + v).sqrt()).log_prob(x)
    assert torch.allclose(_elbo_linear_gaussian(x, w, v, mu, log_var), log_px)


def test_best_q_written_with_precisions_passes():
    def by_precision(x, w, v, beta):
        precision = 1.0 + w * w / (beta * v)  # prior precision + likelihood precision / beta
        return (w / (beta * v)) * x / precision, -precision.log()

    assert lesson04.best_q.check(by_precision, verbose=False).passed


def test_best_q_without_beta_is_named():
    def posterior(x, w, v, beta):
        var = v / (v + w**2)
        return w * x / (v + w**2), var.log()

    result = lesson04.best_q.check(posterior, verbose=False)
    assert result.mistake == "β left out: the exact posterior (the answer at β = 1)"


def test_best_q_with_beta_on_the_reconstruction_is_named():
    def beta_on_reconstruction(x, w, v, beta):
        var = v / (v + beta * w**2)
        return beta * w * x / (v + beta * w**2), var.log()

    result = lesson04.best_q.check(beta_on_reconstruction, verbose=False)
    assert result.mistake == "β put on the reconstruction term instead of the KL"


def test_best_q_with_the_spread_of_z_forgotten_is_named():
    def plug_in_the_mean(x, w, v, beta):
        mu = w * x / (w**2 + beta * v)
        return mu, torch.zeros_like(mu)  # the objective with (x - w mu)^2 only: the KL alone sets sigma^2 = 1

    result = lesson04.best_q.check(plug_in_the_mean, verbose=False)
    assert result.mistake == "z replaced by its mean in the reconstruction term (the w²σ² dropped)"
    assert ".hint(3)" in result.message
