"""fit(), evaluate(), checkpoints, resume and training faults on the tiny set."""

from __future__ import annotations

import json

import pytest
import torch

from vae_helpers import checkpoint as ckpt
from vae_helpers.config import ConfigError, RunConfig
from vae_helpers.model import VAE
from vae_helpers.runs import load_run, train_run
from vae_helpers.train import NonFiniteLossError, evaluate, fit


def small_model(seed=0):
    torch.manual_seed(seed)
    return VAE(h_dim=64, z_dim=4)


def test_a_short_fit_lowers_the_loss(tiny_images):
    train, test = tiny_images
    model = small_model()
    before = evaluate(model, test)
    history = fit(model, train, test, epochs=4, batch_size=64, lr=3e-3, progress=False)
    after = evaluate(model, test)
    assert [h.epoch for h in history] == [1, 2, 3, 4]
    assert after["elbo"] > before["elbo"] + 50, (before, after)
    assert history[-1].train_elbo > history[0].train_elbo
    assert history[-1].test_elbo == pytest.approx(after["elbo"])
    assert history[-1].train_elbo == pytest.approx(-(history[-1].train_recon + history[-1].train_kl))


def test_bf16_mixed_precision_trains_like_fp32(tiny_images):
    train, test = tiny_images
    fp32, bf16 = small_model(), small_model()
    a = fit(fp32, train, test, epochs=4, batch_size=64, lr=3e-3, progress=False)
    b = fit(bf16, train, test, epochs=4, batch_size=64, lr=3e-3, precision="bf16", progress=False)
    assert all(p.dtype == torch.float32 for p in bf16.parameters())  # weights stay float32
    assert not torch.equal(fp32.decoder[-1].weight, bf16.decoder[-1].weight)  # bf16 really ran
    assert b[-1].test_elbo > b[0].test_elbo
    assert b[-1].test_elbo == pytest.approx(a[-1].test_elbo, abs=2.0)


def test_bf16_is_refused_for_the_iwae_objective(tiny_images):
    train, _ = tiny_images
    with pytest.raises(ConfigError, match="precision='bf16' is not allowed"):
        fit(small_model(), train, epochs=1, objective="iwae", k=5, precision="bf16", progress=False)


@pytest.mark.skipif(tuple(int(p) for p in torch.__version__.split(".")[:2]) < (2, 4),
                    reason="torch < 2.4 has no fused Adam for CPU tensors")
def test_fit_uses_the_fused_adam_where_torch_has_it(tiny_images):
    train, _ = tiny_images
    seen = []
    fit(small_model(), train, epochs=1, batch_size=64, progress=False,
        on_epoch_end=lambda snap: seen.append(snap.optimizer.param_groups[0]["fused"]))
    assert seen == [True]


