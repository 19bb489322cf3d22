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


# ---- diagnoses added after a learner trial (issue #27): shapes, order, rounding, errors, near misses

def flatten_batch(x):
    return x.reshape(x.shape[0], -1)


def flatten_cases():
    g = torch.Generator().manual_seed(3)
    return [Case((torch.rand(3, 1, 4, 4, generator=g, dtype=torch.float64),), "3 images"),
            Case((torch.rand(2, 3, 5, 5, generator=g, dtype=torch.float64),), "2 colour images"),
            Case((torch.rand(2, 1, 6, 6, generator=g, dtype=torch.float64).transpose(2, 3),), "transposed")]


FLATTEN = Exercise("flatten_batch", flatten_batch, flatten_cases, ["a nudge", "closer"], lesson="lesson06")


def test_view_on_a_non_contiguous_input_is_explained_not_just_raised():
    result = check(FLATTEN, lambda x: x.view(x.shape[0], -1))
    assert result.diagnosis == "view" and "reshape" in result.message and "Stuck?" not in result.message


def test_flattening_the_batch_axis_too_is_a_shape_diagnosis():
    result = check(FLATTEN, lambda x: x.flatten())
    assert result.diagnosis == "shape" and "flatten(1)" in result.message


def test_permuting_before_flattening_is_named_the_wrong_order():
    result = check(FLATTEN, lambda x: x.permute(0, 2, 3, 1).reshape(x.shape[0], -1))
    assert result.diagnosis == "order"


def test_a_missing_sum_over_the_last_axis_is_named():
    result = check(KL, lambda mu, lv: -0.5 * (1 + lv - mu.pow(2) - lv.exp()))
    assert result.diagnosis == "shape" and "not reduced" in result.message


def test_a_sum_over_the_wrong_axis_is_named():
    result = check(LME, lambda log_w: torch.logsumexp(log_w, 1) - math.log(log_w.shape[1]))
    assert result.diagnosis == "shape" and "wrong axis" in result.message


def output_side(side, kernel, stride, padding):
    return (side + 2 * padding - kernel) // stride + 1


SIDE = Exercise("output_side", output_side, [Case((28, 3, 2, 1)), Case((30, 4, 2, 0)), Case((7, 3, 1, 1))],
                ["a nudge", "closer"], lesson="lesson06")


def test_true_division_where_floor_division_is_meant_is_named():
    result = check(SIDE, lambda side, kernel, stride, padding: (side + 2 * padding - kernel) / stride + 1)
    assert result.diagnosis == "rounding" and "whole number" in result.message


def test_rounding_to_nearest_where_floor_is_meant_is_an_off_by_one():
    result = check(SIDE, lambda side, kernel, stride, padding: round((side + 2 * padding - kernel) / stride + 0.01) + 1)
    assert result.diagnosis == "rounding" and "off by one" in result.message


def test_a_missing_plus_one_everywhere_is_a_constant_offset():
    result = check(SIDE, lambda side, kernel, stride, padding: (side + 2 * padding - kernel) // stride)
    assert result.diagnosis == "offset" and "too small by 1" in result.message


def ess(log_w):  # [k, n]
    return torch.exp(2 * torch.logsumexp(log_w, 0) - torch.logsumexp(2 * log_w, 0))


ESS = Exercise("ess", ess, lambda: [Case((torch.randn(20, 3, generator=torch.Generator().manual_seed(5),
                                                       dtype=torch.float64) * s,)) for s in (1.0, 2.0)],
               ["a nudge", "closer"], lesson="lesson08")


def test_an_expression_that_cancels_to_a_constant_is_named():
    result = check(ESS, lambda log_w: torch.softmax(log_w, 0).sum(0))  # the normalised weights, not squared
    assert result.diagnosis == "constant" and "whatever the inputs" in result.message


def test_a_monte_carlo_estimate_where_the_exact_value_is_asked_is_a_near_miss():
    def kl_by_sampling(mu, lv):
        g = torch.Generator().manual_seed(0)
        eps = torch.randn(20000, *mu.shape, generator=g, dtype=mu.dtype)
        z = mu + (0.5 * lv).exp() * eps
        log_q = (-0.5 * eps.pow(2) - 0.5 * lv).sum(-1)
        log_p = (-0.5 * z.pow(2)).sum(-1)
        return (log_q - log_p).mean(0)

    result = check(KL, kl_by_sampling)
    assert result.diagnosis == "near" and "Monte-Carlo" in result.message


def test_nan_from_the_log_of_a_negative_number_is_not_called_an_overflow():
    result = check(KL, lambda mu, lv: -0.5 * (1 + torch.log(lv) - mu.pow(2) - lv).sum(-1))  # lv used as the variance
    assert result.diagnosis == "nan" and "overflow" not in result.message


def test_a_matrix_product_in_the_wrong_order_is_explained():
    ex = Exercise("affine", lambda x, a: x @ a.T,
                  [Case((torch.ones(4, 3, dtype=torch.float64), torch.eye(2, 3, dtype=torch.float64)))],
                  ["a nudge", "closer"], lesson="lesson03")
    result = check(ex, lambda x, a: a @ x)
    assert result.diagnosis == "matmul" and "x @ Aᵀ" in result.message


def test_a_constant_named_root_two_pi_is_named():
    ex = Exercise("normal_pdf", lambda x: torch.exp(-0.5 * x ** 2) / math.sqrt(2 * math.pi),
                  [Case((torch.linspace(-2, 2, 5, dtype=torch.float64),))], ["a nudge", "closer"], lesson="lesson03")
    result = check(ex, lambda x: torch.exp(-0.5 * x ** 2))
    assert result.diagnosis == "factor" and "√(2π)" in result.message


def test_a_factor_of_a_hidden_count_is_named():
    ex = Exercise("per_image", lambda total: total / 128, [Case((torch.tensor([256.0, 384.0], dtype=torch.float64),))],
                  ["a nudge", "closer"], lesson="lesson05")
    result = check(ex, lambda total: total)
    assert result.diagnosis == "factor" and "128" in result.message


def test_two_known_mistakes_at_once_are_both_named():
    # a learner who divides by ln 2 and forgets the channels: each slip is catalogued on its own
    from vae_helpers.exercises import lesson05, lesson09

    result = lesson05.elbo_in_nats.check(lambda bpd, shape: -bpd * shape[-1] * shape[-2] / math.log(2), verbose=False)
    assert result.status == "incorrect" and result.mistake is not None and " + " in result.mistake
    assert "divided by ln 2" in result.mistake and "channels" in result.mistake
    assert "two known mistakes at once" in result.message


def test_two_effects_that_only_add_up_by_algebra_are_not_named_as_two_mistakes():
    # k dividing the images' part instead of the ε part: the sum of "whole variance / k" and "k left out"
    # minus the right answer equals it by algebra, yet the learner made neither mistake
    from vae_helpers.exercises import lesson05

    swapped = lambda v_eps, v_total, batch_size, k: ((v_total - v_eps) * 128 / (batch_size * k)
                                                     + v_eps * 128 / batch_size)
    result = lesson05.step_variance.check(swapped, verbose=False)
    assert result.status == "incorrect" and (result.mistake is None or " + " not in result.mistake)
