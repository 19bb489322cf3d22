"""Datasets through torchvision's real classes: mirror installs, errors, in-memory batches."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import pytest
import torch
from tiny_idx import FILES, idx_bytes, write_tiny_dataset

from vae_helpers import data
from vae_helpers.config import ConfigError


def test_mirror_install_loads_through_torchvision(tiny_mirror, data_root):
    images, labels = data.load_images("mnist", True, root=data_root, mirror=tiny_mirror, download=False)
    assert images.shape == (512, 1, 28, 28)
    assert images.dtype == torch.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.shape == (512,) and labels.dtype == torch.int64
    raw = data_root / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(data.ALL_FILES)  # extracted, nothing else
    test_images, _ = data.load_images("mnist", False, root=data_root, download=False)  # now installed
    assert test_images.shape == (128, 1, 28, 28)


def test_loaded_pixels_equal_the_file_bytes(tmp_path, data_root):
    mirror = write_tiny_dataset(tmp_path / "m")
    raw = gzip.decompress((mirror / "MNIST" / "raw" / "train-images-idx3-ubyte.gz").read_bytes())
    first = torch.tensor(list(raw[16 : 16 + 784]), dtype=torch.float32).view(28, 28) / 255
    images, _ = data.load_images("mnist", True, root=data_root, mirror=mirror, download=False)
    assert torch.equal(images[0, 0], first)


def test_flat_uncompressed_mirror_and_env_var(tmp_path, data_root, monkeypatch):
    mirror = write_tiny_dataset(tmp_path / "flat", layout="flat", gz=False)
    monkeypatch.setenv(data.MIRROR_ENV, str(mirror))
    images, _ = data.load_images("fashion-mnist", False, root=data_root, download=False)
    assert images.shape == (128, 1, 28, 28)
    assert (data_root / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()


def test_system_mirror_found_without_configuration(tmp_path, data_root, monkeypatch):
    system = write_tiny_dataset(tmp_path / "usr-share", layout="flat")  # like Debian's package
    monkeypatch.setattr(data, "SYSTEM_MIRRORS", {"mnist": (), "fashion-mnist": (str(system),)})
    images, _ = data.load_images("fashion-mnist", True, root=data_root, download=False)
    assert len(images) == 512


def test_root_from_env_var(tiny_mirror, tmp_path, monkeypatch):
    monkeypatch.setenv(data.ROOT_ENV, str(tmp_path / "env-root"))
    data.ensure_dataset("mnist", mirror=tiny_mirror, download=False)
    assert data.is_installed("mnist", tmp_path / "env-root")


def test_limit_keeps_the_first_images(tiny_mirror, data_root):
    full, full_labels = data.load_images("mnist", root=data_root, mirror=tiny_mirror, download=False)
    some, labels = data.load_images("mnist", root=data_root, limit=100, download=False)
    assert torch.equal(some, full[:100]) and torch.equal(labels, full_labels[:100])


def test_limit_larger_than_the_data_is_refused(tiny_mirror, data_root):
    with pytest.raises(ConfigError, match=r"limit=600 is larger than the 512 images"):
        data.load_images("mnist", root=data_root, mirror=tiny_mirror, limit=600, download=False)


def test_missing_data_offline_is_one_clear_error(data_root, tmp_path):
    began = time.perf_counter()
    with pytest.raises(data.DataNotFoundError) as info:
        data.load_images("mnist", root=data_root, mirror=tmp_path / "nowhere")  # download tried, fails
    message = str(info.value)
    assert time.perf_counter() - began < 30
    assert "MNIST is not installed" in message
    assert "train-images-idx3-ubyte" in message
    assert str(data_root / "MNIST" / "raw") in message and str(tmp_path / "nowhere") in message
    assert "VAE_DATA_MIRROR" in message and "--data-mirror" in message and "download" in message
    assert not any((data_root / "MNIST" / "raw").glob("*")), "a failed download left files behind"


def test_empty_mirror_folder_names_the_mirror(data_root, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataNotFoundError, match="looked in.*empty"):
        data.load_images("mnist", root=data_root, mirror=tmp_path / "empty", download=False)


def test_install_from_mirror_without_files_says_what_is_missing(tmp_path, data_root):
    (tmp_path / "empty").mkdir()
    with pytest.raises(data.DataNotFoundError, match="does not hold the MNIST files"):
        data.install_from_mirror("mnist", tmp_path / "empty", data_root)


def _break(mirror: Path, stem: str, damage) -> None:
    path = mirror / "MNIST" / "raw" / f"{stem}.gz"
    path.write_bytes(damage(path.read_bytes()))


@pytest.mark.parametrize(
    "stem, damage, error, fragment",
    [
        ("train-images-idx3-ubyte", lambda b: b[: len(b) // 2], data.DataCorruptError, "truncated or corrupted"),
        ("train-labels-idx1-ubyte", lambda b: b"not gzip at all", data.DataCorruptError, "could not read"),
        (
            "t10k-images-idx3-ubyte",
            lambda b: gzip.compress(b"\x00\x00\x08\x07" + gzip.decompress(b)[4:]),
            data.DataCorruptError,
            "magic number",
        ),
        (
            "t10k-labels-idx1-ubyte",
            lambda b: gzip.compress(idx_bytes(torch.zeros(100, dtype=torch.uint8))),
            data.DataCorruptError,
            "128 images but t10k-labels-idx1-ubyte holds 100 labels",
        ),
        (
            "train-images-idx3-ubyte",
            lambda b: gzip.compress(gzip.decompress(b)[:-10]),
            data.DataCorruptError,
            "needs",
        ),
    ],
    ids=["truncated-gz", "not-gzip", "wrong-magic", "count-mismatch", "short-payload"],
)
def test_bad_mirror_files_leave_nothing_behind(tmp_path, data_root, stem, damage, error, fragment):
    mirror = write_tiny_dataset(tmp_path / "bad")
    _break(mirror, stem, damage)
    with pytest.raises(error, match=fragment):
        data.load_images("mnist", root=data_root, mirror=mirror, download=False)
    raw = data_root / "MNIST" / "raw"
    assert not raw.exists() or not any(raw.iterdir()), "a failed install left files in the data root"
    # the next run, with a good mirror, works
    good = write_tiny_dataset(tmp_path / "good")
    assert len(data.load_images("mnist", root=data_root, mirror=good, download=False)[0]) == 512


def test_corrupted_installed_file_is_reported(tiny_mirror, data_root):
    data.ensure_dataset("mnist", data_root, tiny_mirror, download=False)
    installed = data_root / "MNIST" / "raw" / "train-images-idx3-ubyte"
    installed.write_bytes(installed.read_bytes()[:1000])
    with pytest.raises(data.DataCorruptError, match="train-images-idx3-ubyte has 1000 bytes"):
        data.load_images("mnist", root=data_root, download=False)


def test_unwritable_data_root_is_a_clear_error(tiny_mirror, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(data.tempfile, "mkdtemp", refuse)
    with pytest.raises(data.DataRootError, match=r"cannot write to the data root.*VAE_DATA_ROOT"):
        data.load_images("mnist", root=tmp_path / "ro", mirror=tiny_mirror, download=False)


def test_unknown_dataset_is_refused(data_root):
    with pytest.raises(ConfigError, match=r"dataset='cifar10' is not allowed.*'mnist', 'fashion-mnist'"):
        data.load_images("cifar10", root=data_root)


def test_in_memory_batches_cover_every_image_once():
    images = torch.arange(1000, dtype=torch.float32).view(-1, 1, 1, 1)
    batches = data.InMemoryBatches(images, 128, generator=torch.Generator().manual_seed(0))
    sizes = [len(b) for b in batches]
    assert len(batches) == 8 and sizes == [128] * 7 + [104]
    seen = torch.cat(list(batches)).flatten().sort().values
    assert torch.equal(seen, images.flatten())


def test_in_memory_batches_are_seeded_and_shuffled():
    images = torch.arange(100, dtype=torch.float32).view(-1, 1, 1, 1)
    first = [b.flatten() for b in data.InMemoryBatches(images, 10, generator=torch.Generator().manual_seed(3))]
    again = [b.flatten() for b in data.InMemoryBatches(images, 10, generator=torch.Generator().manual_seed(3))]
    assert all(torch.equal(a, b) for a, b in zip(first, again))
    assert not torch.equal(torch.cat(first), images.flatten())
    ordered = torch.cat(list(data.InMemoryBatches(images, 10, shuffle=False))).flatten()
    assert torch.equal(ordered, images.flatten())


def test_binarized_batches_are_zero_or_one(tiny_images):
    train, _ = tiny_images
    torch.manual_seed(0)
    batch = next(iter(data.InMemoryBatches(train, 64, binarize=True)))
    assert set(batch.unique().tolist()) <= {0.0, 1.0}


def test_resize_images(tiny_images):
    train, _ = tiny_images
    small = data.resize_images(train[:8], 14)
    assert small.shape == (8, 1, 14, 14) and 0 <= small.min() and small.max() <= 1
    assert data.resize_images(train[:8], 28) is not None


def test_original_tutorial_loader_matches_in_memory_pixels(tiny_mirror, data_root):
    loader = data.original_tutorial_loader("mnist", batch_size=32, root=data_root, mirror=tiny_mirror)
    x, y = next(iter(loader))
    assert x.shape == (32, 1, 28, 28) and y.shape == (32,)
    images, _ = data.load_images("mnist", root=data_root, download=False)
    assert torch.allclose(loader.dataset[5][0], images[5])


def test_default_root_is_the_project_data_folder():
    assert data.default_data_root() == data.project_root() / "data"
    assert set(FILES.values()) == set(data.ALL_FILES)
