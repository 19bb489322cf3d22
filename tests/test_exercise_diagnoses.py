"""General diagnoses of the exercise checker (vae_helpers/exercises/diagnose.py and core.py), each shown
on the wrong answer a learner actually writes, on small exercises built here (the lessons' own
exercises are tested in test_exercises*.py)."""

from __future__ import annotations

import math
import time

import torch

from vae_helpers.exercises.core import Case, Exercise, Mistake


def gaussian_kl(mu, log_var):
    return -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum(-1)


def kl_cases():
    g = torch.Generator().manual_seed(0)
    return [Case((torch.randn(4, 3, generator=g, dtype=torch.float64),
                  torch.randn(4, 3, generator=g, dtype=torch.float64) * 0.5), "4 images, 3 dims"),
            Case((torch.randn(2, 5, generator=g, dtype=torch.float64),
                  torch.randn(2, 5, generator=g, dtype=torch.float64) * 0.5), "2 images, 5 dims")]


KL = Exercise("gaussian_kl", gaussian_kl, kl_cases, ["a nudge", "closer"], lesson="lesson04")


def log_mean_exp(log_w):  # [k, n]: one column per image
    return torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])


def lme_cases():
    g = torch.Generator().manual_seed(1)
    far_apart = torch.randn(6, 2, generator=g, dtype=torch.float64) + torch.tensor([0.0, -1000.0], dtype=torch.float64)
    return [Case((torch.randn(5, 3, generator=g, dtype=torch.float64),), "k=5, 3 images"),
            Case((torch.randn(8, 2, generator=g, dtype=torch.float64) - 110,), "k=8, log-weights near -110"),
            Case((far_apart,), "two columns 1000 nats apart")]


LME = Exercise("log_mean_exp", log_mean_exp, lme_cases, ["a nudge", "closer"], lesson="lesson08")


def check(ex, fn):
    return ex.check(fn, verbose=False)


def test_a_kl_without_its_half_is_named_a_missing_half():
    result = check(KL, lambda mu, lv: -(1 + lv - mu.pow(2) - lv.exp()).sum(-1))
    assert result.diagnosis == "factor" and "factor ½ is missing" in result.message


def test_a_mean_over_latent_dims_where_a_sum_is_meant_names_the_dimension():
    result = check(KL, lambda mu, lv: -0.5 * (1 + lv - mu.pow(2) - lv.exp()).mean(-1))
    assert result.diagnosis == "factor" and "dimension 1 of `mu`" in result.message


def test_a_sign_flip_is_named():
    result = check(KL, lambda mu, lv: 0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(-1))
    assert result.diagnosis == "sign"


def test_a_missing_log_k_is_named_with_the_dimension_it_comes_from():
    result = check(LME, lambda log_w: torch.logsumexp(log_w, 0))
    assert result.diagnosis == "offset" and "log k" in result.message and "dimension 0 of `log_w`" in result.message


def test_one_global_maximum_overflows_on_columns_far_apart():
    def one_max(log_w):
        m = log_w.max()
        return m + (log_w - m).exp().mean(0).log()

    result = check(LME, one_max)
    assert result.status == "incorrect" and result.diagnosis == "overflow"
    assert "one maximum per group" in result.message


def test_no_stabilisation_at_all_fails_on_the_float32_vae_scale_case():
    result = check(LME, lambda log_w: log_w.float().exp().mean(0).log().double())
    assert result.status == "incorrect" and result.diagnosis == "overflow"


def test_the_log_of_the_answer_is_named():
    result = check(KL, lambda mu, lv: gaussian_kl(mu, lv).log())
    assert result.diagnosis in {"log", "overflow"}  # a KL can be 0 only at mu=0, log_var=0: here it is > 0
    assert result.diagnosis == "log"


def test_fresh_noise_instead_of_the_given_eps_is_named():
    def sample(mu, log_var, eps):
        return mu + (0.5 * log_var).exp() * eps

    def cases():
        g = torch.Generator().manual_seed(2)
        return [Case(tuple(torch.randn(3, 2, generator=g, dtype=torch.float64) for _ in range(3)))]

    ex = Exercise("sample", sample, cases, ["a", "b"], lesson="lesson03")
    result = check(ex, lambda mu, lv, eps: mu + (0.5 * lv).exp() * torch.randn_like(mu))
    assert result.diagnosis == "random" and "eps" in result.message


