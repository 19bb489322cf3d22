"""Notebook 02's exercises, answered the way a reader might (tests/test_exercises.py checks the generic
rules: the solution passes, a stub is not attempted, every listed mistake is named)."""

from __future__ import annotations

import math
import re

import torch
from torch.distributions import kl_divergence

from vae_helpers import toy
from vae_helpers.exercises import lesson02


def test_best_isotropic_q_reader_mistakes():
    def average_of_diagonal(cov):  # averages the diagonal q's variances, KL computed honestly
        s2 = (1 / torch.diagonal(torch.linalg.inv(cov), dim1=-2, dim2=-1)).mean(-1)
        lam = torch.linalg.inv(cov)
        d = cov.shape[-1]
        kl = 0.5 * (s2 * torch.einsum("bii->b", lam) - d - d * torch.log(s2) + torch.logdet(cov))
        return s2, kl

    result = lesson02.best_isotropic_q.check(average_of_diagonal, verbose=False)
    assert result.mistake == "the average of the best diagonal variances 1/Λᵢᵢ"
    assert "case 1" in result.message and "shared s²" in result.message and ".hint(1)" in result.message
    assert "tr(Λ)" not in result.message  # the feedback names the slip, not the answer

    def forward_kl(cov):  # the average marginal variance, price as KL(q || p)
        d = cov.shape[-1]
        s2 = torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1) / d
        tr_lam = torch.diagonal(torch.linalg.inv(cov), dim1=-2, dim2=-1).sum(-1)
        return s2, 0.5 * (s2 * tr_lam - d - d * s2.log() + torch.logdet(cov))

    result = lesson02.best_isotropic_q.check(forward_kl, verbose=False)
    assert result.mistake == "the average marginal variance (the forward KL's q)"

    def variance_only(cov):  # forgets the tuple
        return cov.shape[-1] / torch.diagonal(torch.linalg.inv(cov), dim1=-2, dim2=-1).sum(-1)

    result = lesson02.best_isotropic_q.check(variance_only, verbose=False)
    assert result.status == "incorrect" and "tuple of 2 values" in result.message

    def per_coordinate(cov):  # returns the diagonal q's variances, shape [B, d]
        return 1 / torch.diagonal(torch.linalg.inv(cov), dim1=-2, dim2=-1), torch.zeros(cov.shape[0])

    result = lesson02.best_isotropic_q.check(per_coordinate, verbose=False)
    assert result.status == "incorrect" and "shape" in result.message


def test_best_isotropic_q_price_is_the_elbo_gap_and_exceeds_the_diagonal_price():
    gen = torch.Generator().manual_seed(5)
    cov = torch.tensor([[0.2, 0.1, 0.05], [0.1, 0.3, -0.08], [0.05, -0.08, 0.25]], dtype=torch.float64)
    model = toy.make_linear_gaussian_with_posterior(cov, 6, 0.4, generator=gen)
    x, _ = model.sample(3, generator=gen)
    variance, gap = lesson02.best_isotropic_q.reference(model.posterior(x).covariance_matrix)
    mean = model.posterior(x).mean
    q = toy.diagonal_gaussian(mean, variance.log()[:, None].expand_as(mean))
    assert torch.allclose(gap, model.marginal().log_prob(x) - toy.elbo_exact(model, x, q), atol=1e-9)
    for s in (0.97, 1.03):  # a maximum of the ELBO over s^2
        q_off = toy.diagonal_gaussian(mean, (s * variance).log()[:, None].expand_as(mean))
        assert torch.all(toy.elbo_exact(model, x, q_off) < toy.elbo_exact(model, x, q))
    diagonal_gap = toy.posterior_kl(model, x, toy.best_diagonal_gaussian(model, x))
    assert torch.all(gap > diagonal_gap)
    # an isotropic posterior costs nothing
    _, zero = lesson02.best_isotropic_q.reference(0.3 * torch.eye(3, dtype=torch.float64)[None])
    assert torch.allclose(zero, torch.zeros(1, dtype=torch.float64), atol=1e-12)


def test_forward_kl_estimate_reader_mistakes():
    def ignores_weights(log_w):  # a reader who averages under q (stabilised, one maximum per column)
        return log_w.mean(0) - (torch.logsumexp(log_w, 0) - math.log(len(log_w)))

    result = lesson02.forward_kl_estimate.check(ignores_weights, verbose=False)
    assert result.mistake == "an unweighted average over the samples of q"

    def self_normalised_by_hand(log_w):  # the same estimator, written without softmax: correct
        w = torch.exp(log_w - log_w.max(0).values)
        w_tilde = w / w.sum(0)
        return (w_tilde * log_w).sum(0) - (torch.logsumexp(log_w, 0) - math.log(len(log_w)))

    assert lesson02.forward_kl_estimate.check(self_normalised_by_hand, verbose=False).passed

    def normalised_by_logsumexp(log_w):  # correct too; in float32 near −110 it loses ~2e-4 to cancellation
        lse = torch.logsumexp(log_w, 0)
        return (torch.exp(log_w - lse) * log_w).sum(0) - lse + math.log(len(log_w))

    assert lesson02.forward_kl_estimate.check(normalised_by_logsumexp, verbose=False).passed

    def reverse(log_w):
        return torch.logsumexp(log_w, 0) - math.log(len(log_w)) - log_w.mean(0)

    result = lesson02.forward_kl_estimate.check(reverse, verbose=False)
    assert result.mistake == "the reverse KL(q ‖ p(z|x))"


