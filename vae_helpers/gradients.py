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

import copy
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


def square_mu_grad_variance(name: str, mu: float, sigma: float) -> float:
    """Closed-form variance of ONE draw's estimate of d/dmu E[z^2], by the names of notebook 03's section 4:
    ``"pathwise f'(z)"`` 4 sigma^2; ``"score, no baseline"`` mu^4 / sigma^2 + 14 mu^2 + 15 sigma^2;
    ``"score, b = E[f]"`` (b = mu^2 + sigma^2) 8 mu^2 + 10 sigma^2; ``"score, best b*"``
    (b* = mu^2 + 3 sigma^2) 8 mu^2 + 6 sigma^2."""
    _check(sigma, "mu")
    formulas = {"pathwise f'(z)": 4 * sigma**2, "score, no baseline": mu**4 / sigma**2 + 14 * mu**2 + 15 * sigma**2,
                "score, b = E[f]": 8 * mu**2 + 10 * sigma**2, "score, best b*": 8 * mu**2 + 6 * sigma**2}
    if name not in formulas:
        raise ValueError(f"name={name!r} is not allowed: use one of {list(formulas)}.")
    return float(formulas[name])


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


def _leave_one_out_mean(values: torch.Tensor) -> torch.Tensor:
    """For each draw (dim 0), the mean of the *other* draws: a baseline that never sees its own draw."""
    return (values.sum(dim=0, keepdim=True) - values) / (values.shape[0] - 1)


def encoder_gradient_variances(model: torch.nn.Module, x: torch.Tensor, eps: torch.Tensor,
                               baseline: float | None = None) -> dict[str, float]:
    """Total variance (summed over every encoder weight) of a one-draw-per-image estimate of the gradient
    of the batch-mean reconstruction term, for five estimators: ``{"pathwise", "score, no baseline",
    "score, constant b", "score, b = E[f]", "score, best b*": variance}``.

    ``x`` is [N, 784]; ``eps`` [S, N, z_dim] holds S independent draws of the noise for every image.
    ``constant b`` is one number for all images: the mean of f over every other image and draw (what a
    running average of f gives in training). The two per-image baselines are *oracles* that a practical
    REINFORCE does not have: leave-one-out means over the other S - 1 draws of the same image,
    ``b = E[f_x]``, and the optimal constant ``b* = E[f s^2] / E[s^2]`` separately for each of q's
    parameters (mu_k and log sigma_k^2 of each image). Computed in float64 on a copy of ``model``.
    A sixth entry, ``"score, best constant b"``, uses the one constant b that minimises this total variance
    (fitted on all the draws). If ``baseline`` is a number, a seventh entry, ``"score, given b"``, uses that
    fixed constant as b (for example the running mean that a training run used at these weights).

    By the chain rule each estimate is ``J_x^T u`` summed over images, with ``J_x`` the Jacobian of the
    encoder's outputs (mu, log sigma^2) for image x ([2 z_dim, n_weights]) and ``u`` the per-draw
    gradient with respect to those outputs; the total variance is ``sum_x tr(J_x^T Cov[u_x] J_x) / N^2``.
    """
    model = copy.deepcopy(model).double()
    x = x.double()
    eps = eps.double()
    mu, log_var = model.encode(x)
    sigma = torch.exp(0.5 * log_var).detach()
    z = (mu.detach() + sigma * eps).requires_grad_()
    f = reconstruction_nats(model.decode(z), x)  # [S, N]
    (df_dz,) = torch.autograd.grad(f.sum(), z)  # each f depends only on its own z
    f = f.detach()[..., None]
    s = torch.cat([eps / sigma, (eps**2 - 1) / 2], dim=-1)  # scores for mu and log sigma^2, [S, N, 2 z_dim]
    everyone_else = (f.sum() - f) / (f.numel() - 1)  # one number for the whole data set, as a running mean gives
    outputs = torch.cat([mu, log_var], dim=-1)  # [N, 2 z_dim]
    eye = torch.eye(outputs.numel(), dtype=outputs.dtype).view(-1, *outputs.shape)
    jac = torch.autograd.grad(outputs, encoder_parameters(model), grad_outputs=eye, is_grads_batched=True)
    jac = torch.cat([j.flatten(1) for j in jac], dim=1).view(*outputs.shape, -1)  # [N, 2 z_dim, n_weights]
    gram = jac @ jac.transpose(1, 2)  # J J^T, [N, 2 z_dim, 2 z_dim]
    fs, s_c = f * s - (f * s).mean(dim=0), s - s.mean(dim=0)  # centred over the draws
    # the total variance is quadratic in one shared b; its minimum (in-sample, over all draws):
    best_b = (torch.einsum("sni,snj->nij", fs, s_c) * gram).sum() / (torch.einsum("sni,snj->nij", s_c, s_c) * gram).sum()
    u = {
        "pathwise": torch.cat([df_dz, df_dz * sigma * eps / 2], dim=-1),
        "score, no baseline": f * s,
        "score, constant b": (f - everyone_else) * s,
        "score, b = E[f]": (f - _leave_one_out_mean(f)) * s,
        "score, best b*": (f - _leave_one_out_mean(f * s**2) / _leave_one_out_mean(s**2)) * s,
        "score, best constant b": (f - best_b) * s,
    }
    if baseline is not None:
        u["score, given b"] = (f - baseline) * s
    total = {}
    for name, per_draw in u.items():
        centred = per_draw - per_draw.mean(dim=0)
        cov = torch.einsum("sni,snj->nij", centred, centred) / (eps.shape[0] - 1)
        total[name] = (cov * gram).sum().item() / x.shape[0] ** 2
    return total


