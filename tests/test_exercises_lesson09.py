"""Notebook 09's exercises, answered the way a reader might: each typical mistake, written as a
reader would write it (not as the exercise lists it), gets the verdict and the mistake's name.
(tests/test_exercises.py runs the generic checks: solutions pass, stubs read as not attempted.)"""

import math

import torch

from vae_helpers.exercises import lesson09
from vae_helpers.model import VAE


def verdict(ex, fn):
    result = ex.check(fn, verbose=False)
    return result.status, result.mistake


def test_training_step_flops_as_a_reader_writes_them():
    ex = lesson09.training_step_flops

    def per_layer(batch, image_size, h_dim, z_dim):  # right: layer by layer, 2 or 3 products each
        layers = [(image_size, h_dim), (h_dim, 2 * z_dim), (z_dim, h_dim), (h_dim, image_size)]
        total = 0
        for k, (n_in, n_out) in enumerate(layers):
            products = 2 if k == 0 else 3
            total += products * 2 * batch * n_in * n_out
        return total

    def rule_of_thumb(batch, image_size, h_dim, z_dim):
        fwd = 2 * batch * (image_size * h_dim + 2 * h_dim * z_dim + z_dim * h_dim + h_dim * image_size)
        return 3 * fwd

    def macs(batch, image_size, h_dim, z_dim):
        return per_layer(batch, image_size, h_dim, z_dim) // 2

    assert ex.check(per_layer, verbose=False).passed
    assert verdict(ex, rule_of_thumb) == ("incorrect", "the rule of thumb, 3× the forward")
    assert verdict(ex, macs)[1] == "multiply-adds counted, not FLOPs"


def test_training_step_flops_matches_the_profilers_count():
    # torch's FLOP counter counts the products of one real training step the same way
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    model = VAE(784, 400, 20)
    x = torch.rand(16, 784)
    with FlopCounterMode(display=False) as counter:
        logits, mu, log_var = model(x)
        torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="sum").backward()
    assert counter.get_total_flops() == lesson09.reference_training_step_flops(16, 784, 400, 20)


def test_rule_of_thumb_overcounts_by_about_19_percent():
    exact = lesson09.reference_training_step_flops(128, 784, 400, 20)
    forward = 2 * 128 * (784 * 400 + 2 * 400 * 20 + 20 * 400 + 400 * 784)
    assert abs(exact / 1e9 - 0.42) < 0.005 and abs(3 * forward / exact - 1.19) < 0.01


def test_arithmetic_intensity_as_a_reader_writes_them():
    ex = lesson09.arithmetic_intensity

    def right(batch, n_in, n_out, bytes_per_value):
        x, w, y = batch * n_in, n_out * n_in, batch * n_out
        return 2 * batch * n_in * n_out / ((x + w + y) * bytes_per_value)

    def activations_only(batch, n_in, n_out, bytes_per_value):
        return 2 * batch * n_in * n_out / ((batch * n_in + batch * n_out) * bytes_per_value)

    assert ex.check(right, verbose=False).passed
    assert verdict(ex, activations_only) == ("incorrect", "the weights left out of the bytes")


def test_arithmetic_intensity_grows_with_the_batch_and_saturates():
    f = lesson09.reference_arithmetic_intensity
    at = [f(b, 784, 400, 4) for b in (1, 128, 1024, 10**6)]
    assert at[0] < 0.6 and at == sorted(at)
    limit = 2 * 784 * 400 / (4 * (784 + 400))  # batch -> infinity: the weights no longer count
    assert abs(at[-1] - limit) / limit < 0.01
    assert math.isclose(f(128, 784, 400, 2), 2 * f(128, 784, 400, 4))


def test_batch_prediction_is_measured_once_and_explained():
    ex = lesson09.batch_1024_per_image
    answer = ex.answer()
    assert answer in ("a", "b", "c") and answer == ex.answer()  # measured once per process
    assert answer not in ex.mistakes and len(ex.mistakes) == 3 - len(ex.accepted())
    right = ex.check(answer, verbose=False)
    assert right.passed and "µs per image at batch 128" in right.message


def test_a_ratio_near_the_boundary_accepts_both_neighbouring_choices(monkeypatch):
    ex = lesson09.batch_1024_per_image
    monkeypatch.setattr(lesson09, "_batch_accepted", lambda: {"a", "b"})
    monkeypatch.setattr(ex, "answer", lambda: "a")  # not measured here: a busy machine must not decide the test
    monkeypatch.setattr(lesson09, "_busy", lambda: None)
    assert ex.check("a", verbose=False).passed and ex.check("b", verbose=False).passed
    assert "a or b" in ex.check("b", verbose=False).message
    assert not ex.check("c", verbose=False).passed
    assert set(ex.mistakes) == {"c"}  # an accepted neighbour is no trap


def test_a_correct_answer_gets_the_follow_up_answered():
    import solutions.lesson09 as solutions

    message = lesson09.training_step_flops.check(solutions.training_step_flops, verbose=False).message
    assert "419.8 MFLOP" in message and "19 %" in message
    lesson09.use_run(balance_point=5.8)
    message = lesson09.arithmetic_intensity.check(solutions.arithmetic_intensity, verbose=False).message
    assert "at batch 13" in message and "moves the balance point right" in message


def test_a_neighbouring_choice_accepted_near_the_boundary_still_hears_its_trap():
    from unittest import mock

    from vae_helpers.exercises import lesson09 as module

    ex = module.batch_1024_per_image
    with mock.patch.object(module, "_batch_accepted", return_value={"a", "b"}), \
            mock.patch.object(ex, "answer", return_value="b"):
        result = ex.check("a", verbose=False)
    assert result.status == "correct" and "near the boundary" in result.message
