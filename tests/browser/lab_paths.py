"""Where the browser test reads notebooks and writes screenshots (both overridable by env vars)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def notebook_dir() -> Path:
    return Path(os.environ.get("VAE_BROWSER_NOTEBOOK_DIR") or REPO / "notebooks").resolve()


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("VAE_SCREENSHOT_DIR") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
