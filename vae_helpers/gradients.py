"""Two Monte Carlo estimators of the gradient of an expectation under a Gaussian.

We want the gradient of ``E_{z ~ N(mu, sigma^2)}[f(z)]`` with respect to ``mu`` (or ``sigma``).

* score function / REINFORCE · 得分函数估计: ``f(z) * d/dtheta log N(z; mu, sigma^2)``. Needs only
  the values f(z), never f's derivative.
* pathwise / reparameterization · 路径导数估计: write ``z = mu + sigma * eps`` with
  ``eps ~ N(0, 1)`` and differentiate ``f(mu + sigma * eps)`` by autograd.

Both functions take the standard-normal noise ``eps`` explicitly and return one estimate *per
sample* (same shape as ``eps``), so a caller can average them in groups of n, reuse the same noise
for both estimators, and stay deterministic. Work is done in float64.
"""

from __future__ import annotations

import math
from typing import Callable

import torch

Fn = Callable[[torch.Tensor], torch.Tensor]
WRT = ("mu", "sigma")


def _check(sigma: float, wrt: str) -> None:
    if wrt not in WRT:
        raise ValueError(f"wrt={wrt!r} is not allowed: use one of {list(WRT)}.")
    if not float(sigma) > 0:
        raise ValueError(f"sigma={sigma!r} is not allowed: the standard deviation must be > 0.")


def score_function_grad(
    f: Fn, mu: float, sigma: float, eps: torch.Tensor, wrt: str = "mu", baseline: float = 0.0
) -> torch.Tensor:
    """Per-sample score-function (REINFORCE) estimates of d/d``wrt`` E[f(z)], z = mu + sigma * eps.

    ``(f(z) - baseline) * d/dtheta log N(z; mu, sigma^2)``: for ``mu`` the score is
    ``(z - mu) / sigma^2`` and for ``sigma`` it is ``((z - mu)^2 - sigma^2) / sigma^3``.
    A constant ``baseline`` (control variate · 控制变量) leaves the mean unchanged, since the
    score has mean zero, and can lower the variance.
    """
    _check(sigma, wrt)
    eps = eps.double()
    z = mu + sigma * eps
    if wrt == "mu":
        score = (z - mu) / sigma**2
    else:
        score = ((z - mu) ** 2 - sigma**2) / sigma**3
    with torch.no_grad():
        values = f(z)
    return (values - baseline) * score


def pathwise_grad(f: Fn, mu: float, sigma: float, eps: torch.Tensor, wrt: str = "mu") -> torch.Tensor:
    """Per-sample pathwise (reparameterization) estimates of d/d``wrt`` E[f(z)], by autograd.

    Each sample gets its own copy of the parameter, so ``torch.autograd.grad`` of ``f(z).sum()``
    returns every sample's own derivative ``f'(z) * dz/dtheta`` (1 for mu, eps for sigma).
    """
    _check(sigma, wrt)
    eps = eps.double()
    mu_t = torch.full_like(eps, float(mu), requires_grad=(wrt == "mu"))
    sigma_t = torch.full_like(eps, float(sigma), requires_grad=(wrt == "sigma"))
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


def square_grad_variance(mu: float, sigma: float, estimator: str) -> float:
    """Closed-form variance of ONE sample's estimate of d/dmu E[z^2] (f(z) = z^2).

    * pathwise: the estimate is 2 z, so its variance is 4 sigma^2 (it does not depend on mu);
    * score function: the estimate is z^2 (z - mu) / sigma^2, with variance
      mu^4 / sigma^2 + 14 mu^2 + 15 sigma^2 (from the Gaussian moments E[eps^2]=1, E[eps^4]=3,
      E[eps^6]=15), which grows like mu^4.
    """
    _check(sigma, "mu")
    if estimator == "pathwise":
        return 4.0 * sigma**2
    if estimator == "score":
        return mu**4 / sigma**2 + 14.0 * mu**2 + 15.0 * sigma**2
    raise ValueError(f"estimator={estimator!r} is not allowed: use 'pathwise' or 'score'.")
