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
                         ylim: tuple[float, float] | None = None, figsize=(9.6, 3.4), zoom_from: int | None = None):
    """A run read three ways: −ELBO of every step, reconstruction and KL, in nats per image.

    Each epoch's mean over its steps is drawn at the epoch's middle (e − ½), where its steps lie;
    the test score after the epoch at its end (e). ``reference`` adds a dotted line (label, value)
    to the −ELBO panel; ``ylim`` frames that panel (steps above it are named in its title);
    ``zoom_from`` adds an inset of its epoch means and test scores from that epoch on.
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
    if zoom_from is None:
        axes[0].legend(fontsize=9)
    else:  # below the reference line at the top, above the inset
        axes[0].legend(fontsize=9, loc="upper right", bbox_to_anchor=(1.0, 0.89))
    for ax in axes:
        ax.set_xlim(0, max(ends, default=1) + 0.4)
    late = [r for r in rows if zoom_from is not None and r["epoch"] >= zoom_from]
    if len(late) > 1:
        inset = axes[0].inset_axes([0.33, 0.13, 0.62, 0.3])
        inset.plot([r["epoch"] - 0.5 for r in late], [-r["train_elbo"] for r in late], "o-", ms=3)
        inset.plot([r["epoch"] for r in late], [-r["test_elbo"] for r in late], "s--", ms=3)
        inset.text(0.97, 0.92, f"epochs {zoom_from}–{late[-1]['epoch']}, zoomed", transform=inset.transAxes,
                   ha="right", va="top", fontsize=9)
        inset.tick_params(labelsize=9)
        inset.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def draw_gaussian_ellipse(ax, mean: torch.Tensor, cov: torch.Tensor, n_sd: float = 2.0, **style):
    """Draw the ``n_sd`` contour of a 2-D Gaussian (``mean`` [2], ``cov`` [2, 2]) on ``ax``, unfilled."""
    from matplotlib.patches import Ellipse

    values, vectors = torch.linalg.eigh(cov)
    angle = math.degrees(math.atan2(vectors[1, 1].item(), vectors[0, 1].item()))
    width, height = (2 * n_sd * values.flip(0).sqrt()).tolist()
    return ax.add_patch(Ellipse(mean.tolist(), width, height, angle=angle, fill=False, **style))


# --- added for notebook 01 (the prior-sampling estimate of p(x)); new functions, nothing above changed --


def plot_estimate_errors(errors: torch.Tensor, n_values, exact: float, rho: float | None = None, zoom_from: int = 2,
                         figsize=(9.5, 3.9), exact_label: str | None = None):
    """Repeated estimates of log p(x) against the number of draws N (log axis), as a strip plot with
    each N's median; ``errors`` [repeats, len(n_values)] holds estimate − exact. The right panel zooms
    on N ≥ n_values[zoom_from] and, given ``rho``, draws ± the predicted sd √((ρ − 1)/N).
    ``exact_label`` (optional) replaces the legend text of the zero line."""
    repeats = errors.shape[0]
    fig, (ax_all, ax_zoom) = plt.subplots(1, 2, figsize=figsize)
    spread = 10 ** torch.linspace(-0.12, 0.12, repeats, dtype=torch.float64)  # spread the dots sideways
    for ax in (ax_all, ax_zoom):
        for j, n in enumerate(n_values):
            ax.plot(n * spread, errors[:, j], "o", color="tab:blue", ms=4, alpha=0.6,
                    label="one estimate" if j == 0 else None)
            ax.plot([n / 1.5, n * 1.5], [errors[:, j].quantile(0.5).item()] * 2, "k-", lw=2, label="median" if j == 0 else None)
        ax.axhline(0, color="tab:green", lw=1.5, label=exact_label or f"exact log p(x) = {exact:.2f}")
        ax.set(xscale="log", xlabel="prior draws N", ylabel="estimate − exact log p(x)  (nats)")
        ax.grid(alpha=0.3)
    n_lo, n_hi = n_values[zoom_from], n_values[-1]
    if rho is not None:
        n_fine = torch.logspace(math.log10(n_lo) - 0.3, math.log10(n_hi) + 0.3, 50, dtype=torch.float64)
        for sign in (1, -1):  # ± 1 predicted sd of log p_hat, about the relative sd for large N
            ax_zoom.plot(n_fine, sign * ((rho - 1) / n_fine).sqrt(), "r--", lw=1,
                         label="± predicted sd" if sign > 0 else None)
    ax_zoom.set(xlim=(n_lo / 2.5, n_hi * 2.5), ylim=(1.2 * errors[:, zoom_from:].min().item(), 0.5),
                title=f"zoom on N ≥ {n_lo:,}")
    ax_all.set(title=f"{repeats} estimates for each N")
    ax_zoom.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig, (ax_all, ax_zoom)


def plot_weighted_samples(z: torch.Tensor, weights: torch.Tensor, posterior_mean: torch.Tensor,
                          posterior_cov: torch.Tensor, z_true: torch.Tensor | None = None, title: str = "",
                          figsize=(9.5, 5.0)):
    """2-D samples ``z`` [n, 2] with marker area ∝ weight, the posterior's 1- and 2-sd ellipses, and
    a second panel zoomed on ± 3 sd around the posterior mean (notebook 01)."""
    from matplotlib.patches import Rectangle

    def draw(ax, max_area):
        ax.scatter(z[:, 0], z[:, 1], s=3, color="lightgray", label="prior samples z ~ p(z)")
        heavy = weights > 1e-3 * weights.max()  # the others would be invisibly small
        ax.scatter(z[heavy, 0], z[heavy, 1], s=max_area * weights[heavy] / weights.max(),
                   color="tab:red", alpha=0.5, linewidths=0, label="marker area ∝ weight p(x|z)")
        for n_sd, style in ((1, "-"), (2, "--")):
            draw_gaussian_ellipse(ax, posterior_mean, posterior_cov, n_sd, color="black", ls=style, lw=1.2, zorder=3)
        ax.plot([], [], "k-", lw=1.2, label="posterior p(z|x): 1 sd")
        ax.plot([], [], "k--", lw=1.2, label="posterior p(z|x): 2 sd")
        if z_true is not None:
            ax.plot(z_true[0], z_true[1], "k*", ms=10, label="the z that made x")

    half = 3 * posterior_cov.diagonal().sqrt().max().item()  # the zoom: 3 sd around the mean
    fig, (ax, ax_zoom) = plt.subplots(1, 2, figsize=figsize)
    draw(ax, max_area=150)
    ax.add_patch(Rectangle((posterior_mean - half).tolist(), 2 * half, 2 * half, fill=False, color="tab:blue", lw=1.2))
    ax.set(xlabel="$z_1$", ylabel="$z_2$", aspect="equal", title=title)
    draw(ax_zoom, max_area=600)
    ax_zoom.set(xlim=(posterior_mean[0] - half, posterior_mean[0] + half),
                ylim=(posterior_mean[1] - half, posterior_mean[1] + half),
                xlabel="$z_1$", ylabel="$z_2$", aspect="equal", title="zoom on the blue square: the posterior")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig, (ax, ax_zoom)


def plot_samples_needed(latent_dims, by_dim: dict, sharpness, by_sigma: dict, *, data_dim: int, rel_error: float,
                        band_from: float = 10.0, figsize=(9.5, 4.0)):
    """Two log-scale panels (notebook 01): the samples needed against the latent dimension, one line
    per σ (``by_dim = {σ: [count per d]}``), and against the sharpness 1/σ, one line per d
    (``by_sigma = {d: [count per 1/σ]}``), with the band 1/σ ≥ ``band_from`` shaded."""
    fig, (ax_dim, ax_sigma) = plt.subplots(1, 2, figsize=figsize)
    for s, counts in by_dim.items():
        ax_dim.semilogy(latent_dims, counts, "o-", label=f"σ = {s:g}")
    ax_dim.set(xlabel="latent dimension d", ylabel="prior samples needed (median)",
               title=f"more latent dimensions (D = {data_dim})")
    shades = plt.get_cmap("viridis")  # the right panel's lines mean d, not σ: another palette and markers
    for k, (d, counts) in enumerate(by_sigma.items()):
        ax_sigma.loglog(sharpness, counts, "sD^v"[k % 4] + "--", color=shades(0.15 + 0.7 * k / max(1, len(by_sigma) - 1)),
                        label=f"d = {d}")
    ax_sigma.axvspan(band_from, max(sharpness), color="gray", alpha=0.15, label=f"σ ≤ {1 / band_from:g}")
    ax_sigma.set(xlabel="sharpness 1/σ of p(x|z)", ylabel="prior samples needed (median)", title="a sharper p(x|z)")
    for ax in (ax_dim, ax_sigma):
        ax.axhline(1e6, color="gray", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], 1.3e6, " a million", color="gray")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    fig.suptitle(f"Prior samples for a {rel_error:.0%} relative error in p(x)", fontsize=12)
    fig.tight_layout()
    return fig, (ax_dim, ax_sigma)


# --- added for notebook 08 (round 8): the bound curves alone, the paired comparison, the missed mode;
# --- new functions, nothing above changed


def plot_bound_curves(curves: dict, *, labels: dict | None = None, n_images: int | None = None, figsize=(6.5, 3.9),
                      band: bool = False, errors: bool = True, ylabel: str | None = None):
    """Each model's mean bound L_k ± standard error over the images against k on a log axis
    (notebook 08), ``curves = {model: {k: per-image tensor}}``. ``band=True`` draws the ± standard error
    as a light shaded band instead of error bars (added in round 11; the default is unchanged).
    ``errors=False`` draws the means only, without any standard error (added in round 12).
    ``ylabel`` replaces the y-axis label (added in round 13; the default is unchanged)."""
    se = lambda v: (v.std() / math.sqrt(len(v))).item()  # noqa: E731
    fig, ax = plt.subplots(figsize=figsize)
    for (name, b), marker, shift in zip(curves.items(), "o^sDv", (0.92, 1.0, 1.08, 0.96, 1.04)):
        ks = sorted(b)
        means, errors_k = [b[k].mean().item() for k in ks], [se(b[k]) for k in ks]
        if not errors:
            ax.plot(ks, means, marker + "-", label=(labels or {}).get(name, name))
        elif band:
            line, = ax.plot(ks, means, marker + "-", label=(labels or {}).get(name, name))
            ax.fill_between(ks, [m - e for m, e in zip(means, errors_k)], [m + e for m, e in zip(means, errors_k)],
                            color=line.get_color(), alpha=0.12, lw=0)
        else:
            ax.errorbar([k * shift for k in ks], means, yerr=errors_k, fmt=marker + "-", capsize=3,
                        label=(labels or {}).get(name, name))
    ax.set(xscale="log", xlabel="k, importance samples per image",
           ylabel=ylabel or "mean L_k, nats per image" + ("" if not errors else " (band: ± SE)" if band else " (± SE)"))
    ax.set_title("the bound against k" + (f" ({n_images} test images)" if n_images else ""), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig, ax


def plot_paired_comparison(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str], differences: dict,
                           reference: dict | None = None, figsize=(9.5, 4.0), reference_strip: bool = False,
                           reference_label: str = "paper,\nk = 5000"):
    """Two panels (notebook 08): left, per-image scores of model ``a`` against model ``b`` around the
    diagonal; right, differences image by image against k ± paired standard error,
    ``differences = {"A − B": {k: per-image tensor}}``, with ``reference = {"A − B": value}`` (e.g. a
    paper's) written as labelled ticks at the right edge. ``reference_strip=True`` (added in round 12; the
    default is unchanged) draws them instead as short ticks in a narrow strip of their own, titled
    ``reference_label``, so that they cannot read as a k or as a point of another curve."""
    se = lambda v: (v.std() / math.sqrt(len(v))).item()  # noqa: E731
    if reference_strip:
        fig, (ax_s, ax_d, ax_r) = plt.subplots(1, 3, figsize=figsize, gridspec_kw=dict(width_ratios=[4, 5.5, 0.7]))
        return _paired_comparison_strip(a, b, names, differences, reference or {}, reference_label, se,
                                        fig, ax_s, ax_d, ax_r)
    fig, (ax_s, ax_d) = plt.subplots(1, 2, figsize=figsize, gridspec_kw=dict(width_ratios=[4, 5.5]))
    ax_s.plot(b.cpu(), a.cpu(), "o", ms=3, alpha=0.6)
    lo, hi = min(a.min(), b.min()).item() - 5, max(a.max(), b.max()).item() + 5
    ax_s.plot([lo, hi], [lo, hi], color="grey", lw=1, label="equal scores")
    ax_s.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xlabel=f"{names[1]}: log p(x) estimate, nats",
             ylabel=f"{names[0]}: log p(x) estimate, nats")
    ax_s.set_title(f"one dot per test image ({len(a)})", fontsize=10)
    ax_s.legend(fontsize=9, loc="upper left")
    ax_s.grid(alpha=0.3)
    k_max = 0
    for (label, d), marker, colour in zip(differences.items(), "^sDvo", ("black", "tab:purple", "tab:olive")):
        ks = sorted(d)
        k_max = max(k_max, ks[-1])
        ax_d.errorbar(ks, [d[k].mean().item() for k in ks], yerr=[se(d[k]) for k in ks],
                      fmt=marker + "-", capsize=3, color=colour, label=label)
        if reference and label in reference:
            ax_d.plot([k_max * 1.25], [reference[label]], "<", ms=8, color=colour)
            ax_d.annotate(f"paper {reference[label]:+.2f}", (k_max * 1.6, reference[label]), fontsize=9,
                          va="center", color=colour)
    ax_d.axhline(0, color="grey", lw=1)
    ax_d.set(xscale="log", xlabel="k, importance samples per image", ylabel="difference, nats per image (± paired SE)")
    ax_d.set_xlim(right=k_max * 12)
    ax_d.set_title("differences on the same images (◀ paper, k = 5000)", fontsize=10)
    ax_d.grid(alpha=0.3, which="both")
    ax_d.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig, (ax_s, ax_d)


def _paired_comparison_strip(a, b, names, differences, reference, reference_label, se, fig, ax_s, ax_d, ax_r):
    """plot_paired_comparison with ``reference_strip=True`` (round 12): the reference values as ticks in ``ax_r``."""
    ax_s.plot(b.cpu(), a.cpu(), "o", ms=3, alpha=0.6)
    lo, hi = min(a.min(), b.min()).item() - 5, max(a.max(), b.max()).item() + 5
    ax_s.plot([lo, hi], [lo, hi], color="grey", lw=1, label="equal scores")
    ax_s.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xlabel=f"{names[1]}: log p(x) estimate, nats",
             ylabel=f"{names[0]}: log p(x) estimate, nats")
    ax_s.set_title(f"one dot per test image ({len(a)})", fontsize=10)
    ax_s.legend(fontsize=9, loc="upper left")
    ax_s.grid(alpha=0.3)
    k_max = 0
    for (label, d), marker, colour in zip(differences.items(), "^sDvo", ("black", "tab:purple", "tab:olive")):
        ks = sorted(d)
        k_max = max(k_max, ks[-1])
        ax_d.errorbar(ks, [d[k].mean().item() for k in ks], yerr=[se(d[k]) for k in ks],
                      fmt=marker + "-", capsize=3, color=colour, label=label)
        if label in reference:
            ax_r.plot([0], [reference[label]], "_", ms=10, mew=2.5, color=colour)
            ax_r.annotate(f"{reference[label]:+.2f}", (0, reference[label]), xytext=(7, 0), textcoords="offset points",
                          fontsize=9, va="center", color=colour)
    for ax in (ax_d, ax_r):
        ax.axhline(0, color="grey", lw=1)
    ax_d.set(xscale="log", xlabel="k, importance samples per image", ylabel="difference, nats per image (± paired SE)")
    ax_d.set_xlim(0.7, k_max * 1.5)
    ax_d.set_title("differences on the same images", fontsize=10)
    ax_d.grid(alpha=0.3, which="both")
    ax_d.legend(fontsize=9, loc="lower right")
    ax_r.set_ylim(ax_d.get_ylim())
    ax_r.set_xlim(-0.4, 1.2)
    ax_r.set_xticks([0], [reference_label], fontsize=9)
    ax_r.tick_params(axis="y", labelleft=False)
    ax_r.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig, (ax_s, ax_d, ax_r)


def plot_largest_weights(shares: dict, ks: tuple[int, int], figsize=(9.5, 3.4), titles: tuple | None = None):
    """Two panels of box plots (notebook 08, round 11): the largest normalised importance weight per test image,
    ``shares = {model: {k: per-image tensor}}``, in groups of ``ks[0]`` (training) and ``ks[1]`` (evaluation);
    the median written beside its red line, the equal-weights level 1/k dashed on the left.
    ``titles`` (added in round 13; the default is unchanged) replaces the two panel titles."""
    fig, axes = plt.subplots(1, 2, figsize=figsize, sharey=True)
    names = list(shares)
    for ax, k, role in zip(axes, ks, ("training", "evaluation")):
        values = [shares[name][k] for name in names]
        ax.boxplot([v.cpu().numpy() for v in values], widths=0.5, medianprops=dict(color="tab:red", lw=2))
        for i, v in enumerate(values, start=1):
            ax.annotate(f"{v.median():.2f}", (i + 0.28, v.median().item()), fontsize=9, va="center", color="tab:red")
        ax.set_xticks(range(1, len(names) + 1), names)
        ax.set_title(titles[ks.index(k)] if titles else f"groups of k = {k} ({role}; 1/k = {1 / k:g})", fontsize=10)
        ax.set_xlabel(f"{len(values[0])} test images per box; red: median")
        ax.grid(alpha=0.3, axis="y")
    axes[0].axhline(1 / ks[0], color="grey", ls="--", lw=1)
    axes[0].annotate(f"1/k: all {ks[0]} equal", (0.55, 1 / ks[0] + 0.02), fontsize=9, color="grey")
    axes[0].set_ylabel("largest normalised weight")
    fig.tight_layout()
    return fig, axes


def plot_missed_mode(joint, q, z_samples: torch.Tensor, bounds: dict, exact: float = 0.0, z_range=(-7.0, 7.0),
                     figsize=(9.5, 3.4), reference: tuple | None = None):
    """Two panels (notebook 08): left, a 1-D p(x, z) over z with the proposal q(z|x) and a rug of its
    samples; right, the bound L_k (``bounds = {k: value}``) against k beside the exact log p(x).
    ``reference = (value, label)`` adds a dashed grey line on the right (added in round 12; default unchanged)."""
    fig, (ax_z, ax_k) = plt.subplots(1, 2, figsize=figsize)
    z = torch.linspace(*z_range, 800, dtype=torch.float64)
    ax_z.plot(z, joint.log_prob(z).exp(), color="black", label="p(x, z): the posterior's shape")
    ax_z.plot(z, q.log_prob(z).exp(), color="tab:orange", ls="--", label="q(z|x)")
    ax_z.plot(z_samples[:200].cpu(), torch.zeros(len(z_samples[:200])), "|", ms=12, color="tab:orange",
              label="200 samples from q")
    ax_z.set(xlabel="z", ylabel="density")
    ax_z.set_title("the encoder found one mode of two", fontsize=10)
    ax_z.legend(fontsize=9, loc="upper left")
    ks = sorted(bounds)
    ax_k.plot(ks, [bounds[k] for k in ks], "o-", label="L_k")
    ax_k.axhline(exact, color="tab:green", lw=1.5, label=f"log p(x) = {exact:g}")
    if reference is not None:
        ax_k.axhline(reference[0], color="grey", ls="--", lw=1, label=reference[1])
    ax_k.set(xscale="log", xlabel="k, samples from q", ylabel="nats", ylim=(min(bounds.values()) - 0.2, exact + 0.2))
    ax_k.set_title("the bound flattens below log p(x)", fontsize=10)
    ax_k.legend(fontsize=9, loc="center right")
    for ax in (ax_z, ax_k):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, (ax_z, ax_k)


def plot_gaussian_regions(mean: torch.Tensor, cov: torch.Tensor, ellipses: dict, *, ax=None, title: str | None = None,
                          label: str = "p(z|x), 2 sd"):
    """A 2-D Gaussian's 1, 2 and 3-sd regions in grey, its 2-sd contour dashed, and other Gaussians' 2-sd contours.

    ``mean`` [2], ``cov`` [2, 2]; ``ellipses`` maps a legend label to (mean [2], cov [2, 2], colour). The window
    is computed so that the 3-sd region and every ellipse lie inside it. Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 5.6))
    mean, cov = mean.double(), cov.double()
    boxes = [(mean, 3 * cov.diagonal().sqrt())] + [(m.double(), 2 * c.double().diagonal().sqrt())
                                                   for m, c, _ in ellipses.values()]
    lo = torch.stack([m - h for m, h in boxes]).min(0).values - 0.1
    hi = torch.stack([m + h for m, h in boxes]).max(0).values + 0.1
    g1, g2 = torch.meshgrid(*[torch.linspace(a, b, 200, dtype=torch.float64) for a, b in zip(lo.tolist(), hi.tolist())],
                            indexing="xy")
    gaussian = torch.distributions.MultivariateNormal(mean, cov)
    peak = gaussian.log_prob(mean).item()
    ax.contourf(g1, g2, gaussian.log_prob(torch.stack([g1, g2], dim=-1)),
                levels=[peak - k**2 / 2 for k in (3.0, 2.0, 1.0, 0.0)], cmap="Greys", alpha=0.7)
    draw_gaussian_ellipse(ax, mean, cov, color="black", ls="--", lw=1.5, label=label)
    for name, (m, c, colour) in ellipses.items():
        draw_gaussian_ellipse(ax, m, c, color=colour, lw=2, label=name)
    ax.set(xlabel="$z_1$", ylabel="$z_2$", title=title, aspect="equal",
           xlim=(lo[0].item(), hi[0].item()), ylim=(lo[1].item(), hi[1].item()))
    ax.legend(fontsize=9, loc="lower right", framealpha=0.95)
    return ax


