"""Exercise checkers of notebook 04: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

import torch

from lesson_solutions import load_solutions
from vae_helpers.exercises import lesson04
from vae_helpers.losses import gaussian_kl

solutions = load_solutions("lesson04")


def test_kl_summed_over_the_batch_dimension_fails_on_shape():
    result = lesson04.check_kl_standard_normal(
        lambda mu, log_var: -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=0)
    )
    assert not result.passed and "expected shape [4], got shape [3]" in result.message


def test_kl_without_the_one_fails():
    result = lesson04.check_kl_standard_normal(
        lambda mu, log_var: -0.5 * torch.sum(log_var - mu**2 - log_var.exp(), dim=1)
    )
    assert not result.passed and "test case 1: expected" in result.message


def test_kl_with_sigma_instead_of_variance_fails():
    result = lesson04.check_kl_standard_normal(
        lambda mu, log_var: -0.5 * torch.sum(1 + log_var - mu**2 - (0.5 * log_var).exp(), dim=1)
    )
    assert not result.passed and "summed over the last dimension" in result.message


def test_diagonal_kl_ignoring_p_fails():
    result = lesson04.check_kl_diagonal_gaussians(lambda mu_q, lv_q, mu_p, lv_p: gaussian_kl(mu_q, lv_q))
    assert not result.passed and "test case 1" in result.message


def test_diagonal_kl_reversed_fails():
    def reversed_kl(mu_q, lv_q, mu_p, lv_p):
        return 0.5 * (lv_q - lv_p + (lv_p.exp() + (mu_q - mu_p) ** 2) / lv_q.exp() - 1).sum(dim=1)

    result = lesson04.check_kl_diagonal_gaussians(reversed_kl)
    assert not result.passed and "expected" in result.message


def test_diagonal_kl_reduces_to_the_standard_normal_case():
    mu, log_var = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    zeros = torch.zeros_like(mu)
    assert torch.allclose(lesson04.reference_kl_diagonal_gaussians(mu, log_var, zeros, zeros), gaussian_kl(mu, log_var))


def test_monte_carlo_averaging_over_the_wrong_dimension_fails():
    def wrong(mu, log_var, eps):
        sigma = torch.exp(0.5 * log_var)
        z = mu + sigma * eps
        log_q = torch.distributions.Normal(mu, sigma).log_prob(z).sum(dim=-1)
        log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(dim=-1)
        return (log_q - log_p).mean(dim=1)

    result = lesson04.check_kl_monte_carlo(wrong)
    assert not result.passed and "expected shape [4], got shape [64]" in result.message


def test_monte_carlo_reference_approaches_the_closed_form():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(3, 4, generator=g, dtype=torch.float64)
    log_var = 0.5 * torch.randn(3, 4, generator=g, dtype=torch.float64)
    eps = torch.randn(200_000, 3, 4, generator=g, dtype=torch.float64)
    assert torch.allclose(lesson04.reference_kl_monte_carlo(mu, log_var, eps), gaussian_kl(mu, log_var), rtol=0.02, atol=0.02)
