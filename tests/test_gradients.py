"""The two gradient estimators of vae_helpers.gradients (notebook 03)."""

import math

import pytest
import torch

from vae_helpers.gradients import (
    average_in_groups,
    encoder_grad_samples,
    encoder_parameters,
    pathwise_grad,
    score_function_grad,
    square_grad_variance,
    square_true_grad,
    variance_with_se,
)
from vae_helpers.losses import reconstruction_nats
from vae_helpers.model import VAE


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


@pytest.mark.parametrize("wrt", ["mu", "sigma"])
@pytest.mark.parametrize("mu, sigma", [(1.5, 1.0), (0.0, 0.5), (2.0, 1.5)])
def test_closed_form_variances_match_measurement(mu, sigma, wrt):
    eps = noise(300_000, seed=1)
    for estimator, fn in (("pathwise", pathwise_grad), ("score", score_function_grad)):
        var, se = variance_with_se(fn(square, mu, sigma, eps, wrt=wrt))
        assert abs(var - square_grad_variance(mu, sigma, estimator, wrt)) < 5 * se


def test_score_variance_wrt_sigma_is_the_expanded_moment_sum():
    # E[(mu + sigma e)^4 (e^2 - 1)^2] / sigma^2 - (2 sigma)^2, moments E[e^k (e^2 - 1)^2] = 2, 10, 78
    mu, sigma = 0.7, 1.3
    second_moment = (2 * mu**4 + 6 * mu**2 * sigma**2 * 10 + sigma**4 * 78) / sigma**2
    assert square_grad_variance(mu, sigma, "score", "sigma") == pytest.approx(second_moment - 4 * sigma**2)


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


def tiny_vae(seed=0):
    torch.manual_seed(seed)
    model = VAE(image_size=6, h_dim=4, z_dim=2).double()
    x = torch.rand(3, 6, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return model, x


def test_encoder_pathwise_samples_are_the_autograd_gradient_of_each_draw():
    model, x = tiny_vae()
    eps = noise(2 * 3 * 2, seed=4).view(2, 3, 2)
    samples = encoder_grad_samples(model, x, eps, "pathwise")
    n_phi = sum(p.numel() for p in encoder_parameters(model))
    assert samples.shape == (2, n_phi)
    for s in range(2):
        mu, log_var = model.encode(x)
        z = mu + torch.exp(0.5 * log_var) * eps[s]
        grads = torch.autograd.grad(reconstruction_nats(model.decode(z), x).mean(), encoder_parameters(model))
        assert torch.allclose(samples[s], torch.cat([g.flatten() for g in grads]))


def test_encoder_estimators_agree_on_average_and_the_score_is_noisier():
    model, x = tiny_vae(1)
    eps = noise(800 * 3 * 2, seed=5).view(800, 3, 2)
    path, score = (encoder_grad_samples(model, x, eps, e) for e in ("pathwise", "score"))
    diff = score - path
    se = diff.std(dim=0) / math.sqrt(diff.shape[0])
    used = se > 0
    assert torch.all((diff.mean(dim=0)[used] / se[used]).abs() < 5)
    assert score.var(dim=0).sum() > 10 * path.var(dim=0).sum()


@pytest.mark.parametrize("estimator", [score_function_grad, pathwise_grad])
@pytest.mark.parametrize("wrt", ["mu", "sigma"])
def test_tensor_parameters_broadcast_like_one_call_per_pair(estimator, wrt):
    mu = torch.tensor([0.4, -2.0, 3.5], dtype=torch.float64)
    sigma = torch.tensor([0.5, 0.3, 1.7], dtype=torch.float64)
    eps = noise(3000, seed=5).view(1000, 3)
    together = estimator(square, mu, sigma, eps, wrt=wrt)
    assert together.shape == (1000, 3)
    for k in range(3):
        one = estimator(square, mu[k].item(), sigma[k].item(), eps[:, k], wrt=wrt)
        assert torch.allclose(together[:, k], one)


def test_score_variance_of_z_for_tensor_parameters_is_mu2_over_sigma2_plus_2():
    # the check notebook 03's exercise 3 suggests: k (mu, sigma) pairs at once
    mu = torch.tensor([0.4, 1.0, -2.0], dtype=torch.float64)
    sigma = torch.tensor([0.5, 2.0, 0.3], dtype=torch.float64)
    measured = score_function_grad(lambda t: t, mu, sigma, noise(600_000, seed=6).view(-1, 3)).var(dim=0)
    assert torch.allclose(measured, mu**2 / sigma**2 + 2, rtol=0.03)


def test_bad_arguments_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="wrt='tau'"):
        pathwise_grad(square, 0.0, 1.0, noise(3), wrt="tau")
    with pytest.raises(ValueError, match="must be > 0"):
        score_function_grad(square, 0.0, -1.0, noise(3))
    with pytest.raises(ValueError, match="must be > 0"):
        pathwise_grad(square, 0.0, torch.tensor([1.0, 0.0]), noise(4).view(2, 2))
    with pytest.raises(ValueError, match="'pathwise' or 'score'"):
        square_grad_variance(0.0, 1.0, "reinforce")
    with pytest.raises(ValueError, match="'pathwise' or 'score'"):
        encoder_grad_samples(*tiny_vae(), noise(6).view(1, 3, 2), "reinforce")
