"""Datasets: torchvision's MNIST classes, an offline mirror install, in-memory batches."""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import shutil
import socket
import tempfile
import zlib
from pathlib import Path
from typing import Iterator

import torch
import torch.nn.functional as F
import torchvision
from torchvision import transforms

from .config import canonical_dataset, check_limit

#: env var naming a folder with the dataset files to install offline
MIRROR_ENV = "VAE_DATA_MIRROR"
#: env var naming the data root (where torchvision looks for ``<Name>/raw``)
ROOT_ENV = "VAE_DATA_ROOT"

DATASET_CLASSES = {
    "mnist": torchvision.datasets.MNIST,
    "fashion-mnist": torchvision.datasets.FashionMNIST,
}
#: places searched without configuration (Debian's dataset-fashion-mnist package)
SYSTEM_MIRRORS = {
    "mnist": (),
    "fashion-mnist": ("/usr/share/datasets/fashion-mnist",),
}
SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
ALL_FILES = SPLIT_FILES[True] + SPLIT_FILES[False]


class DataNotFoundError(FileNotFoundError):
    """The dataset files are not in the data root and could not be installed or downloaded."""


class DataCorruptError(ValueError):
    """A dataset file exists but is truncated, corrupted or not an IDX file of the right kind."""


class DataRootError(OSError):
    """The data root cannot be written to."""


# --------------------------------------------------------------------------- locations


def project_root() -> Path:
    """The checkout this package lives in (``vae_helpers/..``)."""
    return Path(__file__).resolve().parent.parent


def default_data_root() -> Path:
    """``$VAE_DATA_ROOT``, else the project's ``data/`` folder, else ``~/.cache/vae-notebooks/data``."""
    env = os.environ.get(ROOT_ENV)
    if env:
        return Path(env).expanduser()
    local = project_root() / "data"
    if local.is_dir():
        return local
    return Path.home() / ".cache" / "vae-notebooks" / "data"


def class_name(dataset: str) -> str:
    return DATASET_CLASSES[canonical_dataset(dataset)].__name__


def raw_folder(dataset: str, root: str | Path | None = None) -> Path:
    """``<root>/<ClassName>/raw``: where torchvision reads the four IDX files."""
    root = Path(root) if root is not None else default_data_root()
    return root / class_name(dataset) / "raw"


def mirror_candidates(dataset: str, mirror: str | Path | None = None) -> list[Path]:
    """Mirrors to try, in order: the argument, ``$VAE_DATA_MIRROR``, system locations."""
    dataset = canonical_dataset(dataset)
    found: list[Path] = []
    if mirror is not None:
        found.append(Path(mirror).expanduser())
    elif os.environ.get(MIRROR_ENV):
        found.append(Path(os.environ[MIRROR_ENV]).expanduser())
    found.extend(Path(p) for p in SYSTEM_MIRRORS[dataset])
    return found


def find_mirror_files(dataset: str, mirror: str | Path) -> dict[str, Path] | None:
    """Locate the four files in a mirror (``<Name>/raw/*``, ``<Name>/*`` or flat; ``.gz`` or not)."""
    mirror = Path(mirror)
    name = class_name(dataset)
    for folder in (mirror / name / "raw", mirror / name, mirror):
        files = {}
        for stem in ALL_FILES:
            for candidate in (folder / f"{stem}.gz", folder / stem):
                if candidate.is_file():
                    files[stem] = candidate
                    break
        if len(files) == len(ALL_FILES):
            return files
    return None


# --------------------------------------------------------------------------- IDX checks


