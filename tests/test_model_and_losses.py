"""The VAE's shapes and errors; loss terms against hand computations and torch.distributions."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_helpers.losses import (
    bernoulli_nll,
    estimate_log_likelihood,
    gaussian_kl,
    iwae_bound,
    log_importance_weights,
    reconstruction_nats,
    vae_loss,
)
from vae_helpers import fast
from vae_helpers.model import VAE


def test_shapes_through_the_tutorial_model():
    torch.manual_seed(0)
    model = VAE()
    x = torch.rand(128, 1, 28, 28)
    logits, mu, log_var = model(x)
    assert logits.shape == (128, 784) and mu.shape == (128, 20) and log_var.shape == (128, 20)
    assert sum(p.numel() for p in model.parameters()) == (784 * 400 + 400) + 2 * (400 * 20 + 20) + (20 * 400 + 400) + (400 * 784 + 784)
    z = torch.randn(5, 20)
    assert torch.allclose(model.decode_probs(z), torch.sigmoid(model.decode(z)))


def test_flat_and_image_inputs_agree():
    torch.manual_seed(0)
    model = VAE()
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(model.encode(x)[0], model.encode(x.view(-1, 784))[0])


@pytest.mark.parametrize("shape", [(8, 1, 14, 14), (8, 196), (8, 1, 32, 32)])
def test_wrong_input_size_names_expected_and_actual(shape):
    model = VAE(image_size=784)
    with pytest.raises(ValueError, match=rf"expects 784 values per image.*shape {list(shape)}".replace("[", r"\[").replace("]", r"\]")):
        model(torch.rand(*shape))


def test_configurable_dims_and_depth():
    model = VAE(image_size=196, h_dim=200, z_dim=50, hidden_layers=2, activation="tanh")
    logits, mu, _ = model(torch.rand(3, 1, 14, 14))
    assert logits.shape == (3, 196) and mu.shape == (3, 50)
    assert sum(isinstance(m, torch.nn.Tanh) for m in model.modules()) == 4
    assert model.config() == {"image_size": 196, "h_dim": 200, "z_dim": 50, "hidden_layers": 2, "activation": "tanh"}
    with pytest.raises(ValueError, match="activation='gelu'"):
        VAE(activation="gelu")


def test_reparameterize_moves_mean_and_scale_and_passes_gradients():
    torch.manual_seed(0)
    mu = torch.full((20000, 1), 2.0, requires_grad=True)
    log_var = torch.full((20000, 1), math.log(0.25), requires_grad=True)
    z = VAE.reparameterize(mu, log_var)
    assert abs(z.mean().item() - 2.0) < 0.02 and abs(z.std().item() - 0.5) < 0.02
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    assert log_var.grad is not None and log_var.grad.abs().sum() > 0


def test_reconstruction_matches_a_hand_computation():
    x = torch.tensor([[1.0, 0.0, 0.5]])
    logits = torch.tensor([[2.0, -1.0, 0.0]])
    p = torch.sigmoid(logits)
    by_hand = -(x * p.log() + (1 - x) * (1 - p).log()).sum()
    assert torch.allclose(reconstruction_nats(logits, x), by_hand.view(1))
    assert math.isclose(float(by_hand), 0.1269 + 0.3133 + 0.6931, rel_tol=1e-3)


def test_reconstruction_is_stable_for_extreme_logits():
    value = reconstruction_nats(torch.tensor([[100.0, -100.0]]), torch.tensor([[0.0, 1.0]]))
    assert torch.isfinite(value).all() and torch.allclose(value, torch.tensor([200.0]))


def test_the_textbook_loss_is_torchs_cross_entropy_on_logits():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(8, 784, generator=g) * 5, torch.rand(8, 784, generator=g)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    assert torch.equal(bernoulli_nll(logits, x), ref)
    assert torch.equal(reconstruction_nats(logits, x), ref.sum(1))
    assert torch.equal(reconstruction_nats(logits, x.view(8, 1, 28, 28)), ref.sum(1))  # image-shaped x is fine


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_the_fast_cross_entropy_matches_torch_values_and_gradients(dtype):
    g = torch.Generator().manual_seed(0)
    logits = (torch.randn(64, 784, generator=g, dtype=dtype) * 10).requires_grad_()
    x = torch.rand(64, 784, generator=g, dtype=dtype).requires_grad_()
    weights = torch.rand(64, 784, generator=g, dtype=dtype)  # a non-trivial upstream gradient
    ours = fast.bernoulli_nll(logits, x)
    assert "BinaryCrossEntropyWithLogits" not in type(ours.grad_fn).__name__  # really the one-pass formula
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none")
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert torch.allclose(ours, ref, atol=tol, rtol=tol)
    grads = torch.autograd.grad((ours * weights).sum(), (logits, x))
    ref_grads = torch.autograd.grad((ref * weights).sum(), (logits, x))
    for a, b in zip(grads, ref_grads):
        assert torch.allclose(a, b, atol=tol, rtol=1e-6)


def test_the_fast_vae_loss_equals_the_textbook_loss_values_and_gradients():
    torch.manual_seed(0)
    model = VAE(h_dim=64, z_dim=5)
    x = torch.rand(32, 784)
    results = []
    for loss_fn in (vae_loss, fast.vae_loss):
        torch.manual_seed(1)
        model.zero_grad()
        terms = loss_fn(*model(x)[:1], x, *model.encode(x))
        terms[0].backward()
        results.append((torch.stack(terms).detach(), [p.grad.clone() for p in model.parameters()]))
    (a, grads_a), (b, grads_b) = results
    assert torch.allclose(a, b, rtol=1e-6)
    for ga, gb in zip(grads_a, grads_b):
        assert torch.allclose(ga, gb, rtol=1e-4, atol=1e-6)


def test_the_fast_cross_entropy_uses_torchs_fused_kernel_off_the_cpu():
    logits = torch.empty(4, 784, device="meta", requires_grad=True)
    out = fast.bernoulli_nll(logits, torch.empty(4, 784, device="meta"))
    assert out.shape == (4, 784) and "BinaryCrossEntropyWithLogits" in type(out.grad_fn).__name__


def test_the_fast_cross_entropy_passes_gradcheck():
    logits = torch.tensor([[-30.0, -2.0, 0.0, 0.5, 3.0, 40.0]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[0.0, 1.0, 0.5, 0.2, 1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fast.bernoulli_nll, (logits, x))


@pytest.mark.parametrize("loss", ["reconstruction_nats", "vae_loss", "fast.vae_loss"])
def test_image_shaped_logits_are_refused_with_the_fix(loss):
    logits, x = torch.zeros(16, 1, 28, 28), torch.rand(16, 1, 28, 28)
    mu = log_var = torch.zeros(16, 20)
    fn = {"reconstruction_nats": lambda: reconstruction_nats(logits, x),
          "vae_loss": lambda: vae_loss(logits, x, mu, log_var),
          "fast.vae_loss": lambda: fast.vae_loss(logits, x, mu, log_var)}[loss]
    with pytest.raises(ValueError, match=r"logits must have shape .*\[16, 1, 28, 28\].*\.flatten\(1\)"):
        fn()


def test_k_samples_of_logits_give_one_reconstruction_per_sample_and_image():
    g = torch.Generator().manual_seed(0)
    logits, x = torch.randn(3, 5, 784, generator=g), torch.rand(5, 784, generator=g)
    out = reconstruction_nats(logits, x)
    assert out.shape == (3, 5)
    assert torch.allclose(out[2], reconstruction_nats(logits[2], x))
    with pytest.raises(ValueError, match=r"logits must have shape \[B, D\] \(one row .*, but got \[3, 5, 784\]"):
        vae_loss(logits, x, torch.zeros(5, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"x of shape \[4, 784\] does not match logits of shape \[5, 784\]"):
        reconstruction_nats(logits[0], x[:4])


def test_kl_closed_form_matches_torch_distributions_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=g)
    log_var = torch.randn(6, 4, generator=g)
    closed = gaussian_kl(mu, log_var)
    q, p = Normal(mu, torch.exp(0.5 * log_var)), Normal(torch.zeros_like(mu), torch.ones_like(mu))
    assert torch.allclose(closed, kl_divergence(q, p).sum(1), atol=1e-5)
    torch.manual_seed(0)
    z = q.sample((200_000,))
    monte_carlo = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(closed, monte_carlo, rtol=0.02, atol=0.02)
    assert torch.allclose(gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 3)), torch.zeros(2))


def test_vae_loss_is_the_per_image_mean_of_the_tutorial_sum():
    torch.manual_seed(0)
    model = VAE()
    x = torch.rand(16, 784)
    logits, mu, log_var = model(x)
    loss, recon, kl = vae_loss(logits, x, mu, log_var)
    tutorial_sum = torch.nn.functional.binary_cross_entropy(torch.sigmoid(logits), x, reduction="sum") + (
        -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
    )
    assert torch.allclose(loss, tutorial_sum / 16, rtol=1e-4)
    assert torch.allclose(loss, recon + kl)


def test_importance_weighted_bound_is_consistent_with_the_elbo():
    torch.manual_seed(0)
    model = VAE(h_dim=50, z_dim=5)
    x = torch.bernoulli(torch.rand(4, 784))
    assert log_importance_weights(model, x, 7).shape == (7, 4)
    torch.manual_seed(1)
    one = torch.stack([iwae_bound(model, x, 1) for _ in range(400)]).mean(0)
    torch.manual_seed(1)
    mu, log_var = model.encode(x)
    elbo = torch.stack(
        [-(reconstruction_nats(model.decode(model.reparameterize(mu, log_var)), x) + gaussian_kl(mu, log_var))
         for _ in range(400)]
    ).mean(0)
    assert torch.allclose(one, elbo, rtol=0.01)  # k=1: the ELBO (sampled KL vs closed-form KL)
    torch.manual_seed(2)
    # E[L_k] rises with k: average each bound over repeats so the test sees the expectation
    bounds = [torch.stack([iwae_bound(model, x, k).mean() for _ in range(40)]).mean().item() for k in (1, 10, 100)]
    assert bounds == sorted(bounds), f"L_k should rise with k, got {bounds}"


def test_log_likelihood_estimate_in_chunks():
    torch.manual_seed(0)
    model = VAE(h_dim=50, z_dim=5)
    x = torch.bernoulli(torch.rand(3, 784))
    torch.manual_seed(0)
    chunked = estimate_log_likelihood(model, x, k=600, chunk=200)
    torch.manual_seed(0)
    weights = torch.cat([log_importance_weights(model, x, 200) for _ in range(3)])
    direct = torch.logsumexp(weights, 0) - math.log(600)
    assert torch.allclose(chunked, direct)