def test_seeded_fits_are_repeatable(tiny_images):
    train, test = tiny_images
    a, b = small_model(), small_model()
    fit(a, train, epochs=2, batch_size=64, seed=5, progress=False)
    fit(b, train, epochs=2, batch_size=64, seed=5, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_evaluate_is_repeatable_and_leaves_the_rng_alone(tiny_images):
    _, test = tiny_images
    model = small_model()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first, second = evaluate(model, test), evaluate(model, test)
    assert first == second
    assert torch.equal(state, torch.get_rng_state())
    assert first["elbo"] == pytest.approx(-(first["recon"] + first["kl"]))


def test_iwae_objective_trains(tiny_images):
    train, test = tiny_images
    model = small_model()
    history = fit(model, train, test, epochs=2, batch_size=64, objective="iwae", k=5, progress=False)
    assert history[-1].test_elbo > history[0].test_elbo - 5


def test_kl_weight_one_is_the_plain_elbo_and_other_weights_change_training(tiny_images):
    train, test = tiny_images
    plain, one, beta, zero = small_model(), small_model(), small_model(), small_model()
    fit(plain, train, epochs=2, batch_size=64, progress=False)
    fit(one, train, epochs=2, batch_size=64, kl_weight=1.0, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(plain.parameters(), one.parameters()))
    b = fit(beta, train, test, epochs=3, batch_size=64, lr=3e-3, kl_weight=4.0, progress=False)
    z = fit(zero, train, test, epochs=3, batch_size=64, lr=3e-3, kl_weight=0.0, progress=False)
    # the history reports the true ELBO (recon + KL), whatever the weight trained on
    for h in b + z:
        assert h.train_elbo == pytest.approx(-(h.train_recon + h.train_kl), rel=1e-5)
        assert h.test_elbo == pytest.approx(-(h.test_recon + h.test_kl), rel=1e-5)
    # a heavier KL weight buys a smaller KL with a worse reconstruction
    assert b[-1].test_kl < z[-1].test_kl and b[-1].test_recon > z[-1].test_recon


def test_the_k_sample_elbo_is_the_mean_of_one_sample_elbos(tiny_images):
    from vae_helpers.losses import elbo_k, elbo_k_terms, gaussian_kl, reconstruction_nats

    train, _ = tiny_images
    model = small_model()
    x = train[:10].reshape(10, -1)
    torch.manual_seed(3)
    recon, kl = elbo_k_terms(model, x, 6)
    torch.manual_seed(3)
    mu, log_var = model.encode(x)
    eps = torch.randn(6, 10, model.z_dim)
    by_hand = torch.stack([reconstruction_nats(model.decode(mu + e * torch.exp(0.5 * log_var)), x) for e in eps])
    assert recon.shape == kl.shape == (10,)
    assert torch.allclose(recon, by_hand.mean(0), rtol=1e-5)
    assert torch.allclose(kl, gaussian_kl(mu, log_var))
    torch.manual_seed(3)
    assert torch.allclose(elbo_k(model, x, 6), -(recon + kl))
    # same expectation as k = 1, smaller spread
    with torch.no_grad():
        one = torch.stack([elbo_k(model, x, 1) for _ in range(300)])
        many = torch.stack([elbo_k(model, x, 16) for _ in range(300)])
    se = (one.std(0) / 300 ** 0.5)
    assert torch.all((one.mean(0) - many.mean(0)).abs() < 5 * se)
    assert torch.all(many.std(0) < one.std(0))


def test_the_k_sample_elbo_trains(tiny_images):
    train, test = tiny_images
    one, four = small_model(), small_model()
    a = fit(one, train, test, epochs=2, batch_size=64, lr=3e-3, progress=False)
    b = fit(four, train, test, epochs=2, batch_size=64, lr=3e-3, k=4, progress=False)
    assert not torch.equal(one.decoder[-1].weight, four.decoder[-1].weight)  # k really changed the run
    assert b[-1].test_elbo > b[0].test_elbo - 5
    assert b[-1].test_elbo == pytest.approx(a[-1].test_elbo, abs=10.0)
    assert b[-1].train_elbo == pytest.approx(-(b[-1].train_recon + b[-1].train_kl))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"epochs": 0}, "epochs=0"),
        ({"epochs": -3}, "epochs=-3"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lr": 0.0}, "lr=0.0"),
        ({"lr": float("nan")}, "lr=nan"),
        ({"objective": "gan"}, "objective='gan'"),
        ({"k": 0}, "k=0"),
        ({"kl_weight": -1.0}, "kl_weight=-1.0"),
        ({"kl_weight": 2.0, "engine": "manual"}, "kl_weight=2.0"),
    ],
)
def test_fit_refuses_bad_arguments_before_training(tiny_images, kwargs, fragment):
    train, _ = tiny_images
    model = small_model()
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        fit(model, train, **kwargs, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


def test_fit_refuses_images_of_the_wrong_size(tiny_images):
    train, _ = tiny_images
    with pytest.raises(ConfigError, match=r"image_size=196 does not match.*Use image_size=784 \(= 28x28\)"):
        fit(VAE(image_size=196), train, epochs=1, progress=False)


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_last_checkpoint(tiny_images, tmp_path):
    train, _ = tiny_images
    model = small_model()
    path = tmp_path / "checkpoint.pt"

    def save_then_break(snapshot):
        ckpt.save_checkpoint(snapshot.state_dict(), path)
        with torch.no_grad():
            model.fc_mu.weight.fill_(float("nan"))  # the next step's loss is NaN

    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 2, step 1") as info:
        fit(model, train, epochs=3, batch_size=64, on_epoch_end=save_then_break, progress=False)
    assert (info.value.epoch, info.value.step) == (2, 1)
    kept = ckpt.load_checkpoint(path)
    assert kept["epoch"] == 1
    assert all(torch.isfinite(t).all() for t in kept["model"].values())


def test_resume_reaches_the_same_weights_as_one_run(tiny_images, tmp_path):
    train, test = tiny_images
    straight = small_model()
    fit(straight, train, test, epochs=4, batch_size=64, seed=3, progress=False)

    first = small_model()
    saved = {}
    fit(first, train, test, epochs=2, batch_size=64, seed=3, progress=False,
        on_epoch_end=lambda s: ckpt.save_checkpoint(s.state_dict(), tmp_path / "c.pt"))
    torch.manual_seed(999)  # a new process would start from another RNG state
    resumed = small_model(seed=42)
    payload = ckpt.load_checkpoint(tmp_path / "c.pt", resumed.config())
    history = fit(resumed, train, test, epochs=4, batch_size=64, seed=3, resume=payload, progress=False)
    assert [h.epoch for h in history] == [1, 2, 3, 4]
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)
    assert not saved