def read_idx_header(path: str | Path) -> tuple[int, ...]:
    """Return the dimensions stored in an uncompressed IDX file, checking magic and size."""
    path = Path(path)
    with open(path, "rb") as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] != 0x08 or magic[3] not in (1, 3):
            raise DataCorruptError(
                f"{path} is not an unsigned-byte IDX file (magic number {magic.hex() or 'missing'}, "
                "expected 00000801 for labels or 00000803 for images). Delete it and install the "
                "dataset again (from the mirror or by download)."
            )
        ndim = magic[3]
        raw_dims = f.read(4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise DataCorruptError(f"{path} is truncated inside its header. Delete it and install the dataset again.")
    dims = tuple(int.from_bytes(raw_dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    expected = 4 + 4 * ndim + math.prod(dims)
    actual = path.stat().st_size
    if actual != expected:
        raise DataCorruptError(
            f"{path} has {actual} bytes but its header {list(dims)} needs {expected}: the file is "
            "truncated or corrupted. Delete it and install the dataset again."
        )
    return dims


def check_idx_files(folder: str | Path, stems=ALL_FILES) -> None:
    """Check every image/label pair in ``folder``: IDX headers, sizes and matching counts."""
    folder = Path(folder)
    for images_stem, labels_stem in zip(stems[::2], stems[1::2]):
        images = read_idx_header(folder / images_stem)
        labels = read_idx_header(folder / labels_stem)
        if len(images) != 3:
            raise DataCorruptError(f"{folder / images_stem} should hold images (3 dimensions), found {list(images)}.")
        if len(labels) != 1:
            raise DataCorruptError(f"{folder / labels_stem} should hold labels (1 dimension), found {list(labels)}.")
        if images[0] != labels[0]:
            raise DataCorruptError(
                f"{images_stem} holds {images[0]} images but {labels_stem} holds {labels[0]} labels; "
                "the pair must match. Install both files again from the same source."
            )


def is_installed(dataset: str, root: str | Path | None = None) -> bool:
    folder = raw_folder(dataset, root)
    return all((folder / stem).is_file() for stem in ALL_FILES)


# --------------------------------------------------------------------------- install


def _root_error(target: Path, err: OSError) -> DataRootError:
    return DataRootError(
        f"cannot write to the data root ({target}): {err.strerror or err}. Choose a writable "
        f"data root with data_root=... (CLI --data-root) or the {ROOT_ENV} environment variable, "
        "or free some disk space."
    )


def _extract_to(source: Path, target: Path) -> None:
    """Copy ``source`` (gunzipping a .gz) to ``target``; name which side failed."""
    opener = gzip.open if source.suffix == ".gz" else open
    try:
        src = opener(source, "rb")
    except OSError as err:
        raise DataNotFoundError(f"cannot open {source}: {err.strerror or err}.") from err
    with src:
        try:
            dst = open(target, "wb")
        except OSError as err:
            raise _root_error(target.parent, err) from err
        with dst:
            while True:
                try:
                    chunk = src.read(1 << 20)
                except (OSError, EOFError, zlib.error) as err:
                    raise DataCorruptError(
                        f"could not read {source}: {err}. The mirror's copy is truncated or "
                        "corrupted; replace it with a good copy."
                    ) from err
                if not chunk:
                    break
                try:
                    dst.write(chunk)
                except OSError as err:
                    raise _root_error(target.parent, err) from err


def install_from_mirror(dataset: str, mirror: str | Path, root: str | Path | None = None) -> Path:
    """Install the four files from ``mirror`` into ``<root>/<Name>/raw`` (all or nothing).

    Each file is extracted to a temporary name, checked, and only then renamed into place,
    so an interrupted or failed install leaves nothing half-written behind.
    """
    dataset = canonical_dataset(dataset)
    files = find_mirror_files(dataset, mirror)
    if files is None:
        raise DataNotFoundError(
            f"the data mirror {mirror} does not hold the {class_name(dataset)} files "
            f"{list(ALL_FILES)} (looked in {class_name(dataset)}/raw/, {class_name(dataset)}/ and the "
            "folder itself, each with or without .gz)."
        )
    target = raw_folder(dataset, root)
    try:
        target.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".install-", dir=target))
    except OSError as err:
        raise _root_error(target, err) from err
    try:
        for stem, source in files.items():
            _extract_to(source, staging / stem)
        check_idx_files(staging)
        try:
            for stem in ALL_FILES:
                os.replace(staging / stem, target / stem)
        except OSError as err:
            raise _root_error(target, err) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _try_download(dataset: str, root: Path) -> str | None:
    """Let torchvision download the files; return None on success, else the reason."""
    folder = raw_folder(dataset, root)
    before = set(folder.iterdir()) if folder.is_dir() else set()
    try:
        with _socket_timeout(10):
            DATASET_CLASSES[dataset](root=str(root), train=True, download=True)
        return None
    except Exception as err:  # torchvision raises RuntimeError/URLError/OSError variants
        if folder.is_dir():  # remove anything a failed download left behind
            for leftover in set(folder.iterdir()) - before:
                if leftover.is_file():
                    leftover.unlink(missing_ok=True)
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return first_line


def ensure_dataset(
    dataset: str = "mnist",
    root: str | Path | None = None,
    mirror: str | Path | None = None,
    download: bool = True,
) -> Path:
    """Make sure the four files are in the data root; return its ``raw`` folder.

    Order: files already there → a mirror (argument, ``$VAE_DATA_MIRROR``, system
    locations) → torchvision's download. Raises DataNotFoundError saying what is missing,
    where it looked and how to fix it.
    """
    dataset = canonical_dataset(dataset)
    root = Path(root) if root is not None else default_data_root()
    folder = raw_folder(dataset, root)
    if is_installed(dataset, root):
        check_idx_files(folder)
        return folder
    looked = [str(folder)]
    for candidate in mirror_candidates(dataset, mirror):
        looked.append(str(candidate))
        if find_mirror_files(dataset, candidate) is not None:
            install_from_mirror(dataset, candidate, root)
            return folder
    reason = "download=False"
    if download:
        reason = _try_download(dataset, root)
        if reason is None:
            check_idx_files(folder)
            return folder
    raise DataNotFoundError(
        f"{class_name(dataset)} is not installed and could not be fetched.\n"
        f"  missing: {', '.join(ALL_FILES)}\n"
        f"  looked in: {'; '.join(looked)}\n"
        f"  download: {reason}\n"
        "Fix it in one of two ways:\n"
        f"  1. point the data mirror at a folder holding {class_name(dataset)}/raw/*.gz (or the four "
        f"files flat): data_mirror='/path' (CLI --data-mirror, env {MIRROR_ENV}=/path);\n"
        f"  2. on a machine with network, allow the download (it goes to {folder})."
    )


def load_dataset(
    dataset: str = "mnist",
    train: bool = True,
    root: str | Path | None = None,
    mirror: str | Path | None = None,
    transform=None,
    download: bool = True,
):
    """Return torchvision's dataset object (installing the files first if needed)."""
    dataset = canonical_dataset(dataset)
    folder = ensure_dataset(dataset, root, mirror, download)
    return DATASET_CLASSES[dataset](root=str(folder.parent.parent), train=train, transform=transform)


# --------------------------------------------------------------------------- tensors


def load_images(
    dataset: str = "mnist",
    train: bool = True,
    *,
    root: str | Path | None = None,
    mirror: str | Path | None = None,
    device: str | torch.device = "cpu",
    limit: int | None = None,
    download: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole split as ``(images, labels)`` on ``device``.

    ``images`` is float32 in [0, 1] with shape [N, 1, H, W]; ``labels`` is int64 [N].
    ``limit`` keeps only the first N images (for quick runs).
    """
    ds = load_dataset(dataset, train, root, mirror, download=download)
    data, targets = ds.data, ds.targets
    check_limit(limit, len(data), "train" if train else "test")
    if limit is not None:
        data, targets = data[:limit], targets[:limit]
    images = data.to(device).unsqueeze(1).float().div_(255.0)
    return images, targets.to(device)


def resize_images(images: torch.Tensor, side: int) -> torch.Tensor:
    """Resize [N, 1, H, W] images to ``side`` x ``side`` (bilinear, antialiased, kept in [0, 1])."""
    if images.shape[-1] == side and images.shape[-2] == side:
        return images
    resized = F.interpolate(images, size=(side, side), mode="bilinear", antialias=True, align_corners=False)
    return resized.clamp_(0.0, 1.0)


class InMemoryBatches:
    """Shuffled mini-batches sliced from a tensor already on the device (no DataLoader).

    With ``binarize=True`` each batch is re-sampled as Bernoulli(pixel) ("dynamic binarization").
    """

    def __init__(
        self,
        images: torch.Tensor,
        batch_size: int = 128,
        *,
        shuffle: bool = True,
        generator: torch.Generator | None = None,
        binarize: bool = False,
    ) -> None:
        self.images = images
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.binarize = binarize

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        n = len(self.images)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.images.device)
        else:
            order = torch.arange(n, device=self.images.device)
        for idx in order.split(self.batch_size):
            batch = self.images.index_select(0, idx)
            yield torch.bernoulli(batch) if self.binarize else batch


def original_tutorial_loader(
    dataset: str = "mnist",
    *,
    batch_size: int = 128,
    train: bool = True,
    root: str | Path | None = None,
    mirror: str | Path | None = None,
    num_workers: int = 0,
) -> torch.utils.data.DataLoader:
    """The original tutorial's input pipeline: torchvision dataset + ToTensor + DataLoader."""
    ds = load_dataset(dataset, train, root, mirror, transform=transforms.ToTensor())
    return torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=num_workers)
