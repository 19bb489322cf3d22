"""Checkers for the exercises of notebook 05 (training the VAE). Solutions: solutions/lesson05.py."""

from __future__ import annotations

from typing import Callable

import torch

from ..data import InMemoryBatches
from ..losses import reconstruction_nats
from .feedback import CheckResult, check_function

# --------------------------------------------------------------------------- 1. nats per image


def reference_nats_per_image(batch_sums: list[float], batch_sizes: list[int]) -> float:
    """The epoch's loss per image: all the per-batch sums over all the images."""
    return float(sum(batch_sums)) / float(sum(batch_sizes))


NATS_CASES = [
    ([9985.3, 10164.5, 7490.2], [128, 128, 96]),  # the seed's sums, with a short last batch
    ([543.4 * 128, 543.4 * 32], [128, 32]),
    ([100.0], [1]),
    ([70000.0, 20000.0, 1000.0], [128, 128, 10]),
]


def check_nats_per_image(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 1: turn per-batch loss sums (what the seed printed) into nats per image."""
    return check_function(
        "nats_per_image",
        reader_fn,
        reference_nats_per_image,
        NATS_CASES,
        hint="add up all the batch sums and divide by the total number of images; the last batch of an "
        "epoch is smaller (96 images, not 128), so dividing each sum by 128 or averaging the batch "
        "averages gives the wrong answer.",
        verbose=verbose,
    )


# --------------------------------------------------------------------------- 2. stable BCE from logits


def reference_bce_with_logits(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image from logits (the package's reconstruction_nats)."""
    return reconstruction_nats(logits, x)


def _bce_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(5)
    extreme = torch.tensor([[-40.0, -5.0, 0.0, 5.0, 40.0, 100.0], [40.0, 5.0, 0.0, -5.0, -40.0, -100.0]])
    return [
        (torch.randn(4, 784, generator=g), torch.rand(4, 784, generator=g)),
        (torch.randn(3, 10, generator=g) * 3, (torch.rand(3, 10, generator=g) > 0.5).float()),
        (extreme, torch.tensor([[0.0, 1.0, 0.5, 0.0, 1.0, 0.0], [0.0, 1.0, 0.5, 0.0, 1.0, 1.0]])),
    ]


def check_bce_with_logits(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 2: Bernoulli cross-entropy from logits, without sigmoid, summed per image."""
    return check_function(
        "bce_with_logits",
        reader_fn,
        reference_bce_with_logits,
        _bce_cases(),
        hint="use max(l, 0) - l * x + log(1 + exp(-|l|)) element by element (torch.clamp(l, min=0), "
        "torch.log1p, torch.exp, l.abs()), then .sum(dim=1) for one number per image. Going through "
        "torch.sigmoid and torch.log overflows for large |l| (log(0) = -inf).",
        rtol=1e-4,
        atol=1e-4,
        verbose=verbose,
    )


# --------------------------------------------------------------------------- 3. in-memory batches


def reference_in_memory_batches(images: torch.Tensor, batch_size: int, seed: int) -> list[torch.Tensor]:
    """The package's InMemoryBatches, shuffled by a generator seeded with ``seed``."""
    return list(InMemoryBatches(images, batch_size, generator=torch.Generator().manual_seed(seed)))


def _batch_cases() -> list[tuple[torch.Tensor, int, int]]:
    g = torch.Generator().manual_seed(3)
    return [
        (torch.arange(10.0).view(10, 1, 1, 1), 4, 0),
        (torch.rand(300, 1, 28, 28, generator=g), 128, 1),
        (torch.rand(50, 1, 14, 14, generator=g), 50, 2),
    ]


def check_in_memory_batches(reader_fn: Callable, verbose: bool = True) -> CheckResult:
    """Exercise 3: shuffled mini-batches sliced from a tensor (the list of batches)."""
    hint = ("order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed)), then "
            "images[idx] for each idx in order.split(batch_size); the last batch may be smaller.")

    def sizes(fn):
        def run(images, batch_size, seed):
            batches = fn(images, batch_size, seed)
            if batches is None:
                return None
            return [tuple(b.shape) if isinstance(b, torch.Tensor) else type(b).__name__ for b in batches]
        return run

    def content(fn):
        def run(images, batch_size, seed):
            return torch.cat(list(fn(images, batch_size, seed)))
        return run

    first = check_function("in_memory_batches", sizes(reader_fn), sizes(reference_in_memory_batches),
                           _batch_cases(), hint=hint, verbose=False)
    if first.passed:
        first = check_function("in_memory_batches", content(reader_fn), content(reference_in_memory_batches),
                               _batch_cases(),
                               hint="the batch shapes are right but the images or their order differ: " + hint,
                               verbose=False)
    if verbose:
        print(first)
    return first

