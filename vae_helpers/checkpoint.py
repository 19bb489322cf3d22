"""Checkpoints written atomically, run folders that never overwrite, config checks on load."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, or saved from another model configuration."""


class OutputError(OSError):
    """A result file could not be written (disk full, permissions, ...)."""


def atomic_write(path: str | Path, write) -> Path:
    """Call ``write(tmp_path)`` on a temp file beside ``path``, then rename it into place.

    Readers see the old file or the new one, never half a file. Errors are re-raised as
    OutputError naming the path and the cause.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as err:
        raise OutputError(
            f"could not write {path}: {err.strerror or err}. Free some disk space or choose a "
            "writable output folder (out=... / --out)."
        ) from err
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    return path


def save_checkpoint(payload: dict, path: str | Path) -> Path:
    """Save a training snapshot (``TrainingSnapshot.state_dict()``) atomically."""
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def config_differences(saved: dict, expected: dict) -> list[str]:
    """Human-readable 'field: saved X, expected Y' lines for every differing field."""
    keys = sorted(set(saved) | set(expected))
    return [
        f"{k}: checkpoint has {saved.get(k)!r}, this run has {expected.get(k)!r}"
        for k in keys
        if saved.get(k) != expected.get(k)
    ]


def load_checkpoint(path: str | Path, expected_model_config: dict | None = None, map_location="cpu") -> dict:
    """Load a checkpoint; refuse one whose model configuration differs from the expected one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first, or point to an existing checkpoint.pt.")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}). It may be truncated; "
            "delete it and train again."
        ) from err
    if not isinstance(payload, dict) or "model_config" not in payload or "model" not in payload:
        raise CheckpointError(f"{path} is not a vae_helpers checkpoint (no model_config/model entries).")
    if expected_model_config is not None:
        diffs = config_differences(payload["model_config"], expected_model_config)
        if diffs:
            raise CheckpointError(
                f"{path} was saved from a different model configuration:\n  "
                + "\n  ".join(diffs)
                + "\nUse matching settings, or start a new run folder."
            )
    return payload


def new_run_dir(base: str | Path, name: str | None = None) -> Path:
    """Create and return a fresh run folder ``base/name`` (``name-2``, ``name-3`` … if taken)."""
    base = Path(base)
    name = name or time.strftime("run-%Y%m%d-%H%M%S")
    try:
        base.mkdir(parents=True, exist_ok=True)
        for n in range(1, 10_000):
            candidate = base / (name if n == 1 else f"{name}-{n}")
            try:
                candidate.mkdir()
                return candidate
            except FileExistsError:
                continue
    except OSError as err:
        if isinstance(err, FileExistsError):
            raise
        raise OutputError(f"could not create a run folder under {base}: {err.strerror or err}.") from err
    raise OutputError(f"too many run folders named {name!r} under {base}; choose another name.")