def plot_elbo_mean_shifts(shifts: torch.Tensor, along, across, log_px: float, *, marked: tuple | None = None,
                          title: str | None = None, mark_peak: bool = False):
    """The ELBO against a shift t of q's mean: ``along`` (blue, the gap to log p(x) shaded) and ``across``
    (brown), both lists over ``shifts`` (which contains t = 0, the optimum). ``marked`` = (t, ELBO, label,
    colour) marks one q on the curves. The window ends 3.3 nats below log p(x). ``mark_peak`` (added in
    round 14; default the old look): a dot where both curves peak, at t = 0, and the brown label tied to its
    curve by a leader line. Returns (fig, ax).
    """
    fig, ax = plt.subplots(figsize=(9, 4.4))
    ts = shifts.tolist()
    i0, i_label = min(range(len(ts)), key=lambda i: abs(ts[i])), min(range(len(ts)), key=lambda i: abs(ts[i] - 0.9))
    top = along[i0]
    ax.fill_between(ts, along, log_px, color="tab:red", alpha=0.12)
    ax.plot(ts, along, color="tab:blue", lw=2)
    ax.plot(ts, across, color="tab:brown", lw=2)
    ax.axhline(log_px, color="black", ls="--", lw=1.5)
    ax.text(ts[-1], log_px + 0.08, "log p(x)", ha="right", va="bottom", fontsize=10)
    ax.text(ts[0] + 0.1, along[1] - 0.15, "(+t, +t): along the long axis", color="tab:blue", fontsize=10, va="top")
    if mark_peak:
        ax.plot(0, top, "o", color="black", ms=7, zorder=5)
        ax.annotate("(+t, −t): mirrored,\nnear the short axis", (ts[i_label], across[i_label]),
                    xytext=(ts[i_label] + 0.5, across[i_label] - 0.8), color="tab:brown", fontsize=10, va="center",
                    arrowprops=dict(arrowstyle="-", color="tab:brown"))
    else:
        ax.text(ts[i_label] + 0.08, across[i_label], "(+t, −t)", color="tab:brown", fontsize=10, va="center")
    ax.text(ts[0] / 1.75, log_px - 0.5, "shaded: the gap log p(x) − ELBO\nalong the long axis", color="tab:red",
            fontsize=10, ha="center", va="center")
    if marked is not None:
        t, value, label, colour = marked
        ax.plot(t, value, "o", color=colour, ms=9)
        ax.annotate(label, (t, value), xytext=(t - 0.2, value - 0.75), fontsize=10, ha="center", color=colour,
                    arrowprops=dict(arrowstyle="-", color=colour))
    ax.annotate("", xy=(0, log_px), xytext=(0, top), arrowprops=dict(arrowstyle="<->", lw=1.5, shrinkA=0, shrinkB=0))
    ax.text(0.08, (log_px + top) / 2, f"price of a diagonal q: {log_px - top:.2f} nats", fontsize=10, va="center")
    ax.set(xlabel="shift t of the mean of q (in sd of q, per coordinate)", ylabel="ELBO (nats)", title=title,
           xlim=(ts[0] - 0.05, ts[-1] + 0.05), ylim=(log_px - 3.3, log_px + 0.5))
    fig.tight_layout()
    return fig, ax


