"""Notebook 02's exercise checkers: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

from __future__ import annotations

import math

import torch

from vae_helpers.exercises import lesson02


def test_kl_mistakes_fail():
    no_half = lesson02.check_kl_to_standard_normal(lambda mu, lv: torch.sum(mu**2 + lv.exp() - 1 - lv, dim=-1))
    assert not no_half.passed and "test case 2" in no_half.message and "0.5" in no_half.message
    std_for_var = lesson02.check_kl_to_standard_normal(
        lambda mu, lv: 0.5 * torch.sum(mu**2 + (0.5 * lv).exp() - 1 - lv, dim=-1)
    )
    assert not std_for_var.passed and "expected tensor" in std_for_var.message


def test_elbo_mistakes_fail():
    summed = lesson02.check_elbo_from_log_weights(lambda log_w: log_w.sum(dim=0))
    assert not summed.passed and "test case 2" in summed.message and "average" in summed.message
    iw_instead = lesson02.check_elbo_from_log_weights(
        lambda log_w: torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])
    )
    assert not iw_instead.passed and "test case 2" in iw_instead.message


def test_iw_bound_mistakes_fail():
    elbo_instead = lesson02.check_iw_bound_from_log_weights(lambda log_w: log_w.mean(dim=0))
    assert not elbo_instead.passed and "test case 2" in elbo_instead.message and "ELBO" in elbo_instead.message
    naive = lesson02.check_iw_bound_from_log_weights(lambda log_w: torch.log(torch.exp(log_w).mean(dim=0)))
    assert not naive.passed and "test case 3" in naive.message and "-inf" in naive.message
    no_minus_log_k = lesson02.check_iw_bound_from_log_weights(lambda log_w: torch.logsumexp(log_w, dim=0))
    assert not no_minus_log_k.passed and "test case 2" in no_minus_log_k.message
