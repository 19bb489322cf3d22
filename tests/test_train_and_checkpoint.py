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


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"epochs": 0}, "epochs=0"),
        ({"epochs": -3}, "epochs=-3"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"lr": 0.0}, "lr=0.0"),
        ({"lr": float("nan")}, "lr=nan"),
        ({"objective": "gan"}, "objective='gan'"),
        ({"k": 5}, "k=5"),
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
