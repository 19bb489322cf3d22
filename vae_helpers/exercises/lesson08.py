"""The exercises of notebook 08 (evaluating log p(x) · 评估对数似然).

1. ``bits_per_dim`` (warm-up): nats per image to bits per dimension;
2. ``encoder_signal_as_k_grows`` (predict): what happens to the encoder's gradient of L_k as k grows;
3. ``test_images_needed`` (transfer): how many test images a paired comparison of two models
   needs for a given standard error;
4. ``effective_sample_size`` (derive): how many of the k importance samples really count.

The numbers are the notebook's exercise numbers.

Solutions: ``solutions/lesson08.py``.
"""

from __future__ import annotations

import math

import torch

from .core import Case, Exercise, Mistake, Prediction

_F64 = torch.float64
LESSON = "lesson08"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


def _log_weights(k: int, b: int, seed: int, scale: float = 3.0, shift: float = -100.0) -> torch.Tensor:
    """Log weights [k, B] like a VAE's: large negative numbers (about -100 nats) with a spread."""
    return shift + scale * _randn((k, b), seed)


# --------------------------------------------------------------------------- 1. bits per dimension


def reference_bits_per_dim(log_px, num_pixels):
    """−log p(x) in nats per image → bits per dimension: divide by D and by ln 2. Shape [B]."""
    return -log_px / (num_pixels * math.log(2))


def _bits_cases() -> list[Case]:
    return [Case((torch.tensor([-86.76, -111.7, -50.0], dtype=_F64), 784), "28 × 28 binary images"),
            Case((-60.0 + 5.0 * _randn((5,), 20), 196), "14 × 14 images"),
            Case((-7000.0 + 100.0 * _randn((2,), 21), 3072), "32 × 32 colour images, D = 3 × 1024")]


bits_per_dim = Exercise(
    "bits_per_dim",
    reference_bits_per_dim,
    _bits_cases,
    hints=[
        "Two conversions: from a whole image to one dimension (pixel), and from nats (natural log) to "
        "bits (log base 2). Also: which sign does a cost in bits have?",
        "log₂ y = ln y / ln 2: how many bits is one nat? Per dimension means per pixel, of which an "
        "image has num_pixels.",
        "A worked number to test yourself on: 100 nats per 28 × 28 image is about 0.184 bits per "
        "dimension. One value per image: shape [B].",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("divided by the image side instead of the number of pixels",
                "a 28×28 image has 784 dimensions, one per pixel: divide by num_pixels, not by its square root.",
                lambda log_px, num_pixels: -log_px / (math.sqrt(num_pixels) * math.log(2))),
        Mistake("the sign kept",
                "log p(x) is negative; the code length −log₂ p(x) is positive: bits per dimension "
                "measure a cost.",
                lambda lp, d: lp / (d * math.log(2)), hint=1),
        Mistake("nats left as nats",
                "the log p(x) estimates are natural logs; a bit is log base 2, so divide by ln 2 too.",
                lambda lp, d: -lp / d, hint=2),
        Mistake("multiplied by ln 2 instead of divided",
                "log₂ y = ln y / ln 2: there are more bits than nats in the same probability "
                "(1 nat ≈ 1.44 bits).",
                lambda lp, d: -lp * math.log(2) / d, hint=2),
        Mistake("log base 10 instead of base 2",
                "dividing by ln 10 gives decimal digits (bans), not bits; use ln 2.",
                lambda lp, d: -lp / (d * math.log(10)), hint=2),
        Mistake("not divided by the number of dimensions",
                "that is bits per image; per dimension divides by D = num_pixels, which lets images of "
                "different sizes be compared.",
                lambda lp, d: -lp / math.log(2), hint=2),
        Mistake("averaged over the batch",
                "the function converts each image's estimate; the average over the test set comes later "
                "(shape [B], not one number).",
                lambda lp, d: (-lp / (d * math.log(2))).mean(), hint=3),
    ],
    rtol=1e-9, atol=1e-12,
)


# --------------------------------------------------------------------------- 2. the encoder's gradient as k grows