def test_a_swapped_pair_and_a_transpose_are_named():
    def split(x):
        return x[:, :2], x[:, 2:]

    ex = Exercise("split", split, [Case((torch.arange(12.0, dtype=torch.float64).reshape(3, 4),))], ["a", "b"],
                  lesson="lesson06")
    assert check(ex, lambda x: (x[:, 2:], x[:, :2])).diagnosis == "swapped"
    tr = Exercise("t", lambda x: x @ x.T[:, :2], [Case((torch.randn(3, 5, dtype=torch.float64),))], ["a", "b"],
                  lesson="lesson06")
    assert check(tr, lambda x: (x @ x.T[:, :2]).T).diagnosis == "transposed"


def test_float32_where_float64_is_needed_is_named():
    ex = Exercise("kl", gaussian_kl, kl_cases, ["a", "b"], lesson="lesson04", rtol=1e-12, atol=1e-12)
    result = check(ex, lambda mu, lv: gaussian_kl(mu.float(), lv.float()))
    assert result.diagnosis == "dtype"


def test_a_result_without_its_autograd_graph_is_named():
    def loss(w):
        return (w ** 2).sum()

    ex = Exercise("loss", loss, lambda: [Case((torch.randn(3, dtype=torch.float64, requires_grad=True),))],
                  ["a", "b"], lesson="lesson05")
    result = check(ex, lambda w: torch.tensor((w ** 2).sum().item(), dtype=torch.float64))
    assert result.diagnosis == "graph"


def test_a_catalogued_mistake_that_raises_is_named_from_the_error():
    def flatten(x):
        return x.reshape(len(x), -1)

    cases = [Case((torch.randn(2, 1, 4, 4),), "contiguous"),
             Case((torch.randn(2, 1, 4, 4).transpose(-1, -2),), "transposed")]
    view = Mistake("view on a non-contiguous tensor", "view needs contiguous memory", lambda x: x.view(-1, 16), hint=2)
    ex = Exercise("flatten", flatten, cases, ["a", "b"], lesson="lesson06", mistakes=[view])
    result = check(ex, lambda x: x.view(len(x), -1))
    assert result.mistake == "view on a non-contiguous tensor" and "raised RuntimeError" in result.message
    assert ".hint(2) is about this" in result.message and "Stuck?" not in result.message


def test_a_mistake_that_explains_most_cases_is_named_as_such():
    def batch_mean(x):
        return x.sum(-1).mean()

    cases = [Case((torch.randn(4, 3, dtype=torch.float64),)), Case((torch.randn(5, 3, dtype=torch.float64),)),
             Case((torch.randn(1, 3, dtype=torch.float64),), "a batch of one")]
    summed = Mistake("summed over the batch", "the loss is a mean over images", lambda x: x.sum())
    ex = Exercise("batch_mean", batch_mean, cases, ["a", "b"], lesson="lesson05", mistakes=[summed])
    # summed, but a batch of one handled "specially": explains 2 of 3 cases
    result = check(ex, lambda x: x.sum() if len(x) > 1 else x.sum() * 2)
    assert result.mistake == "summed over the batch" and "On most cases" in result.message


def test_an_answer_that_never_returns_is_stopped_with_a_clear_message():
    ex = Exercise("kl", gaussian_kl, kl_cases, ["a", "b"], lesson="lesson04", time_limit=0.5)

    def forever(mu, log_var):
        while True:
            pass

    began = time.monotonic()
    result = check(ex, forever)
    assert time.monotonic() - began < 5
    assert result.status == "incorrect" and result.diagnosis == "time" and "did not return within 0.5 s" in result.message


def test_an_unexplained_wrong_answer_still_gets_the_nudge_and_no_false_diagnosis():
    result = check(KL, lambda mu, lv: -0.5 * (1 + lv - mu.pow(2) - lv.exp()).sum(-1) + mu[:, 0] ** 3)
    assert result.diagnosis is None and result.mistake is None and "Stuck? .hint()" in result.message


def test_a_right_answer_written_another_way_passes():
    def with_distributions(mu, log_var):
        q = torch.distributions.Normal(mu, (0.5 * log_var).exp())
        p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
        return torch.distributions.kl_divergence(q, p).sum(-1)

    assert check(KL, with_distributions).passed
    assert check(LME, lambda log_w: torch.logsumexp(log_w - math.log(len(log_w)), 0)).passed


def test_a_catalogued_numeric_prediction_is_named_when_written_with_other_digits():
    from vae_helpers.exercises.core import Prediction

    pred = Prediction("price", 0.262, lesson="lesson02", explain="the price is 0.262 nats",
                      mistakes={0.0849: "the wrong inverse of Sigma"})
    result = pred.check(0.08495, verbose=False)
    assert result.status == "incorrect" and "wrong inverse" in result.message and result.mistake == 0.0849
    assert pred.check(0.262, verbose=False).passed
