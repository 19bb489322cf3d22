"""Checkers for the exercises of notebook 06 (shape experiments). Solutions: solutions/lesson06.py."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from .feedback import CheckResult, check_function

# --------------------------------------------------------------------------- 1. batch sizes of an epoch


def reference_batch_sizes(n_images: int, batch_size: int) -> list[int]:
    """Sizes of one epoch's batches: full batches, then the remainder if there is one."""
    sizes = [batch_size] * (n_images // batch_size)
    if n_images % batch_size:
        sizes.append(n_images % batch_size)
    return sizes


BATCH_SIZE_CASES = [(60000, 128), (10000, 128), (256, 128), (10, 4), (3, 5)]


def check_batch_sizes(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 1: the list of batch sizes of one epoch (60000 = 468 x 128 + 96)."""
    return check_function(
        "batch_sizes",
        lambda n, b: _runs(reader_fn(n, b)),
        lambda n, b: _runs(reference_batch_sizes(n, b)),
        BATCH_SIZE_CASES,
        hint="n_images // batch_size full batches, then one more of n_images % batch_size images "
        "when that is not 0 (a DataLoader keeps it unless drop_last=True).",
        verbose=verbose,
    )


def _runs(value):
    """A list of sizes written short: [128, 128, 96] → '2 x 128, then 1 x 96' (other values unchanged)."""
    if isinstance(value, (tuple, range)):
        value = list(value)
    if not isinstance(value, list):
        return value
    items = [int(v) if isinstance(v, torch.Tensor) else v for v in value]
    if not items:
        return "no batches"
    groups: list[list] = []
    for item in items:
        if groups and groups[-1][1] == item:
            groups[-1][0] += 1
        else:
            groups.append([1, item])
    return ", then ".join(f"{count} x {item!r}" for count, item in groups)


# --------------------------------------------------------------------------- 2. flatten any batch


def reference_flatten_batch(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] → [B, C*H*W], for any image size and any memory layout."""
    return x.reshape(x.shape[0], -1)


def _flatten_cases() -> list[tuple[torch.Tensor]]:
    g = torch.Generator().manual_seed(6)
    return [
        (torch.rand(3, 1, 28, 28, generator=g),),
        (torch.rand(4, 1, 14, 14, generator=g),),  # 4 x 196 = 784: view(-1, 784) gives [1, 784]
        (torch.rand(2, 1, 32, 32, generator=g).transpose(2, 3),),  # not contiguous: view() refuses
        (torch.rand(1, 3, 5, 7, generator=g),),
    ]


def check_flatten_batch(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 2: flatten a batch of images of any size, contiguous or not, to [B, pixels]."""
    return check_function(
        "flatten_batch",
        reader_fn,
        reference_flatten_batch,
        _flatten_cases(),
        hint="keep the batch dimension and let -1 collect the rest: x.reshape(x.shape[0], -1) "
        "(or x.flatten(1)). A fixed 784 fails for other image sizes, and view() fails on a "
        "non-contiguous tensor.",
        verbose=verbose,
    )


# --------------------------------------------------------------------------- 3. convolution output size


def reference_conv_output_side(side: int, kernel_size: int, stride: int, padding: int) -> int:
    """The output side of nn.Conv2d, measured by running one."""
    conv = nn.Conv2d(1, 1, kernel_size, stride=stride, padding=padding)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, side, side)).shape[-1])


CONV_CASES = [(28, 4, 2, 1), (14, 4, 2, 1), (28, 3, 1, 1), (28, 5, 1, 0), (32, 3, 2, 0), (7, 3, 2, 1)]


def check_conv_output_side(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 3: floor((side + 2 padding - kernel) / stride) + 1, a whole number."""
    return check_function(
        "conv_output_side",
        _int_or_value(reader_fn),
        reference_conv_output_side,
        CONV_CASES,
        hint="(side + 2 * padding - kernel_size) // stride + 1: padding adds to both edges, and the "
        "division rounds down (use //, not /).",
        rtol=0.0,
        atol=0.0,
        verbose=verbose,
    )


def _int_or_value(fn: Callable) -> Callable:
    """Refuse a float result with a clear message (sides are whole numbers)."""

    def run(*args):
        value = fn(*args)
        if isinstance(value, float) and not value.is_integer():
            return value  # compare() reports the difference
        if isinstance(value, float):
            raise TypeError(f"returned the float {value!r}; a side is a whole number (use //)")
        return value

    return run
