"""The linear-Gaussian toy model: closed forms against Monte Carlo, quadrature and Bayes' rule."""

from __future__ import annotations

import importlib
import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from vae_helpers import toy
from vae_helpers.losses import gaussian_kl


def _model_and_data(latent_dim=2, data_dim=5, noise_std=0.5, n=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    model = toy.make_linear_gaussian(latent_dim, data_dim, noise_std, generator=gen)
    x, _ = model.sample(n, generator=gen)
    return model, x, gen


def test_import_has_no_side_effects():
    state, dtype = torch.get_rng_state(), torch.get_default_dtype()
    importlib.reload(toy)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_default_dtype() == dtype


def test_log_mean_exp_is_stable_and_matches_the_naive_formula():
    a = torch.tensor([[0.1, -2.0], [1.5, 0.3], [-0.7, 0.0]], dtype=torch.float64)
    assert torch.allclose(toy.log_mean_exp(a, dim=0), torch.log(torch.exp(a).mean(0)))
    assert torch.allclose(toy.log_mean_exp(a, dim=1), torch.log(torch.exp(a).mean(1)))
    big = torch.tensor([-1000.0, -1000.0], dtype=torch.float64)
    assert toy.log_mean_exp(big).item() == pytest.approx(-1000.0)


def test_shapes_and_dtype():
    model, x, gen = _model_and_data()
    assert model.latent_dim == 2 and model.data_dim == 5 and model.weight.dtype == torch.float64
    assert x.shape == (4, 5)
    assert model.posterior(x).batch_shape == (4,) and model.posterior(x).event_shape == (2,)
    q = model.posterior(x)
    assert toy.log_importance_weights(model, x, q, 7, gen).shape == (7, 4)
    assert toy.importance_weighted_bound(model, x, q, 8, n_repeats=3, generator=gen).shape == (3, 4)
    assert toy.prior_log_likelihoods(model, x, 6, gen).shape == (6, 4)
    assert toy.prior_mc_log_marginal(model, x, 10, gen).shape == (4,)
    assert toy.elbo_exact(model, x, q).shape == (4,)


def test_same_seed_same_numbers():
    a = _model_and_data(seed=3)
    b = _model_and_data(seed=3)
    assert torch.equal(a[0].weight, b[0].weight) and torch.equal(a[1], b[1])
    estimates = [toy.prior_mc_log_marginal(model, x, 100, gen) for model, x, gen in (a, b)]
    assert torch.equal(estimates[0], estimates[1])


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="noise_std"):
        toy.make_linear_gaussian(2, 3, 0.0)
    with pytest.raises(ValueError, match="latent_dim"):
        toy.make_linear_gaussian(0, 3, 1.0)
    with pytest.raises(TypeError, match="Gaussian"):
        toy.sample_gaussian(torch.distributions.Laplace(0.0, 1.0), 3)


def test_marginal_equals_the_integral_by_quadrature():
    model, x, _ = _model_and_data(latent_dim=1, data_dim=3, noise_std=0.4)
    z = torch.linspace(-12, 12, 24001, dtype=torch.float64).unsqueeze(-1)  # [n, 1]
    joint = torch.exp(model.log_joint(x, z.unsqueeze(1)))  # [n, B]: p(x|z) p(z) on the grid
    integral = torch.trapezoid(joint, z.squeeze(-1), dim=0)
    assert torch.allclose(integral.log(), model.marginal().log_prob(x), atol=1e-8)


def test_marginal_covariance_matches_samples():
    model, _, gen = _model_and_data(noise_std=0.3)
    x, _ = model.sample(200_000, gen)
    assert torch.allclose(x.mean(0), model.bias, atol=0.03)
    assert torch.allclose(torch.cov(x.T), model.marginal().covariance_matrix, atol=0.06)


def test_prior_monte_carlo_converges_to_the_closed_form():
    model, x, gen = _model_and_data()
    exact = model.marginal().log_prob(x)
    n = 200_000
    estimate = toy.prior_mc_log_marginal(model, x, n, gen, chunk=50_000)
    rel_std = torch.sqrt(toy.prior_samples_needed(model, x, 1.0) / n)  # sqrt((rho - 1) / N)
    assert torch.all((estimate - exact).abs() < 5 * rel_std + 1e-6)


