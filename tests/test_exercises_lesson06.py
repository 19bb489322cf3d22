"""Exercises of notebook 06, answered the way a reader might (tests/test_exercises.py covers the
solutions, the stubs and every listed mistake of every lesson)."""

import torch

from lesson_solutions import load_solutions
from vae_helpers.exercises import lesson06

solutions = load_solutions("lesson06")


def test_the_predictions_are_measured_not_stored():
    assert lesson06.view_shape_of_98.answer() == "[8, 784]"
    assert 98 * 8 * 8 == 8 * 784
    assert lesson06.viewable_slices.answer() == solutions.viewable_slices
    assert lesson06.view_shape_of_98.answer() == solutions.view_shape_of_98


def test_the_colour_loss_prediction_measures_beta_and_the_broadcasting_batches():
    assert lesson06.row_summed_colour_loss.answer() == solutions.row_summed_colour_loss == "β = 96; batches 1 and 3"
    result = lesson06.row_summed_colour_loss.check("β = 96; batches 1 and 32", verbose=False)
    assert result.status == "incorrect" and "meets the 3 channels" in result.message
    result = lesson06.row_summed_colour_loss.check("β = 1024; batches 1 and 3", verbose=False)
    assert result.status == "incorrect" and "not by 1024" in result.message
    result = lesson06.row_summed_colour_loss.check("β = 32; batches 1 and 32", verbose=False)
    assert result.status == "incorrect" and "3 channels divide" in result.message and "[B, 1]" in result.message
    choices = lesson06.row_summed_colour_loss.choices  # balanced: no majority vote finds the answer
    assert sum("β = 96" in c for c in choices) == 2 and sum("batches 1 and 3" == c.split("; ")[1] for c in choices) == 3


def test_predicting_a_flatten_per_image_is_told_why_view_differs():
    result = lesson06.view_shape_of_98.check("[98, 64]", verbose=False)
    assert result.status == "incorrect" and "flatten per image" in result.message
    assert "the answer is [8, 784]" in result.message


def test_a_prediction_outside_the_choices_is_refused():
    result = lesson06.viewable_slices.check("abz", verbose=False)
    assert result.status == "incorrect" and "not one of the choices" in result.message
    for same in (" ABD ", "dba", "a, b, d"):  # the same set of letters, written as learners write it
        assert lesson06.viewable_slices.check(same, verbose=False).passed, same
    assert lesson06.view_shape_of_98.check("torch.Size([8, 784])", verbose=False).passed
    assert lesson06.view_shape_of_98.check("[8,784]", verbose=False).passed


def test_the_conv_vae_sides_are_measured_and_30_is_explained():
    assert lesson06.conv_vae_sides.answer() == solutions.conv_vae_sides == "24, 32 and 36"
    assert [lesson06._decoder_side(n) for n in lesson06.CONV_SIDES] == [24, 28, 32, 36]
    result = lesson06.conv_vae_sides.check("24, 30, 32 and 36", verbose=False)
    assert result.status == "incorrect" and "784 logits for 900 pixels" in result.message
    assert lesson06.conv_vae_sides.check("24,32 and 36", verbose=False).passed


def test_dilated_side_with_true_division_fails_where_the_stride_does_not_divide():
    def true_division(side, k, s, p, d):
        return (side + 2 * p - d * (k - 1) - 1) / s + 1

    result = lesson06.dilated_conv_side.check(true_division, verbose=False)
    assert result.status == "incorrect" and "case 2 of 6" in result.message


def test_dilated_side_with_math_floor_passes_and_ceil_is_recognised():
    import math

    def floor(side, k, s, p, d):
        return math.floor((side + 2 * p - d * (k - 1) - 1) / s) + 1

    def ceil(side, k, s, p, d):
        return math.ceil((side + 2 * p - d * (k - 1) - 1) / s) + 1

    assert lesson06.dilated_conv_side.check(floor, verbose=False).passed
    assert lesson06.dilated_conv_side.check(ceil, verbose=False).mistake == "rounded up"


def test_the_undilated_formula_of_section_6_is_named_on_the_first_dilated_case():
    # the reader reuses section 6's conv_side unchanged: right on the undilated case 1, wrong on case 2
    result = lesson06.dilated_conv_side.check(lambda side, k, s, p, d: (side + 2 * p - k) // s + 1, verbose=False)
    assert result.mistake == "dilation ignored" and "case 2 of 6" in result.message


def test_an_effective_kernel_written_another_way_passes():
    def effective(side, k, s, p, d):
        k_eff = k + (k - 1) * (d - 1)  # the same span, d * (k - 1) + 1
        return (side + 2 * p - k_eff) // s + 1

    assert lesson06.dilated_conv_side.check(effective, verbose=False).passed


def test_reference_dilated_side_matches_the_formula():
    for case in lesson06.DILATED_CASES:
        side, k, s, p, d = case.args
        assert lesson06.reference_dilated_conv_side(side, k, s, p, d) == (side + 2 * p - d * (k - 1) - 1) // s + 1