def test_checkpoint_of_another_configuration_is_refused(tmp_path, tiny_images):
    train, _ = tiny_images
    model = small_model()
    fit(model, train, epochs=1, batch_size=64, progress=False,
        on_epoch_end=lambda s: ckpt.save_checkpoint(s.state_dict(), tmp_path / "c.pt"))
    other = VAE(h_dim=32, z_dim=8)
    with pytest.raises(ckpt.CheckpointError) as info:
        ckpt.load_checkpoint(tmp_path / "c.pt", other.config())
    message = str(info.value)
    assert "h_dim: checkpoint has 64, this run has 32" in message
    assert "z_dim: checkpoint has 4, this run has 8" in message
    assert "image_size" not in message


def test_truncated_or_missing_checkpoint_is_a_clear_error(tmp_path):
    ckpt.save_checkpoint({"model_config": {}, "model": {"w": torch.ones(1000)}}, tmp_path / "c.pt")
    data = (tmp_path / "c.pt").read_bytes()
    (tmp_path / "c.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ckpt.CheckpointError, match="not a readable checkpoint"):
        ckpt.load_checkpoint(tmp_path / "c.pt")
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint at"):
        ckpt.load_checkpoint(tmp_path / "missing.pt")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "metrics.json"
    target.write_text("old")

    def fail_halfway(tmp):
        with open(tmp, "w") as f:
            f.write("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ckpt.OutputError, match=r"could not write .*metrics.json: No space left on device"):
        ckpt.atomic_write(target, fail_halfway)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    first = ckpt.new_run_dir(tmp_path, "mnist")
    second = ckpt.new_run_dir(tmp_path, "mnist")
    third = ckpt.new_run_dir(tmp_path, "mnist")
    assert [first.name, second.name, third.name] == ["mnist", "mnist-2", "mnist-3"]


def test_train_run_writes_grids_checkpoint_and_metrics(tiny_mirror, data_root, tmp_path):
    config = RunConfig(epochs=2, batch_size=64, h_dim=64, z_dim=4, data_root=str(data_root),
                       data_mirror=str(tiny_mirror), device="cpu", limit=256)
    result = train_run(config, tmp_path / "run", progress=False, log=lambda m: None)
    names = sorted(p.relative_to(result.run_dir).as_posix() for p in result.run_dir.rglob("*") if p.is_file())
    assert names == ["checkpoint.pt", "metrics.json", "samples/reconstruction-01.png", "samples/reconstruction-02.png",
                     "samples/sample-01.png", "samples/sample-02.png"]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["config"]["limit"] == 256 and len(metrics["history"]) == 2
    model, loaded = load_run(result.run_dir)
    assert loaded["final"]["test_elbo"] == pytest.approx(result.final.test_elbo)
    assert torch.equal(model.fc_mu.weight, result.model.fc_mu.weight)
    again = train_run(config, tmp_path / "run", progress=False, log=lambda m: None)
    assert again.run_dir.name == "run-2", "a second run must not overwrite the first"


def test_disk_errors_while_saving_samples_are_reported(tiny_mirror, data_root, tmp_path, monkeypatch):
    config = RunConfig(epochs=1, batch_size=64, h_dim=32, z_dim=2, data_root=str(data_root),
                       data_mirror=str(tiny_mirror), device="cpu")
    import vae_helpers.plotting as plotting

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(plotting, "save_image", full_disk)
    with pytest.raises(ckpt.OutputError, match="sample-01.png: No space left on device"):
        train_run(config, tmp_path / "run", progress=False, log=lambda m: None)


@pytest.mark.parametrize("native", [False, True])
def test_bf16_on_a_cpu_without_native_bfloat16_warns_once(tiny_images, monkeypatch, native):
    import warnings

    from vae_helpers import fast

    train, _ = tiny_images
    monkeypatch.setattr(fast, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(fast, "_warned_bf16", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            fit(small_model(), train[:128], epochs=1, batch_size=64, precision="bf16", progress=False)
        fit(small_model(), train[:128], epochs=1, batch_size=64, progress=False)  # fp32 never warns
    slow = [w for w in caught if issubclass(w.category, fast.SlowPrecisionWarning)]
    if native:
        assert slow == []
    else:
        assert len(slow) == 1, "the warning comes once per process"
        text = str(slow[0].message)
        assert "several times slower" in text and "precision='fp32'" in text
        assert issubclass(fast.SlowPrecisionWarning, RuntimeWarning)


@pytest.mark.parametrize("flags, native", [("fpu sse2 avx2 avx512f", False), ("fpu avx512f avx512_bf16", True),
                                            ("fpu amx_bf16 amx_tile", True)])
def test_the_native_bfloat16_check_reads_the_cpu_flags(tmp_path, monkeypatch, flags, native):
    from vae_helpers import fast

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    monkeypatch.setattr(fast, "_CPUINFO", str(cpuinfo))
    assert fast.cpu_has_native_bf16() is native
    monkeypatch.setattr(fast, "_CPUINFO", str(tmp_path / "missing"))
    assert fast.cpu_has_native_bf16() is True  # cannot tell: no warning without cause


@pytest.mark.parametrize("content", [b"epoch,loss\n1,104.2\n", bytes(range(256)) * 4, b""],
                         ids=["text", "random-bytes", "empty"])
def test_a_file_that_is_no_checkpoint_gets_its_own_message(tmp_path, content):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(content)
    with pytest.raises(ckpt.CheckpointError) as info:
        ckpt.load_checkpoint(path)
    message = str(info.value)
    assert "is not a vae-notebooks checkpoint (not a torch file" in message
    assert "weights_only" not in message


def test_a_torch_file_of_something_else_is_refused(tmp_path):
    torch.save({"weights": torch.ones(3)}, tmp_path / "other.pt")
    with pytest.raises(ckpt.CheckpointError, match="not a vae-notebooks checkpoint \\(a torch file without"):
        ckpt.load_checkpoint(tmp_path / "other.pt")


@pytest.mark.parametrize("where", ["/proc/nope", "a-file/run"])
def test_a_run_folder_that_cannot_be_created_is_a_clear_error(tiny_mirror, data_root, tmp_path, where):
    (tmp_path / "a-file").write_text("not a folder")
    out = where if where.startswith("/") else tmp_path / where
    config = RunConfig(h_dim=16, z_dim=2, epochs=1, device="cpu", data_mirror=str(tiny_mirror),
                       data_root=str(data_root))
    with pytest.raises(ckpt.OutputError, match="could not create the run folder .*(--out)"):
        train_run(config, out, progress=False)


def test_train_or_load_trains_once_per_configuration(tiny_mirror, data_root, tmp_path):
    from dataclasses import replace

    from vae_helpers.runs import config_fingerprint, train_or_load

    config = RunConfig(epochs=1, batch_size=64, h_dim=32, z_dim=2, data_root=str(data_root),
                       data_mirror=str(tiny_mirror), device="cpu", limit=128)
    model, history, loaded = train_or_load(config, tmp_path, "tiny", log=lambda m: None)
    assert not loaded and len(history) == 1
    assert (tmp_path / f"tiny-{config_fingerprint(config)}" / "metrics.json").is_file()
    again, history_again, loaded_again = train_or_load(config, tmp_path, "tiny", log=lambda m: None)
    assert loaded_again and history_again[0].test_elbo == history[0].test_elbo
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    other = replace(config, z_dim=3)
    assert config_fingerprint(other) != config_fingerprint(config)
    _, _, loaded_other = train_or_load(other, tmp_path, "tiny", log=lambda m: None)
    assert not loaded_other, "another configuration must train into a folder of its own"


class _NoConfigVAE(torch.nn.Module):
    """A VAE-like module with encode/decode/forward and image_size, but no config() (lesson 06's ConvVAE)."""

    def __init__(self):
        super().__init__()
        self.image_size = 784
        self.inner = VAE(h_dim=32, z_dim=4)

    def forward(self, x):
        return self.inner(x)


def test_fit_trains_a_module_without_config_and_still_checks_its_image_size(tiny_images):
    train, test = tiny_images
    torch.manual_seed(0)
    net = _NoConfigVAE()
    history = fit(net, train, test, epochs=1, batch_size=64, progress=False)
    assert len(history) == 1 and history[0].test_elbo is not None
    with pytest.raises(ConfigError, match="image_size=784"):
        fit(_NoConfigVAE(), torch.rand(8, 1, 14, 14), epochs=1, progress=False)