def test_second_moment_ratio_and_samples_needed_match_experiment():
    model, x, gen = _model_and_data(n=2)
    log_ratio = toy.prior_log_likelihoods(model, x, 400_000, gen) - model.marginal().log_prob(x)
    rho_mc = torch.exp(2 * log_ratio).mean(0)
    assert torch.allclose(rho_mc, toy.log_second_moment_ratio(model, x).exp(), rtol=0.1)
    # with N = samples needed for 20 % error, 200 repeated estimates scatter by about 20 %
    n = int(toy.prior_samples_needed(model, x[:1], rel_error=0.2).item()) + 1
    ll = toy.prior_log_likelihoods(model, x[:1], n * 200, gen).reshape(200, n, 1)
    ratio = torch.exp(toy.log_mean_exp(ll, dim=1) - model.marginal().log_prob(x[:1]))
    measured = (ratio - 1).pow(2).mean().sqrt().item()
    assert 0.15 < measured < 0.25


def test_samples_needed_grows_with_latent_dim_and_sharpness():
    gen = torch.Generator().manual_seed(1)
    big = toy.make_linear_gaussian(6, 10, 0.5, generator=gen)
    needed = []
    for d in (1, 3, 6):
        model = toy.LinearGaussianModel(big.weight[:, :d], big.bias, 0.5)
        x, _ = model.sample(101, gen)
        needed.append(toy.prior_samples_needed(model, x).median().item())
    assert needed[0] < needed[1] < needed[2] and needed[2] > 100 * needed[0]
    sharp = []
    for s in (1.0, 0.1):
        model = big.with_noise_std(s)
        sharp.append(toy.prior_samples_needed(model, model.sample(101, gen)[0]).median().item())
    assert sharp[1] > 100 * sharp[0]


def test_posterior_is_bayes_rule():
    model, x, gen = _model_and_data()
    z = torch.randn((3, 4, 2), generator=gen, dtype=torch.float64)
    bayes = model.log_joint(x, z) - model.marginal().log_prob(x)
    assert torch.allclose(model.posterior(x).log_prob(z), bayes, atol=1e-10)


def test_sample_gaussian_matches_the_distribution():
    gen = torch.Generator().manual_seed(0)
    cov = torch.tensor([[1.0, 0.6], [0.6, 0.5]], dtype=torch.float64)
    q_full = MultivariateNormal(torch.tensor([1.0, -2.0], dtype=torch.float64), covariance_matrix=cov)
    z = toy.sample_gaussian(q_full, 100_000, gen)
    assert torch.allclose(z.mean(0), q_full.mean, atol=0.02) and torch.allclose(torch.cov(z.T), cov, atol=0.02)
    variances = torch.tensor([0.25, 4.0], dtype=torch.float64).expand(3, 2)
    q_diag = toy.diagonal_gaussian(torch.zeros(3, 2, dtype=torch.float64), variances.log())
    z = toy.sample_gaussian(q_diag, 50_000, gen)
    assert z.shape == (50_000, 3, 2)
    assert torch.allclose(z.var(0), variances, rtol=0.05)


def test_elbo_is_a_lower_bound_with_equality_at_the_posterior():
    model, x, gen = _model_and_data()
    log_px = model.marginal().log_prob(x)
    posterior = model.posterior(x)
    assert torch.allclose(toy.elbo_exact(model, x, posterior), log_px, atol=1e-9)
    mean, cov = toy.gaussian_mean_and_covariance(posterior)
    for q in (
        toy.best_diagonal_gaussian(model, x),
        toy.diagonal_gaussian(torch.zeros_like(mean), torch.zeros_like(mean)),  # the prior as q
        MultivariateNormal(mean + 0.3, covariance_matrix=2 * cov),
    ):
        elbo = toy.elbo_exact(model, x, q)
        kl = toy.posterior_kl(model, x, q)
        assert torch.all(elbo < log_px) and torch.all(kl > 0)
        assert torch.allclose(elbo + kl, log_px, atol=1e-9)  # log p(x) = ELBO + KL(q || p(z|x))