def test_forward_kl_estimate_approaches_the_closed_form():
    gen = torch.Generator().manual_seed(0)
    cov = torch.tensor([[0.09, 0.048], [0.048, 0.16]], dtype=torch.float64)  # r = 0.4
    model = toy.make_linear_gaussian_with_posterior(cov, 4, 0.5, generator=gen)
    x, _ = model.sample(2, generator=gen)
    q = toy.marginal_matched_diagonal_gaussian(model, x)  # rho_q finite: the estimate converges
    log_w = toy.log_importance_weights(model, x, q, 200_000, generator=gen)
    estimate = lesson02.forward_kl_estimate.reference(log_w)
    exact = kl_divergence(model.posterior(x), toy.as_multivariate_normal(q))
    assert torch.allclose(estimate, exact, atol=5e-3)


def test_diagonal_price_prediction_matches_the_toy_model():
    answer = lesson02.diagonal_price_3d.answer()
    assert abs(answer - 0.5 * (3 * math.log(1.5) + math.log(0.5))) < 1e-12
    cov = torch.full((3, 3), 0.15, dtype=torch.float64).fill_diagonal_(0.3)  # variances 0.3, every r = 0.5
    model = toy.make_linear_gaussian_with_posterior(cov, 5, 0.5, generator=torch.Generator().manual_seed(3))
    x, _ = model.sample(2, generator=torch.Generator().manual_seed(4))
    gap = toy.posterior_kl(model, x, toy.best_diagonal_gaussian(model, x))
    assert torch.allclose(gap, torch.full_like(gap, answer), atol=1e-9)
    result = lesson02.diagonal_price_3d.check(3 * -0.5 * math.log(0.75), verbose=False)
    assert result.status == "incorrect" and "overlap" in result.message
    assert lesson02.diagonal_price_3d.check(0.26, verbose=False).passed
    assert not lesson02.diagonal_price_3d.check(0.35, verbose=False).passed


def test_diagonal_price_hint_inverse_is_right():
    sigma = 0.5 * torch.eye(3, dtype=torch.float64) + 0.5 * torch.ones(3, 3, dtype=torch.float64)
    hint = lesson02.diagonal_price_3d.hints[2]
    assert "solve Σ (a I + b J) = I" in hint and "2 I" not in hint  # the equation, not the answer
    a, b = 2.0, -0.5  # their solution: a/2 = 1, a/2 + 2 b = 0
    inverse = a * torch.eye(3, dtype=torch.float64) + b * torch.ones(3, 3, dtype=torch.float64)
    assert torch.allclose(sigma @ inverse, torch.eye(3, dtype=torch.float64), atol=1e-12)
    wrong = 0.5 * (3 * math.log(4 / 3) - math.log(2))  # from the wrong inverse 2 I - (2/3) J
    assert abs(wrong - 0.0849) < 1e-4
    result = lesson02.diagonal_price_3d.check(0.0849, verbose=False)  # Prediction names a mistake by exact value
    assert result.status == "incorrect" and "wrong inverse" in result.message


def test_forward_kl_estimate_needs_one_maximum_per_observation():
    ex = lesson02.forward_kl_estimate
    labels = [case.label for case in ex.cases()]
    assert any("−800" in label for label in labels) and any("float32" in label for label in labels)
    float32 = [case for case in ex.cases() if "float32" in case.label][0]
    assert float32.args[0].dtype == torch.float32 and float32.args[0].mean().item() < -100
    assert torch.isfinite(ex.reference(*float32.args)).all()

    def one_global_maximum(log_w):  # stabilised with the maximum of the whole tensor
        w = torch.exp(log_w - log_w.max())
        log_p_hat = torch.log(w.mean(0)) + log_w.max()
        return ((w / w.sum(0)) * (log_w - log_p_hat)).sum(0)

    result = ex.check(one_global_maximum, verbose=False)
    assert result.status == "incorrect" and result.diagnosis == "overflow" and "−800" in result.message

    def not_stabilised(log_w):  # exp of the raw log-weights: fine near −5, nan near −800 and in float32 at −110
        w = torch.exp(log_w)
        return ((w / w.sum(0)) * (log_w - torch.log(w.mean(0)))).sum(0)

    result = ex.check(not_stabilised, verbose=False)
    assert result.status == "incorrect" and result.diagnosis == "overflow"

    def solution_in_float32(log_w):  # the solutions file's formula passes every case, float32 included
        log_p_hat = torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])
        ratio = torch.exp(log_w - log_p_hat)
        return torch.mean(ratio * (log_w - log_p_hat), 0)

    assert ex.check(solution_in_float32, verbose=False).passed


def test_mistakes_point_to_the_hint_that_fixes_them():
    def raw_weights(log_w):
        return (log_w.exp() * log_w).mean(0) - (torch.logsumexp(log_w, 0) - math.log(len(log_w)))

    result = lesson02.forward_kl_estimate.check(raw_weights, verbose=False)
    if result.mistake is not None:
        assert ".hint(2)" in result.message
    hinted = {m.name: m.hint for m in lesson02.best_isotropic_q.mistakes + lesson02.forward_kl_estimate.mistakes}
    assert hinted["1/tr(Λ) without the factor d"] == 2
    assert hinted["the weights normalised over the batch instead of the samples"] == 3


def test_diagonal_price_guess_gives_no_number_away():
    guess = lesson02.diagonal_price_3d_guess
    assert guess.choices == ("more", "exactly", "less") and guess.answer() == "less"
    for choice in guess.choices:
        message = guess.check(choice, verbose=False).message
        assert not re.search(r"\d\.\d", message), message  # no price: the computation stays the reader's
    assert "share" in guess.check("exactly", verbose=False).message
    assert "overlaps" in guess.check("more", verbose=False).message
