"""Exercises of notebook 05, answered the way a reader might write them
(tests/test_exercises.py: every solution passes, every stub reads as not attempted, every listed mistake is named)."""

import math

import torch

from vae_helpers.exercises import lesson05


def test_step_variance_written_with_a_total_variance_passes():
    def step_variance(v_eps, v_total, batch_size, k):
        per_image_eps = v_eps * 128  # one image, one code
        per_image_images = (v_total - v_eps) * 128
        return per_image_images / batch_size + per_image_eps / (batch_size * k)

    assert lesson05.step_variance.check(step_variance, verbose=False).passed


def test_step_variance_that_keeps_eps_inside_v_total_is_named():
    result = lesson05.step_variance.check(
        lambda ve, vt, b, k: vt * 128 / b + ve * 128 / (b * k), verbose=False)
    assert result.status == "incorrect" and result.mistake.startswith("v_total used as the images' part")


def test_step_variance_that_divides_everything_by_k_is_named():
    result = lesson05.step_variance.check(lambda ve, vt, b, k: vt * 128 / (b * k), verbose=False)
    assert result.mistake == "the whole variance divided by k"


def test_step_variance_with_square_roots_is_named():
    result = lesson05.step_variance.check(
        lambda ve, vt, b, k: (vt - ve) * math.sqrt(128 / b) + ve * math.sqrt(128 / (b * k)), verbose=False)
    assert result.mistake == "scaled like a standard deviation (square roots)"


def test_step_variance_answers_the_budget_question():
    # 256 passes per step: more images beat more codes whenever v_total > v_eps > 0
    two_codes = lesson05.reference_step_variance(0.4, 2.0, 128, 2)
    more_images = lesson05.reference_step_variance(0.4, 2.0, 256, 1)
    assert more_images < two_codes and math.isclose(more_images, 1.0)
    assert math.isclose(lesson05.reference_step_variance(0.4, 2.0, 128, 1), 2.0)


def test_break_even_signal_solved_for_s_by_hand_passes():
    def break_even_signal(v_eps, v_total, k, work):
        left = v_total - v_eps + v_eps / k  # 128 images, k codes each
        # 1 + v_total / s = work + work * left / s
        return (v_total - work * left) / (work - 1)

    assert lesson05.break_even_signal.check(break_even_signal, verbose=False).passed


def test_break_even_signal_that_removes_all_eps_noise_is_named():
    result = lesson05.break_even_signal.check(lambda ve, vt, k, w: (vt - w * (vt - ve)) / (w - 1), verbose=False)
    assert result.mistake == "all of ε's variance removed, as if k were unlimited"


def test_break_even_signal_answers_the_questions():
    # section 4's rounded numbers: two codes pay below a signal of about 100; four codes never pay
    two = lesson05.reference_break_even_signal(575, 772, 2, 1.494)
    assert 90 < two < 105 and 900 < 128 * 772 / two < 1100
    assert lesson05.reference_break_even_signal(575, 772, 4, 2.482) < 0


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