def test_elbo_monte_carlo_matches_exact_and_the_vae_form():
    model, x, gen = _model_and_data()
    q = toy.best_diagonal_gaussian(model, x)
    exact = toy.elbo_exact(model, x, q)
    log_w = toy.log_importance_weights(model, x, q, 100_000, gen)
    assert torch.all((log_w.mean(0) - exact).abs() < 5 * log_w.std(0) / math.sqrt(100_000))
    # ELBO = E_q[log p(x|z)] - KL(q || p(z)), the KL in closed form as the VAE loss computes it
    mu, log_var = q.mean, q.variance.log()
    assert torch.allclose(gaussian_kl(mu, log_var), kl_divergence(q, model.prior().expand((4,))))
    z = toy.sample_gaussian(q, 100_000, gen)
    recon = model.likelihood(z).log_prob(x).mean(0)
    assert torch.allclose(recon - gaussian_kl(mu, log_var), exact, atol=0.01)


def test_best_diagonal_gaussian_is_a_kl_minimum():
    model, x, _ = _model_and_data(noise_std=0.3)
    q = toy.best_diagonal_gaussian(model, x)
    best = toy.posterior_kl(model, x, q)
    mean, log_var = q.mean, q.variance.log()
    for dm, dv in ((0.05, 0.0), (0.0, 0.1), (0.0, -0.1), (-0.05, 0.05)):
        other = toy.posterior_kl(model, x, toy.diagonal_gaussian(mean + dm, log_var + dv))
        assert torch.all(other > best)


def test_importance_weighted_bound_rises_with_k_towards_log_px():
    model, x, gen = _model_and_data(n=1)
    log_px = model.marginal().log_prob(x)
    q = toy.diagonal_gaussian(torch.zeros(1, 2, dtype=torch.float64), torch.zeros(1, 2, dtype=torch.float64))  # prior
    means, stderrs = [], []
    for k in (1, 4, 16, 64, 256):
        bound = toy.importance_weighted_bound(model, x, q, k, n_repeats=400, generator=gen)
        means.append(bound.mean().item())
        stderrs.append(bound.std().item() / math.sqrt(400))
    assert all(a < b for a, b in zip(means, means[1:]))
    assert means[-1] < log_px.item() and log_px.item() - means[-1] < 0.1 * (log_px.item() - means[0])
    assert abs(means[0] - toy.elbo_exact(model, x, q).item()) < 5 * stderrs[0]  # E[L_1] is the ELBO


def test_importance_sampling_with_the_posterior_has_no_variance():
    model, x, gen = _model_and_data()
    bound = toy.importance_weighted_bound(model, x, model.posterior(x), k=3, n_repeats=5, generator=gen)
    assert torch.allclose(bound, model.marginal().log_prob(x).expand(5, 4), atol=1e-9)


