"""Notebook 03's exercises, answered the way a reader might (tests/test_exercises.py covers the
generic behaviour: solutions pass, stubs read as not attempted, every listed mistake is named)."""

import torch
from torch.distributions import MultivariateNormal, Normal

from vae_helpers.exercises import lesson03
from vae_helpers.gradients import score_function_grad
from vae_helpers.model import VAE


def test_reference_is_vae_reparameterize_with_its_noise():
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)
    torch.manual_seed(123)
    z = VAE.reparameterize(mu, log_var)
    torch.manual_seed(123)
    eps = torch.randn_like(mu)
    assert torch.allclose(z, lesson03.reparameterize_with_noise.reference(mu, log_var, eps))


def test_reparameterize_with_the_variance_is_named():
    def wrong(mu, log_var, eps):
        std = log_var.exp()
        return mu + eps * std

    result = lesson03.reparameterize_with_noise.check(wrong, verbose=False)
    assert result.mistake == "exp(log_var) where exp(0.5 * log_var) is meant"
    assert "case 1 of 3" in result.message and "index [0, 0]" in result.message


def test_reparameterize_by_rsample_with_the_noise_passes():
    def by_normal(mu, log_var, eps):
        q = Normal(mu, torch.exp(log_var / 2))
        return q.loc + q.scale * eps

    assert lesson03.reparameterize_with_noise.check(by_normal, verbose=False).passed


def test_reparameterize_forgetting_return_is_not_attempted():
    def no_return(mu, log_var, eps):
        mu + torch.exp(0.5 * log_var) * eps

    assert lesson03.reparameterize_with_noise.check(no_return, verbose=False).status == "not attempted"


def test_full_cov_reference_is_multivariate_normal_rsample():
    for case in lesson03.reparameterize_full_cov.cases():
        mu, cov, eps = case.args
        mvn = MultivariateNormal(mu, covariance_matrix=cov)
        by_torch = mvn.loc + (mvn.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)
        assert torch.allclose(lesson03.reparameterize_full_cov.reference(mu, cov, eps), by_torch)


def test_full_cov_reference_has_the_right_covariance():
    mu, cov, _ = lesson03.reparameterize_full_cov.cases()[0].args
    eps = torch.randn(200_000, cov.shape[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = lesson03.reparameterize_full_cov.reference(torch.zeros(1, cov.shape[0], dtype=torch.float64), cov, eps)
    assert torch.allclose(torch.cov(z.T), cov, rtol=0.05, atol=0.05)


def test_full_cov_with_a_loop_and_matrix_vector_products_passes():
    def per_row(mu, cov, eps):
        L = torch.linalg.cholesky(cov)
        return torch.stack([m + L @ e for m, e in zip(mu, eps)])

    assert lesson03.reparameterize_full_cov.check(per_row, verbose=False).passed


def test_full_cov_transposed_factor_is_named():
    def wrong(mu, cov, eps):
        L = torch.linalg.cholesky(cov)
        return torch.stack([m + L.T @ e for m, e in zip(mu, eps)])

    result = lesson03.reparameterize_full_cov.check(wrong, verbose=False)
    assert result.mistake == "the factor on the wrong side (L^T eps instead of L eps)"


def test_score_variance_linear_reference_matches_measurement():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for mu, sigma in ((1.5, 0.5), (-2.0, 1.3)):
        measured = score_function_grad(lambda z: z, mu, sigma, eps).var().item()
        expected = lesson03.score_variance_linear.reference(torch.tensor(mu), torch.tensor(sigma)).item()
        assert abs(measured / expected - 1) < 0.03


def test_score_variance_second_moment_is_named():
    result = lesson03.score_variance_linear.check(lambda mu, sigma: (mu / sigma) ** 2 + 3, verbose=False)
    assert result.mistake == "E[g^2] where Var[g] = E[g^2] - E[g]^2 is meant"
