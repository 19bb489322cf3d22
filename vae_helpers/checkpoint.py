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


#: how a file from torch.save begins: a zip archive (torch >= 1.6), or a pickle (older torch)
_TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80")


def load_checkpoint(path: str | Path, expected_model_config: dict | None = None, map_location="cpu") -> dict:
    """Load a checkpoint; refuse one whose model configuration differs from the expected one."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train first, or point to an existing checkpoint.pt.")
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as err:
        raise CheckpointError(f"could not read {path}: {err.strerror or err}.") from err
    if not head.startswith(_TORCH_FILE_STARTS):
        raise CheckpointError(
            f"{path} is not a vae-notebooks checkpoint (not a torch file: it starts with {head!r}). "
            "Point to the checkpoint.pt of a run folder, or train again."
        )
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"{path} is not a readable checkpoint ({type(err).__name__}: {err}). It may be truncated; "
            "delete it and train again."
        ) from err
    if not isinstance(payload, dict) or "model_config" not in payload or "model" not in payload:
        raise CheckpointError(f"{path} is not a vae-notebooks checkpoint (a torch file without "
                              "model_config/model entries).")
    if expected_model_config is not None:
        diffs = config_differences(payload["model_config"], expected_model_config)
        if diffs:
            raise CheckpointError(
                f"{path} was saved from a different model configuration:\n  "
                + "\n  ".join(diffs)
                + "\nUse matching settings, or start a new run folder."
            )
    return payload


def _folder_error(path: Path, err: OSError) -> OutputError:
    return OutputError(
        f"could not create the run folder {path}: {err.strerror or err}. Choose a folder you can "
        "write to (out=... / --out), or leave it out for a new folder under runs/."
    )


def make_run_dir(path: str | Path) -> Path:
    """Create the run folder ``path`` (and its parents) if needed; an OutputError if that fails."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _folder_error(path, err) from err
    return path


def is_empty_dir(path: str | Path) -> bool:
    """Whether ``path`` is missing or an empty folder; an OutputError if it cannot be read."""
    path = Path(path)
    try:
        return not path.exists() or not any(path.iterdir())
    except OSError as err:
        raise _folder_error(path, err) from err


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
    except OSError as err:  # FileExistsError here: base is a file
        raise _folder_error(base / name, err) from err
    raise OutputError(f"too many run folders named {name!r} under {base}; choose another name.")