def _correlated(r=0.8, sds=(0.3, 0.4), data_dim=5, noise_std=0.5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    cov = torch.tensor([[sds[0] ** 2, r * sds[0] * sds[1]], [r * sds[0] * sds[1], sds[1] ** 2]], dtype=torch.float64)
    model = toy.make_linear_gaussian_with_posterior(cov, data_dim, noise_std, generator=gen)
    x, _ = model.sample(3, generator=gen)
    return model, x, cov, gen


def test_model_with_a_given_posterior_covariance():
    model, x, cov, _ = _correlated()
    assert torch.allclose(model.posterior(x).covariance_matrix, cov.expand(3, 2, 2), atol=1e-12)
    assert model.data_dim == 5 and model.noise_std == 0.5
    with pytest.raises(ValueError, match="eigenvalues"):
        toy.make_linear_gaussian_with_posterior(torch.eye(2, dtype=torch.float64) * 2, 4, 0.5)
    with pytest.raises(ValueError, match="data_dim"):
        toy.make_linear_gaussian_with_posterior(cov, 1, 0.5)


def test_diagonal_q_price_and_shrinkage():
    model, x, cov, _ = _correlated(r=0.8)
    good, matched = toy.best_diagonal_gaussian(model, x), toy.marginal_matched_diagonal_gaussian(model, x)
    assert torch.allclose(toy.posterior_kl(model, x, good), torch.full((3,), -0.5 * math.log(1 - 0.64), dtype=torch.float64))
    assert torch.allclose(matched.variance, cov.diagonal().expand(3, 2))
    assert torch.all(good.variance < matched.variance)  # 1 / Lambda_ii < Sigma_ii: the reverse KL shrinks q
    assert torch.allclose(good.variance, matched.variance * (1 - 0.64))
    assert torch.all(toy.posterior_kl(model, x, matched) > toy.posterior_kl(model, x, good))


def test_importance_moments_closed_form():
    model, x, _, gen = _correlated(r=0.8)
    zeros = torch.zeros(3, 2, dtype=torch.float64)
    prior = toy.diagonal_gaussian(zeros, zeros)
    good, matched = toy.best_diagonal_gaussian(model, x), toy.marginal_matched_diagonal_gaussian(model, x)
    posterior = model.posterior(x)
    for q in (posterior, good, matched, prior):  # E_q[w / p(x)] = 1 for every q
        assert torch.allclose(toy.log_importance_moment(model, x, q, order=1), torch.zeros(3, dtype=torch.float64), atol=1e-9)
    assert torch.allclose(toy.log_importance_moment(model, x, posterior), torch.zeros(3, dtype=torch.float64), atol=1e-9)
    assert torch.all(torch.isinf(toy.log_importance_moment(model, x, good)))  # |r| > 1/2: infinite variance
    assert torch.allclose(toy.log_importance_moment(model, x, matched).exp(), torch.full((3,), 1 / 0.36, dtype=torch.float64))
    assert torch.all(torch.isinf(toy.log_importance_moment(model, x, matched, order=3)))
    # q = prior: notebook 01's second-moment ratio, computed in x-space
    assert torch.allclose(toy.log_importance_moment(model, x, prior), toy.log_second_moment_ratio(model, x))
    # a shifted, wider full-covariance q: closed form against Monte Carlo (bounded weights, all moments finite)
    wide = MultivariateNormal(posterior.mean + 0.1, covariance_matrix=1.5 * posterior.covariance_matrix)
    log_ratio = toy.log_importance_weights(model, x, wide, 200_000, gen) - model.marginal().log_prob(x)
    for order in (2, 3):
        mc = torch.exp(order * log_ratio).mean(0)
        assert torch.allclose(mc, toy.log_importance_moment(model, x, wide, order=order).exp(), rtol=0.03)
    weak, x_weak, _, _ = _correlated(r=0.4)  # the best diagonal q of a weakly correlated posterior: finite
    assert torch.all(torch.isfinite(toy.log_importance_moment(weak, x_weak, toy.best_diagonal_gaussian(weak, x_weak))))


def test_relative_error_and_large_k_gap_follow_rho():
    model, x, _, gen = _correlated(r=0.3, sds=(0.5, 0.6))
    x = x[:1]
    zeros = torch.zeros(1, 2, dtype=torch.float64)
    prior = toy.diagonal_gaussian(zeros, zeros)
    rho = toy.log_importance_moment(model, x, prior).exp().item()
    log_px = model.marginal().log_prob(x).item()
    k, n = 256, 4000
    draws = toy.importance_weighted_bound(model, x, prior, k, n, generator=gen)[:, 0]
    measured = ((draws - log_px).exp() - 1).pow(2).mean().sqrt().item()
    assert abs(measured / math.sqrt((rho - 1) / k) - 1) < 0.15
    gap, se = log_px - draws.mean().item(), draws.std().item() / math.sqrt(n)
    assert abs(gap - (rho - 1) / (2 * k)) < 0.2 * (rho - 1) / (2 * k) + 4 * se
