"""Exercises of notebook 06 (shape experiments). Solutions: solutions/lesson06.py."""

from __future__ import annotations

import torch
import torch.nn as nn

from .core import Case, Exercise, Mistake, Prediction

LESSON = "lesson06"

# --------------------------------------------------------------------------- 1. predict: view on 98 images of 8x8


def _view_shape_of_98() -> str:
    """What view(-1, 784) gives a batch of 98 images of 8x8, measured: a shape, or "error"."""
    try:
        return str(list(torch.zeros(98, 1, 8, 8).view(-1, 784).shape))
    except RuntimeError:
        return "error"


view_shape_of_98 = Prediction(
    "view_shape_of_98", _view_shape_of_98, lesson=LESSON,
    choices=["[98, 64]", "[7, 784]", "[8, 784]", "[12, 784]", "error"],
    explain="view keeps only the total number of values, and it must be a multiple of 784 = 2⁴ × 7². "
    "The batch size 98 = 2 × 7² supplies the 7² and the side 8 supplies 8² = 2⁶, more than the 2⁴ "
    "needed: 98 × 64 = 6272 = 8 × 784, so view silently returns [8, 784], each row twelve and a quarter "
    "small images cut apart.",
    hints=["Count the values: how many numbers does the batch hold in total, and is that a multiple of 784?",
           "Section 2's rule: 784 = 2⁴ × 7² must divide B·s². Factor 98 and 8²: which of the factors "
           "does each supply?"],
    mistakes={"[98, 64]": "that is what a flatten per image gives (x.flatten(1)); view(-1, 784) fixes the row "
              "length at 784 and does not know where one image ends.",
              "[7, 784]": "view never drops or pads values: 7 × 784 = 5488 is not the 98 × 64 = 6272 the batch holds.",
              "[12, 784]": "12 is about how many 8×8 images fit in one row (784 / 64 = 12.25), not the number of "
              "rows: the batch's 98 × 64 = 6272 values fill 6272 / 784 rows.",
              "error": "view raises only when the total is not a multiple of 784; here 98 = 2 × 7² supplies "
              "the 7² and 8² = 2⁶ the 2⁴, so 6272 = 8 × 784 and view raises nothing."})

# --------------------------------------------------------------------------- 2. predict: which slices view


def _slices(x: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"a": x[:64], "b": x[:, :, :14], "c": x[:, :, :, :14], "d": x[::2]}


def _viewable_slices() -> str:
    """The letters of the tensors that accept .view(len(y), -1), found by trying."""
    x = torch.zeros(128, 1, 28, 28)
    works = []
    for letter, y in _slices(x).items():
        try:
            y.view(len(y), -1)
            works.append(letter)
        except RuntimeError:
            pass
    return "".join(works) or "none"


viewable_slices = Prediction(
    "viewable_slices", _viewable_slices, lesson=LESSON,
    choices=["ab", "ad", "cd", "abc", "abd", "acd", "bcd", "abcd"],
    explain="Inside each image, view(len(y), -1) needs one step size from every value to the next. x[:64] "
    "and x[::2] keep whole images (x[::2] only doubles the stride between images, which view keeps), and "
    "x[:, :, :14], the top 14 rows, is 14 × 28 consecutive values per image: all three are viewable. "
    "x[:, :, :, :14] keeps the first 14 values of every 28: inside an image the step is 1 within a row but "
    "15 from one row to the next, so no single stride describes it and view refuses. A dimension of size 1 never "
    "steps, so its stride does not count: the channel's 784 is never used. With 3 channels, (b) would be refused.",
    hints=["Write down each tensor's shape and strides (x.stride() is (784, 784, 28, 1)); a slice keeps the "
           "strides, and a step in a slice multiplies one.",
           "view(len(y), -1) works when, inside each image, every step from one value to the next (in the "
           "order the tensor presents them) is the same distance in memory. What happens between images "
           "does not matter, and a dimension of size 1 never steps, so its stride does not count."],
    mistakes={"abcd": "x[:, :, :, :14] keeps the first 14 values of every 28: inside an image the rows have "
              "gaps between them, and one stride cannot jump over them.",
              "ab": "x[::2] keeps whole images, only further apart: the stride of the batch dimension doubles, "
              "and view(len(y), -1) never looks between images.",
              "ad": "x[:, :, :14], the top 14 rows of every image, is 14 × 28 consecutive values per image: one "
              "stride of 1 walks it, so view accepts it.",
              "cd": "x[:, :, :, :14] leaves gaps between its rows that one stride cannot jump over; x[:64] and "
              "the top 14 rows, x[:, :, :14], are one block of memory per image.",
              "bcd": "x[:64] keeps whole images, one block of 784 values each; x[:, :, :, :14] leaves gaps "
              "between its rows that one stride cannot jump over.",
              "acd": "x[:, :, :, :14] keeps the first 14 values of every 28: the rows have gaps between them, "
              "and one stride cannot jump over them; the top 14 rows, x[:, :, :14], are one block per image.",
              "abc": "x[:, :, :, :14] keeps the first 14 values of every 28: the rows have gaps between them, "
              "and one stride cannot jump over them; and x[::2] keeps whole images, only further apart, "
              "which the stride of the batch dimension describes."})