encoder_signal_as_k_grows = Prediction(
    "encoder_signal_as_k_grows",
    answer="b",
    lesson=LESSON,
    choices=["a", "b", "c", "d"],
    explain=("L_k tends to log p(x), which does not depend on the encoder, so the expected gradient of L_k "
             "with respect to the encoder's parameters tends to zero. For large k, Rainforth et al. (2018, "
             "'Tighter variational bounds are not necessarily better') show that it falls like 1/k, as L_k's "
             "distance to log p(x) does, while the noise of a k-sample estimate of it falls only like 1/√k: "
             "the signal-to-noise ratio of the encoder's gradient falls like 1/√k, and the decoder's rises "
             "like √k. At k = 5, 50 and 5000 expect the direction, not necessarily these rates."),
    hints=[
        "What is the limit of L_k as k grows, and which of the networks, encoder or decoder, does that "
        "limit depend on?",
        "If a family of functions tends to a limit that does not depend on a parameter, what happens to "
        "their derivative with respect to that parameter? And how fast does the noise of an average of "
        "k samples fall?",
        "A Taylor expansion of log around p(x) gives, for large k, log p(x) − L_k ≈ Var_q[w] / (2k p(x)²). "
        "Differentiate both sides with respect to an encoder parameter, and set the result beside the "
        "noise of a k-sample average.",
    ],
    mistakes={
        "a": "a tighter bound is more sensitive to the model p, not to q: in the limit L_k is log p(x), "
             "which no choice of encoder changes.",
        "c": "that is the k-sample ELBO's gradient (the control's), whose expectation does not depend on k. "
             "L_k's expectation does: it tends to log p(x), which has no encoder in it, so for large k "
             "(Rainforth et al., 2018) the encoder's expected gradient shrinks faster than its noise.",
        "d": "the noise does not grow: the gradient is a self-normalised weighted sum of k per-sample "
             "gradients, and Rainforth et al. (2018) show that for large k its standard deviation still "
             "falls like 1/√k. What changes is the expectation: L_k tends to log p(x), which has no encoder in it.",
    },
)


# --------------------------------------------------------------------------- 3. how many test images


def reference_test_images_needed(a, b, target_se):
    """The fewest test images N whose paired standard error std(a − b)/√N is ≤ target_se.

    std and var are the sample versions (divided by N − 1, torch's default), as in section 8.
    """
    return math.ceil((a - b).var().item() / target_se**2)


def _pilot_cases() -> list[Case]:
    cases = []
    for seed, n, spread, noise, target in ((10, 50, 20.0, 1.3, 0.1), (11, 40, 15.0, 2.0, 0.25),
                                           (12, 30, 30.0, 0.7, 0.05)):
        image = -100.0 + spread * _randn((n,), seed)  # how hard each image is: shared by both models
        a = image + noise * _randn((n,), seed + 100)
        b = image - 3.0 + noise * _randn((n,), seed + 200)
        cases.append(Case((a, b, target), f"a pilot run on {n} test images, target ± {target} nats"))
    return cases


test_images_needed = Exercise(
    "test_images_needed",
    reference_test_images_needed,
    _pilot_cases,
    hints=[
        "Section 8's paired standard error of N images is std(d)/√N, with d = a − b per image. The "
        "pilot run tells you std(d); the target says how large std(d)/√N may be.",
        "Whose spread: of a, of b, or of the per-image differences a − b? Both models see the same "
        "images. Then solve the inequality for N: square both sides.",
        "A worked number to test yourself on: if the differences have std(d) = 4.7 nats and the target is "
        "0.5 nats, about 90 images are needed (and a number of images is whole).",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the target standard error not squared",
                "the standard error falls like 1/√N, so N = Var(a − b) / se², with the target squared.",
                lambda a, b, target_se: math.ceil((a - b).var().item() / target_se)),
        Mistake("the variances of the two models added, as if the images were independent",
                "var(a) + var(b) is the variance of a difference of two independent scores; both models "
                "see the same images, so the image-to-image spread cancels in a − b: use the variance of a − b.",
                lambda a, b, t: math.ceil((a.var() + b.var()).item() / t**2), hint=2),
        Mistake("the variance of one model's scores",
                "var(a) measures how different the test images are, which the comparison does not care "
                "about; the comparison's noise is the spread of the per-image differences a − b.",
                lambda a, b, t: math.ceil(a.var().item() / t**2), hint=2),
        Mistake("the standard deviation where the variance is meant",
                "the standard error falls like 1/√N, so N grows with the square: halving the "
                "error takes four times the images.",
                lambda a, b, t: math.ceil((a - b).std().item() / t), hint=2),
        Mistake("the population variance (divided by N) where section 8 uses the sample variance",
                "section 8's std, like torch's std and var by default, divides by N − 1 (the unbiased "
                "sample variance); np.var and var(unbiased=False) divide by N and give a few images too few.",
                lambda a, b, t: math.ceil((a - b).var(unbiased=False).item() / t**2)),
        Mistake("rounded down",
                "the floor of var(d)/target² is a number of images whose standard error is still a "
                "little above the target; round up.",
                lambda a, b, t: math.floor((a - b).var().item() / t**2), hint=3),
    ],
    rtol=0.0, atol=0.5,
)


