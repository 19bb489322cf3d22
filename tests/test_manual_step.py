"""engine='manual': the hand-written backward pass gives autograd's numbers, and fit runs with it."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn as nn

from vae_helpers import checkpoint as ckpt
from vae_helpers import manual_step
from vae_helpers.config import ConfigError
from vae_helpers.losses import vae_loss
from vae_helpers.manual_step import ManualStep
from vae_helpers.model import VAE
from vae_helpers.train import NonFiniteLossError, fit, make_adam


class NoStep(torch.optim.Adam):
    """Adam that leaves the weights alone, so a step's gradients can be inspected."""

    def step(self, closure=None):
        return None


def autograd_reference(model, x, rng_seed, precision="fp32"):
    """Loss terms and gradients from model(x) + vae_loss + backward(), as fit's autograd engine does."""
    model.zero_grad(set_to_none=True)
    torch.manual_seed(rng_seed)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits, mu, log_var = model(x)
    loss, recon, kl = vae_loss(logits.float(), x, mu.float(), log_var.float())
    loss.backward()
    return (loss, recon, kl), {name: p.grad.clone() for name, p in model.named_parameters()}


def manual_result(model, x, rng_seed, precision="fp32"):
    step = ManualStep(model, NoStep(model.parameters()), precision)
    torch.manual_seed(rng_seed)
    terms = step.step(x)
    grads = {name: p.grad.clone() for name, p in model.named_parameters()}
    step.close()
    return terms, grads


@pytest.mark.parametrize("hidden_layers, activation", [(1, "relu"), (2, "tanh"), (3, "relu")])
def test_hand_written_gradients_equal_autograd_in_float32(hidden_layers, activation):
    torch.manual_seed(0)
    model = VAE(image_size=49, h_dim=32, z_dim=3, hidden_layers=hidden_layers, activation=activation)
    x = torch.rand(16, 1, 7, 7)
    x[:4] = (x[:4] > 0.5).float()  # some binary images too
    (ref_loss, ref_recon, ref_kl), ref_grads = autograd_reference(copy.deepcopy(model), x, rng_seed=7)
    (loss, recon, kl), grads = manual_result(model, x, rng_seed=7)
    # the same eps is drawn (same RNG calls), so the numbers agree to float32 rounding
    assert recon.item() == pytest.approx(ref_recon.item(), rel=1e-5)
    assert kl.item() == pytest.approx(ref_kl.item(), rel=1e-5)
    assert loss.item() == pytest.approx(ref_loss.item(), rel=1e-5)
    assert grads.keys() == ref_grads.keys()
    for name, ref in ref_grads.items():
        torch.testing.assert_close(grads[name], ref, rtol=1e-4, atol=1e-6, msg=name)


def test_bf16_gradients_match_autocast_to_bfloat16_rounding():
    torch.manual_seed(1)
    model = VAE(image_size=64, h_dim=48, z_dim=4)
    x = torch.rand(32, 64)
    (_, ref_recon, _), ref_grads = autograd_reference(copy.deepcopy(model), x, rng_seed=3)
    (_, recon, _), grads = manual_result(model, x, rng_seed=3, precision="bf16")
    assert recon.dtype == torch.float32
    assert recon.item() == pytest.approx(ref_recon.item(), rel=2e-2)
    for name, ref in ref_grads.items():
        relative = ((grads[name] - ref).norm() / ref.norm()).item()
        assert relative < 0.05, (name, relative)  # bfloat16 keeps ~3 significant digits


def test_manual_fit_follows_the_autograd_fit(tiny_images):
    train, test = tiny_images
    torch.manual_seed(0)
    a = VAE(h_dim=64, z_dim=4)
    b = copy.deepcopy(a)
    ha = fit(a, train, test, epochs=2, batch_size=64, lr=3e-3, seed=2, progress=False)
    hb = fit(b, train, test, epochs=2, batch_size=64, lr=3e-3, seed=2, engine="manual", progress=False)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-3, atol=1e-4)
    assert hb[-1].train_elbo == pytest.approx(ha[-1].train_elbo, abs=1e-2)
    assert hb[-1].test_elbo == pytest.approx(ha[-1].test_elbo, abs=1e-2)


