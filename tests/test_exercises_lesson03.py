"""Exercise checkers of notebook 03: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

import torch

from vae_helpers.exercises import lesson03
from vae_helpers.model import VAE


def test_reference_is_vae_reparameterize_with_its_noise():
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    torch.manual_seed(123)
    z = VAE.reparameterize(mu, log_var)
    torch.manual_seed(123)
    eps = torch.randn_like(mu)
    assert torch.allclose(z, lesson03.reference_reparameterize_with_noise(mu, log_var, eps))


def test_reparameterize_with_variance_instead_of_std_fails():
    result = lesson03.check_reparameterize_with_noise(lambda mu, log_var, eps: mu + torch.exp(log_var) * eps)
    assert not result.passed
    assert "test case 1" in result.message and "expected tensor of shape [4, 2]" in result.message
    assert "exp(log_var / 2)" in result.message


def test_reparameterize_without_noise_fails():
    result = lesson03.check_reparameterize_with_noise(lambda mu, log_var, eps: mu)
    assert not result.passed and "expected" in result.message


def test_reparameterize_forgetting_return_fails():
    def no_return(mu, log_var, eps):
        mu + torch.exp(0.5 * log_var) * eps

    result = lesson03.check_reparameterize_with_noise(no_return)
    assert not result.passed and "returned None" in result.message


def test_score_without_dividing_by_variance_fails_on_a_case_with_sigma_not_1():
    def wrong(f, mu, sigma, eps):
        z = mu + sigma * eps
        return (f(z) * (z - mu)).mean()

    result = lesson03.check_score_function_estimate(wrong)
    assert not result.passed
    assert "test case 2" in result.message  # case 1 has sigma = 1, where the mistake is invisible
    assert "(z - mu) / sigma**2" in result.message


def test_score_returning_per_sample_values_fails():
    def per_sample(f, mu, sigma, eps):
        z = mu + sigma * eps
        return f(z) * (z - mu) / sigma**2

    result = lesson03.check_score_function_estimate(per_sample)
    assert not result.passed and "expected a number" in result.message


def test_pathwise_with_sum_instead_of_mean_fails():
    def wrong(f, mu, sigma, eps):
        mu = torch.tensor(mu, dtype=eps.dtype, requires_grad=True)
        (grad,) = torch.autograd.grad(f(mu + sigma * eps).sum(), mu)
        return grad

    result = lesson03.check_pathwise_estimate(wrong)
    assert not result.passed and "test case 1" in result.message and "expected" in result.message


def test_pathwise_that_raises_reports_the_error():
    def broken(f, mu, sigma, eps):
        z = mu + sigma * eps
        return torch.autograd.grad(f(z).mean(), mu)  # mu is a float: autograd refuses

    result = lesson03.check_pathwise_estimate(broken)
    assert not result.passed and "raised" in result.message and "requires_grad=True" in result.message
