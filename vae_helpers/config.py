"""Run settings and the one validation used by the CLI, the notebooks and ``fit``."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Dataset names the series knows, mapped to their canonical spelling.
DATASET_ALIASES = {
    "mnist": "mnist",
    "fashion-mnist": "fashion-mnist",
    "fashion_mnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
}
DATASETS = ("mnist", "fashion-mnist")
DEVICES = ("auto", "cpu", "cuda", "mps")
ACTIVATIONS = ("relu", "tanh")
OBJECTIVES = ("elbo", "iwae", "elbo_sampled")
PRECISIONS = ("fp32", "bf16")
ENGINES = ("autograd", "manual")


class ConfigError(ValueError):
    """A run setting has a value the series cannot use."""


@dataclass
class RunConfig:
    """Every knob of one training run (the original tutorial's configuration by default)."""

    dataset: str = "mnist"
    epochs: int = 15
    batch_size: int = 128
    lr: float = 1e-3
    image_size: int = 784
    h_dim: int = 400
    z_dim: int = 20
    hidden_layers: int = 1
    activation: str = "relu"
    objective: str = "elbo"
    k: int = 1
    kl_weight: float = 1.0
    binarize: bool = False
    seed: int = 0
    device: str = "auto"
    precision: str = "fp32"
    engine: str = "autograd"
    compile_adam: bool = False
    limit: int | None = None
    data_root: str | None = None
    data_mirror: str | None = None

    def model_fields(self) -> dict[str, Any]:
        """The settings that fix the model's shape (a checkpoint must match these)."""
        return {
            "image_size": self.image_size,
            "h_dim": self.h_dim,
            "z_dim": self.z_dim,
            "hidden_layers": self.hidden_layers,
            "activation": self.activation,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s) {unknown}; known settings are {sorted(known)}")
        return cls(**values)


def _fail(name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{name}={value!r} is not allowed: {name} must be {allowed}.")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(name: str, value: Any) -> None:
    if not _is_int(value) or value <= 0:
        _fail(name, value, "a positive whole number (1, 2, 3, ...)")


def canonical_dataset(name: Any) -> str:
    """Return the canonical dataset name, or raise ConfigError listing the known ones."""
    key = str(name).strip().lower() if isinstance(name, str) else None
    if key not in DATASET_ALIASES:
        _fail("dataset", name, f"one of {list(DATASETS)}")
    return DATASET_ALIASES[key]


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def validate_device(device: Any) -> str:
    """Check a device name; 'cuda' or 'mps' must exist on this machine."""
    name = str(device).strip().lower() if isinstance(device, str) else device
    base = name.split(":")[0] if isinstance(name, str) else None
    if base not in DEVICES:
        _fail("device", device, f"one of {list(DEVICES)} (optionally 'cuda:N')")
    if base == "cuda" and not cuda_available():
        raise ConfigError(
            f"device={device!r} was asked for, but PyTorch finds no CUDA GPU on this machine; "
            "use device='auto' (picks CUDA, then MPS, then CPU) or device='cpu'."
        )
    if base == "mps" and not mps_available():
        raise ConfigError(
            f"device={device!r} was asked for, but Apple's MPS backend is not available here; "
            "use device='auto' or device='cpu'."
        )
    return name


def validate(config: RunConfig) -> RunConfig:
    """Check every setting before any work starts; return the config with names normalised.

    Raises ConfigError (a ValueError) naming the setting, its value and what is allowed.
    """
    config.dataset = canonical_dataset(config.dataset)
    for name in ("epochs", "batch_size", "image_size", "h_dim", "z_dim", "hidden_layers", "k"):
        _positive_int(name, getattr(config, name))
    lr = config.lr
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        _fail("lr", lr, "a finite number greater than 0 (the original tutorial uses 1e-3)")
    if config.activation not in ACTIVATIONS:
        _fail("activation", config.activation, f"one of {list(ACTIVATIONS)}")
    if config.objective not in OBJECTIVES:
        _fail("objective", config.objective, f"one of {list(OBJECTIVES)}")
    w = config.kl_weight
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
        _fail("kl_weight", w, "a finite number >= 0 (1 = the ELBO; other values train a beta-VAE)")
    if w != 1 and config.objective != "elbo":
        _fail("kl_weight", w, f"1 when objective={config.objective!r} (the KL weight belongs to the ELBO)")
    if not isinstance(config.binarize, bool):
        _fail("binarize", config.binarize, "True or False")
    if not _is_int(config.seed) or config.seed < 0:
        _fail("seed", config.seed, "a whole number >= 0")
    if config.limit is not None:
        _positive_int("limit", config.limit)
    if config.precision not in PRECISIONS:
        _fail("precision", config.precision,
              f"one of {list(PRECISIONS)} ('bf16' = mixed precision: bfloat16 matrix products, float32 weights)")
    if config.precision == "bf16" and (config.objective != "elbo" or config.k != 1):
        when = f"objective={config.objective!r}" if config.objective != "elbo" else f"k={config.k}"
        _fail("precision", config.precision, f"'fp32' when {when} (bf16 is for the one-sample ELBO only)")
    if config.engine not in ENGINES:
        _fail("engine", config.engine,
              f"one of {list(ENGINES)} ('manual' = the hand-written backward pass of vae_helpers.manual_step)")
    if config.engine == "manual" and (config.objective != "elbo" or config.k != 1):
        when = f"objective={config.objective!r}" if config.objective != "elbo" else f"k={config.k}"
        _fail("engine", config.engine, f"'autograd' when {when} (the manual step is for the one-sample ELBO only)")
    if config.engine == "manual" and config.kl_weight != 1:
        _fail("kl_weight", config.kl_weight, "1 when engine='manual' (use engine='autograd' for a beta-VAE)")
    if not isinstance(config.compile_adam, bool):
        _fail("compile_adam", config.compile_adam, "True or False")
    if config.compile_adam and config.engine != "manual":
        _fail("compile_adam", config.compile_adam, "False unless engine='manual' (it compiles the manual step's Adam)")
    config.device = validate_device(config.device)
    return config


def check_limit(limit: int | None, available: int, split: str) -> None:
    """Refuse a limit larger than the split it limits."""
    if limit is not None and limit > available:
        raise ConfigError(
            f"limit={limit} is larger than the {available} images in the {split} split; "
            f"use a limit between 1 and {available}, or limit=None for all of them."
        )


def check_image_size(image_size: int, images_shape: tuple[int, ...]) -> None:
    """Refuse an image_size that does not match the data's pixels per image."""
    per_image = 1
    for d in images_shape[1:]:
        per_image *= int(d)
    if image_size != per_image:
        side = int(round(per_image ** 0.5))
        raise ConfigError(
            f"image_size={image_size} does not match the data: each image has shape "
            f"{list(images_shape[1:])} = {per_image} pixels. Use image_size={per_image}"
            + (f" (= {side}x{side})" if side * side == per_image else "")
            + " or resize the images to match."
        )


def resolve_device(preference: str = "auto"):
    """A torch.device: the one asked for, or for 'auto' CUDA, then Apple MPS, then CPU."""
    import torch

    name = validate_device(preference)
    if name == "auto":
        name = "cuda" if cuda_available() else "mps" if mps_available() else "cpu"
    return torch.device(name)


def require_positive_ints(**knobs: Any) -> None:
    """Refuse any knob that is not a positive whole number, e.g. ``require_positive_ints(TRAIN_STEPS=200)``."""
    for name, value in knobs.items():
        _positive_int(name, value)
