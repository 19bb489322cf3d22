"""Notebook 01's exercise checkers: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

from __future__ import annotations

import torch

from vae_helpers.exercises import lesson01


def test_naive_log_mean_exp_fails_on_extreme_values():
    result = lesson01.check_log_mean_exp(lambda a: torch.log(torch.exp(a).mean(dim=0)))
    assert not result.passed
    assert "test case 3" in result.message and "-inf" in result.message and "underflows" in result.message


def test_log_mean_exp_with_the_wrong_dimension_fails():
    result = lesson01.check_log_mean_exp(lambda a: torch.logsumexp(a, dim=-1) - torch.log(torch.tensor(a.shape[-1])))
    assert not result.passed and "test case 2" in result.message and "shape" in result.message


def test_marginal_covariance_mistakes_fail():
    no_noise = lesson01.check_marginal_covariance(lambda w, s: w @ w.T)
    assert not no_noise.passed and "expected tensor" in no_noise.message and "sigma^2 I" in no_noise.message
    transposed = lesson01.check_marginal_covariance(lambda w, s: w.T @ w + s**2 * torch.eye(w.shape[1], dtype=w.dtype))
    assert not transposed.passed and "shape" in transposed.message


def test_gaussian_log_likelihood_without_the_normaliser_fails():
    result = lesson01.check_gaussian_log_likelihood(lambda x, m, s: (-((x - m) ** 2) / (2 * s**2)).sum(-1))
    assert not result.passed and "test case 1" in result.message and "normalising constant" in result.message
    unsummed = lesson01.check_gaussian_log_likelihood(lambda x, m, s: torch.distributions.Normal(m, s).log_prob(x))
    assert not unsummed.passed and "shape" in unsummed.message