# --------------------------------------------------------------------------- 3. predict: section 4's bug in colour


def _row_summed_colour_loss() -> str:
    """Measured: the β that .sum(-1) then .mean() trains on [B, 3, 32, 32], and the batches that broadcast."""
    g = torch.Generator().manual_seed(6)
    logits, x = torch.randn(4, 3, 32, 32, generator=g), torch.rand(4, 3, 32, 32, generator=g)
    cost = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    beta = round((cost.flatten(1).sum(1).mean() / cost.sum(-1).mean()).item())
    silent = []
    for batch in range(1, 129):
        try:
            torch.zeros(batch, 3, 32) + torch.zeros(batch, 1)  # recon [B, 3, 32] + kl kept as [B, 1]
            silent.append(batch)
        except RuntimeError:
            pass
    batches = "only batch " + str(silent[0]) if len(silent) == 1 else (
        "batches " + ", ".join(map(str, silent[:-1])) + " and " + str(silent[-1]))
    return f"β = {beta}; {batches}"


_WHY_96 = "recon.mean() averages over B × 3 × 32 entries, the 3 × 32 = 96 rows of each image: the 3 channels divide too"
_WHY_3 = ("kl is [B, 1], not [B]: lined up from the right, its 1 meets the 32 pixels of a row and stretches, "
          "and its B meets the 3 channels")
_WHY_SUMMED = ".sum(-1) has already added the 32 pixels of each row, so the mean divides by the 96 rows of an image, not by 1024"

row_summed_colour_loss = Prediction(
    "row_summed_colour_loss", _row_summed_colour_loss, lesson=LESSON,
    choices=["β = 32; batches 1 and 3", "β = 32; batches 1 and 32", "β = 96; batches 1 and 3",
             "β = 96; batches 1 and 32", "β = 1024; batches 1 and 3", "β = 1024; batches 1 and 32"],
    explain="recon has shape [B, 3, 32]: each entry sums the 32 pixels of one row of one channel, and an image "
    "holds 3 × 32 = 96 such rows. recon.mean() therefore divides each image's reconstruction by 96, and the "
    "loss is (recon + 96·KL) / 96: a β-VAE with β = 96. Broadcasting lines shapes up from the right, so "
    "[B, 3, 32] + [B, 1] pairs the 1 with the 32 (a dimension of size 1 stretches to anything) and B with "
    "the 3 channels: it runs when B is 3, or 1, and raises for every other batch size.",
    hints=["Write down recon's shape, then count how many of its entries one image contributes to recon.mean().",
           "Broadcasting compares shapes from the last dimension backwards: write [B, 3, 32] and [B, 1] "
           "right-aligned, one above the other, and compare each pair. What does a dimension of size 1 do?"],
    mistakes={"β = 96; batches 1 and 32": _WHY_3 + ", not the 32 (section 4's kl was [B]).",
              "β = 32; batches 1 and 3": _WHY_96 + " (β = 96).",
              "β = 32; batches 1 and 32": _WHY_96 + " (β = 96); and " + _WHY_3 + ".",
              "β = 1024; batches 1 and 3": _WHY_SUMMED + ".",
              "β = 1024; batches 1 and 32": _WHY_SUMMED + "; and " + _WHY_3 + "."})

# --------------------------------------------------------------------------- 4. predict: the conv VAE at other sides

CONV_SIDES = (24, 30, 32, 36)


def _decoder_side(side: int) -> int:
    """The side of the logits that section 6's ConvVAE, with every size adapted to ``side``, returns: measured by
    running its two convolutions down and its two transposed convolutions back up."""
    down = nn.Sequential(nn.Conv2d(1, 1, 4, stride=2, padding=1), nn.Conv2d(1, 1, 4, stride=2, padding=1))
    up = nn.Sequential(nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1), nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1))
    with torch.no_grad():
        return int(up(down(torch.zeros(1, 1, side, side))).shape[-1])


def _conv_vae_sides() -> str:
    """The sides among CONV_SIDES whose decoder returns exactly side × side logits, written as the choices are."""
    fit = [str(n) for n in CONV_SIDES if _decoder_side(n) == n]
    return fit[0] + " only" if len(fit) == 1 else ", ".join(fit[:-1]) + " and " + fit[-1]


_WHY_30 = ("at 30 the first convolution gives ⌊30/2⌋ = 15 and the second ⌊15/2⌋ = 7; the transposed convolutions "
           "double 7 to 14 and 28, so the decoder returns 784 logits for 900 pixels")
