"""Two Monte Carlo estimators of the gradient of an expectation under a Gaussian.

We want the gradient of ``E_{z ~ N(mu, sigma^2)}[f(z)]`` with respect to ``mu`` (or ``sigma``).

* score-function estimator (REINFORCE) · 得分函数估计: ``f(z) * d/dtheta log N(z; mu, sigma^2)``. Needs only
  the values f(z), never f's derivative.
* pathwise gradient (reparameterization) · 路径导数: write ``z = mu + sigma * eps`` with
  ``eps ~ N(0, 1)`` and differentiate ``f(mu + sigma * eps)`` by autograd.

Both functions take the standard-normal noise ``eps`` explicitly and return one estimate *per
sample* (same shape as ``eps``), so a caller can average them in groups of n, reuse the same noise
for both estimators, and stay deterministic. ``mu`` and ``sigma`` are numbers or tensors that
broadcast against ``eps`` (e.g. ``[k]`` against ``eps`` of shape ``[n, k]``: k Gaussians at once).
Work is done in float64.

``encoder_grad_samples`` does the same for the encoder weights of a (tiny) VAE, where f is the
reconstruction term.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

from .losses import reconstruction_nats

Fn = Callable[[torch.Tensor], torch.Tensor]
WRT = ("mu", "sigma")


def _check(sigma: float | torch.Tensor, wrt: str) -> None:
    if wrt not in WRT:
        raise ValueError(f"wrt={wrt!r} is not allowed: use one of {list(WRT)}.")
    if not bool(torch.all(torch.as_tensor(sigma) > 0)):
        raise ValueError(f"sigma={sigma!r} is not allowed: the standard deviation must be > 0.")


def _as_f64(value: float | torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(value, dtype=torch.float64).detach()


def score_function_grad(
    f: Fn, mu: float | torch.Tensor, sigma: float | torch.Tensor, eps: torch.Tensor, wrt: str = "mu",
    baseline: float = 0.0,
) -> torch.Tensor:
    """Per-sample score-function (REINFORCE) estimates of d/d``wrt`` E[f(z)], z = mu + sigma * eps.

    ``(f(z) - baseline) * d/dtheta log N(z; mu, sigma^2)``: for ``mu`` the score is
    ``(z - mu) / sigma^2`` and for ``sigma`` it is ``((z - mu)^2 - sigma^2) / sigma^3``.
    A constant ``baseline`` (a control variate) leaves the mean unchanged, since the
    score has mean zero, and can lower the variance.
    """
    _check(sigma, wrt)
    eps, mu, sigma = eps.double(), _as_f64(mu), _as_f64(sigma)
    z = mu + sigma * eps
    if wrt == "mu":
        score = (z - mu) / sigma**2
    else:
        score = ((z - mu) ** 2 - sigma**2) / sigma**3
    with torch.no_grad():
        values = f(z)
    return (values - baseline) * score


def pathwise_grad(
    f: Fn, mu: float | torch.Tensor, sigma: float | torch.Tensor, eps: torch.Tensor, wrt: str = "mu"
) -> torch.Tensor:
    """Per-sample pathwise (reparameterization) estimates of d/d``wrt`` E[f(z)], by autograd.

    Each sample gets its own copy of the parameter, so ``torch.autograd.grad`` of ``f(z).sum()``
    returns every sample's own derivative ``f'(z) * dz/dtheta`` (1 for mu, eps for sigma).
    """
    _check(sigma, wrt)
    eps = eps.double()
    mu_t = _as_f64(mu).expand_as(eps).clone().requires_grad_(wrt == "mu")
    sigma_t = _as_f64(sigma).expand_as(eps).clone().requires_grad_(wrt == "sigma")
    z = mu_t + sigma_t * eps
    (grad,) = torch.autograd.grad(f(z).sum(), mu_t if wrt == "mu" else sigma_t)
    return grad


def average_in_groups(per_sample: torch.Tensor, n: int) -> torch.Tensor:
    """[R * n] per-sample estimates → [R] estimates, each the mean of n samples."""
    per_sample = per_sample.flatten()
    if n <= 0 or per_sample.numel() % n:
        raise ValueError(f"cannot split {per_sample.numel()} samples into groups of n={n}.")
    return per_sample.view(-1, n).mean(dim=1)


def variance_with_se(values: torch.Tensor) -> tuple[float, float]:
    """The sample variance of ``values`` and its standard error, sqrt(Var[(x - mean)^2] / n).

    Lets a check say "measured within 5 standard errors of the formula" whatever the sample size.
    """
    values = values.flatten().double()
    if values.numel() < 2:
        raise ValueError("need at least 2 values to estimate a variance.")
    squared = (values - values.mean()) ** 2
    return values.var().item(), squared.std().item() / math.sqrt(values.numel())


def square_true_grad(mu: float, sigma: float, wrt: str = "mu") -> float:
    """For f(z) = z^2: E[f] = mu^2 + sigma^2, so the gradient is 2 mu (or 2 sigma)."""
    _check(sigma, wrt)
    return 2.0 * (mu if wrt == "mu" else sigma)


def square_grad_variance(mu: float, sigma: float, estimator: str, wrt: str = "mu") -> float:
    """Closed-form variance of ONE sample's estimate of d/d``wrt`` E[z^2] (f(z) = z^2).

    With z = mu + sigma eps and the Gaussian moments E[eps^2] = 1, E[eps^4] = 3, E[eps^6] = 15,
    E[eps^8] = 105:

    * wrt mu: pathwise 2 z, variance 4 sigma^2; score z^2 eps / sigma, variance
      mu^4 / sigma^2 + 14 mu^2 + 15 sigma^2 (grows like mu^4);
    * wrt sigma: pathwise 2 z eps, variance 4 mu^2 + 8 sigma^2; score z^2 (eps^2 - 1) / sigma,
      variance 2 mu^4 / sigma^2 + 60 mu^2 + 74 sigma^2.
    """
    _check(sigma, wrt)
    if estimator not in ("pathwise", "score"):
        raise ValueError(f"estimator={estimator!r} is not allowed: use 'pathwise' or 'score'.")
    if wrt == "mu":
        if estimator == "pathwise":
            return 4.0 * sigma**2
        return mu**4 / sigma**2 + 14.0 * mu**2 + 15.0 * sigma**2
    if estimator == "pathwise":
        return 4.0 * mu**2 + 8.0 * sigma**2
    return 2.0 * mu**4 / sigma**2 + 60.0 * mu**2 + 74.0 * sigma**2


def encoder_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    """The parameters phi of a VAE's encoder: its hidden layers, fc_mu and fc_log_var."""
    return [*model.encoder.parameters(), *model.fc_mu.parameters(), *model.fc_log_var.parameters()]


