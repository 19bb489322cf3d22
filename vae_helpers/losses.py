"""Loss terms in nats per image, as the textbook writes them: Bernoulli reconstruction,
closed-form KL, the ELBO (with one or k samples), the importance-weighted bound (IWAE)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.distributions import Normal


def bernoulli_nll(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log Bernoulli(x | sigmoid(logits)) per pixel: the binary cross-entropy on logits."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none")


def check_logits(logits: torch.Tensor, x: torch.Tensor, allow_samples: bool = False) -> torch.Tensor:
    """Refuse logits that are not [B, D] (or [k, B, D]); return ``x`` in the logits' shape."""
    dims = (2, 3) if allow_samples else (2,)
    if logits.dim() not in dims:
        wanted = "[B, D] or [k, B, D]" if allow_samples else "[B, D]"
        raise ValueError(
            f"logits must have shape {wanted} (one row of D pixel logits per image), but got "
            f"{list(logits.shape)}. decode must return [B, 784] logits for 28x28 images; flatten "
            "image-shaped logits with logits.flatten(1)."
        )
    images = logits.shape[-2:]
    if x.shape == logits.shape:
        return x
    if x.numel() != images.numel():
        raise ValueError(
            f"x of shape {list(x.shape)} does not match logits of shape {list(logits.shape)}: "
            f"expected {images[0]} images of {images[1]} pixels each."
        )
    return x.reshape(images).expand_as(logits)


def reconstruction_nats(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log p(x|z) per image: Bernoulli cross-entropy summed over pixels.

    ``logits`` [B, D] gives shape [B]; [k, B, D] (k samples of z per image) gives [k, B].
    ``x`` may be image-shaped ([B, 1, 28, 28]); the logits may not.
    """
    x = check_logits(logits, x, allow_samples=True)
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def gaussian_kl(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, sigma^2) || N(0, I)) per image, in closed form. Shape [B]."""
    return -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp(), dim=1)


def kl_split(mu: torch.Tensor, log_var: torch.Tensor) -> tuple[float, float, float]:
    """The batch-average closed-form KL, split exactly into three parts, in nats per image: (shift, spread,
    widths) = (1/2 sum_j mean_j^2 of the batch's means, 1/2 sum_j their variance over the batch,
    1/2 sum_j mean over the batch of sigma^2 - 1 - log sigma^2). Their sum is gaussian_kl(mu, log_var).mean()."""
    mu, log_var = mu.detach(), log_var.detach()
    shift = 0.5 * mu.mean(0).pow(2).sum()
    spread = 0.5 * mu.var(0, unbiased=False).sum()
    widths = 0.5 * (log_var.exp() - 1 - log_var).mean(0).sum()
    return shift.item(), spread.item(), widths.item()


def gaussian_kl_general(mu0: torch.Tensor, cov0: torch.Tensor, mu1: torch.Tensor, cov1: torch.Tensor) -> torch.Tensor:
    """KL(N(mu0, cov0) || N(mu1, cov1)) for two full-covariance Gaussians in d dimensions, in closed form.

    1/2 [tr(cov1^-1 cov0) + (mu1 - mu0)^T cov1^-1 (mu1 - mu0) - d + log det cov1 - log det cov0]
    (notebook 04 derives it). Vectors [d], matrices [d, d]; a scalar tensor.
    """
    diff = mu1 - mu0
    trace = torch.linalg.solve(cov1, cov0).diagonal().sum()
    quadratic = diff @ torch.linalg.solve(cov1, diff)
    return 0.5 * (trace + quadratic - mu0.numel() + torch.logdet(cov1) - torch.logdet(cov0))