def reconstruction_spread(model: torch.nn.Module, x: torch.Tensor, eps: torch.Tensor) -> tuple[float, ...]:
    """How big the reconstruction term f_x = -log p(x|z) is, how much it moves, and how wide q is.

    ``eps`` [S, N, z_dim] are the draws of ``encoder_gradient_variances``. Returns (mean of f_x over
    images and draws; standard deviation over the draws of one image, averaged over images; standard
    deviation across images of each image's mean f_x; mean σ; the smallest and the largest σ of one latent
    dimension, averaged over the images), the first three in nats.
    """
    with torch.no_grad():
        mu, log_var = model.encode(x)
        sigma = torch.exp(0.5 * log_var)
        f = reconstruction_nats(model.decode(mu + sigma * eps.to(mu.dtype)), x)  # [S, N]
    per_dim = sigma.mean(0)  # each latent dimension's σ, averaged over the images
    return (f.mean().item(), f.std(0).mean().item(), f.mean(0).std().item(), sigma.mean().item(),
            per_dim.min().item(), per_dim.max().item())


def train_encoder_by(model: torch.nn.Module, x_train: torch.Tensor, estimator: str, steps: int, batch: int,
                     lr: float, seed: int, decay: float = 0.9, lags: list | None = None,
                     snapshots: dict | None = None) -> list[float]:
    """Adam on Kingma and Welling's estimator with the closed-form KL, where the encoder's gradient of the
    reconstruction term is ``"pathwise"`` (through z = mu + sigma * eps) or ``"score"`` (REINFORCE with one
    constant baseline for all images: a running mean of f over earlier batches with weight ``decay``, started on
    a batch of its own and updated after each step, so that it never depends on the current draws). The decoder and the KL
    term get the same gradient either way. Trains ``model`` in place; returns the ELBO estimate (nats per
    image) of every step. If ``lags`` is a list, the score run appends to it, at every step, the minibatch's
    mean f minus the baseline it used (nats). If ``snapshots`` is a dict, then for each of its keys k (a step,
    1 to ``steps``) it receives, before step k's update, a copy of the model and the baseline that step uses
    (None for the pathwise run): ``snapshots[k] = (model_copy, baseline)``."""
    if estimator not in ("pathwise", "score"):
        raise ValueError(f"estimator={estimator!r} is not allowed: use 'pathwise' or 'score'.")
    from .losses import gaussian_kl

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    noise = torch.Generator().manual_seed(seed + 1)
    baseline, history = None, []
    if estimator == "score":  # start the running mean on a batch of its own, so no step's baseline uses its own f
        with torch.no_grad():
            x0 = x_train[torch.randint(0, len(x_train), (batch,), generator=torch.Generator().manual_seed(seed + 2))]
            mu0, log_var0 = model.encode(x0)
            z0 = mu0 + torch.exp(0.5 * log_var0) * torch.randn(mu0.shape, generator=noise, dtype=mu0.dtype)
            baseline = reconstruction_nats(model.decode(z0), x0).mean().item()
    for step in range(1, steps + 1):
        if snapshots is not None and step in snapshots:
            snapshots[step] = (copy.deepcopy(model), baseline)
        x = x_train[torch.randint(0, len(x_train), (batch,), generator=batches)]
        mu, log_var = model.encode(x)
        sigma = torch.exp(0.5 * log_var)
        z = mu + sigma * torch.randn(mu.shape, generator=noise, dtype=mu.dtype)
        kl = gaussian_kl(mu, log_var)
        if estimator == "pathwise":
            f = reconstruction_nats(model.decode(z), x)
            loss = (f + kl).mean()
        else:
            z = z.detach()
            f = reconstruction_nats(model.decode(z), x)  # its gradient reaches the decoder only
            log_q = torch.distributions.Normal(mu, sigma).log_prob(z).sum(-1)
            loss = (f + (f.detach() - baseline) * log_q + kl).mean()  # baseline from earlier batches only
            if lags is not None:
                lags.append(f.mean().item() - baseline)
            baseline = decay * baseline + (1 - decay) * f.mean().item()  # updated after its use
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.append(-(f + kl).mean().item())
    return history


# --------------------------------------------------------------------------- notebook 03's figures


ESTIMATOR_COLORS = {"pathwise f'(z)": "tab:blue", "score, no baseline": "tab:red",
                    "score, b = E[f]": "tab:orange", "score, best b*": "tab:green"}
_SECTION_4_LABELS = {"pathwise f'(z)": "pathwise", "score, no baseline": "score, $b = 0$",
                     "score, b = E[f]": "score, $b = E[f]$", "score, best b*": "score, $b = b^*$"}


def _node(ax, xy, text, color, size=12):
    ax.text(*xy, text, ha="center", va="center", fontsize=size, zorder=3,
            bbox=dict(boxstyle="round,pad=0.45", fc=color, ec="#333333"))


def _edge(ax, start, end, color="#333333", dashed=False, rad=0.0):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(
        arrowstyle="-|>", color=color, lw=1.6, shrinkA=0, shrinkB=0, ls="--" if dashed else "-",
        connectionstyle=f"arc3,rad={rad}"))