def plot_elbo_breakdown(labels, floor, recon_above_floor, kl, ax=None, title: str | None = None):
    """Stacked bars, one per model: −ELBO split into the data's entropy floor, the reconstruction above it, and the KL."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    parts = (("entropy floor (the data)", floor, "0.75"), ("reconstruction above the floor", recon_above_floor,
             "tab:blue"), ("KL (the code)", kl, "tab:orange"))
    bottom = [0.0] * len(labels)
    for name, values, color in parts:
        ax.bar(labels, values, bottom=bottom, color=color, label=name, width=0.6)
        for i, (b, v) in enumerate(zip(bottom, values)):  # a thin segment gets its label beside the bar
            thin = v < 0.07 * (max(floor) + max(recon_above_floor) + max(kl))
            ax.text(i + (0.33 if thin else 0), b + v / 2, f"{v:.1f}", ha="left" if thin else "center",
                    va="center", fontsize=10)
        bottom = [b + v for b, v in zip(bottom, values)]
    for i, total in enumerate(bottom):
        ax.text(i, total + 2, f"−ELBO {total:.1f}", ha="center", va="bottom", fontsize=10)
    ax.set(ylabel="nats per test image", ylim=(0, 1.18 * max(bottom)))
    if title:
        ax.set_title(title)
    ax.legend(fontsize=9, loc="upper left")
    return ax


# --- added for notebook 04 (round 11): the descent figure of section 5; new function, nothing above changed


def plot_amortization_gaps(gaps: dict, approximation_gap: float, *, title: str | None = None,
                           colors: tuple | None = None, floor: tuple | None = None):
    """Notebook 02's toy encoders: each entry of ``gaps`` (legend label -> amortization gap after each training
    step, a list) as a curve on a log scale, and the ``approximation_gap`` as a dashed line. ``colors``, one per
    curve, replaces the default palette (orange, red, brown, pink). ``floor`` = (value, label, colour) (added in
    round 14; default none) draws a dotted line at a least possible gap. Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for (label, values), colour in zip(gaps.items(), colors or ("tab:orange", "tab:red", "tab:brown", "tab:pink")):
        ax.semilogy(range(1, len(values) + 1), values, color=colour, lw=2, label=label)
    ax.axhline(approximation_gap, color="tab:blue", ls="--", lw=1.5, label="approximation gap (q* vs p(z|x))")
    if floor is not None:
        value, label, colour = floor
        ax.axhline(value, color=colour, ls=":", lw=2, label=label)
    ax.set(xlabel="Adam steps on the training x", ylabel="gap on new x (nats, log scale)", title=title)
    ax.legend(fontsize=9, loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig, ax


def plot_iwae_bounds(k_values, bounds: dict, log_px: float, colors: dict, *, window: float = 1.5,
                     title: str | None = None, errors: dict | None = None):
    """Notebook 02's importance-weighted bounds: ``bounds`` maps a name to its L_k estimates, one per entry of
    ``k_values`` (powers of two), drawn against k on a log-2 axis with log p(x) dashed; the window ends
    ``window`` nats below log p(x), and a curve that leaves it says so in its legend label. ``errors`` (name ->
    one standard error per k), if given, is drawn as error bars. Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(10, 4.4))
    for name, values in bounds.items():
        hidden = [k for k, v in zip(k_values, values) if v < log_px - window]
        note = f" (k ≤ {max(hidden)} below the plot; $\\mathcal{{L}}_1$ = {values[0]:.1f})" if hidden else ""
        ax.plot(k_values, values, "o-", color=colors[name], ms=4, label=f"q = {name}{note}")
        if errors is not None:
            ax.errorbar(k_values, values, yerr=errors[name], fmt="none", ecolor=colors[name], elinewidth=1.5,
                        capsize=4)
    ax.axhline(log_px, color="black", ls="--", label="log p(x)")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="number of importance samples k", ylabel=r"$\mathcal{L}_k$ (nats)", title=title,
           ylim=(log_px - window, log_px + 0.1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig, ax


# --- added for notebook 01 (round 11): digits ranked by a property; a new function, nothing above changed


def plot_ranked_digits(images, values: dict, *, n: int = 8, formats: dict | None = None, title: str = "",
                       figsize=(9, 3.2)):
    """One row per property (notebook 01): ``n`` of the ``images`` [N, 28, 28] at evenly spaced ranks of
    ``values[name]`` (``{name: [N] tensor}``), each tile titled with its value (format ``formats[name]``)."""
    fig, axes = plt.subplots(len(values), n, figsize=figsize, squeeze=False)
    for row, (name, v) in enumerate(values.items()):
        picks = v.argsort()[torch.linspace(0, len(v) - 1, n).round().long()]  # evenly spaced ranks
        for ax, i in zip(axes[row], picks):
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=1)
            shown = format(v[i].item(), (formats or {}).get(name, ".2f"))
            ax.set_title(f"{name} {shown.replace('-0.00', '0.00')}", fontsize=10)
            ax.set_xticks([]), ax.set_yticks([])
        axes[row, 0].set_ylabel(f"by {name}", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig, axes


def plot_gradient_noise(measured: dict, epochs: tuple, batch_size: int, ax=None):
    """Bars of notebook 05's section 4, per epoch: the signal, and one step's variance stacked by its source.

    ``measured[epoch, what]`` is ``[variance, …, signal, …]`` for ``what`` in "eps alone", "images and eps";
    the variance with fresh images and ε splits into ε's part ("eps alone") and the images' part (the rest).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.8))
    width, top = 0.34, 0.0
    for i, e in enumerate(epochs):
        total, signal = measured[e, "images and eps"][0], measured[e, "images and eps"][2]
        eps = measured[e, "eps alone"][0]
        top = max(top, total, signal)
        ax.bar(i - width / 2, signal, width, color="tab:green", label="signal: squared length of the mean gradient" if i == 0 else None)
        ax.bar(i + width / 2, eps, width, color="tab:orange", label="variance from ε" if i == 0 else None)
        ax.bar(i + width / 2, total - eps, width, bottom=eps, color="tab:blue", label="variance from the images" if i == 0 else None)
        ax.text(i - width / 2, signal, f"{signal:.0f}", ha="center", va="bottom", fontsize=9)
        ax.text(i + width / 2, total, f"{total:.0f}", ha="center", va="bottom", fontsize=9)
        ax.text(i + width / 2, eps / 2, f"{eps:.0f}", ha="center", va="center", fontsize=9)
        ax.text(i + width / 2, eps + (total - eps) / 2, f"{total - eps:.0f}", ha="center", va="center", fontsize=9)
    ax.set(xticks=range(len(epochs)), xticklabels=[f"after epoch {e}" for e in epochs], ylim=(0, 1.6 * top),
           ylabel="sum over all weights,\n(nats per unit weight)²", title=f"one step's gradient, {batch_size} images, one z each")
    ax.legend(loc="upper left", fontsize=9)
    return ax