def encoder_grad_samples(model: torch.nn.Module, x: torch.Tensor, eps: torch.Tensor, estimator: str) -> torch.Tensor:
    """Per-sample estimates of d/dphi of the batch-mean reconstruction E_q[-log p(x|z)]: [S, n_phi].

    ``eps`` [S, B, z_dim] holds S draws of the noise; sample s uses z = mu + sigma * eps[s] for the
    whole batch. ``estimator="pathwise"`` differentiates through z; ``"score"`` uses
    -log p(x|z) * d/dphi log q(z|x) with z held fixed (each image its own score).
    """
    if estimator not in ("pathwise", "score"):
        raise ValueError(f"estimator={estimator!r} is not allowed: use 'pathwise' or 'score'.")
    params = encoder_parameters(model)
    mu, log_var = model.encode(x)
    sigma = torch.exp(0.5 * log_var)
    z = mu + sigma * eps.to(mu.dtype)  # [S, B, z_dim]
    if estimator == "pathwise":
        per_sample = reconstruction_nats(model.decode(z), x).mean(dim=1)  # [S]
    else:
        z = z.detach()
        with torch.no_grad():
            f = reconstruction_nats(model.decode(z), x)  # [S, B]
        log_q = torch.distributions.Normal(mu, sigma).log_prob(z).sum(dim=-1)  # [S, B]
        per_sample = (f * log_q).mean(dim=1)
    eye = torch.eye(per_sample.numel(), dtype=per_sample.dtype)
    grads = torch.autograd.grad(per_sample, params, grad_outputs=eye, is_grads_batched=True)
    return torch.cat([g.reshape(per_sample.numel(), -1) for g in grads], dim=1)
