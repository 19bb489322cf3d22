"""Exercise checkers of notebook 08: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

import math

import torch

from vae_helpers.exercises import lesson08
from vae_helpers.losses import estimate_log_likelihood, iwae_bound, log_importance_weights
from vae_helpers.model import VAE


def test_naive_log_mean_exp_fails_on_underflow():
    result = lesson08.check_log_mean_exp(lambda log_w: torch.log(torch.exp(log_w).mean(0)))
    assert not result.passed
    assert "test case 3" in result.message and "got tensor of shape [2] [-inf" in result.message
    assert "never exponentiate" in result.message


def test_log_sum_exp_without_the_mean_fails():
    result = lesson08.check_log_mean_exp(lambda log_w: torch.logsumexp(log_w, dim=0))
    assert not result.passed and "math.log(k)" in result.message


def test_mean_of_log_weights_is_not_iwae():
    result = lesson08.check_iwae_from_log_weights(lambda log_w, k: log_w.mean(0))
    assert not result.passed and "test case 2" in result.message  # k = 1 happens to agree


def test_strided_groups_fail():
    # a different grouping (samples i, i + K/k, ...) is a valid estimator but not the one asked for
    def strided(log_w, k):
        K, B = log_w.shape
        groups = log_w.reshape(k, K // k, B)
        return (torch.logsumexp(groups, dim=0) - math.log(k)).mean(0)

    result = lesson08.check_iwae_from_log_weights(strided)
    assert not result.passed and "consecutive" in result.message


def test_ess_of_unnormalised_weights_fails():
    result = lesson08.check_effective_sample_size(
        lambda log_w: torch.exp(log_w).sum(0) ** 2 / torch.exp(2 * log_w).sum(0))
    assert not result.passed and "0/0" in result.message


def test_references_agree_with_the_package():
    torch.manual_seed(0)
    model = VAE(image_size=16, h_dim=8, z_dim=3, hidden_layers=2, activation="tanh")
    x = torch.bernoulli(torch.rand(4, 16, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        torch.manual_seed(5)
        log_w = torch.cat([log_importance_weights(model, x, 50) for _ in range(4)])
        torch.manual_seed(5)
        estimate = estimate_log_likelihood(model, x, k=200, chunk=50)
        torch.manual_seed(7)
        bound = iwae_bound(model, x, 10)
        torch.manual_seed(7)
        log_w10 = log_importance_weights(model, x, 10)
    assert torch.allclose(lesson08.reference_iwae_from_log_weights(log_w, 200), estimate, atol=1e-5)
    assert torch.allclose(lesson08.reference_log_mean_exp(log_w), estimate, atol=1e-5)
    assert torch.allclose(lesson08.reference_iwae_from_log_weights(log_w10, 10), bound, atol=1e-5)
    ess = lesson08.reference_effective_sample_size(log_w)
    assert bool(((ess >= 1 - 1e-6) & (ess <= 200 + 1e-6)).all())
