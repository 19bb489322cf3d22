"""Exercises of notebook 05 (training the VAE). Solutions: solutions/lesson05.py."""

from __future__ import annotations

import math

import torch

from .core import Case, Exercise, Mistake, Prediction

# --------------------------------------------------------------------------- 1. Adam and a summed loss


def _adam_step_ratio() -> float:
    """How far Adam's first step moves the weights with the loss x128, relative to the plain loss."""
    moves = []
    for scale in (1.0, 128.0):
        torch.manual_seed(0)
        layer = torch.nn.Linear(30, 7).double()
        before = layer.weight.detach().clone()
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
        x = torch.randn(128, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        (scale * layer(x).pow(2).mean()).backward()
        optimizer.step()
        moves.append(float((layer.weight.detach() - before).norm()))
    return moves[1] / moves[0]


def _adam_answer() -> str:
    ratio = _adam_step_ratio()
    return "a" if abs(ratio - 1) < 0.01 else "b" if abs(ratio / 128 - 1) < 0.01 else "c"


adam_summed_loss = Prediction(
    "adam_summed_loss",
    _adam_answer,
    lesson="lesson05",
    choices=["a", "b", "c"],
    explain=("Adam divides each gradient by the square root of its own running mean square, so a "
             "constant factor on the loss cancels (up to its tiny ε = 10⁻⁸): the step is nearly the "
             "same. With plain SGD (w ← w − lr·g) the step would be 128 times larger. What the sum "
             "does change is the number you print: a sum over 128 images, not nats per image."),
    hints=["Adam keeps running means of each weight's gradient g and of g², m̂ and v̂ (corrected for "
           "their start at 0), and moves the weight by lr · m̂ / (√v̂ + ε). Which of these change when "
           "every g is 128 times larger?",
           "Write the step as a fraction, lr · m̂ / (√v̂ + ε): where does a factor on g end up above the "
           "line, and where below it?",
           "On the first step the corrections make m̂ = g and v̂ = g² exactly. What does a factor "
           "on g do to m̂, and what to √v̂? (ε = 10⁻⁸ is tiny next to |g|.)"],
    mistakes={"b": "that is plain SGD, whose step is lr · g; Adam's step is lr · m̂ / (√v̂ + ε), and a "
                   "factor on g appears above and below the fraction.",
              "c": "√v̂ is the root of a mean of g², so it scales like g itself, not like √g: the "
                   "factor 128 appears once above and once below the fraction."},
)

# --------------------------------------------------------------------------- 2. the noise budget of a step

MEASURED_BATCH = 128  # the batch size at which section 4 measured v_eps and v_total


def reference_step_variance(v_eps: float, v_total: float, batch_size: int, k: int) -> float:
    """The variance of a step over ``batch_size`` images with ``k`` codes each, from section 4's two measurements.

    Law of total variance, per image: Var(g) = Varₓ(E_ε g) + Eₓ Var_ε(g). At 128 images and one
    code each, v_eps is the second part over 128 and v_total the sum of both over 128. Averaging over
    B independent images divides both parts by B; the k codes of each image divide only the second by k.
    """
    from_images = v_total - v_eps  # the part that changes only when the images change
    return from_images * MEASURED_BATCH / batch_size + v_eps * MEASURED_BATCH / (batch_size * k)


def _variance_cases() -> list[Case]:
    return [
        Case((0.37, 2.3, 128, 2), "128 images, 2 codes each"),
        Case((0.37, 2.3, 192, 1), "192 images, 1 code each"),
        Case((1.3, 3.1, 64, 4), "64 images, 4 codes each"),
        Case((0.21, 4.7, 96, 1), "96 images, 1 code each"),
    ]


step_variance = Exercise(
    "step_variance",
    reference_step_variance,
    _variance_cases,
    hints=["Section 4's figure splits v_total into two segments: the part from ε and the part from "
           "which images are drawn. Which of the two does a second code per image reduce?",
           "Averaging n independent draws divides a variance by n. The B images of a step are "
           "independent draws; the k codes of one image are independent draws given that image. "
           "Both measurements were made at 128 images and one code.",
           "The images' part is v_total − v_eps. Each part was measured as an average over 128 "
           "draws; how many draws of each kind does a step of batch_size images with k codes average?"],
    lesson="lesson05",
    mistakes=[
        Mistake("v_total used as the images' part, without taking v_eps out of it",
                "v_total already contains the noise from ε (it was measured with fresh ε too); "
                "only v_total − v_eps comes from the choice of images.",
                lambda ve, vt, b, k: vt * MEASURED_BATCH / b + ve * MEASURED_BATCH / (b * k), hint=1),
        Mistake("the whole variance divided by k",
                "a second code for the same image does not change which images the step sees: k "
                "divides only the part that comes from ε.",
                lambda ve, vt, b, k: vt * MEASURED_BATCH / (b * k), hint=1),
        Mistake("the batch size left out",
                "the step averages over batch_size images, so both parts shrink as 128 / batch_size "
                "relative to the measurement at 128 images.",
                lambda ve, vt, b, k: (vt - ve) + ve / k, hint=2),
        Mistake("scaled like a standard deviation (square roots)",
                "an average of n independent draws has 1/n times the variance (its standard "
                "deviation shrinks as 1/√n); these are variances.",
                lambda ve, vt, b, k: (vt - ve) * math.sqrt(MEASURED_BATCH / b)
                + ve * math.sqrt(MEASURED_BATCH / (b * k)), hint=2),
        Mistake("k left out",
                "with k codes per image the ε part is an average over batch_size · k codes.",
                lambda ve, vt, b, k: vt * MEASURED_BATCH / b, hint=3),
    ],
    rtol=1e-6,
    atol=1e-12,
)

def reference_break_even_signal(v_eps: float, v_total: float, k: int, work: float) -> float:
    """The signal at which runs of 128 images × k codes and 128 × 1 need the same work in all.

    By section 4's rule a run needs about S_min · (1 + variance / signal) steps. With one code that is
    1 + v_total / s, in units of S_min steps of one code; with k codes, work · (1 + V_k / s), where
    V_k = v_total − v_eps · (1 − 1/k). Equal at s = (v_total − work · V_k) / (work − 1); below it the k codes
    need less work. A negative value: the k codes need more work at every signal.
    """
    with_k = reference_step_variance(v_eps, v_total, MEASURED_BATCH, k)
    return (v_total - work * with_k) / (work - 1)


def _break_even_cases() -> list[Case]:
    return [
        Case((3.0, 4.0, 2, 1.2), "2 codes a step, 1.2 times the work"),
        Case((0.9, 1.0, 4, 1.5), "4 codes a step, 1.5 times the work"),
        Case((5.0, 6.0, 2, 1.1), "2 codes a step, 1.1 times the work"),
        Case((1.3, 3.1, 3, 1.8), "3 codes a step, 1.8 times the work"),
    ]


break_even_signal = Exercise(
    "break_even_signal",
    reference_break_even_signal,
    _break_even_cases,
    hints=["Count the work of a whole run in one unit: S_min steps with one code. How many such units "
           "does the run with one code need, and how many the run with k codes, at a signal s?",
           "One code: 1 + v_total / s. k codes: work · (1 + V_k / s), where V_k is the variance of a "
           "step of 128 images with k codes each (your step_variance gives it). The signal you want "
           "makes the two equal.",
           "Multiply both sides by s: s + v_total = work · s + work · V_k. Then gather the terms "
           "with s on one side; what is left on the other is the answer's numerator."],
    lesson="lesson05",
    mistakes=[
        Mistake("all of ε's variance removed, as if k were unlimited",
                "k codes per image divide the part from ε by k; they remove it only as k grows "
                "without bound. With k codes it is v_eps / k that is left.",
                lambda ve, vt, k, w: (vt - w * (vt - ve)) / (w - 1), hint=2),
        Mistake("the whole variance divided by k",
                "a second code for the same image does not change which images the step sees: k "
                "divides only the part that comes from ε.",
                lambda ve, vt, k, w: (vt - w * vt / k) / (w - 1), hint=2),
        Mistake("k codes costed as k times the work",
                "the encoder runs once per image whatever k is; only the decoder runs k times. "
                "The cost of a step with k codes is the given work, not k.",
                lambda ve, vt, k, w: (vt - k * reference_step_variance(ve, vt, MEASURED_BATCH, k)) / (k - 1),
                hint=1),
        Mistake("not divided by work − 1",
                "v_total − work · V_k is s · (work − 1), not s: the term with s appears on both "
                "sides, once on each side with its own factor.",
                lambda ve, vt, k, w: vt - w * reference_step_variance(ve, vt, MEASURED_BATCH, k), hint=3),
    ],
    rtol=1e-6,
    atol=1e-9,
)

# --------------------------------------------------------------------------- 3. a published bits/dim in nats


def reference_elbo_in_nats(bpd: torch.Tensor, image_shape: tuple) -> torch.Tensor:
    """Bits per dimension -> the ELBO in nats per image: times the dimensions, times ln 2, negated."""
    return -bpd * math.prod(image_shape) * math.log(2)


def _nats_cases() -> list[Case]:
    return [
        Case((torch.tensor([3.5, 4.25], dtype=torch.float64), (3, 32, 32)), "colour 32×32 images"),
        Case((torch.tensor([0.19, 1.0, 0.0625], dtype=torch.float64), (1, 28, 28)), "MNIST-sized"),
        Case((torch.tensor([2.0], dtype=torch.float64), (3, 48, 64)), "colour 48×64 images"),
    ]


elbo_in_nats = Exercise(
    "elbo_in_nats",
    reference_elbo_in_nats,
    _nats_cases,
    hints=["Bits per dimension are made from the cost −ELBO by a few steps, the ones the exercise "
           "names; undo each of them, in reverse order, and mind what counts as one dimension of a "
           "colour image.",
           "How many numbers does one image of shape (C, H, W) hold? How many nats is one bit? "
           "Is an ELBO positive or negative?",
           "Three factors: the count of dimensions of one image; the size of a bit in nats "
           "(log₂ y = ln y / ln 2); and a sign, since bits per dimension count the cost −ELBO."],
    lesson="lesson05",
    mistakes=[
        Mistake("not multiplied by the number of dimensions",
                "bits per dimension share one image's cost out over its C·H·W dimensions: multiply by their "
                "number to get the cost of the whole image.",
                lambda bpd, shape: -bpd * math.log(2), hint=2),
        Mistake("the sign forgotten",
                "bits per dimension count a cost, −ELBO, which is positive; the ELBO itself (a "
                "log-probability bound) is negative, like every ELBO of this notebook.",
                lambda bpd, shape: bpd * math.prod(shape) * math.log(2), hint=2),
        Mistake("divided by ln 2 instead of multiplying",
                "one bit is ln 2 ≈ 0.693 nats, so a number of bits is a smaller number of "
                "nats: multiply by ln 2.",
                lambda bpd, shape: -bpd * math.prod(shape) / math.log(2), hint=2),
        Mistake("still in bits (no ln 2)",
                "that is bits per image; nats use the natural log: one bit is ln 2 nats.",
                lambda bpd, shape: -bpd * math.prod(shape), hint=2),
        Mistake("the channels left out",
                "a colour image has C values per pixel, each one a dimension: C·H·W of them.",
                lambda bpd, shape: -bpd * shape[-1] * shape[-2] * math.log(2), hint=1),
        Mistake("multiplied by the image side instead of the number of dimensions",
                "an image of C × H × W numbers has C·H·W dimensions, not W.",
                lambda bpd, shape: -bpd * shape[-1] * math.log(2), hint=2),
        Mistake("divided by the number of dimensions instead of multiplying",
                "bits per dimension are the cost of one image shared out over its dimensions; the "
                "cost of the whole image is that share times the number of dimensions.",
                lambda bpd, shape: -bpd * math.log(2) / math.prod(shape), hint=2),
    ],
    rtol=1e-6,
    atol=1e-9,
)

__all__ = ["adam_summed_loss", "step_variance", "break_even_signal", "elbo_in_nats"]
