"""The bad-input matrix: every bad setting is refused by the one validate() before any work."""

from __future__ import annotations

import pytest
import torch

from vae_helpers.config import ConfigError, RunConfig, check_image_size, resolve_device, validate

BAD_SETTINGS = [
    ("dataset", "cifar10", "dataset='cifar10' is not allowed: dataset must be one of ['mnist', 'fashion-mnist']"),
    ("dataset", 3, "dataset=3 is not allowed"),
    ("epochs", 0, "epochs=0 is not allowed: epochs must be a positive whole number"),
    ("epochs", -1, "epochs=-1 is not allowed"),
    ("epochs", 2.5, "epochs=2.5 is not allowed"),
    ("batch_size", 0, "batch_size=0 is not allowed"),
    ("batch_size", -128, "batch_size=-128 is not allowed"),
    ("z_dim", 0, "z_dim=0 is not allowed"),
    ("h_dim", -4, "h_dim=-4 is not allowed"),
    ("image_size", 0, "image_size=0 is not allowed"),
    ("lr", 0.0, "lr=0.0 is not allowed: lr must be a finite number greater than 0"),
    ("lr", -1e-3, "lr=-0.001 is not allowed"),
    ("lr", float("nan"), "lr=nan is not allowed"),
    ("lr", float("inf"), "lr=inf is not allowed"),
    ("lr", "fast", "lr='fast' is not allowed"),
    ("limit", 0, "limit=0 is not allowed"),
    ("seed", -1, "seed=-1 is not allowed"),
    ("device", "tpu", "device='tpu' is not allowed: device must be one of ['auto', 'cpu', 'cuda', 'mps']"),
    ("activation", "gelu", "activation='gelu' is not allowed"),
    ("objective", "gan", "objective='gan' is not allowed"),
    ("precision", "fp16", "precision='fp16' is not allowed: precision must be one of ['fp32', 'bf16']"),
    ("engine", "jit", "engine='jit' is not allowed: engine must be one of ['autograd', 'manual']"),
    ("compile_adam", True, "compile_adam=True is not allowed: compile_adam must be False unless engine='manual'"),
    ("binarize", "yes", "binarize='yes' is not allowed"),
    ("kl_weight", -0.5, "kl_weight=-0.5 is not allowed: kl_weight must be a finite number >= 0"),
    ("kl_weight", float("nan"), "kl_weight=nan is not allowed"),
    ("kl_weight", float("inf"), "kl_weight=inf is not allowed"),
    ("kl_weight", "big", "kl_weight='big' is not allowed"),
    ("kl_weight", True, "kl_weight=True is not allowed"),
]


@pytest.mark.parametrize("name, value, message", BAD_SETTINGS, ids=[f"{n}={v!r}" for n, v, _ in BAD_SETTINGS])
def test_bad_setting_is_refused_with_name_value_and_rule(name, value, message):
    with pytest.raises(ConfigError) as info:
        validate(RunConfig(**{name: value}))
    assert message in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_on_a_machine_without_one():
    with pytest.raises(ConfigError, match=r"device='cuda' was asked for, but PyTorch finds no CUDA GPU.*device='cpu'"):
        validate(RunConfig(device="cuda"))


def test_good_defaults_and_aliases():
    config = validate(RunConfig(dataset="Fashion_MNIST", device="CPU"))
    assert config.dataset == "fashion-mnist" and config.device == "cpu"
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}


def test_image_size_must_match_the_data():
    check_image_size(784, (10, 1, 28, 28))
    with pytest.raises(ConfigError, match=r"image_size=784 does not match the data: each image has shape \[1, 14, 14\] = 196 pixels. Use image_size=196 \(= 14x14\)"):
        check_image_size(784, (10, 1, 14, 14))


def test_unknown_settings_from_a_dict_are_refused():
    with pytest.raises(ConfigError, match=r"unknown setting\(s\) \['epoch'\]"):
        RunConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"kl_weight": 4.0, "objective": "iwae", "k": 5}, "kl_weight=4.0 is not allowed: kl_weight must be 1 when objective='iwae'"),
        ({"kl_weight": 0.5, "engine": "manual"}, "kl_weight=0.5 is not allowed: kl_weight must be 1 when engine='manual'"),
        ({"k": 5, "engine": "manual"}, "engine='manual' is not allowed: engine must be 'autograd' when k=5"),
        ({"k": 5, "precision": "bf16"}, "precision='bf16' is not allowed: precision must be 'fp32' when k=5"),
    ],
)
def test_combinations_that_no_engine_trains_are_refused(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(RunConfig(**settings))


def test_kl_weight_and_the_k_sample_elbo_are_accepted():
    assert validate(RunConfig(kl_weight=0)).kl_weight == 0
    assert validate(RunConfig(kl_weight=4.0, k=3)).k == 3