def draw_vae(x_image=None, recon_image=None, dims=(784, 400, 20), draw="sample", ax=None,
             recon_label="untrained output\n(decoded at μ)", encoder_label=None, loss_label=None):
    """Notebook 03's VAE picture, image in → encoder → μ, log σ² → z → decoder → image out, with the loss.

    ``draw="sample"``: before the trick, z is a *draw* from N(μ, σ²), a node with no derivative; the backward
    pass (dashed) reaches the decoder and stops at the draw (✗).
    ``draw="reparameterized"``: after it, z = μ + σ⊙ε with the noise ε an outside input, and the KL term
    estimated at z. ``x_image`` and ``recon_image`` are [28, 28] grey values in [0, 1], shown white on
    black; ``dims`` = (input, hidden, latent) sizes; ``encoder_label`` replaces the encoder's sizes line,
    by default "784→400→(20+20)" (μ and log σ²); ``loss_label``, if given, replaces the loss line under the picture.
    """
    import matplotlib.pyplot as plt

    if draw not in ("sample", "reparameterized"):
        raise ValueError(f"draw={draw!r} is not allowed: use 'sample' or 'reparameterized'.")
    d_in, d_hidden, d_z = dims
    if encoder_label is None:
        encoder_label = f"{d_in}→{d_hidden}→({d_z}+{d_z})"
    if ax is None:
        size, box = ((9.5, 3.2), [0, 0, 1, 1]) if draw == "sample" else ((9.5, 3.6), [0, 0, 1, 1])
        ax = plt.figure(figsize=size).add_axes(box)
    picture = _draw_sampling_vae if draw == "sample" else _draw_reparameterized_vae
    picture(x_image, recon_image, dims, ax, recon_label, encoder_label, loss_label)
    return ax


def _end_tiles(ax, x_image, recon_image, recon_label, bottom, top, label_y):
    """The input and output digits at the two ends of ``draw_vae``'s picture, square on the page."""
    fig_w, fig_h = ax.figure.get_size_inches()
    bbox = ax.get_position()
    half_w = (top - bottom) / 2 * (bbox.height * fig_h) / (bbox.width * fig_w)
    for image, x, label in ((x_image, 0.07, "input $x$"), (recon_image, 0.93, recon_label)):
        if image is not None:
            ax.imshow(image, cmap="gray", vmin=0, vmax=1, extent=(x - half_w, x + half_w, bottom, top), zorder=3,
                      interpolation="nearest", aspect="auto")
        ax.text(x, label_y, label, ha="center", va="top", fontsize=10)


def _loss_node(ax, loss_label, y, ends):
    """The loss as a node at the bottom of ``draw_vae``'s picture, joined to the input and the output tiles;
    returns its text, for arrows that start at it."""
    text = loss_label or "loss at the drawn $z$: $-\\log p_\\theta(x\\mid z)$ + the KL term"
    node = ax.text(0.5, y, text, ha="center", va="center", fontsize=10, color="#b03030", zorder=3,
                   bbox=dict(boxstyle="round,pad=0.4", fc="white", ec="#b03030"))
    for (x, top), side in zip(ends, (0.0, 1.0)):
        ax.annotate("", xy=(side, 0.5), xycoords=node, xytext=(x, top), textcoords="data", arrowprops=dict(
            arrowstyle="-|>", color="#b03030", lw=1.4, shrinkA=0, shrinkB=7,
            connectionstyle=f"arc3,rad={0.25 if side else -0.25}"))
    return node


def _draw_sampling_vae(x_image, recon_image, dims, ax, recon_label, encoder_label, loss_label=None):
    """``draw_vae(draw="sample")``: the sampling node as it is, with no noise input ε."""
    d_in, d_hidden, d_z = dims
    _end_tiles(ax, x_image, recon_image, recon_label, bottom=0.33, top=0.77, label_y=0.28)
    _node(ax, (0.255, 0.55), f"encoder $\\phi$\n{encoder_label}", "#dbe9f6", 10)
    _node(ax, (0.43, 0.78), "$\\mu$", "#dbe9f6")
    _node(ax, (0.43, 0.32), "$\\log\\sigma^2$", "#dbe9f6")
    _node(ax, (0.6, 0.55), "draw\n$z\\sim\\mathcal{N}(\\mu, \\sigma^2)$", "mistyrose")
    _node(ax, (0.78, 0.55), f"decoder $\\theta$\n{d_z}→{d_hidden}→{d_in}", "#fde0c5", 10)
    for start, end in (((0.148, 0.55), (0.172, 0.55)), ((0.338, 0.62), (0.405, 0.75)), ((0.338, 0.48), (0.39, 0.36)),
                       ((0.452, 0.76), (0.53, 0.63)), ((0.472, 0.34), (0.53, 0.47)), ((0.67, 0.55), (0.72, 0.55)),
                       ((0.838, 0.55), (0.862, 0.55))):
        _edge(ax, start, end)
    node = _loss_node(ax, loss_label, y=0.07, ends=((0.07, 0.2), (0.93, 0.09)))
    back = "tab:blue"  # the backward pass, as in draw="reparameterized": it reaches the decoder and stops at the draw
    ax.annotate("", xy=(0.77, 0.45), xytext=(0.92, 1.0), textcoords=node, arrowprops=dict(
        arrowstyle="-|>", color=back, lw=1.6, ls="--", shrinkA=7, shrinkB=0, connectionstyle="arc3,rad=0.2"))
    _edge(ax, (0.78, 0.66), (0.67, 0.66), back, dashed=True, rad=0.5)
    ax.text(0.66, 0.72, "✗", color="tab:red", fontsize=20, ha="center", va="center")
    ax.text(0.6, 0.41, "sample(): no recorded\npath to $\\mu$, $\\sigma$", ha="center", va="top", fontsize=10, color="tab:red")
    ax.text(0.695, 0.58, "$z$", ha="center", va="bottom", fontsize=12)
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color="#333333", lw=1.6, label="forward"),
                       Line2D([], [], color=back, lw=1.6, ls="--", label="backward (gradient)")],
              loc="upper right", fontsize=9, frameon=False, borderaxespad=0)
    ax.set(xlim=(-0.05, 1.05), ylim=(0, 1))
    ax.axis("off")
    return ax


