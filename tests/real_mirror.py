"""Where the real MNIST files are, for the real-data checks (never faked when missing)."""

from __future__ import annotations

import os
from pathlib import Path

from vae_helpers import data

PROJECT = Path(__file__).resolve().parent.parent
#: where CI and developers find the real MNIST files (outside the repository)
SHARED_MIRROR = PROJECT.parent / "shared" / "data"


def real_mirror() -> Path | None:
    """The real-data mirror: $VAE_DATA_MIRROR if it holds MNIST, else ../shared/data, else None."""
    for candidate in (os.environ.get(data.MIRROR_ENV), SHARED_MIRROR):
        if candidate and data.find_mirror_files("mnist", candidate) is not None:
            return Path(candidate)
    return None
