"""Exercises of notebook 05, answered the way a reader might write them
(tests/test_exercises.py: every solution passes, every stub reads as not attempted, every listed mistake is named)."""

import math

import torch
import torch.nn.functional as F

from vae_helpers.exercises import lesson05
from vae_helpers.losses import vae_loss

ZERO_GRAD = "optimizer.zero_grad() missing, or not before loss.backward()"


def test_a_step_written_with_torch_functions_passes():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        kl = -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp()) / len(x)
        loss = recon + kl
        optimizer.zero_grad(set_to_none=False)  # zeroed instead of None: the same step
        loss.backward()
        optimizer.step()
        return loss.item()

    assert lesson05.training_step.check(step, verbose=False).passed


def test_a_step_without_zero_grad_is_named():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        loss = vae_loss(logits, x, mu, log_var)[0]
        loss.backward()
        optimizer.step()
        return loss

    result = lesson05.training_step.check(step, verbose=False)
    assert result.status == "incorrect" and result.mistake == ZERO_GRAD
    assert "result[1]" in result.message  # the weights differ, the loss does not


def test_zero_grad_after_step_is_told_it_comes_too_late():
    def step(model, optimizer, x):  # a common order in other code: clear after the update
        logits, mu, log_var = model(x)
        loss = vae_loss(logits, x, mu, log_var)[0]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        return loss

    result = lesson05.training_step.check(step, verbose=False)
    assert result.status == "incorrect" and result.mistake == ZERO_GRAD
    assert "before" in result.message and "after step()" in result.message


def test_zero_grad_between_backward_and_step_is_named():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        loss = vae_loss(logits, x, mu, log_var)[0]
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        return loss

    result = lesson05.training_step.check(step, verbose=False)
    assert result.mistake == "optimizer.step() with no fresh gradients"


def test_a_summed_loss_is_named_even_though_adam_barely_notices():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
        kl = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
        optimizer.zero_grad()
        (recon + kl).backward()
        optimizer.step()
        return recon + kl

    result = lesson05.training_step.check(step, verbose=False)
    assert result.mistake == "the loss summed over the batch instead of averaged"
    assert "result[0]" in result.message and "too large" in result.message


def test_a_step_that_returns_all_three_terms_is_told_to_return_a_number():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        loss, recon, kl = vae_loss(logits, x, mu, log_var)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss, recon, kl

    result = lesson05.training_step.check(step, verbose=False)
    assert result.status == "incorrect" and "should be a number" in result.message


def test_a_step_that_updates_twice_fails():
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        loss = vae_loss(logits, x, mu, log_var)[0]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        optimizer.step()
        return loss

    result = lesson05.training_step.check(step, verbose=False)
    assert result.status == "incorrect" and result.mistake is None


def test_the_check_leaves_the_readers_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    lesson05.training_step.check(lambda model, optimizer, x: None, verbose=False)
    lesson05.training_step.check(lesson05.reference_training_step, verbose=False)
    assert torch.equal(torch.rand(3), expected)


def test_elbo_in_nats_with_log2_and_a_loop_passes():
    def elbo(bpd, image_shape):
        n = 1
        for d in image_shape:
            n *= d
        return -bpd * n / math.log2(math.e)

    assert lesson05.elbo_in_nats.check(elbo, verbose=False).passed


def test_elbo_in_nats_with_784_hard_coded_fails_on_colour_images():
    result = lesson05.elbo_in_nats.check(lambda bpd, image_shape: -bpd * 784 * math.log(2), verbose=False)
    assert result.status == "incorrect" and "case 1 of 3" in result.message


def test_elbo_in_nats_with_height_times_width_is_named():
    result = lesson05.elbo_in_nats.check(
        lambda bpd, shape: -bpd * shape[1] * shape[2] * math.log(2), verbose=False)
    assert result.mistake == "the channels left out"


def test_elbo_in_nats_with_log10_fails_without_a_false_diagnosis():
    result = lesson05.elbo_in_nats.check(lambda bpd, shape: -bpd * math.prod(shape) * math.log(10),
                                         verbose=False)
    assert result.status == "incorrect" and result.mistake is None


def test_elbo_in_nats_that_averages_the_batch_is_told_the_shape():
    result = lesson05.elbo_in_nats.check(
        lambda bpd, shape: (-bpd * math.prod(shape) * math.log(2)).mean(), verbose=False)
    assert result.status == "incorrect" and "shape" in result.message


def test_adam_prediction_is_measured_not_stored():
    assert abs(lesson05._adam_step_ratio() - 1) < 0.01
    assert lesson05.adam_summed_loss.answer() == "a"
    assert lesson05.adam_summed_loss.check("A", verbose=False).passed
    wrong = lesson05.adam_summed_loss.check("b", verbose=False)
    assert wrong.status == "incorrect" and "plain SGD" in wrong.message
    assert lesson05.adam_summed_loss.check("d", verbose=False).status == "incorrect"