# --- added for notebook 08 (round 12): new function, nothing above changed ------------------------------


def plot_image_rows(rows: dict, *, title: str = "", side: int = 28, figsize=None):
    """Rows of grey-scale images (notebook 01): ``rows = {row label: images [n, side*side]}``, one row per
    entry, the label at the left of each row. Values are clamped to [0, 1]. Returns the figure."""
    n_cols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), n_cols, figsize=figsize or (1.4 * n_cols + 0.1, 1.6 * len(rows) + 0.2),
                             squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for ax in axes[r]:
            ax.set_xticks([]), ax.set_yticks([])
        for ax, image in zip(axes[r], images):
            ax.imshow(image.reshape(side, side).clamp(0, 1), cmap="gray", vmin=0, vmax=1)
        axes[r, 0].set_ylabel(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# --- added for notebook 02 (round 13): two new functions, nothing above changed


def plot_elbo_histograms(log_w: dict, log_px: float, colors: dict, *, bins: int = 80):
    """Notebook 02, section 3: one panel per entry of ``log_w`` (name -> log importance weights [N]), their
    histogram on a log count scale, their mean (the ELBO, red) and log p(x) (dashed), titled with the share of
    log weights above log p(x). Every sample is inside the shared x range. Returns (fig, axes)."""
    low = min(v.min().item() for v in log_w.values()) - 0.2
    high = max(v.max().item() for v in log_w.values()) + 0.2
    fig, axes = plt.subplots(1, len(log_w), figsize=(5 * len(log_w), 4.0), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, values) in zip(axes, log_w.items()):
        ax.hist(values, bins=bins, range=(low, high), color=colors[name], alpha=0.6, zorder=1)
        ax.axvline(values.mean(), color="tab:red", lw=2, label="mean of log w = ELBO", zorder=3)
        ax.axvline(log_px, color="black", ls="--", lw=1.5, label="log p(x)", zorder=3)
        ax.set_yscale("log")
        above = (values > log_px + 1e-9).double().mean().item()
        ax.set(title=f"q = {name}: {above:.1%} of log w above log p(x)", xlabel="log w (nats)")
    axes[0].set_ylabel(f"count of {len(next(iter(log_w.values()))):,} samples (log scale)")
    axes[0].legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig, axes


def plot_elbo_terms_table(images: torch.Tensor, decoded: torch.Tensor, reconstruction, kl, *,
                          title: str | None = None):
    """Notebook 02, section 6: the test digits ``images`` [n, 1, 28, 28] (top row), a row of numbers under each
    (its reconstruction term ``reconstruction``, a log-likelihood averaged over q; its KL term ``kl``; their
    difference, the ELBO; all in nats), and ``decoded`` [n, 28, 28], the image decoded from the mean code, in the
    bottom row. The row labels sit in a column of their own. Returns the figure."""
    n = len(images)
    fig = plt.figure(figsize=(2.3 + 1.15 * n, 4.4), layout="constrained")
    grid = fig.add_gridspec(3, n + 1, width_ratios=[2.0] + [1] * n, height_ratios=[1, 0.62, 1])
    labels = fig.add_subplot(grid[1, 0])
    labels.axis("off")
    for y, text in zip((0.83, 0.5, 0.17), ("reconstruction term,\navg. over q", "KL term", "ELBO")):
        labels.text(1.0, y, text, ha="right", va="center", fontsize=10, transform=labels.transAxes)
    for row, text in ((0, "test digit x"), (2, "decoded from z = μ,\nfor illustration")):
        ax = fig.add_subplot(grid[row, 0])
        ax.axis("off")
        ax.text(1.0, 0.5, text, ha="right", va="center", fontsize=10, transform=ax.transAxes)
    for i in range(n):
        top, middle, bottom = (fig.add_subplot(grid[r, i + 1]) for r in range(3))
        top.imshow(images[i].reshape(28, 28), cmap="gray", vmin=0, vmax=1)  # white strokes on black
        bottom.imshow(decoded[i].reshape(28, 28), cmap="gray", vmin=0, vmax=1)
        for ax in (top, bottom):
            ax.set_xticks([])
            ax.set_yticks([])
        middle.axis("off")
        rec, k = float(reconstruction[i]), float(kl[i])
        for y, text in zip((0.83, 0.5, 0.17), (f"{rec:.0f}", f"{k:.1f}", f"{rec - k:.0f}")):
            middle.text(0.5, y, text, ha="center", va="center", fontsize=10, transform=middle.transAxes)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# --- added for notebook 04 (round 13): three figures redrawn; new functions, nothing above changed


def plot_kl_noise_floor_batch(train_runs: dict, lr: float, v_at_prior: float, steps: int, chains: int,
                              batch: int = 128):
    """Notebook 04's gradient descent on one unused coordinate's KL, sampled and in closed form: each dotted
    predicted floor ``rate * v_at_prior / (4 * B)`` labelled with its number (B = 1 for the runs drawn, and a
    third line for ``lr`` with a batch of ``batch``), the measured floor (mean over the second half) beside it,
    and the legends clear of the curves. Returns (fig, axes)."""
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 5.0))
    for k in range(3):
        axes[0].plot(train_runs[lr, True][1][:, k], color="tab:orange", lw=1, alpha=0.9,
                     label="one-sample KL (3 of the runs)" if k == 0 else None)
    axes[0].plot(train_runs[lr, False][1][:, 0], color="black", lw=2.5, label="closed-form KL")
    axes[0].axhline(1.0, color="grey", ls=":", lw=1.5, label=r"optimum $\sigma$ = 1")
    axes[0].set(ylim=(0.3, 1.4), xlabel="gradient step", ylabel=r"$\sigma$",
                title=f"One unused coordinate, learning rate {lr:g}")
    axes[0].legend(fontsize=10, loc="lower right")
    dotted = dict(color="0.35", ls=(0, (1, 1.5)), lw=2.5, zorder=0)
    for lr_, color, above, name in ((lr, "tab:red", True, rf"$\eta$ = {lr:g}"), (lr / 4, "tab:blue", False, r"$\eta/4$")):
        kl_floor = train_runs[lr_, True][0][steps // 2:].mean().item()
        closed_path = train_runs[lr_, False][0][:, 0].tolist()
        reach = next((i + 1 for i, v in enumerate(closed_path) if v < 1e-3), None)
        axes[1].plot(train_runs[lr_, True][0].mean(1), color=color, lw=1.2)
        axes[1].plot(closed_path, color=color, lw=2.5, ls="--")
        predicted = lr_ * v_at_prior / 4
        axes[1].axhline(predicted, **dotted)
        axes[1].text(0.99 * steps, predicted * (1.5 if above else 1 / 1.5),
                     f"{name}: measured {kl_floor:.2g}, predicted {predicted:.2g}", ha="right",
                     va="bottom" if above else "top", fontsize=10, color=color)
        if reach:
            axes[1].plot(reach, closed_path[reach - 1], "o", color=color, ms=7)
            axes[1].annotate(f"{reach} steps", (reach, closed_path[reach - 1]), xytext=(6, 0) if lr_ == lr else (-7, 0),
                             textcoords="offset points", ha="left" if lr_ == lr else "right", va="center", fontsize=10,
                             color=color)
    batch_floor = lr * v_at_prior / (4 * batch)
    axes[1].axhline(batch_floor, **dotted)
    axes[1].text(0.99 * steps, batch_floor / 1.5, rf"$\eta$, B = {batch}: predicted {batch_floor:.2g}",
                 ha="right", va="top", fontsize=10, color="tab:red")
    axes[1].set(yscale="log", ylim=(1e-4, 1), xlabel="gradient step",
                ylabel="KL of q from p (nats, log scale)", title=r"Mean KL at learning rates $\eta$ and $\eta/4$")
    proxies = [matplotlib.lines.Line2D([], [], color="0.2", lw=1.2), matplotlib.lines.Line2D([], [], color="0.2", lw=2.5, ls="--"),
               matplotlib.lines.Line2D([], [], **dotted)]
    axes[1].legend(proxies, [f"sampled KL, mean of {chains} runs", "closed-form KL",
                             r"predicted floor $\eta V/(4B)$, batch of B"], fontsize=10, loc="upper right")
    fig.tight_layout()
    return fig, axes


def plot_kl_landscape_lopsided(kl_1d, example: tuple[float, float], level: float = 1.0):
    """Notebook 04's per-coordinate KL(N(μ, σ²) ‖ N(0, 1)) against σ and over (μ, log σ²), with a labelled contour
    line at every band edge, distinct bands, and the two points where the ``level``-nat contour crosses μ = 0
    marked with their log σ². Returns (fig, axes, (s_low, s_high))."""
    f64 = dict(dtype=torch.float64)
    sigmas = torch.logspace(-2, math.log10(5), 200, **f64)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    for m in (0.0, 1.0, 2.0):
        axes[0].plot(sigmas, kl_1d(torch.tensor(m, **f64), sigmas), label=rf"$\mu$ = {m:g}")
    axes[0].axvline(1.0, color="grey", lw=0.8, ls=":")
    axes[0].set(xscale="log", ylim=(0, 6), xlabel=r"$\sigma$ (log scale)", ylabel="KL (nats)",
                title=r"KL against $\sigma$: smallest at $\sigma$ = 1")
    axes[0].legend(fontsize=10, loc="upper center")
    mu_grid, lv_grid = torch.meshgrid(torch.linspace(-3, 3, 241, **f64), torch.linspace(-6, 3, 241, **f64), indexing="xy")
    kl_grid = -0.5 * (1 + lv_grid - mu_grid**2 - lv_grid.exp())
    levels = [0, 0.5, 1, 2, 4, 8]
    band_colors = [matplotlib.colormaps["viridis"](x) for x in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]  # one distinct colour per band
    contour = axes[1].contourf(mu_grid, lv_grid, kl_grid, levels=levels + [40], colors=band_colors)
    lines = axes[1].contour(mu_grid, lv_grid, kl_grid, levels=levels[1:], linewidths=0.9,
                            colors=["white" if v < 2 else "black" for v in levels[1:]])  # readable on each band
    at = -1.5  # labels where each contour crosses log σ² = at, on the left
    spots = [(-math.sqrt(2 * v - (math.exp(at) - 1 - at)), at) for v in levels[1:-1]] + [(-2.55, 2.4)]
    axes[1].clabel(lines, fmt="%g", fontsize=10, manual=spots)
    # the level-nat contour at mu = 0: (e^s - 1 - s) / 2 = level, solved by bisection below and above 0
    def crossing(lo, hi):
        for _ in range(100):
            mid = (lo + hi) / 2
            if (0.5 * (math.exp(mid) - 1 - mid) > level) == (0.5 * (math.exp(lo) - 1 - lo) > level):
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2
    s_low, s_high = crossing(-30.0, 0.0), crossing(0.0, 10.0)
    label_box = dict(boxstyle="round,pad=0.2", fc="white", ec="none", alpha=0.85)
    axes[1].plot([0, 0], [s_low, s_high], color="white", lw=1.2, ls="--")
    for s in (s_low, s_high):
        axes[1].plot([0], [s], "o", color="white", mec="black", ms=6)
        axes[1].annotate(rf"$\log\sigma^2$ = {s:+.2f}".replace("-", "−"), (0, s), xytext=(-8, 0), textcoords="offset points",
                         ha="right", va="center", fontsize=10, bbox=label_box)
    axes[1].plot([0], [0], "w*", ms=12, mec="black")
    axes[1].annotate("minimum (the prior)", (0, 0), xytext=(8, 6), textcoords="offset points", ha="left",
                     va="bottom", fontsize=10, bbox=label_box)
    axes[1].plot([example[0]], [example[1]], "o", color="tab:red", mec="white", ms=7)
    axes[1].annotate("the example q", example, xytext=(8, -8), textcoords="offset points", ha="left",
                     va="top", fontsize=10, bbox=label_box)
    fig.colorbar(contour, ax=axes[1], label="KL (nats; uneven levels)", format="%g", ticks=levels)
    axes[1].set(xlabel=r"$\mu$", ylabel=r"$\log\sigma^2$",
                title=rf"KL over the encoder's two outputs (dots: {level:g} nat at $\mu$ = 0)")
    fig.tight_layout()
    return fig, axes, (s_low, s_high)


def plot_toy_descent_milestones(runs: dict, sigma_star: dict, lr: float, safe_lr: float, tol: float = 1e-3,
                                xmax: int = 40):
    """Notebook 04's gradient descent on the toy loss (linear step axis up to ``xmax``; a diverging run on the
    right), with the milestones (the step from which a run stays within ``tol``) drawn as black diamonds, unlike any run's markers, and
    named in the title. Returns (fig, axes)."""
    unused, precise = list(sigma_star)
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.0), width_ratios=(1.6, 1))
    colors = {unused: "tab:green", precise: "tab:purple"}
    styles = {  # key: (label, line style, width, alpha, marker size)
        (unused, "s"): (rf"{unused}, parameter $\log\sigma^2$, rate {lr:g}", "-", 7, 0.4, 0),
        (precise, "s"): (rf"{precise}, parameter $\log\sigma^2$, rate {lr:g}", "x", 0, 1.0, 6),
        (unused, "sigma"): (rf"{unused}, parameter $\sigma$, rate {lr:g}", "o--", 1.8, 1.0, 4),
        (unused, "sigma, safe"): (rf"{unused}, parameter $\sigma$, rate {safe_lr:.2g}", ":", 2.5, 1.0, 0),
        (precise, "sigma"): (rf"{precise}, parameter $\sigma$, rate {lr:g}", "o--", 1.8, 1.0, 4),
    }
    longest = max(len(path) for path in runs.values())
    for key, path in runs.items():
        name = key[0]
        label, style, width, alpha, ms = styles[key]
        ratio = [abs(v) / sigma_star[name] for v in path]
        diverged = len(path) < longest and len(path) < 20
        ax = axes[1] if diverged else axes[0]
        shown = len(path) if diverged else min(len(path), xmax + 1)
        ax.plot(range(shown), ratio[:shown], style, color=colors[name], lw=width, alpha=alpha, ms=ms, mew=1.5,
                label=label, zorder=4 if style == "x" else 2)
        if diverged:
            ax.annotate(rf"step 1: $\sigma = {path[1]:.2f}$", (1, ratio[1]), xytext=(10, -2),
                        textcoords="offset points", ha="left", va="top", fontsize=10)
            continue
        k = next((i for i in range(len(ratio)) if all(abs(r - 1) < tol for r in ratio[i:])), None)
        if k is None or key == (precise, "s"):
            continue
        if k <= xmax:
            ax.plot(k, ratio[k], "D", color="black", ms=9, zorder=5)
            ax.annotate(f"{k} steps", (k, ratio[k]), xytext=(0, -10), textcoords="offset points",
                        ha="center", va="top", fontsize=10)
        else:
            ax.text(0.98, 0.97, f"rate {safe_lr:.2g} (dotted): within 0.1 % only after {k} steps", transform=ax.transAxes,
                    ha="right", va="top", fontsize=10, color=colors[name])
    axes[0].set(xlim=(-0.5, xmax + 0.5), ylim=(0.75, 2.08), xlabel="gradient step", ylabel=r"$|\sigma| / \sigma_*$",
                title="Runs that converge (black diamonds: within 0.1 % from then on)")
    axes[1].xaxis.get_major_locator().set_params(integer=True)
    axes[1].set(yscale="log", ylim=(0.5, None), xlabel="gradient step", ylabel=r"$|\sigma| / \sigma_*$ (log scale)",
                title="The run that diverges")
    for ax, where in zip(axes, (dict(loc="lower right", bbox_to_anchor=(1, 0.22)), dict(loc="upper left"))):
        ax.axhline(1.0, color="grey", ls=":", lw=1.5, label=r"$|\sigma| = \sigma_*$, the optimum")
        ax.legend(fontsize=10, **where)
    fig.tight_layout()
    return fig, axes


