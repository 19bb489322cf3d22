"""Notebook 03's exercises, answered the way a reader might (tests/test_exercises.py covers the
generic behaviour: solutions pass, stubs read as not attempted, every listed mistake is named)."""

import torch
from torch.distributions import MultivariateNormal, Normal

from vae_helpers.exercises import lesson03
from vae_helpers.gradients import pathwise_grad, score_function_grad


def test_step_gradient_reference_is_the_derivative_of_the_probability():
    mu = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    sigma = torch.tensor([1.0, 0.5, 1.5], dtype=torch.float64)
    (grad,) = torch.autograd.grad(Normal(mu, sigma).cdf(torch.zeros(3, dtype=torch.float64)).sum(), mu)
    assert torch.allclose(lesson03.step_gradient.reference(mu.detach(), sigma), -grad)  # P(z > 0) = 1 - cdf(0)


def test_step_gradient_score_function_agrees_and_pathwise_is_zero():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    step = lambda t: (torch.sign(t) + 1) / 2  # noqa: E731  (1[t > 0]; autograd gives it slope 0)
    for mu, sigma in ((0.5, 1.0), (-1.0, 0.5)):
        expected = lesson03.step_gradient.reference(torch.tensor(mu), torch.tensor(sigma)).item()
        by_score = score_function_grad(step, mu, sigma, eps, baseline=0.5)
        assert abs(by_score.mean().item() - expected) < 5 * by_score.std().item() / 400_000**0.5
        assert pathwise_grad(step, mu, sigma, eps).abs().max().item() == 0.0


def test_step_gradient_pathwise_zero_is_named():
    result = lesson03.step_gradient.check(lambda mu, sigma: torch.zeros_like(mu), verbose=False)
    assert result.mistake == "zero: the pathwise estimate taken for the gradient"


def test_step_gradient_with_normal_log_prob_passes():
    def by_density(mu, sigma):
        return Normal(mu, sigma).log_prob(torch.zeros_like(mu)).exp()

    assert lesson03.step_gradient.check(by_density, verbose=False).passed


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
    assert result.mistake == "the factor on the wrong side (Lᵀε instead of Lε)"


def test_optimal_baseline_sigma_reference_matches_measurement():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    for mu, sigma in ((1.5, 0.5), (-2.0, 1.3)):
        z, s = mu + sigma * eps, (eps**2 - 1) / sigma
        measured = ((z**2 * s**2).mean() / (s**2).mean()).item()
        expected = lesson03.optimal_baseline_sigma.reference(torch.tensor(mu), torch.tensor(sigma)).item()
        assert abs(measured / expected - 1) < 0.03


def test_optimal_baseline_sigma_minimises_the_variance():
    eps = torch.randn(400_000, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    mu, sigma = 1.5, 1.0
    best = lesson03.optimal_baseline_sigma.reference(torch.tensor(mu), torch.tensor(sigma)).item()
    var = {b: score_function_grad(lambda t: t**2, mu, sigma, eps, wrt="sigma", baseline=b).var().item()
           for b in (best - 2, best, best + 2)}
    assert var[best] < var[best - 2] and var[best] < var[best + 2]
    assert abs(var[best] - (40 * mu**2 + 24 * sigma**2)) < 0.05 * (40 * mu**2 + 24 * sigma**2)


def test_optimal_baseline_sigma_mean_of_f_is_named():
    result = lesson03.optimal_baseline_sigma.check(lambda mu, sigma: mu**2 + sigma**2, verbose=False)
    assert result.mistake == "the mean E[f] = μ² + σ²"


def _other_roots():
    """Square roots A of the covariance (AAᵀ = Σ) other than the Cholesky factor, as a reader might write them."""

    def symmetric(mu, cov, eps):
        values, vectors = torch.linalg.eigh(cov)
        return mu + eps @ (vectors @ torch.diag(values.sqrt()) @ vectors.T).T

    def upper_triangular(mu, cov, eps):  # U Uᵀ = Σ with U upper-triangular: Cholesky of the reversed matrix
        flip = torch.flip(torch.eye(cov.shape[0], dtype=cov.dtype), [0])
        upper = flip @ torch.linalg.cholesky(flip @ cov @ flip) @ flip
        return mu + eps @ upper.T

    def rotated(mu, cov, eps):  # L Q with a fixed orthogonal Q
        d = cov.shape[0]
        q, _ = torch.linalg.qr(torch.arange(1.0, d * d + 1, dtype=cov.dtype).view(d, d) ** 0.5)
        return mu + eps @ (torch.linalg.cholesky(cov) @ q).T

    return {"symmetric": symmetric, "upper-triangular": upper_triangular, "rotated": rotated}


def test_full_cov_any_square_root_passes_and_says_it_is_not_the_reference():
    for name, fn in _other_roots().items():
        mu, cov, eps = lesson03.reparameterize_full_cov.cases()[0].args
        assert not torch.allclose(fn(mu, cov, eps), lesson03.reparameterize_full_cov.reference(mu, cov, eps)), name
        result = lesson03.reparameterize_full_cov.check(fn, verbose=False)
        assert result.passed, (name, result.message)
        assert "AAᵀ = Σ" in result.message and "Cholesky" in result.message, result.message


def test_full_cov_a_root_that_changes_with_the_noise_fails():
    def not_affine(mu, cov, eps):  # right root at ε = I, but not affine in ε
        L = torch.linalg.cholesky(cov)
        return mu + eps.abs() @ L.T

    result = lesson03.reparameterize_full_cov.check(not_affine, verbose=False)
    assert result.status == "incorrect"


def test_full_cov_mu_left_out_is_named():
    result = lesson03.reparameterize_full_cov.check(lambda mu, cov, eps: eps @ torch.linalg.cholesky(cov).T,
                                                    verbose=False)
    assert result.mistake == "μ left out"