def _draw_reparameterized_vae(x_image, recon_image, dims, ax, recon_label, encoder_label, loss_label=None):
    """``draw_vae(draw="reparameterized")``: the layout of ``draw="sample"`` with the draw replaced by
    z = μ + σ⊙ε (σ = exp(½ log σ²)), the noise ε an outside input, the loss at the sampled z (the KL term
    estimated there too), and the backward pass drawn dashed from the loss through z into μ, log σ² and the
    encoder, with no arrow into ε."""
    import matplotlib.pyplot as plt

    d_in, d_hidden, d_z = dims
    _end_tiles(ax, x_image, recon_image, recon_label, bottom=0.4, top=0.76, label_y=0.36)
    y = 0.58
    _node(ax, (0.255, y), f"encoder $\\phi$\n{encoder_label}", "#dbe9f6", 10)
    _node(ax, (0.43, 0.8), "$\\mu$", "#dbe9f6")
    _node(ax, (0.43, 0.36), "$\\log\\sigma^2$", "#dbe9f6")
    _node(ax, (0.6, y), "$z = \\mu + \\sigma\\odot\\varepsilon$\n$\\sigma = \\exp(\\frac{1}{2}\\log\\sigma^2)$", "honeydew", 10)
    _node(ax, (0.6, 0.2), "$\\varepsilon\\sim\\mathcal{N}(0, I)$", "lightgrey", 10)
    _node(ax, (0.78, y), f"decoder $\\theta$\n{d_z}→{d_hidden}→{d_in}", "#fde0c5", 10)
    for start, end in (((0.148, y), (0.172, y)), ((0.338, y + 0.07), (0.405, 0.77)), ((0.338, y - 0.07), (0.39, 0.4)),
                       ((0.452, 0.78), (0.52, y + 0.08)), ((0.472, 0.38), (0.52, y - 0.08)), ((0.6, 0.26), (0.6, y - 0.09)),
                       ((0.682, y), (0.72, y)), ((0.838, y), (0.862, y))):
        _edge(ax, start, end)
    back = "tab:blue"
    for start, end, rad in (((0.78, y + 0.1), (0.66, y + 0.1), 0.5), ((0.56, y + 0.1), (0.46, 0.87), 0.3),
                            ((0.56, y - 0.1), (0.47, 0.29), -0.3), ((0.4, 0.87), (0.28, y + 0.12), 0.35),
                            ((0.4, 0.29), (0.28, y - 0.12), -0.35)):
        _edge(ax, start, end, back, dashed=True, rad=rad)
    node = _loss_node(ax, loss_label, y=0.07, ends=((0.07, 0.25), (0.93, 0.23)))
    ax.annotate("", xy=(0.77, y - 0.1), xytext=(0.92, 1.0), textcoords=node, arrowprops=dict(
        arrowstyle="-|>", color="tab:blue", lw=1.6, ls="--", shrinkA=7, shrinkB=0, connectionstyle="arc3,rad=0.2"))
    ax.text(0.53, 0.2, "outside input:\nno gradient needed", ha="right", va="center", fontsize=9, color="dimgrey")
    ax.text(0.702, y + 0.03, "$z$", ha="center", va="bottom", fontsize=12)
    ax.legend(handles=[plt.Line2D([], [], color="#333333", lw=1.6, label="forward"),
                       plt.Line2D([], [], color=back, lw=1.6, ls="--", label="backward (gradient)")],
              loc="upper right", fontsize=9, frameon=False, borderaxespad=0)
    ax.set(xlim=(-0.05, 1.05), ylim=(0, 1))
    ax.axis("off")
    return ax