def test_after_fit_the_parameters_own_their_memory(tiny_images):
    train, _ = tiny_images
    model = VAE(h_dim=64, z_dim=4)
    fit(model, train, epochs=1, batch_size=64, engine="manual", precision="bf16", progress=False)
    pointers = {p.untyped_storage().data_ptr() for p in model.parameters()}
    assert len(pointers) == len(list(model.parameters()))  # no longer views of one flat buffer
    assert all(p.grad is None and p.dtype == torch.float32 and p.is_contiguous() for p in model.parameters())


def test_manual_resume_reaches_the_same_weights_as_one_run(tiny_images, tmp_path):
    train, test = tiny_images
    torch.manual_seed(0)
    start = VAE(h_dim=64, z_dim=4)
    straight, first = copy.deepcopy(start), copy.deepcopy(start)
    fit(straight, train, test, epochs=3, batch_size=64, seed=3, engine="manual", progress=False)
    fit(first, train, test, epochs=1, batch_size=64, seed=3, engine="manual", progress=False,
        on_epoch_end=lambda s: ckpt.save_checkpoint(s.state_dict(), tmp_path / "c.pt"))
    resumed = VAE(h_dim=64, z_dim=4)
    payload = ckpt.load_checkpoint(tmp_path / "c.pt", resumed.config())
    fit(resumed, train, test, epochs=3, batch_size=64, seed=3, engine="manual", resume=payload, progress=False)
    for p, q in zip(straight.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_nan_loss_stops_the_manual_engine_too(tiny_images, precision):
    train, _ = tiny_images
    model = VAE(h_dim=64, z_dim=4)

    def poison(snapshot):  # a change made between steps must reach the next step (bf16: its cast copy too)
        with torch.no_grad():
            model.fc_log_var.weight.fill_(float("nan"))

    with pytest.raises(NonFiniteLossError, match=r"became nan at epoch 2, step 1"):
        fit(model, train, epochs=3, batch_size=64, engine="manual", precision=precision,
            on_epoch_end=poison, progress=False)


def train_steps(model, images, compile_update, steps=6, precision="fp32"):
    optimizer = make_adam(model, 1e-3)
    step = ManualStep(model, optimizer, precision, compile_update=compile_update)
    for i in range(steps):
        torch.manual_seed(i)
        step.step(images[16 * i: 16 * (i + 1)])
    one_pass = step.one_pass
    step.close()
    return optimizer, one_pass


def test_one_pass_adam_update_equals_torch_adam(tiny_images):
    train, _ = tiny_images
    torch.manual_seed(0)
    a = VAE(h_dim=64, z_dim=4)
    b = copy.deepcopy(a)
    opt_a, one_pass = train_steps(a, train, compile_update=True)
    if not one_pass:
        pytest.skip("torch.compile cannot build kernels on this machine (the eager fallback is tested below)")
    opt_b, _ = train_steps(b, train, compile_update=False)  # torch.optim.Adam's own step
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)
    state_a, state_b = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    assert state_a.keys() == state_b.keys()
    for key in state_b:
        assert state_a[key].keys() == state_b[key].keys() == {"step", "exp_avg", "exp_avg_sq"}
        assert float(state_a[key]["step"]) == float(state_b[key]["step"]) == 6
        assert state_a[key]["step"].dtype == state_b[key]["step"].dtype
        torch.testing.assert_close(state_a[key]["exp_avg"], state_b[key]["exp_avg"], rtol=1e-4, atol=1e-8)
        torch.testing.assert_close(state_a[key]["exp_avg_sq"], state_b[key]["exp_avg_sq"], rtol=1e-4, atol=1e-11)