_WHY_FITS = "the side {n} halves twice without remainder ({n} → {h} → {q}), and doubling twice gives {n} back"

conv_vae_sides = Prediction(
    "conv_vae_sides", _conv_vae_sides, lesson=LESSON,
    choices=["32 only", "24 and 32", "30 and 32", "24, 32 and 36", "24, 30 and 32", "24, 30, 32 and 36"],
    explain="Each convolution with k = 4, s = 2, p = 1 maps a side H to ⌊(H + 2 − 4)/2⌋ + 1 = ⌊H/2⌋, and each "
    "transposed one maps it to (H − 1)·2 − 2 + 4 = 2H. The decoder returns 4·⌊⌊n/2⌋/2⌋, which is n exactly when "
    "4 divides n: 24, 32 and 36. " + _WHY_30[0].upper() + _WHY_30[1:] + ", and the loss refuses them.",
    hints=["Run section 6's formula on each side through both convolutions, then its transposed formula back up.",
           "The convolution's formula rounds down. A side that is odd when a convolution halves it loses a pixel: "
           "can the transposed convolutions, which only double, give it back?"],
    mistakes={"24, 30, 32 and 36": _WHY_30 + ".",
              "24, 30 and 32": _WHY_30 + "; and " + _WHY_FITS.format(n=36, h=18, q=9) + ".",
              "30 and 32": _WHY_30 + "; and " + _WHY_FITS.format(n=24, h=12, q=6) + ".",
              "24 and 32": _WHY_FITS.format(n=36, h=18, q=9) + ": 9 is odd, but nothing halves it again.",
              "32 only": _WHY_FITS.format(n=24, h=12, q=6) + ", and so does 36 (36 → 18 → 9)."})

# --------------------------------------------------------------------------- 5. transfer: a dilated convolution


def reference_dilated_conv_side(side: int, kernel_size: int, stride: int, padding: int, dilation: int) -> int:
    """The output side of a dilated nn.Conv2d on a square input, measured by running one."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding, dilation=dilation)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, side, side)).shape[-1])


def _span(k: int, d: int) -> int:
    return d * (k - 1) + 1


# no output equals an input number, so a message that shows a case's inputs gives no answer away
DILATED_CASES = [Case((26, 5, 1, 1, 1), "no dilation"), Case((30, 3, 2, 2, 2)), Case((33, 3, 1, 0, 3)),
                 Case((40, 5, 2, 2, 2)), Case((29, 3, 2, 1, 2)), Case((45, 3, 3, 1, 4))]

dilated_conv_side = Exercise(
    "dilated_conv_side", reference_dilated_conv_side, DILATED_CASES, lesson=LESSON, rtol=0.0, atol=0.0,
    hints=["A dilated kernel still has kernel_size taps, but they cover more of the image: how many pixels lie "
           "between its first tap and its last, both included?",
           "With kernel_size 3 and dilation 2 the taps sit at offsets 0, 2 and 4: the kernel spans 5 pixels. "
           "With dilation 1 your answer must be section 6's formula.",
           "Test your idea on hint 2's kernel before writing code: on an input of side 9, without padding, at "
           "stride 1, how many positions does it fit? Your function must give the same."],
    mistakes=[
        Mistake("dilation ignored", "the taps are dilation pixels apart, so the kernel covers more than "
                "kernel_size pixels and fits at fewer positions.", lambda n, k, s, p, d: (n + 2 * p - k) // s + 1,
                hint=1),
        Mistake("span dilation × kernel_size", "k taps d pixels apart span d·(k − 1) + 1 pixels, not d·k: "
                "there are k − 1 gaps between k taps.", lambda n, k, s, p, d: (n + 2 * p - d * k) // s + 1,
                hint=2),
        Mistake("span without its last tap", "from the first tap to the last is d·(k − 1) pixels further, "
                "so the kernel covers d·(k − 1) + 1 pixels, the last tap included.",
                lambda n, k, s, p, d: (n + 2 * p - d * (k - 1)) // s + 1, hint=2),
        Mistake("padding on one side only", "padding adds that many pixels on both edges: side + 2·padding.",
                lambda n, k, s, p, d: (n + p - _span(k, d)) // s + 1, hint=3),
        Mistake("rounded up", "a kernel position that would stick out of the padded image is dropped: "
                "round down, ⌊·⌋ (// in Python).", lambda n, k, s, p, d: -(-(n + 2 * p - _span(k, d)) // s) + 1,
                hint=3),
        Mistake("the +1 missing", "⌊(padded side − span) / stride⌋ counts the steps after the first position; "
                "the first position counts too.", lambda n, k, s, p, d: (n + 2 * p - _span(k, d)) // s, hint=3),
    ])

__all__ = ["view_shape_of_98", "viewable_slices", "row_summed_colour_loss", "conv_vae_sides", "dilated_conv_side"]