def draw_computation_graphs(axes=None):
    """The two computation graphs of z ~ N(μ, σ²) → f(z): ``sample()`` (the draw blocks the backward
    pass) and ``rsample()`` (z = μ + σ·ε with ε an outside input; the local derivatives 1 and ε on the forward
    edges, which the chain rule multiplies by f′(z), the label of the backward arrow from f(z) to z)."""
    import matplotlib.pyplot as plt

    own_figure = axes is None
    if own_figure:
        _, axes = plt.subplots(1, 2, figsize=(9.5, 3.4))
    nodes = {"mu": (0.08, 0.75), "sigma": (0.08, 0.25), "z": (0.5, 0.5), "f": (0.92, 0.5), "eps": (0.66, 0.9)}
    forward = [((0.12, 0.72), (0.39, 0.54)), ((0.12, 0.28), (0.39, 0.46)), ((0.61, 0.5), (0.87, 0.5))]
    backward = [((0.89, 0.56), (0.6, 0.58), 0.3), ((0.41, 0.57), (0.1, 0.82), 0.3), ((0.41, 0.43), (0.1, 0.18), -0.3)]
    titles = ("sample(): the draw blocks the gradient", r"rsample(): $\varepsilon$ is an outside input")
    for ax, title, color in zip(axes, titles, ("tab:red", "tab:blue")):
        ax.set(xlim=(0, 1), ylim=(0, 1), title=title)
        ax.axis("off")
        for key, label in (("mu", r"$\mu$"), ("sigma", r"$\sigma$"), ("f", r"$f(z)$")):
            _node(ax, nodes[key], label, "white")
        for start, end in forward:
            _edge(ax, start, end)
    for start, end, rad in backward:  # sample(): the backward pass ends at the sampling node
        _edge(axes[1], start, end, "tab:blue", dashed=True, rad=rad)
    _edge(axes[0], *backward[0][:2], "tab:blue", dashed=True, rad=backward[0][2])  # backward as in the legend, blocked by the ✗
    _node(axes[0], nodes["z"], "sample\n" + r"$z\sim\mathcal{N}(\mu,\sigma^2)$", "mistyrose")
    axes[0].text(0.6, 0.68, "✗", color="tab:red", fontsize=22, ha="center", va="center")
    axes[0].text(0.5, 0.2, "the backward pass stops at the draw:\n" + r"no gradient reaches $\mu$ or $\sigma$",
                 color="tab:red", ha="center", va="top", fontsize=10)
    _node(axes[1], nodes["z"], r"$z = \mu + \sigma\cdot\varepsilon$", "honeydew")
    _node(axes[1], nodes["eps"], r"$\varepsilon\sim\mathcal{N}(0,1)$", "lightgrey")
    _edge(axes[1], (0.64, 0.83), (0.55, 0.575))
    back = dict(color="#1a5a8a", fontsize=11)  # the backward labels, darker than the dashes
    axes[1].text(0.75, 0.7, r"$f'(z)$", ha="center", va="bottom", **back)
    axes[1].text(0.3, 0.8, r"$\partial f/\partial\mu = f'(z)$", ha="left", va="bottom", **back)
    axes[1].text(0.3, 0.2, r"$\partial f/\partial\sigma = f'(z)\,\varepsilon$", ha="left", va="top", **back)
    axes[1].text(0.3, 0.575, r"$\partial z/\partial\mu = 1$", fontsize=10, ha="right", va="top")  # forward, local
    axes[1].text(0.3, 0.425, r"$\partial z/\partial\sigma = \varepsilon$", fontsize=10, ha="right", va="bottom")
    axes[1].legend(handles=[plt.Line2D([], [], color="black", lw=1.6, label="forward"),
                            plt.Line2D([], [], color="tab:blue", lw=1.6, ls="--", label="backward (gradient)")],
                   loc="lower right", fontsize=9, frameon=False, borderaxespad=0)
    if own_figure:
        axes[0].figure.tight_layout()
    return axes


def plot_estimates_and_variances(mu: float, sigma: float, mu_max: float, eps_mu: torch.Tensor,
                                 variance_formula: Callable, legend_loc: str = "upper left",
                                 estimate_bottom: float = -15.0,
                                 tail: tuple[float, str] | None = None) -> dict[str, list[float]]:
    """Notebook 03's section 4 figure for f(z) = z². Left: one draw's estimate of ∇_μ E[z²] as a function of
    ε at (``mu``, ``sigma``), pathwise 2z (a line) against the score function (z² − b)ε/σ with b = 0,
    b = E[f] = μ² + σ² and the best b* = μ² + 3σ² (cubics), over the N(0, 1) density. Right: one draw's
    variance against μ for the four estimators of ``ESTIMATOR_COLORS`` (lines from
    ``variance_formula(name, mu, sigma)``, dots measured on ``eps_mu``). Returns the measured variances by
    name, at the 13 values of μ. ``legend_loc`` places the left panel's legend and ``estimate_bottom`` is
    its lowest value, so that the legend can sit below the curves (``"lower right"`` with -22). ``tail = (t, text)``
    shades |ε| > t on the left panel and its density strip, with ``text`` in the upper left corner."""
    import matplotlib.pyplot as plt

    names = list(ESTIMATOR_COLORS)
    mus = torch.linspace(-mu_max, mu_max, 13, dtype=torch.float64)
    measured = {name: [] for name in names}
    for m in mus.tolist():
        z, s = m + sigma * eps_mu, eps_mu / sigma
        b_best = ((z**2 * s**2).mean() / (s**2).mean()).item()
        measured[names[0]].append((2 * z).var().item())
        for name, b in zip(names[1:], (0.0, m**2 + sigma**2, b_best)):
            measured[name].append(((z**2 - b) * s).var().item())

    fig = plt.figure(figsize=(10, 4.8), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=[5, 1])
    ax, strip, bx = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[:, 1])
    e = torch.linspace(-3, 3, 301, dtype=torch.float64)
    z = mu + sigma * e
    ax.plot(e, 2 * z, color=ESTIMATOR_COLORS[names[0]], lw=2, label="pathwise: $2z$")
    ax.plot([], [], " ", label="score: $(z^2 - b)\\,\\varepsilon/\\sigma$ with")  # one formula for the three
    for name, b, label in zip(names[1:], (0.0, mu**2 + sigma**2, mu**2 + 3 * sigma**2), ("0", "E[f]", "b^*")):
        ax.plot(e, (z**2 - b) * e / sigma, color=ESTIMATOR_COLORS[name], lw=2,
                label=f"    $b = {label}$" + (f" = {b:g}" if b else ""))
    ax.axhline(2 * mu, color="black", lw=1, ls=":", label=f"true gradient $2\\mu$ = {2 * mu:g}")
    top, bottom = 30.0, estimate_bottom
    density = torch.exp(-0.5 * e**2) / math.sqrt(2 * math.pi)  # in its own strip, so that it is not read as data
    strip.fill_between(e, 0, density, color="lightgrey", lw=0)
    strip.set(xlim=(-3, 3), ylim=(0, 0.45), yticks=[], xlabel="$\\varepsilon$ (the draw's noise)")
    strip.set_ylabel("density\nof $\\varepsilon$", fontsize=9, rotation=0, ha="right", va="center")
    ax.set(xlim=(-3, 3), ylim=(bottom, top), ylabel="one draw's estimate of $\\nabla_\\mu E[z^2]$",
           title=f"estimate against the noise ($\\mu$ = {mu:g}, $\\sigma$ = {sigma:g})")
    ax.tick_params(labelbottom=False)
    if tail is not None:  # the tails beyond |eps| = t, shaded on both the estimates and the density
        t, text = tail
        for panel in (ax, strip):
            for lo, hi in ((-3, -t), (t, 3)):
                panel.axvspan(lo, hi, color="gold", alpha=0.25, lw=0, zorder=0)
        ax.text(-2.9, top - 1.5, text, ha="left", va="top", fontsize=9)
    ax.legend(fontsize=9, loc=legend_loc)
    ax.grid(alpha=0.3)
    fine = torch.linspace(-mu_max, mu_max, 200, dtype=torch.float64).tolist()
    for name in names:
        bx.plot(fine, [variance_formula(name, m, sigma) for m in fine], color=ESTIMATOR_COLORS[name],
                label=_SECTION_4_LABELS[name])
        bx.plot(mus, measured[name], "o", color=ESTIMATOR_COLORS[name], ms=3.5)
    bx.set(yscale="log", xlabel="$\\mu$ (mean of $q$)", ylabel="variance of one draw's estimate",
           title=f"variance against $\\mu$ ($\\sigma$ = {sigma:g}; dots measured)")
    ticks = [2, 4, 6, 10, 20, 40, 100, 200]
    bx.set_yticks(ticks, labels=[str(t) for t in ticks])
    bx.minorticks_off()
    bx.set_ylim(2, max(300, 1.4 * max(max(v) for v in measured.values())))
    bx.legend(fontsize=9, loc="upper center", ncol=2)
    return measured


