"""Tiny IDX datasets made on the fly: real file format, a few hundred learnable images."""

from __future__ import annotations

import gzip
from pathlib import Path

import torch

FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: torch.Tensor) -> bytes:
    """Encode a uint8 tensor as an IDX file (magic 0x0000080N, big-endian dims, raw bytes)."""
    array = array.to(torch.uint8).contiguous()
    header = bytes([0, 0, 0x08, array.dim()])
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + dims + array.numpy().tobytes()


def tiny_images(n: int, seed: int, side: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images of one bright bar each (class = bar position / orientation), with a little noise."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 10, (n,), generator=g)
    images = torch.zeros(n, side, side)
    for i, label in enumerate(labels.tolist()):
        pos = 4 + 2 * (label % 5) + int(torch.randint(0, 2, (1,), generator=g))
        if label < 5:
            images[i, pos : pos + 3, 4:-4] = 1.0
        else:
            images[i, 4:-4, pos : pos + 3] = 1.0
    images = (images + 0.1 * torch.rand(n, side, side, generator=g)).clamp(0, 1)
    return (images * 255).round().to(torch.uint8), labels.to(torch.uint8)


def write_tiny_dataset(
    folder: str | Path,
    name: str = "MNIST",
    n_train: int = 512,
    n_test: int = 128,
    layout: str = "raw",
    gz: bool = True,
    side: int = 28,
) -> Path:
    """Write a mirror: ``folder/<name>/raw/*.gz`` (layout 'raw') or the four files flat ('flat')."""
    folder = Path(folder)
    target = folder / name / "raw" if layout == "raw" else folder
    target.mkdir(parents=True, exist_ok=True)
    for split, n, seed in (("train", n_train, 0), ("test", n_test, 1)):
        images, labels = tiny_images(n, seed, side)
        for kind, tensor in (("images", images), ("labels", labels)):
            data = idx_bytes(tensor)
            path = target / (FILES[split, kind] + (".gz" if gz else ""))
            path.write_bytes(gzip.compress(data) if gz else data)
    return folder