# --- added for notebook 08 (round 13): new functions, nothing above changed


def plot_proposal_draws(log_w: dict, colors: dict, *, underflow: float | None = None,
                        underflow_label: str = "≈ −104: $e^a$ rounds\nto 0 in float32", title: str = "",
                        rug: int = 20, zoom_margin: float = 5.0, figsize=(9.5, 3.6)):
    """One image's log importance weights under two proposals (notebook 08, section 3),
    ``log_w = {label: [K] tensor}``, the first drawn as outline bars, the last filled. Left: every draw on a
    log count scale. Right: a zoom on the last entry's range, also on a log count scale, with a rug of the
    first entry's ``rug`` largest draws (the few that set its estimate). Dashed lines mark each proposal's
    log p̂(x); ``underflow`` draws a grey line labelled ``underflow_label``."""
    log_mean = {name: (torch.logsumexp(v, 0) - math.log(len(v))).item() for name, v in log_w.items()}
    names = list(log_w)
    first, last = names[0], names[-1]
    right_edge = max([v.max().item() for v in log_w.values()] + ([underflow] if underflow is not None else [])) + 4
    fig, axes = plt.subplots(1, 2, figsize=figsize, gridspec_kw=dict(width_ratios=[5, 4]))
    ranges = ((min(v.min().item() for v in log_w.values()) - 5, right_edge),
              (log_w[last].min().item() - zoom_margin, right_edge))
    for ax, (lo, hi), n_bins in zip(axes, ranges, (70, 50)):
        for name in names:
            outline = name == first
            ax.hist(log_w[name].cpu().numpy(), bins=n_bins, range=(lo, hi), color=colors[name],
                    histtype="step" if outline else "stepfilled", lw=1.8 if outline else 0,
                    alpha=1.0 if outline else 0.55, label=f"{name}: log p̂(x) = {log_mean[name]:.1f}")
            ax.axvline(log_mean[name], color=colors[name], ls="--", lw=1.5)
        if underflow is not None:
            ax.axvline(underflow, color="dimgrey", lw=1.5, ls=":")
        ax.set_xlim(lo, hi)
        ax.set_yscale("log")
        ax.set_xlabel("log w, nats")
        ax.grid(alpha=0.3)
    n = len(log_w[last])
    axes[0].set_ylabel(f"draws of {n} (log scale)")
    axes[0].set_title(title or f"{n} draws from each proposal", fontsize=10)
    axes[0].legend(fontsize=9, loc="upper left")
    axes[1].set_ylabel(f"draws of {n} (log scale)")
    axes[1].set_title(f"zoom; ticks: the {rug} largest {first} draws", fontsize=10)
    top = log_w[first].topk(min(rug, len(log_w[first]))).values.cpu().numpy()
    axes[1].plot(top, [0.7] * len(top), "|", ms=14, mew=1.5, color=colors[first])
    axes[1].set_ylim(bottom=0.5)
    if underflow is not None:
        axes[1].annotate(underflow_label, (underflow, 0.97), xytext=(-4, 0), textcoords="offset points",
                         xycoords=("data", "axes fraction"), ha="right", va="top", fontsize=9, color="dimgrey")
    fig.tight_layout()
    return fig, axes


