"""Exercise checkers of notebook 06: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

from lesson_solutions import load_solutions
from vae_helpers.exercises import lesson06

solutions = load_solutions("lesson06")


def test_reference_batch_sizes_of_mnist():
    sizes = lesson06.reference_batch_sizes(60000, 128)
    assert len(sizes) == 469 and sizes[-1] == 96 and sum(sizes) == 60000
    assert lesson06.reference_batch_sizes(256, 128) == [128, 128]


def test_batch_sizes_dropping_the_remainder_fails_with_a_short_message():
    result = lesson06.check_batch_sizes(lambda n, b: [b] * (n // b), verbose=False)
    assert not result.passed
    assert "expected '468 x 128, then 1 x 96', got '468 x 128'" in result.message
    assert "drop_last" in result.message
    assert len(result.message) < 400  # 469 numbers are summarised, not listed


def test_batch_sizes_rounding_up_fails():
    result = lesson06.check_batch_sizes(lambda n, b: [b] * -(-n // b), verbose=False)
    assert not result.passed and "got '469 x 128'" in result.message


def test_batch_sizes_returning_a_count_fails():
    result = lesson06.check_batch_sizes(lambda n, b: -(-n // b), verbose=False)
    assert not result.passed and "got 469" in result.message


def test_batch_sizes_as_a_tuple_is_accepted():
    assert lesson06.check_batch_sizes(lambda n, b: tuple(solutions.batch_sizes(n, b)), verbose=False).passed


def test_flatten_with_a_fixed_784_fails_on_the_silent_14x14_case():
    result = lesson06.check_flatten_batch(lambda x: x.view(-1, 784), verbose=False)
    assert not result.passed
    assert "test case 2: expected shape [4, 196], got shape [1, 784]" in result.message


def test_flatten_with_view_fails_on_the_non_contiguous_case():
    result = lesson06.check_flatten_batch(lambda x: x.view(x.shape[0], -1), verbose=False)
    assert not result.passed
    assert "raised RuntimeError" in result.message and "reshape" in result.message


def test_flatten_with_flatten_1_passes():
    assert lesson06.check_flatten_batch(lambda x: x.flatten(1), verbose=False).passed


def test_conv_side_without_padding_fails():
    result = lesson06.check_conv_output_side(lambda side, k, s, p: (side - k) // s + 1, verbose=False)
    assert not result.passed and "expected 14, got 13" in result.message


def test_conv_side_with_true_division_fails():
    result = lesson06.check_conv_output_side(lambda side, k, s, p: (side + 2 * p - k) / s + 1, verbose=False)
    assert not result.passed and "whole number" in result.message


def test_conv_side_that_does_not_round_down_fails():
    result = lesson06.check_conv_output_side(lambda side, k, s, p: round((side + 2 * p - k) / s + 0.5) + 1,
                                             verbose=False)
    assert not result.passed


def test_reference_conv_side_matches_the_formula():
    for side, k, s, p in lesson06.CONV_CASES:
        assert lesson06.reference_conv_output_side(side, k, s, p) == (side + 2 * p - k) // s + 1