def vae_loss(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(negative ELBO, reconstruction, KL), each averaged over the batch: nats per image."""
    check_logits(logits, x)
    recon = reconstruction_nats(logits, x).mean()
    kl = gaussian_kl(mu, log_var).mean()
    return recon + kl, recon, kl


def elbo_k_terms(model, x: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL) per image, shape [B] each, with k samples z ~ q(z|x) per image.

    The reconstruction term is a Monte Carlo average over the k samples; the KL is in closed
    form (it does not depend on z). Their sum is the negative ELBO: the same expectation as
    with one sample, lower variance ("VAE with k samples", Burda et al., 2016).
    """
    mu, log_var = model.encode(x)
    eps = torch.randn(k, *mu.shape, dtype=mu.dtype, device=mu.device)
    z = mu + eps * torch.exp(0.5 * log_var)  # [k, B, z_dim]
    recon = reconstruction_nats(model.decode(z), model.flatten(x)).mean(0)
    return recon, gaussian_kl(mu, log_var)


def elbo_k(model, x: torch.Tensor, k: int) -> torch.Tensor:
    """The ELBO per image estimated with k samples of z (see ``elbo_k_terms``). Shape [B]."""
    recon, kl = elbo_k_terms(model, x, k)
    return -(recon + kl)


def log_importance_weights(model, x: torch.Tensor, k: int) -> torch.Tensor:
    """log w_i = log p(x, z_i) - log q(z_i|x) for k samples z_i ~ q(z|x). Shape [k, B]."""
    x = model.flatten(x)
    mu, log_var = model.encode(x)
    q = Normal(mu, torch.exp(0.5 * log_var))
    z = q.rsample((k,))  # [k, B, z_dim]
    # -BCE is Bernoulli's log-probability; unlike Bernoulli.log_prob it also accepts grey pixels
    log_px_z = -reconstruction_nats(model.decode(z), x)  # [k, B]
    log_pz = Normal(torch.zeros_like(z), torch.ones_like(z)).log_prob(z).sum(-1)
    log_qz = q.log_prob(z).sum(-1)
    return log_px_z + log_pz - log_qz


def iwae_bound(model, x: torch.Tensor, k: int) -> torch.Tensor:
    """log (1/k) sum_i w_i per image for k fresh samples z_i ~ q(z|x). Shape [B].

    One Monte Carlo draw whose expectation is the importance-weighted bound L_k. k = 1 is a
    one-sample ELBO; L_k rises towards log p(x) as k grows (Burda et al., 2016).
    """
    log_w = log_importance_weights(model, x, k)
    return torch.logsumexp(log_w, dim=0) - math.log(k)


@torch.no_grad()
def estimate_log_likelihood(model, x: torch.Tensor, k: int = 5000, chunk: int = 500) -> torch.Tensor:
    """log p(x) estimated with k importance samples, in chunks to bound memory. Shape [B]."""
    parts = []
    remaining = k
    while remaining > 0:
        n = min(chunk, remaining)
        parts.append(log_importance_weights(model, x, n))
        remaining -= n
    log_w = torch.cat(parts, dim=0)
    return torch.logsumexp(log_w, dim=0) - math.log(k)


@torch.no_grad()
def log_importance_weights_of_set(model, x: torch.Tensor, k: int, chunk: int = 500, batch: int = 20) -> torch.Tensor:
    """log w for k samples of every image of ``x``, shape [k, N]: ``batch`` images at a time, ``chunk``
    samples per pass (to bound memory). Each batch draws in the order ``estimate_log_likelihood(model,
    x_batch, k, chunk)`` does, so after the same seed the first batch's log-mean-exp is its estimate."""
    columns = []
    for xb in x.split(batch):
        columns.append(torch.cat([log_importance_weights(model, xb, min(chunk, k - s)) for s in range(0, k, chunk)]))
    return torch.cat(columns, dim=1)


def reconstruction_draws(model, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, k: int) -> torch.Tensor:
    """-log p(x|z) for k codes z = mu + sigma * eps drawn from q = N(mu, diag exp(log_var)). Shape [k, B].

    Unlike ``elbo_k_terms`` it takes any q, not the model's encoder, and keeps the draws one by one
    (their spread gives a Monte Carlo standard error)."""
    eps = torch.randn(k, *mu.shape, dtype=mu.dtype, device=mu.device)
    z = mu + eps * torch.exp(0.5 * log_var)  # [k, B, z_dim]
    return reconstruction_nats(model.decode(z), model.flatten(x))


def fit_free_q(model, x: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor, steps: int, lr: float,
               k: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Give each image its own q = N(mu, diag exp(log_var)), started at the given values, and fit it by Adam
    on that image's ELBO (k reparameterized codes per step), the decoder fixed. Returns the fitted
    (mu, log_var), detached; the model's parameters are left as they were (requires_grad included).

    The gain in ELBO over the encoder's q is a lower bound on the amortization gap (Cremer, Li & Duvenaud 2018).
    """
    mu = mu.detach().clone().requires_grad_()
    log_var = log_var.detach().clone().requires_grad_()
    optimizer = torch.optim.Adam([mu, log_var], lr=lr)
    flat = model.flatten(x)
    frozen = [p for p in model.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        for _ in range(steps):
            eps = torch.randn(k, *mu.shape, dtype=mu.dtype, device=mu.device)
            z = mu + torch.exp(0.5 * log_var) * eps
            loss = (reconstruction_nats(model.decode(z), flat).mean(0) + gaussian_kl(mu, log_var)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    return mu.detach(), log_var.detach()