def show_glued_row(ax, row: torch.Tensor, title: str = "", labels=None):
    """Draw one row of 784 values as 28×28 with the seams of the four 14×14 digits it holds (lesson 06).

    Each 28-pixel line holds two 14-pixel lines of one digit: the orange line splits its even lines
    (left) from its odd lines (right); the cyan dashed lines separate the four digits, seven lines each.
    ``labels`` (four strings) are written to the right of the digits.
    """
    ax.imshow(row.detach().cpu().reshape(28, 28), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axvline(13.5, color="tab:orange", lw=1.5)
    for line in (6.5, 13.5, 20.5):
        ax.axhline(line, color="tab:cyan", lw=1.5, ls="--")
    for k, label in enumerate(labels or []):
        ax.text(28.3, 3.5 + 7 * k, label, va="center", fontsize=10)
    ax.set_title(title)
    ax.set_xlabel("pixel")
    ax.set_ylabel("pixel")
    return ax


# --- added for notebook 04 (round 14): new functions that restyle the ones above, nothing above changed


def plot_kl_noise_floor_one_image(train_runs: dict, lr: float, v_at_prior: float, steps: int, chains: int,
                                  batch: int = 128):
    """``plot_kl_noise_floor_batch`` with the legend's dotted entry naming what the two upper dotted lines are,
    the floor ``ηV/4`` of one image (the batch line carries its own label). Returns (fig, axes)."""
    fig, axes = plot_kl_noise_floor_batch(train_runs, lr, v_at_prior, steps, chains, batch=batch)
    axes[1].get_legend().get_texts()[2].set_text(r"predicted floor $\eta V/4$, one image")
    return fig, axes


def plot_kl_landscape_unclipped(kl_1d, example: tuple[float, float], level: float = 1.0):
    """``plot_kl_landscape_lopsided`` with the top contour's label drawn inside its band (it was clipped at the
    top edge). Returns (fig, axes, (s_low, s_high))."""
    fig, axes, crossings = plot_kl_landscape_lopsided(kl_1d, example, level=level)
    for text in list(axes[1].texts):
        if text.get_text() == "8":
            text.remove()  # the clipped label; the line is redrawn whole and labelled inside its band below
    mu_grid, lv_grid = torch.meshgrid(torch.linspace(-3, 3, 241, dtype=torch.float64),
                                      torch.linspace(-6, 3, 241, dtype=torch.float64), indexing="xy")
    axes[1].contour(mu_grid, lv_grid, -0.5 * (1 + lv_grid - mu_grid**2 - lv_grid.exp()), levels=[8],
                    linewidths=0.9, colors="black")
    axes[1].text(-2.75, 2.7, "8", ha="center", va="center", fontsize=10)
    return fig, axes, crossings


def plot_toy_descent_distinct(runs: dict, sigma_star: dict, lr: float, safe_lr: float, tol: float = 1e-3,
                              xmax: int = 40):
    """``plot_toy_descent_milestones`` with the small-rate run in grey (not a third green), and the optimum's
    legend entry written on the plotted axis, ``|σ|/σ* = 1``. Returns (fig, axes)."""
    fig, axes = plot_toy_descent_milestones(runs, sigma_star, lr, safe_lr, tol=tol, xmax=xmax)
    slow = f"{safe_lr:.2g}"
    for line in axes[0].get_lines():
        if slow in str(line.get_label()):
            line.set_color("dimgrey")
    for text in axes[0].texts:
        if slow in text.get_text():
            text.set_color("dimgrey")
    for ax, where in zip(axes, (dict(loc="lower right", bbox_to_anchor=(1, 0.22)), dict(loc="upper left"))):
        for line in ax.get_lines():
            if str(line.get_label()).startswith(r"$|\sigma| = \sigma_*$"):
                line.set_label(r"$|\sigma| / \sigma_* = 1$, the optimum")
        ax.legend(fontsize=10, **where)
    return fig, axes
