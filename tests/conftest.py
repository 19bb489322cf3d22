"""Shared fixtures: hermetic data settings and tiny generated IDX datasets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torchvision

sys.path.insert(0, str(Path(__file__).parent))  # tests/tiny_idx.py

from tiny_idx import write_tiny_dataset  # noqa: E402

from vae_helpers import data  # noqa: E402

@pytest.fixture(autouse=True)
def hermetic_data(monkeypatch, request):
    """No test sees the caller's data settings, the system mirrors or the network.

    Real-data tests (marker ``realdata``) get their mirror explicitly instead.
    """
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    monkeypatch.delenv(data.ROOT_ENV, raising=False)
    monkeypatch.setattr(data, "SYSTEM_MIRRORS", {"mnist": (), "fashion-mnist": ()})
    for cls in (torchvision.datasets.MNIST, torchvision.datasets.FashionMNIST):
        # a closed local port: a download attempt fails at once, like a machine without network
        monkeypatch.setattr(cls, "mirrors", ["http://127.0.0.1:9/"])
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def tiny_mirror(tmp_path_factory) -> Path:
    """A mirror folder with MNIST/raw/*.gz: 512 train and 128 test images of bars."""
    return write_tiny_dataset(tmp_path_factory.mktemp("tiny-mirror"))


@pytest.fixture
def data_root(tmp_path) -> Path:
    """An empty data root for one test."""
    root = tmp_path / "data-root"
    root.mkdir()
    return root


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory, tiny_mirror):
    """(train_images, test_images) of the tiny set, loaded through the real code path."""
    root = tmp_path_factory.mktemp("tiny-root")
    train, _ = data.load_images("mnist", True, root=root, mirror=tiny_mirror, download=False)
    test, _ = data.load_images("mnist", False, root=root, mirror=tiny_mirror, download=False)
    return train, test