def plot_training(history: list[float], inputs: torch.Tensor, reconstructions: torch.Tensor,
                  centred: bool = False) -> None:
    """Notebook 03's Algorithm 1 figure: the ELBO estimate per step (with a running mean) and 8 inputs
    above their reconstructions, both on the grey scale 0 to 1 ([8, 784] each). ``centred=True`` draws
    each running mean at the middle of its window (and says so), not at its last step."""
    import matplotlib.pyplot as plt

    steps = len(history)
    window = max(1, steps // 20)
    smooth = torch.tensor(history).unfold(0, window, 1).mean(1)
    fig = plt.figure(figsize=(10.5, 5.0))
    ax = fig.add_axes([0.08, 0.11, 0.32, 0.8])
    ax.plot(range(1, steps + 1), history, color="lightgrey", lw=1, label="one minibatch")
    first = (window + 1) // 2 if centred else window
    ax.plot(range(first, first + len(smooth)), smooth, color="tab:blue", lw=2,
            label=f"{'centred ' if centred else ''}mean of {window} steps")
    ax.set(xlabel="Adam step", ylabel="ELBO estimate (nats per image)", title="Algorithm 1 on MNIST")
    ax.legend(fontsize=9, loc="lower right")
    grid = fig.add_axes([0.53, 0.02, 0.47, 0.9])  # large tiles: the reconstructions are faint
    rows = [inputs[:4], reconstructions[:4], inputs[4:8], reconstructions[4:8]]
    tiles = torch.cat([torch.cat(list(r.view(-1, 28, 28)), 1) for r in rows], 0)
    grid.imshow(tiles, cmap="gray", vmin=0, vmax=1)
    grid.set(xticks=[], yticks=[28 * (k + 0.5) for k in range(4)],
             title=f"after {steps} steps (grey scale 0 to 1)")
    grid.set_yticklabels(["input", "reconstruction", "input", "reconstruction"])


def plot_baseline_ladder(ratio: dict, title: str = "encoder-gradient variance, trained model") -> None:
    """Notebook 03's section 6 figure: horizontal bars on one log axis, the variance (summed over the encoder's
    weights) of the score function with the per-image oracle b*, with each image's own mean as b, with the best
    single b and with the mean of f as one b, and with no baseline (each only if ``ratio`` has it), each divided by
    the pathwise variance, which a vertical line marks at 1. Hatched bars (explained in a legend) are the per-image
    oracles and the best single b fitted on all the draws, which a training run does not have. ``ratio`` is
    ``encoder_gradient_variances`` divided by its ``"pathwise"`` entry (keys "score, constant b" and
    "score, best b*" are used)."""
    import matplotlib.pyplot as plt

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    rows = (("score, per-image $b^*$ (oracle)", ratio["score, best b*"], "tab:green", True),)
    if "score, b = E[f]" in ratio:
        rows += (("score, per-image mean $b$ (oracle)", ratio["score, b = E[f]"], "tab:orange", True),)
    if "score, best constant b" in ratio:
        rows += (("score, best single $b$", ratio["score, best constant b"], "tab:pink", True),)
    rows += (("score, mean of $f$ as one $b$", ratio["score, constant b"], "tab:purple", False),)  # training has a shared mean
    if "score, no baseline" in ratio:
        rows += (("score, no baseline", ratio["score, no baseline"], "tab:red", False),)
    fig, ax = plt.subplots(figsize=(9.0, 1.1 + 0.55 * len(rows)))
    for k, (label, value, color, hatched) in enumerate(rows):
        ax.barh(k, value, left=0.5, color=color, height=0.6, hatch="//" if hatched else None, edgecolor="white")
        text = f"≈{float(f'{value:.3g}'):,.0f}" if value >= 100 else f"{value:.1f}"  # three significant figures
        ax.text(value * 1.15, k, text, va="center", fontsize=10)
    ax.axvline(1.0, color="tab:blue", lw=2.5, zorder=3)  # the pathwise reference
    ax.set_xscale("log")
    top = max(value for _, value, _, _ in rows)
    ticks = [10**e for e in range(0, 8) if 10**e <= top * 10]
    ax.set_xticks(ticks, labels=[f"{t:,}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlim(0.5, top * 6)
    ax.set_yticks(range(len(rows)), labels=[label for label, *_ in rows], fontsize=10)
    ax.invert_yaxis()
    ax.legend(handles=[Line2D([], [], color="tab:blue", lw=2.5, label="pathwise = 1 (the reference)"),
                       Patch(facecolor="grey", edgecolor="white", hatch="//",
                             label="hatched: $b$ fitted per image or on\nall these draws (unavailable in training)")],
              loc="upper right", fontsize=9, handlelength=2.5, handleheight=1.2)
    ax.set(xlabel="variance ÷ pathwise variance (log scale)", title=title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()


def plot_estimator_gap(histories: dict, window: int = 15, early_step: int = 30, legend_panel: str = "late") -> int | None:
    """Notebook 03's training comparison of one VAE trained twice: ``histories = {"pathwise": [...], "score": [...]}``,
    the ELBO estimate of every step. Left panel: centred running means of ``window`` steps over the first
    ``3 * early_step`` steps, the gap at ``early_step`` marked. Right panel: the same curves on the late range, a dotted
    line at the score-function run's final level, marked where the pathwise run first reached it. Returns that step
    (None if never reached). ``legend_panel="both"`` adds the same legend in the left panel's lower
    right corner to the right panel's."""
    import matplotlib.pyplot as plt

    colors = {"pathwise": "tab:blue", "score": "tab:purple"}
    labels = {"pathwise": "pathwise", "score": "score function"}  # short: the left legend must fit
    first = (window + 1) // 2
    smooth = {e: torch.tensor(h).unfold(0, window, 1).mean(1) for e, h in histories.items()}
    steps = max(len(h) for h in histories.values())
    level = sum(histories["score"][-window:]) / window
    reached = (smooth["pathwise"] >= level).nonzero()
    caught = int(reached[0]) + first if len(reached) else None
    lo = min(min(h[len(h) // 3:]) for h in histories.values())
    hi = max(max(h[-window:]) for h in histories.values())
    fig, (early, ax) = plt.subplots(1, 2, figsize=(10.5, 4.2), gridspec_kw={"width_ratios": [1, 2]})
    for e, curve in smooth.items():
        for panel in (early, ax):
            panel.plot(range(first, first + len(curve)), curve, lw=1.8, color=colors[e], label=labels[e])
    k = early_step - first
    if 0 <= k < min(len(c) for c in smooth.values()):
        top, bottom = float(smooth["pathwise"][k]), float(smooth["score"][k])
        early.annotate("", (early_step, bottom), (early_step, top), arrowprops={"arrowstyle": "<->", "color": "black"})
        early.text(early_step + 2, bottom - 8, f"{top - bottom:.0f} nats\nat step {early_step}", va="top",
                   fontsize=10)  # below the lower curve, clear of both
    early.set_xlim(0, 3 * early_step)
    early.set(xlabel="Adam step", ylabel="ELBO estimate (nats per image)",
              title="first steps", )
    early.grid(axis="y", alpha=0.3)
    early.yaxis.set_major_formatter(lambda v, _: f"{v:.0f}".replace("-", "\u2212"))
    ax.set_ylim(lo - 5, hi + 8)
    ax.plot([caught or steps, steps], [level, level], color="grey", lw=1, ls=":")
    note = f"dotted: the score run's final {level:.1f}".replace("-", "\u2212")
    if caught is not None:
        ax.plot([caught, caught], [lo - 5, level], color="grey", lw=1, ls=":")
        ax.plot(caught, level, "o", ms=7, color="tab:blue", zorder=5)
        note += f",\nfirst reached by the pathwise run at step {caught}"
    ax.text(steps - 2, lo - 3, note, ha="right", va="bottom", fontsize=10)
    entered = max(int((c >= lo - 5).nonzero()[0]) for c in smooth.values()) + first  # both curves in view
    ax.set_xlim(max(0, entered), steps + 2)
    ax.set(xlabel="Adam step", ylabel="ELBO estimate (nats per image)",
           title=f"steps {max(0, entered)}\u2013{steps} (zoomed)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=9, loc="upper left")
    if legend_panel == "both":
        early.legend(fontsize=9, loc="lower right")  # the same labels as the right panel's, clear of the curves
    fig.suptitle(f"one 2-D VAE trained twice (same initial weights and minibatches); curves: centred means of {window} steps",
                 fontsize=10)
    fig.tight_layout()
    return caught


def steps_behind(histories: dict, step: int, window: int = 15) -> int | None:
    """How many steps after ``step`` the score run of ``plot_estimator_gap`` first reaches the level the pathwise run
    had at ``step``, both read on the centred means of ``window`` steps that it draws (step numbers from 1, as drawn).
    None when the curves do not reach ``step`` or the score run never gets to that level."""
    first = (window + 1) // 2
    smooth = {e: torch.tensor(h).unfold(0, window, 1).mean(1) for e, h in histories.items()}  # as drawn
    k = step - first
    if not 0 <= k < min(len(c) for c in smooth.values()):
        return None
    reached = (smooth["score"] >= smooth["pathwise"][k]).nonzero()
    return int(reached[0]) + first - step if len(reached) else None


def per_draw_encoder_grads(model: torch.nn.Module, x: torch.Tensor, loss: torch.Tensor,
                           outputs: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """[S, n_weights]: for each of S draws, the gradient of that draw's batch-mean loss with respect to every
    encoder weight (``encoder_parameters`` order, flattened).

    ``outputs`` = (mu, log_var), each [S, B, z_dim]: per-draw copies of ``model.encode(x)`` (detached, requiring
    grad) from which the scalar ``loss`` (summed over draws and images) was computed, each draw's part from its
    own copy. The chain rule carries each draw's gradient with respect to the encoder's outputs back to the weights.
    """
    per_output = torch.cat(torch.autograd.grad(loss, outputs, retain_graph=True), dim=-1)  # [S, B, 2 z_dim]
    return torch.cat(_encoder_grads_from_outputs(model, x, per_output), dim=1)


def _encoder_grads_from_outputs(model: torch.nn.Module, x: torch.Tensor, per_output: torch.Tensor) -> list[torch.Tensor]:
    """[S, n] per encoder parameter tensor: the chain rule from each draw's gradient at the encoder's outputs
    [S, B, 2 z_dim] (the summed loss's) to the weights, for the batch's mean loss."""
    mu, log_var = model.encode(x)
    grads = torch.autograd.grad(torch.cat([mu, log_var], dim=-1), encoder_parameters(model),
                                grad_outputs=per_output / x.shape[0], is_grads_batched=True)
    return [g.reshape(per_output.shape[0], -1) for g in grads]


def train_closed_form_vae(model: torch.nn.Module, x_train: torch.Tensor, steps: int, lr: float, batch: int,
                          seed: int) -> torch.nn.Module:
    """Train ``model`` in place for ``steps`` Adam steps on the −ELBO with the KL in closed form (one draw of z per
    image, from torch's global generator), on minibatches of ``batch`` rows of ``x_train`` drawn with replacement
    by a generator seeded with ``seed``. Returns the model."""
    from .losses import gaussian_kl

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x = x_train[torch.randint(len(x_train), (batch,), generator=batches)]
        logits, mu, log_var = model(x)
        loss = (reconstruction_nats(logits, x) + gaussian_kl(mu, log_var)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


def kl_noise_at_outputs_and_weights(model: torch.nn.Module, x: torch.Tensor,
                                    eps: torch.Tensor) -> dict[str, dict[str, torch.Tensor]]:
    """The variance over the draws ``eps`` [S, B, z_dim] of three gradients, at the encoder's outputs and at its weights:
    the −ELBO with the KL in closed form ("closed-form KL", the reconstruction's noise alone), the −ELBO with the KL
    sampled as log q(z) − log p(z) at the same z ("sampled KL"), and that sampled KL without the reconstruction
    ("sampled KL alone"). ``{"outputs": {name: [B, 2 z_dim]}, "weights": {name: [n_weights]}}``.

    At the outputs each image's loss is differentiated with respect to its own μ and log σ² (μ's columns first) and
    the variances are divided by B, so that a tensor's sum is the mean over images of one image's summed variance;
    at the weights it is the batch's mean loss, as in training.
    """
    mu, log_var = (t.detach().expand(len(eps), -1, -1).requires_grad_() for t in model.encode(x))  # a copy per draw
    sigma = torch.exp(0.5 * log_var)
    z = mu + sigma * eps  # [S, B, z_dim]
    rec = reconstruction_nats(model.decode(z), x).sum()
    sampled = (torch.distributions.Normal(mu, sigma).log_prob(z) - torch.distributions.Normal(0.0, 1.0).log_prob(z)).sum()
    closed = 0.5 * (mu**2 + sigma**2 - 1 - log_var).sum()
    # each term's gradient at the outputs once (the decoder's backward pass only once), then added up per loss
    g_rec, g_closed, g_sampled = (torch.cat(torch.autograd.grad(term, (mu, log_var), retain_graph=True), dim=-1)
                                  for term in (rec, closed, sampled))
    at_outputs = {"closed-form KL": g_rec + g_closed, "sampled KL": g_rec + g_sampled, "sampled KL alone": g_sampled}

    def variance(g):  # over the draws, dim 0; faster than Tensor.var(0) on wide float32 tensors
        return (g - g.mean(0)).pow(2).sum(0) / (len(g) - 1)

    # the chain rule to the weights is linear and the closed-form KL's gradient is the same for every draw, so two
    # chain-rule passes of centred gradients (reconstruction, sampled KL) give all three losses' variances there
    w_rec, w_sampled = (_encoder_grads_from_outputs(model, x, g - g.mean(0)) for g in (g_rec, g_sampled))
    n = len(eps) - 1
    rec_var, sampled_var = ([w.square().sum(0) / n for w in ws] for ws in (w_rec, w_sampled))
    both_var = [r + s + 2 * (a * b).sum(0) / n for r, s, a, b in zip(rec_var, sampled_var, w_rec, w_sampled)]
    return {"outputs": {name: variance(g) / x.shape[0] for name, g in at_outputs.items()},
            "weights": {"closed-form KL": torch.cat(rec_var), "sampled KL": torch.cat(both_var),
                        "sampled KL alone": torch.cat(sampled_var)}}