# --------------------------------------------------------------------------- 4. effective sample size


def reference_effective_sample_size(log_w):
    """[B]: (Σᵢ wᵢ)² / Σᵢ wᵢ² = 1 / Σᵢ w̃ᵢ², from log weights [k, B], in log space."""
    return torch.exp(2 * torch.logsumexp(log_w, dim=0) - torch.logsumexp(2 * log_w, dim=0))


def _ess_cases() -> list[Case]:
    far_apart = _log_weights(30, 2, 9, scale=2.0, shift=0.0) + torch.tensor([-800.0, -5.0], dtype=_F64)
    vae_scale = _log_weights(200, 4, 10, scale=3.0, shift=-110.0).float()
    return [Case((_log_weights(100, 3, 6),), "100 samples, log w spread by 3 nats"),
            Case((_log_weights(50, 2, 7, scale=0.1),), "nearly equal weights"),
            Case((far_apart,), "two images whose log w are about −800 and −5: 795 nats apart"),
            Case((vae_scale,), "float32, log w near −110 spread by 3 nats, as a VAE's"),
            Case((_log_weights(20, 5, 8, shift=-700.0, scale=1.0),), "log w near −700")]


effective_sample_size = Exercise(
    "effective_sample_size",
    reference_effective_sample_size,
    _ess_cases,
    hints=[
        "Check the definition on two cases in your head before coding: all k weights equal (ESS = k), and "
        "one weight holding everything (ESS = 1). Why can't you compute wᵢ = exp(log wᵢ) first?",
        "Work with logs: log Σᵢ wᵢ is a logsumexp over the samples of one image. What is the log of wᵢ², "
        "and so the log of Σᵢ wᵢ²? Each image (column) has its own scale. For the prediction: with m the "
        "largest normalised weight, Σᵢ w̃ᵢ² lies between m² and m, so 1/m ≤ ESS ≤ 1/m².",
        "Test yourself: for log_w = torch.tensor([[-700.], [-700.], [-1400.]]) (k = 3, one image) the "
        "answer is 2.0, and every intermediate value of your code should be finite. Shape [B].",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the weights exponentiated directly",
                "(Σᵢ wᵢ)² / Σᵢ wᵢ² is right on paper, but for log w near −110 in float32, or −700 in float64, "
                "w² and (Σᵢ wᵢ)² are 0 in floating point, and 0/0 is nan; work with logsumexp and "
                "exponentiate only the final log ESS.",
                lambda lw: torch.exp(lw).sum(0) ** 2 / torch.exp(2 * lw).sum(0), hint=1),
        Mistake("one maximum for all the images",
                "subtracting the largest log weight of the whole batch keeps one image's weights near 1, but "
                "an image whose log weights are hundreds of nats lower still underflows to 0/0; each column "
                "needs its own maximum, which is what logsumexp over dim 0 does.",
                lambda lw: (lambda w: w.sum(0) ** 2 / (w ** 2).sum(0))(torch.exp(lw - lw.max())), hint=2),
        Mistake("the ratio upside down",
                "Σᵢ wᵢ² / (Σᵢ wᵢ)² = Σᵢ w̃ᵢ² is 1/k for equal weights and 1 when one weight "
                "dominates: the inverse of the effective number of samples.",
                lambda lw: torch.exp(torch.logsumexp(2 * lw, 0) - 2 * torch.logsumexp(lw, 0)), hint=1),
        Mistake("the sum not squared",
                "(Σᵢ wᵢ) / Σᵢ wᵢ² is not free of the weights' scale: multiply every weight by c and it "
                "changes by 1/c. The square makes ESS a pure count.",
                lambda lw: torch.exp(torch.logsumexp(lw, 0) - torch.logsumexp(2 * lw, 0)), hint=1),
        Mistake("a fraction of k, not a count",
                "dividing by k gives the share of useful samples (1 for equal weights); the exercise asks "
                "for the number of samples, k for equal weights.",
                lambda lw: torch.exp(2 * torch.logsumexp(lw, 0) - torch.logsumexp(2 * lw, 0)) / lw.shape[0],
                hint=1),
        Mistake("reduced over the images instead of the samples",
                "log_w has shape [k, B]: the k samples of one image are a column, so reduce over dim 0.",
                lambda lw: torch.exp(2 * torch.logsumexp(lw, 1) - torch.logsumexp(2 * lw, 1)), hint=3),
    ],
    rtol=1e-5, atol=1e-7,
)


__all__ = ["bits_per_dim", "encoder_signal_as_k_grows", "test_images_needed", "effective_sample_size"]
