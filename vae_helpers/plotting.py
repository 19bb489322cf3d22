"""Pictures: image grids, sample and reconstruction grids, loss curves, latent-space plots."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import torch
from torchvision.utils import make_grid, save_image

from .checkpoint import atomic_write


def as_images(x: torch.Tensor, side: int | None = None) -> torch.Tensor:
    """[B, side*side] or [B, 1, H, W] → [B, 1, H, W] on the CPU."""
    x = x.detach().float().cpu()
    if x.dim() == 2:
        side = side or int(math.isqrt(x.shape[1]))
        x = x.view(-1, 1, side, side)
    return x


@torch.no_grad()
def sample_images(model, z: torch.Tensor) -> torch.Tensor:
    """Decode latent codes into pixel probabilities shaped as images."""
    return as_images(model.decode_probs(z.to(next(model.parameters()).device)))


@torch.no_grad()
def reconstruction_pairs(model, x: torch.Tensor, per_row: int = 8) -> torch.Tensor:
    """Inputs and their reconstructions interleaved row by row (input row, reconstruction row, ...)."""
    device = next(model.parameters()).device
    x = x.to(device)
    mu, _ = model.encode(x)
    recon = as_images(model.decode_probs(mu), side=x.shape[-1] if x.dim() == 4 else None)
    inputs = as_images(x)
    rows = []
    for start in range(0, len(inputs), per_row):
        rows += [inputs[start : start + per_row], recon[start : start + per_row]]
    return torch.cat(rows)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int = 8) -> Path:
    """Write an image grid to a PNG (atomically; errors name the path)."""
    return atomic_write(path, lambda tmp: save_image(as_images(images), tmp, nrow=nrow, padding=2, format="png"))


def show_grid(images: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None):
    """Show images as one grid with matplotlib; returns the axes."""
    grid = make_grid(as_images(images), nrow=nrow, padding=2, pad_value=1.0)
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.6, math.ceil(len(images) / nrow) * 0.6))
    ax.imshow(grid.permute(1, 2, 0).numpy(), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def plot_history(history, axes=None):
    """Reconstruction, KL and ELBO per epoch (nats per image), train and test."""
    rows = [h.to_dict() if hasattr(h, "to_dict") else dict(h) for h in history]
    epochs = [r["epoch"] for r in rows]
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, key, label in zip(
        axes, ("recon", "kl", "elbo"), ("reconstruction −log p(x|z)", "KL(q(z|x) ‖ p(z))", "ELBO")
    ):
        ax.plot(epochs, [r[f"train_{key}"] for r in rows], "o-", label="train")
        if rows and rows[0].get(f"test_{key}") is not None:
            ax.plot(epochs, [r[f"test_{key}"] for r in rows], "s--", label="test")
        ax.set_title(label)
        ax.set_xlabel("epoch")
        ax.set_ylabel("nats per image")
        ax.grid(alpha=0.3)
        ax.legend()
    plt.tight_layout()
    return axes


def plot_latent_scatter(mu: torch.Tensor, labels: torch.Tensor, ax=None, title: str | None = None,
                        s: float = 3, alpha: float = 0.7):
    """2-D latent means coloured by class, with a colour bar of one band per class 0-9."""
    mu, labels = mu.detach().cpu(), labels.detach().cpu()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5))
    cmap = matplotlib.colors.ListedColormap(plt.get_cmap("tab10").colors)
    norm = matplotlib.colors.BoundaryNorm([c - 0.5 for c in range(11)], cmap.N)  # band c spans c ± 0.5
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap=cmap, norm=norm, s=s, alpha=alpha)
    ax.figure.colorbar(points, ax=ax, ticks=range(10), label="class")
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def manifold_images(model, n: int = 20, quantile: float = 0.05) -> torch.Tensor:
    """Decode an n x n grid of 2-D codes spaced by the inverse normal CDF (equal prior mass)."""
    probs = torch.linspace(quantile, 1 - quantile, n)
    values = torch.distributions.Normal(0.0, 1.0).icdf(probs)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    return sample_images(model, z)


def show_labelled_grid(images: torch.Tensor, nrow: int, xlabels, ylabels, xtitle: str, ytitle: str,
                       title: str | None = None, figsize=(6, 6), ax=None, fontsize: float = 7):
    """A grid of images with one tick label per column and per row; returns the axes."""
    images = as_images(images)
    grid = make_grid(images, nrow=nrow, padding=2, pad_value=1.0)
    side = images.shape[-1] + 2
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    ax.imshow(grid[0].numpy(), cmap="gray", vmin=0, vmax=1)
    centres = [2 + side * i + (side - 2) / 2 - 0.5 for i in range(max(len(xlabels), len(ylabels)))]
    ax.set_xticks(centres[: len(xlabels)], xlabels, fontsize=fontsize)
    ax.set_yticks(centres[: len(ylabels)], ylabels, fontsize=fontsize)
    ax.set_xlabel(xtitle)
    ax.set_ylabel(ytitle)
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def grid_images(model, z1_values: torch.Tensor, z2_values: torch.Tensor) -> torch.Tensor:
    """Decode the grid of 2-D codes (z1, z2), z1 growing left to right, z2 bottom to top."""
    z1, z2 = torch.meshgrid(z1_values, z2_values.flip(0), indexing="xy")
    return sample_images(model, torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1))


def plot_training_curves(history, step_losses: torch.Tensor, reference: tuple[str, float] | None = None,
                         ylim: tuple[float, float] | None = None, figsize=(9.6, 3.4)):
    """A run read three ways: −ELBO of every step, reconstruction and KL, in nats per image.

    Each epoch's mean over its steps is drawn at the epoch's middle (e − ½), where its steps lie;
    the test score after the epoch at its end (e). ``reference`` adds a dotted line (label, value)
    to the −ELBO panel; ``ylim`` frames that panel (steps above it are named in its title).
    Returns the figure and its three axes.
    """
    from matplotlib.ticker import MaxNLocator

    rows = [h.to_dict() if hasattr(h, "to_dict") else dict(h) for h in history]
    ends = [r["epoch"] for r in rows]
    middles = [e - 0.5 for e in ends]
    fig, axes = plt.subplots(1, 3, figsize=figsize, gridspec_kw={"width_ratios": [1.5, 1, 1]})
    if len(step_losses):
        position = torch.arange(1, len(step_losses) + 1) * len(rows) / len(step_losses)  # in epochs
        axes[0].plot(position, step_losses, lw=0.5, color="0.65", label="one batch")
    for ax, key, title in ((axes[0], "elbo", "−ELBO"), (axes[1], "recon", "reconstruction"), (axes[2], "kl", "KL")):
        sign = -1 if key == "elbo" else 1
        ax.plot(middles, [sign * r[f"train_{key}"] for r in rows], "o-", ms=4, label="mean over the epoch's steps")
        if rows and rows[0].get(f"test_{key}") is not None:
            ax.plot(ends, [sign * r[f"test_{key}"] for r in rows], "s--", ms=4, label="test, after the epoch")
        ax.set(xlabel="epoch", ylabel="nats per image", title=title, xlim=(0, max(ends, default=1)))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    if reference is not None:
        axes[0].axhline(reference[1], color="0.3", ls=":", lw=1.2, label=f"{reference[0]} ({reference[1]:.1f})")
    if ylim is not None:
        axes[0].set_ylim(*ylim)
        axes[0].set_title(f"−ELBO (the first steps lie above {ylim[1]:g})")
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig, axes


def draw_gaussian_ellipse(ax, mean: torch.Tensor, cov: torch.Tensor, n_sd: float = 2.0, **style):
    """Draw the ``n_sd`` contour of a 2-D Gaussian (``mean`` [2], ``cov`` [2, 2]) on ``ax``, unfilled."""
    from matplotlib.patches import Ellipse

    values, vectors = torch.linalg.eigh(cov)
    angle = math.degrees(math.atan2(vectors[1, 1].item(), vectors[0, 1].item()))
    width, height = (2 * n_sd * values.flip(0).sqrt()).tolist()
    return ax.add_patch(Ellipse(mean.tolist(), width, height, angle=angle, fill=False, **style))


def plot_bounds_against_k(curves: dict, differences: dict, reference: dict | None = None, *,
                          labels: dict | None = None, n_images: int | None = None, figsize=(9.5, 3.9)):
    """Two panels on a log-k axis (notebook 08): left, each model's mean bound ± standard error,
    ``curves = {model: {k: per-image tensor}}``; right, differences image by image ± paired standard
    error, ``differences = {"A − B": {k: per-image tensor}}``, with ``reference = {"A − B": value}``
    (e.g. a paper's) drawn as ticks in a narrow strip of its own, so that it does not read as a k."""
    se = lambda v: (v.std() / math.sqrt(len(v))).item()  # noqa: E731
    fig, (ax, ax_d, ax_r) = plt.subplots(1, 3, figsize=figsize, gridspec_kw=dict(width_ratios=[5, 5, 0.9]))
    shifts = (0.92, 1.0, 1.08, 0.96, 1.04)
    for (name, b), marker, shift in zip(curves.items(), "o^sDv", shifts):
        ks = sorted(b)
        ax.errorbar([k * shift for k in ks], [b[k].mean().item() for k in ks], yerr=[se(b[k]) for k in ks],
                    fmt=marker + "-", capsize=3, label=(labels or {}).get(name, name))
    ax.set_ylabel("mean L_k, nats per image (± SE)")
    ax.set_title("the bound against k" + (f" ({n_images} test images)" if n_images else ""), fontsize=10)
    colours = ("black", "tab:purple", "tab:brown", "tab:olive", "tab:cyan")
    for (label, d), marker, shift, colour in zip(differences.items(), "^sDvo", shifts, colours):
        ks = sorted(d)
        ax_d.errorbar([k * shift for k in ks], [d[k].mean().item() for k in ks], yerr=[se(d[k]) for k in ks],
                      fmt=marker + "-", capsize=3, color=colour, label=label)
        if reference and label in reference:
            ax_r.plot([0], [reference[label]], "_", ms=22, mew=2.5, color=colour)
    for a in (ax_d, ax_r):
        a.axhline(0, color="grey", lw=1)
    ax_d.set_ylabel("difference, nats per image (± paired SE)")
    ax_d.set_title("differences on the same images", fontsize=10)
    ax_r.set_ylim(ax_d.get_ylim())
    ax_r.set_xlim(-0.5, 0.5)
    ax_r.set_xticks([0], ["paper,\nk = 5000"], fontsize=9)
    ax_r.tick_params(axis="y", labelleft=False)
    ax_r.grid(alpha=0.3, axis="y")
    for a in (ax, ax_d):
        a.set_xscale("log")
        a.set_xlabel("k, importance samples per image")
        a.grid(alpha=0.3, which="both")
        a.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig
