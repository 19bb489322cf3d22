"""The two gradient estimators of vae_helpers.gradients (notebook 03)."""

import math

import pytest
import torch

from vae_helpers.gradients import (
    average_in_groups,
    pathwise_grad,
    score_function_grad,
    square_grad_variance,
    square_true_grad,
    variance_with_se,
)


def noise(n, seed=0):
    return torch.randn(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def square(z):
    return z**2


@pytest.mark.parametrize("estimator", [score_function_grad, pathwise_grad])
@pytest.mark.parametrize("wrt", ["mu", "sigma"])
@pytest.mark.parametrize("mu, sigma", [(1.5, 1.0), (-0.5, 0.4), (0.0, 2.0)])
def test_estimators_are_unbiased_for_z_squared(estimator, wrt, mu, sigma):
    per_sample = estimator(square, mu, sigma, noise(400_000), wrt=wrt)
    standard_error = per_sample.std().item() / math.sqrt(per_sample.numel())
    assert abs(per_sample.mean().item() - square_true_grad(mu, sigma, wrt)) < 5 * standard_error


@pytest.mark.parametrize("mu, sigma", [(1.5, 1.0), (0.0, 0.5), (2.0, 1.5)])
def test_closed_form_variances_match_measurement(mu, sigma):
    eps = noise(400_000, seed=1)
    for estimator, fn in (("pathwise", pathwise_grad), ("score", score_function_grad)):
        measured = fn(square, mu, sigma, eps).var().item()
        assert measured == pytest.approx(square_grad_variance(mu, sigma, estimator), rel=0.05)


def test_pathwise_uses_the_derivative_per_sample():
    eps = noise(10)
    grad_mu = pathwise_grad(torch.sin, 0.3, 0.7, eps, wrt="mu")
    grad_sigma = pathwise_grad(torch.sin, 0.3, 0.7, eps, wrt="sigma")
    z = 0.3 + 0.7 * eps
    assert torch.allclose(grad_mu, torch.cos(z))
    assert torch.allclose(grad_sigma, torch.cos(z) * eps)


def test_score_function_matches_autograd_of_log_prob():
    eps = noise(10)
    mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    z = (0.3 + 0.7 * eps).detach()
    for i in range(3):
        log_q = torch.distributions.Normal(mu, sigma).log_prob(z[i])
        d_mu, d_sigma = torch.autograd.grad(log_q, (mu, sigma))
        f = torch.exp(-z[i])
        assert score_function_grad(lambda t: torch.exp(-t), 0.3, 0.7, eps, "mu")[i] == pytest.approx((f * d_mu).item())
        assert score_function_grad(lambda t: torch.exp(-t), 0.3, 0.7, eps, "sigma")[i] == pytest.approx((f * d_sigma).item())


def test_baseline_keeps_the_mean_and_lowers_the_variance():
    eps = noise(200_000, seed=2)
    mu, sigma = 1.5, 1.0
    plain = score_function_grad(square, mu, sigma, eps)
    with_baseline = score_function_grad(square, mu, sigma, eps, baseline=mu**2 + sigma**2)
    se = plain.std().item() / math.sqrt(eps.numel())
    assert abs(with_baseline.mean().item() - 2 * mu) < 5 * se
    assert with_baseline.var() < plain.var()


def test_variance_with_se_matches_the_normal_theory():
    x = noise(100_000, seed=3)
    var, se = variance_with_se(2.0 * x)
    assert abs(var - 4.0) < 5 * se
    # for a Gaussian, Var[s^2] = 2 sigma^4 / n
    assert se == pytest.approx(math.sqrt(2 * 16.0 / 100_000), rel=0.05)
    with pytest.raises(ValueError, match="at least 2"):
        variance_with_se(torch.ones(1))


def test_average_in_groups():
    x = torch.arange(12.0)
    assert torch.equal(average_in_groups(x, 4), torch.tensor([1.5, 5.5, 9.5]))
    with pytest.raises(ValueError, match="groups of n=5"):
        average_in_groups(x, 5)


def test_bad_arguments_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="wrt='tau'"):
        pathwise_grad(square, 0.0, 1.0, noise(3), wrt="tau")
    with pytest.raises(ValueError, match="must be > 0"):
        score_function_grad(square, 0.0, -1.0, noise(3))
    with pytest.raises(ValueError, match="'pathwise' or 'score'"):
        square_grad_variance(0.0, 1.0, "reinforce")