def test_without_a_compiler_the_update_falls_back_to_torch_adam(tiny_images, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler")

    monkeypatch.setattr(manual_step, "_compiled_update", broken)
    train, _ = tiny_images
    torch.manual_seed(0)
    a = VAE(h_dim=64, z_dim=4)
    b = copy.deepcopy(a)
    with pytest.warns(RuntimeWarning, match="could not build the one-pass Adam update .*no C\\+\\+ compiler"):
        _, one_pass = train_steps(a, train, compile_update=True, precision="bf16")
    assert not one_pass
    train_steps(b, train, compile_update=False, precision="bf16")
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_a_manual_checkpoint_resumes_with_autograd(tiny_images, tmp_path):
    train, test = tiny_images
    torch.manual_seed(0)
    start = VAE(h_dim=64, z_dim=4)
    straight, first = copy.deepcopy(start), copy.deepcopy(start)
    fit(straight, train, test, epochs=2, batch_size=64, seed=3, progress=False)
    fit(first, train, test, epochs=1, batch_size=64, seed=3, engine="manual", progress=False,
        on_epoch_end=lambda s: ckpt.save_checkpoint(s.state_dict(), tmp_path / "c.pt"))
    resumed = VAE(h_dim=64, z_dim=4)
    payload = ckpt.load_checkpoint(tmp_path / "c.pt", resumed.config())
    fit(resumed, train, test, epochs=2, batch_size=64, seed=3, resume=payload, progress=False)
    for p, q in zip(straight.parameters(), resumed.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-3, atol=1e-5)


def test_manual_engine_refuses_what_it_cannot_train(tiny_images):
    train, _ = tiny_images
    with pytest.raises(ConfigError, match="engine='manual' is not allowed.*objective='iwae'"):
        fit(VAE(h_dim=64, z_dim=4), train, epochs=1, objective="iwae", k=5, engine="manual", progress=False)
    with pytest.raises(ConfigError, match="engine='jit' is not allowed"):
        fit(VAE(h_dim=64, z_dim=4), train, epochs=1, engine="jit", progress=False)

    class Other(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(4, 4)

    other = Other()
    with pytest.raises(TypeError, match="vae_helpers.model.VAE only"):
        ManualStep(other, make_adam(other, 1e-3))


def test_fit_with_the_compiled_adam_update_follows_plain_fit(tiny_images):
    train, test = tiny_images
    torch.manual_seed(0)
    a = VAE(h_dim=64, z_dim=4)
    b = copy.deepcopy(a)
    ha = fit(a, train, test, epochs=2, batch_size=64, seed=2, engine="manual", progress=False)
    hb = fit(b, train, test, epochs=2, batch_size=64, seed=2, engine="manual", compile_adam=True, progress=False)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(q, p, rtol=1e-4, atol=1e-6)
    assert hb[-1].test_elbo == pytest.approx(ha[-1].test_elbo, abs=1e-3)
    with pytest.raises(ConfigError, match="compile_adam=True is not allowed"):
        fit(b, train, epochs=1, compile_adam=True, progress=False)


@pytest.mark.parametrize("compile_adam", [False, True])
def test_manual_bf16_fit_trains_like_autocast(tiny_images, compile_adam):
    train, test = tiny_images
    torch.manual_seed(0)
    a = VAE(h_dim=64, z_dim=4)
    b = copy.deepcopy(a)
    ha = fit(a, train, test, epochs=3, batch_size=64, lr=3e-3, precision="bf16", progress=False)
    hb = fit(b, train, test, epochs=3, batch_size=64, lr=3e-3, precision="bf16", engine="manual",
             compile_adam=compile_adam, progress=False)
    assert hb[-1].test_elbo > hb[0].test_elbo
    # not the same weights: autocast draws the noise eps in bfloat16, the manual step in float32
    assert hb[-1].test_elbo == pytest.approx(ha[-1].test_elbo, abs=1.0)
