"""Pictures of data and results: image grids, loss curves, latent plots, and each lesson's figures, by lesson."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, Ellipse, Rectangle
from torchvision.utils import make_grid, save_image

from .checkpoint import atomic_write


# image grids and shared pieces (notebooks 05–08, runs, the explorer)


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


@torch.no_grad()
def manifold_images(model, n: int = 20, quantile: float = 0.05) -> torch.Tensor:
    """Decode an n x n grid of 2-D codes spaced by the inverse normal CDF (equal prior mass)."""
    probs = torch.linspace(quantile, 1 - quantile, n)
    values = torch.distributions.Normal(0.0, 1.0).icdf(probs)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    return sample_images(model, z)


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


def draw_gaussian_ellipse(ax, mean: torch.Tensor, cov: torch.Tensor, n_sd: float = 2.0, **style):
    """Draw the ``n_sd`` contour of a 2-D Gaussian (``mean`` [2], ``cov`` [2, 2]) on ``ax``, unfilled."""
    values, vectors = torch.linalg.eigh(cov)
    angle = math.degrees(math.atan2(vectors[1, 1].item(), vectors[0, 1].item()))
    width, height = (2 * n_sd * values.flip(0).sqrt()).tolist()
    return ax.add_patch(Ellipse(mean.tolist(), width, height, angle=angle, fill=False, **style))


# notebook 00 · overview: a first run


def plot_step_losses(history, baseline=None, test_loss=None, mark_step="baseline", batch_size=128, ylim=(92, 580),
                     figsize=(10, 4.2), test_kl=None, mark_label="every batch below the average digit from step {step}",
                     log_y=True, legends_clear=True, zoom_steps=None):
    """A short run's loss per training step, in nats per image: −ELBO and reconstruction (left, with an optional
    ``baseline``, test scores and the step where every loss stays below the baseline), KL (right).
    ``legends_clear=True`` puts the left legend below its panel and the right one at the lower right, off the
    curves. ``zoom_steps=(a, b)`` adds an inset of the −ELBO over those steps, around the baseline, in the left
    panel's empty upper right. Returns the figure."""
    steps = range(1, len(history) + 1)
    reconstruction = [r for r, _ in history]
    kl = [k for _, k in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    left.plot(steps, [r + k for r, k in history], label="−ELBO, the loss")
    left.plot(steps, reconstruction, label="reconstruction loss")
    if baseline is not None:
        left.axhline(baseline[1], color="grey", ls="--", label=f"{baseline[0]} ({baseline[1]:.1f})")
    if test_loss is not None:
        left.plot(len(history), test_loss, "ko", label=f"−ELBO on the test images ({test_loss:.1f})")
        if test_kl is not None:
            left.plot(len(history), test_loss - test_kl, "o", mfc="white", mec="k",  # rounded so the labels add up
                      label=f"reconstruction loss on them ({round(test_loss, 1) - round(test_kl, 1):.1f})")
    if mark_step == "baseline" and baseline is not None:
        mark_step = 1 + max((i for i, (r, k) in enumerate(history, 1) if r + k >= baseline[1]), default=0)
        if mark_step <= len(history):
            label = mark_label.format(step=mark_step) if mark_label else None
            left.plot(mark_step, sum(history[mark_step - 1]), "*", mfc="#d62728", mec="k", ms=13, zorder=5,
                      label=label)
    if mark_step is not None and 1 <= mark_step <= len(history):
        for ax in (left, right):  # the same step on both panels
            ax.axvline(mark_step, color="grey", ls=":", lw=1)
        left.text(mark_step + 2, ylim[0] + 4, f"step {mark_step}", fontsize=9, va="bottom")
        right.text(mark_step + 4, 0.97, f"step {mark_step}", fontsize=9, va="top",
                   transform=right.get_xaxis_transform())  # x in steps, y as a fraction of the panel's height
    if log_y:
        from matplotlib.ticker import NullFormatter

        left.set_yscale("log")
        ticks = [t for t in (100, 150, 200, 300, 400, 500) if ylim[0] <= t <= ylim[1]]
        left.set_yticks(ticks, [str(t) for t in ticks])
        left.yaxis.set_minor_formatter(NullFormatter())
    left.set_ylim(*ylim)
    if zoom_steps is not None and baseline is not None:  # the early steps, where the loss meets the baseline
        a, b = zoom_steps
        inset = left.inset_axes([0.5, 0.58, 0.47, 0.37])  # above the baseline, so that its tick labels clear that line
        near = [sum(h) for h in history[a:b]]
        inset.plot(range(a + 1, a + 1 + len(near)), near, color="C0", lw=1)
        inset.axhline(baseline[1], color="grey", ls="--")
        if mark_step is not None and a < mark_step <= b:
            inset.axvline(mark_step, color="grey", ls=":", lw=1)
        inset.set(xlim=(a, b), ylim=(baseline[1] - 45, baseline[1] + 45))
        inset.text(0.97, 0.94, f"steps {a}–{b}, linear axis", fontsize=10, ha="right", va="top", transform=inset.transAxes,
                   bbox=dict(facecolor="white", edgecolor="none", pad=1))  # inside the inset, clear of the panel's spine
        inset.tick_params(labelsize=10)
    if legends_clear:  # a figure legend below the left panel, so that the two panels keep their widths
        fig.legend(*left.get_legend_handles_labels(), fontsize=9, loc="lower left", bbox_to_anchor=(0.0, 0.0),
                   ncol=2, frameon=False)
    else:
        left.legend(fontsize=9, loc="upper right")
    right.plot(steps, kl, color="C2", label="KL term per batch")
    if test_kl is not None:
        right.plot(len(history), test_kl, "ko", label=f"KL term on the test images ({test_kl:.1f})")
        right.legend(fontsize=9, loc="lower right" if legends_clear else "upper right")
    for ax, title in ((left, f"per training batch (the loss starts at {sum(history[0]):.0f})"),
                      (right, "the KL term per training batch")):
        ax.set_xlabel(f"training step ({batch_size} images each)")
        ax.set_ylabel("nats per image (log scale)" if log_y and ax is left else "nats per image")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.15, 1, 1) if legends_clear else None)
    return fig


def show_reconstructions_and_samples(images, reconstructions, samples, ncol=12, figsize=(10, 4.4), fontsize=10):
    """Two panels of digit tiles ([N, 1, 28, 28] or [N, 784], values in [0, 1]): test images above their
    reconstructions, then, after a gap, new images decoded from prior codes, under one label. Returns the figure."""
    def tiles(batch):
        return make_grid(batch.reshape(-1, 1, 28, 28).clamp(0, 1), nrow=ncol, padding=2, pad_value=1.0)[0].numpy()

    pairs = tiles(torch.cat([images[:ncol].reshape(-1, 784), reconstructions[:ncol].reshape(-1, 784)]))
    new = tiles(samples)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=figsize, height_ratios=(pairs.shape[0], new.shape[0]),
                                      gridspec_kw=dict(hspace=0.3))
    for ax, grid, labels in ((top, pairs, ["test image", "reconstruction"]), (bottom, new, ["new image"])):
        ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
        ax.set_yticks([grid.shape[0] * (i + 0.5) / len(labels) for i in range(len(labels))], labels, fontsize=fontsize)
        ax.set_xticks([])
    top.set_title(f"the first {ncol} test images and their reconstructions", fontsize=fontsize)
    bottom.set_title(f"{len(samples)} new images, decoded from codes z drawn from N(0, I)", fontsize=fontsize)
    return fig


def plot_loss_budget(losses: dict, floor: float, figsize=(9, 2.3)):
    """Where a model's loss goes, one horizontal bar per model: ``losses = {name: (reconstruction, KL)}`` in nats
    per image, the reconstruction split at ``floor`` (the loss even a perfect decoder pays) into the floor and the
    part above it, then the KL term. Labels are rounded to 0.1 nat; the part above the floor is labelled as the rounded
    total less the other two rounded labels, so that the labels add up. Returns the figure."""
    fig, ax = plt.subplots(figsize=figsize)
    names = list(losses)[::-1]  # the first model on top
    parts = (("the floor: no Bernoulli decoder avoids it", "#c7c7c7"), ("reconstruction above the floor", "C1"),
             ("KL term", "C2"))
    for row, name in enumerate(names):
        recon, kl = losses[name]
        left = 0.0  # running total drawn
        shown = (round(floor, 1), round(recon + kl, 1) - round(floor, 1) - round(kl, 1), round(kl, 1))  # labels that add up
        for (label, colour), width, value in zip(parts, (floor, recon - floor, kl), shown):
            if width <= 0:
                continue
            ax.barh(row, width, left=left, color=colour, edgecolor="k", lw=0.8, height=0.6,
                    label=label)
            if width >= 12:
                ax.text(left + width / 2, row, f"{value:.1f}", ha="center", va="center", fontsize=10)
            left = left + width
        ax.text(left + 3, row, f"= {recon + kl:.1f}", ha="left", va="center", fontsize=10, fontweight="bold")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.42), ncol=3,
              frameon=False)
    ax.set_yticks(range(len(names)), names, fontsize=10)
    ax.set_xlim(0, 1.12 * max(r + k for r, k in losses.values()))
    ax.set_xlabel("nats per test image")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_mean_clouds(mu, log_var, labels, n_points=1000, n_clouds=3, figsize=(5.6, 6.6), dot_alpha=0.6, highlight=None):
    """Notebook 00's picture of the codes against the prior N(0, I): the means μ of the first ``n_points``
    images on the two most varying coordinates, faint dots coloured by digit; the prior's 2σ circle; the 2σ ellipses
    of the first ``n_clouds`` images' q(z|x), each labelled along the top or bottom edge with its σ on the two axes.
    ``highlight``: digits whose dots keep their colour, the others grey. Legend below. Returns the figure."""
    mu, sd, labels = mu.detach().cpu(), (0.5 * log_var.detach().cpu()).exp(), labels.cpu()
    a, b = mu.var(dim=0).argsort(descending=True)[:2].tolist()
    fig, left = plt.subplots(figsize=figsize)
    colours = plt.get_cmap("tab10").colors
    shown = [int(d) for d in labels[:n_points]]
    dots = [colours[d] if highlight is None or d in highlight else "#b0b0b0" for d in shown]
    left.scatter(mu[:n_points, a], mu[:n_points, b], c=dots, s=14, alpha=dot_alpha, lw=0)
    left.add_patch(Circle((0, 0), 2, fill=False, ls="--", color="k", lw=1.2, zorder=7))
    labels_at = []  # (ellipse rim, label place): each label in the empty band along the top or bottom edge
    for i in range(n_clouds):
        centre = torch.tensor([float(mu[i, a]), float(mu[i, b])])
        left.add_patch(Ellipse(tuple(centre.tolist()), 4 * sd[i, a], 4 * sd[i, b], fill=False, color="k", lw=2.2,
                               zorder=6))
        up = 1.0 if centre[1] >= 0 else -1.0
        labels_at.append((centre + torch.tensor([0.0, up * 2 * float(sd[i, b])]), [float(centre[0]), up * 3.4]))
    for side in (3.4, -3.4):  # labels on one edge: at least 2.2 apart, inside the axes
        row = sorted((place for _, place in labels_at if place[1] == side), key=lambda place: place[0])
        for j, place in enumerate(row):
            place[0] = min(max(place[0], -3.0 + 2.2 * j, row[j - 1][0] + 2.2 if j else -9.0), 3.0)
        for j in range(len(row) - 2, -1, -1):
            row[j][0] = min(row[j][0], row[j + 1][0] - 2.2)
    for i, (rim, place) in enumerate(labels_at):
        place = torch.tensor(place)
        left.annotate(f"test image {i + 1} (a {int(labels[i])})\nσ {float(sd[i, a]):.2f}, {float(sd[i, b]):.2f}",
                      tuple(rim.tolist()), xytext=tuple(place.tolist()),
                      fontsize=9, ha="center", va="center", zorder=11,
                      arrowprops=dict(arrowstyle="-", color="k", lw=0.9),
                      bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="k", lw=0.8))
    names = ("blue", "orange", "green", "red", "purple", "brown", "pink", "grey", "olive", "cyan")  # tab10's colours
    coloured = ("coloured by digit" if highlight is None
                else ", ".join(f"{d}s {names[d]}" for d in highlight) + ", other digits grey")
    left.plot([], [], "o", ms=4, color="#999999", alpha=0.6, lw=0, label=f"means μ of {n_points:,} test images: {coloured}")
    left.plot([], [], color="k", ls="--", lw=1.2, label="N(0, I): 2σ circle, which holds 86 % of prior draws in any plane")
    left.plot([], [], color="k", lw=2.2, label=f"q(z | x) of test images 1–{n_clouds}: 2σ ellipses")
    left.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.11), frameon=False)
    left.set(xlim=(-4, 4), ylim=(-4, 4), aspect="equal")
    left.set_xlabel(f"coordinate {a + 1} of μ (numbered 1–{mu.shape[1]})")
    left.set_ylabel(f"coordinate {b + 1} of μ (numbered 1–{mu.shape[1]})")
    left.set_title(f"means μ on the 2 coordinates (of {mu.shape[1]}) that vary most", fontsize=10)
    fig.tight_layout()
    return fig


def show_labelled_digits(images, labels, nrow=12, title=None, figsize=(9, 2.0), fontsize=10):
    """Digit tiles ([N, 1, 28, 28], values in [0, 1]) as one torchvision grid, each tile's label in the margin above
    it: one imshow instead of a subplot per tile, which is many times faster to draw. Returns the figure."""
    images, pad = as_images(images).clamp(0, 1), 10
    side = images.shape[-1]
    grid = make_grid(images, nrow=nrow, padding=pad, pad_value=1.0)[0]
    fig, ax = plt.subplots(figsize=figsize)
    ax.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1)
    for i, label in enumerate(labels[: len(images)]):
        column, row = i % nrow, i // nrow
        ax.text(pad + column * (side + pad) + side / 2 - 0.5, row * (side + pad) + pad / 2 - 0.5, str(int(label)),
                ha="center", va="center", fontsize=fontsize)
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=fontsize)
    return fig


def plot_no_kl_control(networks: dict, prior_lengths, steps: int, figsize=(10, 5.0)):
    """Notebook 00's control without the KL term, ``networks = {name: (decodes [n, 784], code lengths [N], σ)}``:
    each network's decodes of the same n prior codes, the lengths of its codes z ~ q(z|x), and its σ of q(z|x), all
    after ``steps`` steps. Above: one row of decodes per network, labelled with the median σ and the median
    brightest pixel of its decodes. Below: histograms of the code lengths and of ``prior_lengths`` (codes drawn
    from N(0, I)), the median of each in its label. Returns the figure."""
    rows = {f"{name}\nmedian σ {sd.median():.2f}\nbrightest pixel {new.flatten(1).max(1).values.median():.2f}": new
            for name, (new, _, sd) in networks.items()}
    lengths = {f"{name}, step {steps}: z ~ q(z|x)": values for name, (_, values, _) in networks.items()}
    lengths["prior draws: z ~ N(0, I)"] = prior_lengths
    n = len(next(iter(rows.values())))
    title = (f"the same {n} codes z ~ N(0, I), decoded by each network after {steps} steps\n"
             f"at left: median σ of q(z|x); median brightest pixel of the {n} decodes")
    grid = make_grid(torch.cat([images.reshape(-1, 1, 28, 28) for images in rows.values()]).clamp(0, 1),
                     nrow=n, padding=2, pad_value=1.0)[0]
    fig, (left, right) = plt.subplots(2, 1, figsize=figsize, height_ratios=(1, 1.25))
    left.imshow(grid.numpy(), cmap="gray", vmin=0, vmax=1)
    left.set_yticks([grid.shape[0] * (i + 0.5) / len(rows) for i in range(len(rows))], list(rows), fontsize=10)
    left.set_xticks([])
    left.set_title(title, fontsize=10)
    top = float(max(v.quantile(0.999) for v in lengths.values()))
    for (name, values), colour in zip(lengths.items(), ("C0", "C3", "k")):
        right.hist(values, bins=50, range=(0, top), density=True, histtype="step", lw=1.5, color=colour,
                   label=f"{name} ({values.median():.1f})")
    right.set_xlabel("length of the whole code z, all 20 coordinates")
    right.set_ylabel("density (per unit of length)")
    right.set_title("how far from 0 the codes lie (medians in brackets)", fontsize=10)
    right.legend(fontsize=9, loc="upper right")
    fig.tight_layout()
    return fig


# notebook 01 · latent-variable models and the prior-sampling estimate of p(x)


def plot_kl_split(history, parts, steps=40, figsize=(6.4, 3.0)):
    """The KL term of a short run's first ``steps`` batches, split into its three parts (``parts``: per step
    (shift, spread, widths) from ``losses.kl_split``), as stacked areas under the batch's KL. Returns the figure."""
    x = range(1, steps + 1)
    stacks = list(zip(*parts[:steps]))
    names = ("shift shared by all codes, ½Σ mean(μ)²", "spread of the means around it", "widths: σ² away from 1")
    fig, ax = plt.subplots(figsize=figsize)
    ax.stackplot(x, *stacks, labels=names, colors=("#d62728", "#1f77b4", "#bbbbbb"), alpha=0.85)
    ax.plot(x, [k for _, k in history[:steps]], color="k", lw=1.2, label="KL term of the batch (their sum)")
    ax.set(xlabel="training step (first steps of section 1.4)", ylabel="nats per image", xlim=(1, steps))
    ax.legend(fontsize=9, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_image_rows(rows: dict, *, title: str = "", side: int = 28, figsize=None, horizontal_labels: bool = False):
    """Rows of grey-scale images, ``rows = {row label: images [n, side*side]}``, each row labelled at its
    left (read sideways, or level with ``horizontal_labels=True``), values clamped to [0, 1]. Returns the figure."""
    n_cols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(rows), n_cols, figsize=figsize or (1.4 * n_cols + 0.1, 1.6 * len(rows) + 0.2),
                             squeeze=False)
    for r, (name, images) in enumerate(rows.items()):
        for ax in axes[r]:
            ax.set_xticks([]), ax.set_yticks([])
        for ax, image in zip(axes[r], images):
            ax.imshow(image.reshape(side, side).clamp(0, 1), cmap="gray", vmin=0, vmax=1)
        if horizontal_labels:
            axes[r, 0].set_ylabel(name, fontsize=10, rotation=0, ha="right", va="center")
        else:
            axes[r, 0].set_ylabel(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_ranked_digits(images, values: dict, *, n: int = 8, formats: dict | None = None, title: str = "",
                       figsize=(9, 3.2), row_labels: bool = True):
    """One row per property: ``n`` digits at evenly spaced ranks of ``values[name]``, each titled with its value;
    ``row_labels``: "by <name>" left of each row. Returns (fig, axes)."""
    fig, axes = plt.subplots(len(values), n, figsize=figsize, squeeze=False)
    for row, (name, v) in enumerate(values.items()):
        picks = v.argsort()[torch.linspace(0, len(v) - 1, n).round().long()]  # evenly spaced ranks
        for ax, i in zip(axes[row], picks):
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=1)
            shown = format(v[i].item(), (formats or {}).get(name, ".2f"))
            ax.set_title(f"{name} {shown.replace('-0.00', '0.00')}", fontsize=10)
            ax.set_xticks([]), ax.set_yticks([])
        if row_labels:
            axes[row, 0].set_ylabel(f"by {name}", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig, axes


def plot_estimate_errors(errors: torch.Tensor, n_values, exact: float, rho: float | None = None, zoom_from: int = 2,
                         figsize=(9.5, 3.9), exact_label: str | None = None, legend_below: bool = False,
                         center: str = "median"):
    """Repeated estimates of log p(x) minus the exact value against the number of prior draws N (log axis),
    with each N's median (or mean: ``center="mean"``); the right panel zooms on the larger N, with ± the
    predicted sd √((ρ − 1)/N) given ``rho``.
    ``legend_below``: one legend for both panels, below them (else inside the zoom panel).
    Returns (fig, (ax_all, ax_zoom))."""
    repeats = errors.shape[0]
    fig, (ax_all, ax_zoom) = plt.subplots(1, 2, figsize=figsize)
    spread = 10 ** torch.linspace(-0.12, 0.12, repeats, dtype=torch.float64)  # spread the dots sideways
    for ax in (ax_all, ax_zoom):
        for j, n in enumerate(n_values):
            ax.plot(n * spread, errors[:, j], "o", color="tab:blue", ms=4, alpha=0.6,
                    label="one estimate" if j == 0 else None)
            level = errors[:, j].mean() if center == "mean" else errors[:, j].quantile(0.5)
            ax.plot([n / 1.5, n * 1.5], [level.item()] * 2, "k-", lw=2, label=center if j == 0 else None)
        ax.axhline(0, color="tab:green", lw=1.5, label=exact_label or f"exact log p(x) = {exact:.2f}")
        ax.set(xscale="log", xlabel="prior draws N", ylabel="estimate − exact log p(x)  (nats)")
        ax.grid(alpha=0.3)
    n_lo, n_hi = n_values[zoom_from], n_values[-1]
    if rho is not None:
        n_fine = torch.logspace(math.log10(n_lo) - 0.3, math.log10(n_hi) + 0.3, 50, dtype=torch.float64)
        for sign in (1, -1):  # ± 1 predicted sd of log p_hat, about the relative sd for large N
            ax_zoom.plot(n_fine, sign * ((rho - 1) / n_fine).sqrt(), "r--", lw=1,
                         label="± predicted sd (right)" if sign > 0 else None)
    ax_zoom.set(xlim=(n_lo / 2.5, n_hi * 2.5), ylim=(1.2 * errors[:, zoom_from:].min().item(), 0.5),
                title=f"zoom on N ≥ {n_lo:,}")
    ax_all.set(title=f"{repeats} estimates for each N")
    if legend_below:
        fig.legend(*ax_zoom.get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=9)
        fig.tight_layout(rect=(0, 0.09, 1, 1))
    else:
        ax_zoom.legend(loc="lower right", fontsize=9)
        fig.tight_layout()
    return fig, (ax_all, ax_zoom)


def plot_weighted_samples(z: torch.Tensor, weights: torch.Tensor, posterior_mean: torch.Tensor,
                          posterior_cov: torch.Tensor, z_true: torch.Tensor | None = None, title: str = "",
                          figsize=(9.5, 5.0)):
    """2-D prior samples ``z`` [n, 2] with marker area ∝ weight p(x|z), the posterior's 1- and 2-sd ellipses,
    and a zoom on ± 3 sd around the posterior mean. Returns (fig, (ax, ax_zoom))."""
    def draw(ax, max_area):
        ax.scatter(z[:, 0], z[:, 1], s=3, color="lightgray", label="prior samples z ~ p(z)")
        heavy = weights > 1e-3 * weights.max()  # the others would be invisibly small
        ax.scatter(z[heavy, 0], z[heavy, 1], s=max_area * weights[heavy] / weights.max(),
                   color="crimson", alpha=0.6, linewidths=0, zorder=1, label="marker area ∝ weight p(x|z)")
        for n_sd, style in ((1, "-"), (2, "--")):  # drawn over the discs
            draw_gaussian_ellipse(ax, posterior_mean, posterior_cov, n_sd, color="black", ls=style, lw=1.5, zorder=3)
        ax.plot([], [], "k-", lw=1.5, label="posterior p(z|x): 1 sd")
        ax.plot([], [], "k--", lw=1.5, label="posterior p(z|x): 2 sd")
        if z_true is not None:  # on top, with a white rim that keeps it visible on a disc
            ax.plot(z_true[0], z_true[1], "k*", ms=13, mec="white", mew=1.0, zorder=4, label="the z that made x")

    half = 3 * posterior_cov.diagonal().sqrt().max().item()  # the zoom: 3 sd around the mean
    fig, (ax, ax_zoom) = plt.subplots(1, 2, figsize=figsize)
    draw(ax, max_area=150)
    ax.add_patch(Rectangle((posterior_mean - half).tolist(), 2 * half, 2 * half, fill=False, color="tab:blue", lw=1.2))
    ax.set(xlabel="$z_1$", ylabel="$z_2$", aspect="equal", title=title)
    draw(ax_zoom, max_area=400)
    ax_zoom.set(xlim=(posterior_mean[0] - half, posterior_mean[0] + half),
                ylim=(posterior_mean[1] - half, posterior_mean[1] + half),
                xlabel="$z_1$", ylabel="$z_2$", aspect="equal", title="zoom on the blue square: the posterior")
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=9)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig, (ax, ax_zoom)


def plot_line_spike(turn_deg, one_point: dict, all_points: dict, n_points: int,
                    floor: float = -40.0, figsize=(10, 4.0)):
    """Notebook 01: log p(x) of a line model against the angle (degrees) the line is turned by, one curve per σ
    (dict σ → values). Left: one observation, angle 0 = the line through it, linear axis clipped at ``floor``.
    Right: the negative log-likelihood summed over ``n_points`` observations, angle 0 = the line that made
    the data, on a log axis. Returns (fig, axes)."""
    fig, (ax_one, ax_all) = plt.subplots(1, 2, figsize=figsize)
    shades = plt.get_cmap("plasma")
    for k, sigma in enumerate(one_point):
        color = shades(0.8 * k / max(len(one_point) - 1, 1))
        ax_one.plot(turn_deg, one_point[sigma], color=color, lw=1.8, label=f"σ = {sigma:g}")
        ax_all.plot(turn_deg, -all_points[sigma], color=color, lw=1.8)
    high = max(float(v.max()) for v in one_point.values())
    ax_one.set_ylim(floor, max(2.0, high + 2.0))
    ax_one.set(xlabel="angle the line is turned by (degrees)\n0 = the line through this observation",
               ylabel=f"log p(x) (nats, clipped at {floor:g})", title="one observation: a spike where the line meets x")
    ax_all.set_yscale("log")  # the negative log-likelihood, -Σ log p(x), is positive here
    ax_all.set(xlabel="angle the line is turned by (degrees)\n0 = the line that made the data",
               ylabel=f"−Σ log p(x), {n_points} observations\n(nats, lower is better)", title="all observations: no line fits them all")
    for ax in (ax_one, ax_all):
        ax.set_xticks(range(-90, 91, 30))
        ax.grid(alpha=0.3)
    fig.legend(*ax_one.get_legend_handles_labels(), loc="lower center", ncol=len(one_point), fontsize=9)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig, (ax_one, ax_all)


def plot_code_vs_property(pairs: list, figsize=(9, 3.8)):
    """Scatter panels of a code coordinate against a measured property: ``pairs`` holds
    (property values, code values, property label, code label). The title gives the correlation r.
    Returns (fig, axes)."""
    fig, axes = plt.subplots(1, len(pairs), figsize=figsize, squeeze=False)
    for ax, (prop, code, prop_label, code_label) in zip(axes[0], pairs):
        r = torch.corrcoef(torch.stack([prop.double(), code.double()]))[0, 1].item()
        ax.scatter(prop, code, s=6, alpha=0.6)
        ax.set(xlabel=prop_label, ylabel=code_label, title=f"correlation r = {r:+.2f}")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes[0]


def plot_samples_needed(latent_dims, by_dim: dict, sharpness, by_sigma: dict, *, data_dim: int, rel_error: float,
                        band_from: float = 10.0, figsize=(9.5, 4.0), column_length: float | None = None):
    """Prior samples needed for a ``rel_error`` estimate of p(x), on log scales: against the latent dimension,
    one line per σ (``by_dim``), and against the sharpness 1/σ, one line per d (``by_sigma``). Returns (fig, axes)."""
    fig, (ax_dim, ax_sigma) = plt.subplots(1, 2, figsize=figsize)
    for s, counts in by_dim.items():
        ax_dim.semilogy(latent_dims, counts, "o-", label=f"σ = {s:g}")
    ax_dim.set(xlabel="latent dimension d", ylabel="prior samples needed (median)",
               title="more latent dimensions")
    shades = plt.get_cmap("viridis")  # the right panel's lines mean d, not σ: another palette and markers
    for k, (d, counts) in enumerate(by_sigma.items()):
        ax_sigma.loglog(sharpness, counts, "sD^v"[k % 4] + "-", color=shades(0.1 + 0.55 * k / max(1, len(by_sigma) - 1)),
                        label=f"d = {d}")
    ax_sigma.axvspan(band_from, max(sharpness), color="gray", alpha=0.15, label=f"σ ≤ {1 / band_from:g}")
    ax_sigma.set(xlabel="sharpness 1/σ of p(x|z)", ylabel="prior samples needed (median)", title="a sharper p(x|z)")
    for ax in (ax_dim, ax_sigma):
        ax.axhline(1e6, color="gray", ls=":", lw=1)
        ax.text(ax.get_xlim()[0], 1.3e6, " a million", color="gray")
        ax.grid(alpha=0.3, which="major")
        ax.legend()
        top = max(max(c) for c in (by_dim if ax is ax_dim else by_sigma).values())
        ax.set_ylim(top=10 ** math.ceil(math.log10(top)))  # the top decade labelled
    models = f"models with D = {data_dim}" + (f", orthogonal columns of W of length {column_length:g}" if column_length else "")
    fig.suptitle(f"Prior samples for a {rel_error:.0%} relative error in p(x)\n{models}", fontsize=11)
    fig.tight_layout()
    return fig, (ax_dim, ax_sigma)


def print_table(rows: dict, *, formats: dict | None = None, default: str = ".1f", width: int = 9,
                tidy_zero: bool = False) -> None:
    """Print ``rows = {label: values}`` as a table, one line per label: ``formats[label]`` if given, else ints
    with thousands separators and other numbers with ``default``; None prints as "—". ``tidy_zero``: a value
    that rounds to zero prints without a minus sign ("0.00", not "-0.00")."""
    formats = formats or {}
    label_width = max(len(str(label)) for label in rows) + 1
    for label, values in rows.items():
        values = values.tolist() if isinstance(values, torch.Tensor) else list(values)
        cells = []
        for v in values:
            if v is None:
                text = "—"
            elif label in formats:
                text = format(v, formats[label])
            elif isinstance(v, int):
                text = f"{v:,}"
            else:
                text = format(v, default)
            if tidy_zero and text.startswith("-") and not text.strip("-0.,"):
                text = text[1:]
            cells.append(f"{text:>{width}}")
        print(f"{label:<{label_width}}" + "".join(cells))


# notebook 02 · the encoder and the ELBO


def plot_gaussian_regions(mean: torch.Tensor, cov: torch.Tensor, ellipses: dict, *, ax=None, title: str | None = None,
                          label: str = "p(z|x), 2 sd"):
    """A 2-D Gaussian's 1-, 2- and 3-sd regions in grey with its 2-sd contour dashed and its principal axes (3 sd
    each way), and the 2-sd contours of ``ellipses = {label: (mean, cov, colour)}``, all inside the window; the
    legend sits right of the plot, clear of the shading. Returns the axes."""
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
    short_axis, long_axis = torch.linalg.eigh(cov).eigenvectors.T
    for axis in (long_axis, short_axis):
        ends = mean + torch.tensor([[-3.0], [3.0]], dtype=torch.float64) * (axis @ cov @ axis).sqrt() * axis
        ax.plot(*ends.T, color="black", lw=1, label=f"{label.split(',')[0]}'s axes" if axis is long_axis else None)
    ax.legend(fontsize=9, loc="upper left", bbox_to_anchor=(1.02, 1))
    return ax


def plot_elbo_histograms(log_w: dict, log_px: float, colors: dict, *, bins: int = 80):
    """One panel per entry of ``log_w`` (name -> log importance weights [N]), their
    histogram on a log count scale, their mean (the ELBO, red) and log p(x) (dashed), titled with the share of
    log weights above log p(x). Every sample is inside the shared x range. Returns (fig, axes)."""
    low = min(v.min().item() for v in log_w.values()) - 0.2
    high = max(v.max().item() for v in log_w.values()) + 0.2
    fig, axes = plt.subplots(1, len(log_w), figsize=(5 * len(log_w), 4.0), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, values) in zip(axes, log_w.items()):
        ax.hist(values, bins=bins, range=(low, high), color=colors[name], alpha=0.6, zorder=1)
        ax.axvline(values.mean(), color="tab:red", lw=2, label="mean of log w ≈ ELBO", zorder=3)
        ax.axvline(log_px, color="black", ls="--", lw=1.5, label="log p(x)", zorder=3)
        ax.set_yscale("log")
        above = (values > log_px + 1e-9).double().mean().item()
        ax.set(title=f"q = {name}: {above:.1%} of log w above log p(x)", xlabel="log w (nats)")
    axes[0].set_ylabel(f"count of {len(next(iter(log_w.values()))):,} samples (log scale)")
    axes[0].legend(fontsize=9, loc="upper left")
    fig.tight_layout()
    return fig, axes


def plot_elbo_gap_bars(elbo: dict, gaps: dict, log_px: float, colors: dict, *, apart: tuple = ("prior",),
                       title: str | None = None, figsize=(9, 3.9)):
    """One bar per q from its ELBO up by its gap KL(q ‖ p(z|x)), so that each top lands on log p(x) (dashed), a gap
    of 0 marked by a diamond; the names in ``apart`` get a panel on their own scale, titled with their gap as a
    multiple of the largest gap in the first. Returns (fig, axes)."""
    groups = [[n for n in elbo if n not in apart], [n for n in elbo if n in apart]]
    groups = [g for g in groups if g]
    fig, axes = plt.subplots(1, len(groups), figsize=figsize, squeeze=False,
                             gridspec_kw=dict(width_ratios=[len(g) + 0.6 for g in groups]))
    axes = axes[0]
    for ax, names in zip(axes, groups):
        low = min(elbo[n] for n in names)
        span = log_px - low
        for i, n in enumerate(names):
            ax.bar(i, gaps[n], bottom=elbo[n], width=0.6, color=colors[n], alpha=0.7, edgecolor=colors[n])
            ax.plot([i - 0.3, i + 0.3], [elbo[n]] * 2, color="black", lw=2)
            ax.text(i, elbo[n] - 0.04 * span, f"ELBO\n{elbo[n]:.3f}", ha="center", va="top", fontsize=9)
            ax.text(i, log_px + 0.03 * span, f"gap {gaps[n]:.3f}", ha="center", va="bottom", fontsize=9)
        ax.axhline(log_px, color="black", ls="--", lw=1.5, label=f"log p(x) = {log_px:.3f}")
        for i, n in enumerate(names):
            if gaps[n] < 1e-9:
                ax.plot(i, log_px, "D", color=colors[n], ms=8)
                label = next(t for t in ax.texts if t.get_position()[0] == i and t.get_text().startswith("ELBO"))
                label.set_y(label.get_position()[1] - 0.05)  # below the diamond
        ax.set_xticks(range(len(names)), [f"q = {n}" for n in names])
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_ylim(low - 0.3 * span, log_px + 0.2 * span)
        ax.set_ylabel("nats")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=9, loc="lower left")
    if len(groups) == 2:
        worst = min(groups[0], key=lambda n: elbo[n])  # the largest gap in the first panel
        for ax, n in zip(axes[1:], groups[1]):
            ratio = (log_px - elbo[n]) / (log_px - elbo[worst])
            ax.set_title(f"q = {n}, on its own y-scale:\nits gap is {ratio:.0f}× the {worst} q's", fontsize=10)
            ax.set_ylabel("nats (own y-scale)", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig, axes


def plot_iwae_bounds(k_values, bounds: dict, log_px: float, colors: dict, *, window: float = 1.5,
                     title: str | None = None, errors: dict | None = None):
    """The importance-weighted bounds L_k of each q (``bounds = {name: [L_k per k]}``) against k on a log-2
    axis, up to log p(x) (dashed), with optional error bars (``errors``). Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(10, 4.4))
    for j, (name, values) in enumerate(bounds.items()):
        k_shown = [k * 2 ** (0.06 * (j - (len(bounds) - 1) / 2)) for k in k_values]  # nudged apart, no overlap
        hidden = [k for k, v in zip(k_values, values) if v < log_px - window]
        note = f" (k ≤ {max(hidden)} below the plot; $\\mathcal{{L}}_1$ = {values[0]:.1f})" if hidden else ""
        ax.plot(k_shown, values, "o-", color=colors[name], ms=4, label=f"q = {name}{note}")
        if errors is not None:
            ax.errorbar(k_shown, values, yerr=errors[name], fmt="none", ecolor=colors[name], elinewidth=1.5,
                        capsize=4)
    ax.axhline(log_px, color="black", ls="--", label="log p(x)")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="number of importance samples k (points nudged sideways, so that the error bars stay apart)",
           ylabel=r"$\mathcal{L}_k$ (nats)", title=title,
           ylim=(log_px - window, log_px + 0.1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig, ax


def plot_amortization_gaps(gaps: dict, approximation_gap: float, *, title: str | None = None,
                           colors: tuple | None = None, first_step: int = 1, yticks: tuple | None = None):
    """The amortization gap of each encoder (``gaps = {label: gap after each step}``) on a log scale against
    the training steps, beside the approximation gap (dashed). ``first_step`` is the step of the first value
    (0 when the gap before training is included); ``yticks``, if given, are labelled as plain numbers.
    Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=(8, 3.8))
    for (label, values), colour in zip(gaps.items(), colors or ("tab:orange", "tab:red", "tab:brown", "tab:pink")):
        ax.semilogy(range(first_step, first_step + len(values)), values, color=colour, lw=2, label=label)
    if yticks is not None:
        ax.set_yticks(list(yticks), [f"{t:g}" for t in yticks])
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.axhline(approximation_gap, color="tab:blue", ls="--", lw=1.5, label="approximation gap (q* vs p(z|x))")
    ax.set(xlabel="Adam steps on the training x", ylabel="gap on new x (nats, log scale)", title=title)
    ax.legend(fontsize=9, loc="upper right")
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig, ax


def plot_elbo_terms_table(images: torch.Tensor, decoded: torch.Tensor, reconstruction, kl, *,
                          title: str | None = None):
    """Test digits (top), their reconstruction term, KL term and ELBO in nats (middle), and the image decoded
    from each mean code (bottom). Returns the figure."""
    n = len(images)
    fig = plt.figure(figsize=(2.3 + 1.15 * n, 4.4), layout="constrained")
    grid = fig.add_gridspec(3, n + 1, width_ratios=[2.0] + [1] * n, height_ratios=[1, 0.62, 1])
    labels = fig.add_subplot(grid[1, 0])
    labels.axis("off")
    for y, text in zip((0.83, 0.5, 0.17), ("reconstruction term,\navg. over q", "KL term", "ELBO (rounded)")):
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


def plot_two_kls(reconstruction: dict, kl_prior: dict, gaps: dict, colors: dict, *, title: str | None = None):
    """Per q (rows): its reconstruction term E_q[log p(x|z)] (left), and the two KLs that share a name (right):
    KL(q ‖ p(z)), the KL term of the objective (solid), and KL(q ‖ p(z|x)), the ELBO's gap (hatched); each bar
    labelled with its value. Returns (fig, axes)."""
    names = list(reconstruction)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 0.62 * len(names) + 1.6), sharey=True,
                             gridspec_kw=dict(width_ratios=[1, 1.25]))
    y = range(len(names))
    low = min(reconstruction.values())
    for i, n in enumerate(names):
        v = reconstruction[n]
        axes[0].barh(i, v, height=0.6, color=colors[n], alpha=0.7)
        axes[0].text(v + 0.02 * low, i, f"{v:.2f}", ha="right", va="center", fontsize=9)
    axes[0].set_xlim(1.35 * low, 0)
    axes[0].set(xlabel="nats", title="reconstruction term E_q[log p(x|z)]")
    top = max(max(kl_prior[n] for n in names), max(gaps[n] for n in names))
    for i, n in enumerate(names):
        for shift, value, hatch, label in ((-0.17, kl_prior[n], None, "KL(q ‖ p(z)): the KL term, to the prior"),
                                           (0.17, gaps[n], "///", "KL(q ‖ p(z|x)): the gap, to the posterior")):
            axes[1].barh(i + shift, value, height=0.32, color=colors[n], alpha=0.7 if hatch is None else 0.25,
                         hatch=hatch, edgecolor=colors[n], label=label if i == 0 else None)
            shown = f"{value:.3f}" if value >= 5e-4 else "0: no gap"  # the exact posterior's gap
            axes[1].text(value + 0.01 * top, i + shift, shown, ha="left", va="center", fontsize=9)
    axes[1].set_xlim(0, 1.25 * top)
    axes[1].set(xlabel="nats", title="the two KLs")
    handles, labels = axes[1].get_legend_handles_labels()
    legend = fig.legend(handles, labels, fontsize=9, loc="lower center", ncol=2)
    for handle in legend.legend_handles:
        handle.set_color("0.5")
    axes[0].set_yticks(list(y), [f"q = {n}" for n in names])
    axes[0].invert_yaxis()
    for ax in axes:
        ax.grid(alpha=0.3, axis="x")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig, axes


# notebook 04 · the closed-form KL


def plot_kl_area(z: torch.Tensor, q_density: torch.Tensor, p_density: torch.Tensor, integrand: torch.Tensor,
                 area: float, q_label: str, p_label: str = "p = N(0, 1), the prior"):
    """Two densities q and p on a grid ``z`` (left) and the KL's integrand q log(q/p) (right), positive part
    red, negative part blue, its ``area`` in the title. Returns (fig, axes)."""
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 3.6))
    axes[0].plot(z, q_density, color="tab:red", lw=2, label=q_label)
    axes[0].plot(z, p_density, color="black", lw=2, ls="--", label=p_label)
    axes[0].set(xlabel="z", ylabel="density", title="The two densities")
    axes[0].legend(fontsize=10, loc="upper left")
    axes[1].fill_between(z, integrand, where=integrand > 0, color="tab:red", alpha=0.4, label="q denser than p")
    axes[1].fill_between(z, integrand, where=integrand < 0, color="tab:blue", alpha=0.4, label="p denser than q")
    axes[1].plot(z, integrand, color="black", lw=1)
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].set(xlabel="z", ylabel=r"$q(z)\,\log\,(q(z)/p(z))$ (nats per unit z)",
                title=f"Its area is KL(q || p) = {area:.3f} nats")
    axes[1].legend(fontsize=10, loc="upper left")
    fig.tight_layout()
    return fig, axes


def plot_one_sample_kl_grads(grads: dict, closed: dict, zoom: tuple[float, float], bins: int = 120):
    """Histograms of one-sample KL gradients, d/dμ (left) and d/dlog σ² (middle, log density scale, so that its
    floor's spike and its long right tail both show): ``grads[where]`` = (d_mu, d_log_var), one value per draw,
    ``closed[where]`` = the closed form's (d_mu, d_log_var), drawn as a dotted vertical line in the same colour with a
    ▼ on top (so that it does not read as a histogram's edge). The
    first histogram is filled, the others outlined, so that every tail shows. A third panel shows the d/dlog σ²
    histograms on ``zoom`` = (lo, hi) on a linear scale, each sharp left edge (its smallest value) marked and
    labelled; one short legend sits under the whole figure (print the statistics beside it). Returns (fig, axes)."""
    fig, axes = plt.subplots(1, 3, figsize=(12.5, 4.3), gridspec_kw={"width_ratios": [1, 1, 0.7]})
    colors = ["tab:red", "tab:blue", "tab:green"]
    for k, (ax, lim) in enumerate(zip(axes, ((-4.5, 4.5), (-1.0, 4.0)))):
        top = 0.0
        for color, (where, g) in zip(colors, grads.items()):
            values = g[k].detach().double()
            style = dict(histtype="stepfilled", alpha=0.35) if color == colors[0] else dict(histtype="step", lw=1.8)
            heights, *_ = ax.hist(values.numpy(), bins=bins, range=lim, density=True, color=color, **style,
                                  label=f"{where}: one gradient per draw")
            top = max(top, heights.max())
            ax.axvline(closed[where][k], color=color, lw=2, ls=":", marker="v", markevery=[1], ms=8, clip_on=False,
                       label=f"{where}: the closed form's gradient (its mean)")  # dotted, ▼ on top: not a histogram edge
        if k == 1:
            ax.set(yscale="log", ylim=(1e-3, 3 * top), ylabel="density (log scale)")
        else:
            ax.set(ylim=(0, 1.1 * top), ylabel="density")
        name = (r"$\mu$", r"$\log\sigma^2$")[k]
        ax.set(xlim=lim, xlabel=f"one draw's gradient with respect to {name}{' (cut at 4)' if k == 1 else ''}",
               title=f"one-sample ∂KL/∂{('μ', 'log σ²')[k]}, {len(values):,} draws")
    ax = axes[2]
    for color, height, (where, g) in zip(colors, (0.55, 0.8, 0.3), grads.items()):
        values = g[1].detach().double()
        style = dict(histtype="stepfilled", alpha=0.35) if color == colors[0] else dict(histtype="step", lw=1.8)
        ax.hist(values.numpy(), bins=48, range=zoom, density=True, color=color, **style)
        edge = values.min().item()
        ax.plot([edge], [0], "^", color=color, ms=9, clip_on=False, zorder=5)
        ax.annotate(f"{edge:.2f}".replace("-", "\u2212"), (edge, height), xycoords=("data", "axes fraction"),
                    xytext=(5, 0), textcoords="offset points", ha="left", va="center", fontsize=10, color=color,
                    zorder=5)
    ax.set(xlim=zoom, ylabel="density", xlabel=r"gradient with respect to $\log\sigma^2$",
           title="its sharp left edges, zoomed")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=10, loc="lower center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 0.0))
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig, axes


def plot_unused_coordinate_runs(closed: tuple, sampled: tuple, lr: float, floor: float, n_runs: int = 3,
                                legend_below: bool = False, mu_part=None, mu_floor: float | None = None):
    """Gradient descent on one unused coordinate's KL, closed form against one-sample estimates: σ along the
    way for ``n_runs`` sampled runs in separate shades (left, legend below the traces, or with ``legend_below``
    under the panel, the σ axis then framing the traces alone) and the KL on a log scale with the sampled runs'
    mean and ``floor`` (right), with ``mu_part`` ([steps, runs], the KL's ½μ² part) as the dashed mean of its
    runs and ``mu_floor``, if given, as that part's nats out of ``floor`` in its legend entry. Returns (fig, axes)."""
    (closed_kl, closed_sigma), (sampled_kl, sampled_sigma) = closed, sampled
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    shades = ["tab:orange", "tab:purple", "tab:green", "tab:brown"]
    for k in range(n_runs):
        axes[0].plot(sampled_sigma[:, k], color=shades[k % len(shades)], lw=1.2, alpha=0.95,
                     label=f"one-sample KL, run {k + 1}")
    axes[0].plot(closed_sigma[:, 0], color="black", lw=2.5, label="closed form")
    axes[0].axhline(1.0, color="grey", ls=":", lw=1.5, label=r"optimum $\sigma$ = 1")
    shown = torch.cat([sampled_sigma[:, :n_runs].flatten(), closed_sigma[:, 0]])
    top = max(1.3, shown.max().item()) + 0.05
    bottom = shown.min().item() - 0.05 if legend_below else min(0.7, shown.min().item() - 0.05) - 0.17
    axes[0].set(ylim=(bottom, top), xlabel="gradient step", ylabel=r"$\sigma$",
                title=f"A coordinate the decoder ignores, learning rate {lr:g}")
    if legend_below:  # handles reordered so that the three columns read row by row: runs, then closed form and optimum
        handles, names = axes[0].get_legend_handles_labels()
        order = [0, 3, 1, 4, 2] if len(handles) == 5 else list(range(len(handles)))  # filled column by column
        axes[0].legend([handles[i] for i in order], [names[i] for i in order],
                       fontsize=9.5, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, frameon=False,
                       columnspacing=0.9, handlelength=1.4, handletextpad=0.4)
    else:
        axes[0].legend(fontsize=9.5, loc="lower center", ncol=3, columnspacing=0.7, handlelength=1.2, handletextpad=0.4)
    axes[1].plot(closed_kl[:, 0], color="black", lw=2, label="closed-form KL", zorder=2)
    axes[1].plot(sampled_kl.mean(1), color="tab:blue", lw=1.8, zorder=3,
                 label=f"one-sample KL, mean of {sampled_kl.shape[1]} runs (floor {floor:.2g})")
    if mu_part is not None:
        share = f" ({mu_floor:.2g} of the {floor:.2g} nats)" if mu_floor is not None else ""
        axes[1].plot(mu_part.mean(1), color="tab:blue", lw=1.5, ls="--", zorder=3,
                     label="its part ½μ², same runs' mean" + share)
    axes[1].set(yscale="log", ylim=(1e-4, 1), xlabel="gradient step", ylabel="KL of q from p (nats, log scale)",
                title=f"Mean KL, learning rate {lr:g}")
    axes[1].legend(fontsize=10, loc="upper right")
    fig.tight_layout()
    return fig, axes


def print_kl_noise_sums(noise: dict, place: str, title: str,
                        columns: tuple[str, ...] = ("closed-form KL", "sampled KL, alone", "2 × covariance",
                                                    "sampled KL", "sampled / closed")) -> None:
    """The variances of ``gradients.kl_noise_at_outputs_and_weights`` at ``place``, ``noise[stage][place][name]``,
    one row per stage under ``title``, in columns that add up: closed form (the reconstruction's noise), the
    sampled KL's own noise, twice the covariance of the two, their sum (the sampled KL's column) and the ratio
    sampled / closed. The closed-form KL's gradient does not depend on the draws, so Var[closed] is the
    reconstruction's variance, and Var[rec + KL] − Var[rec] − Var[KL] is 2 Cov[rec, KL] exactly (same draws,
    same divisor); ``columns`` are the five headers."""
    widths = [max(len(h), 8) + 3 for h in columns]
    print(title)
    print(f"{'':<20}" + "".join(f"{h:>{w}}" for h, w in zip(columns, widths)))
    for stage, by_place in noise.items():
        closed, sampled, alone = (by_place[place][k].sum().item()
                                  for k in ("closed-form KL", "sampled KL", "sampled KL alone"))
        row = (closed, alone, sampled - closed - alone, sampled, sampled / closed)
        print(f"  {stage:<18}" + "".join(f"{v:>{w}.2f}" for v, w in zip(row, widths)))


def plot_kl_landscape(kl_1d, example: tuple[float, float], level: float = 1.0, label_heights: tuple | None = None,
                      ylim: tuple[float, float] = (0, 6), clear_labels: bool = False):
    """The per-coordinate KL(N(μ, σ²) ‖ N(0, 1)) against σ (left) and over (μ, log σ²) in labelled bands (right),
    with the prior, the ``example`` q and the two points where the ``level``-nat contour crosses μ = 0.
    ``label_heights`` (one log σ² per level 0.5, 1, 2, 4) puts each contour's label where it crosses that height,
    on the left; by default all four sit at log σ² = −1.5. ``ylim``: the left panel's KL range. ``clear_labels``:
    the crossing labels and the prior's label sit off the contour lines (the upper crossing's label in the top band,
    with an arrow; the lower one below its dot; the prior's to the left of its star).
    Returns (fig, axes, (s_low, s_high))."""
    f64 = dict(dtype=torch.float64)
    sigmas = torch.logspace(-2, math.log10(5), 200, **f64)
    fig, axes = plt.subplots(1, 2, figsize=(11.5, 4.4))
    for m in (0.0, 1.0, 2.0):
        axes[0].plot(sigmas, kl_1d(torch.tensor(m, **f64), sigmas), label=rf"$\mu$ = {m:g}")
    axes[0].axvline(1.0, color="grey", lw=0.8, ls=":")
    axes[0].set(xscale="log", ylim=ylim, xlabel=r"$\sigma$ (log scale)", ylabel="KL (nats)",
                title=r"KL against $\sigma$: smallest at $\sigma$ = 1")
    axes[0].legend(fontsize=10, loc="upper center")
    mu_grid, lv_grid = torch.meshgrid(torch.linspace(-3, 3, 241, **f64), torch.linspace(-6, 4, 241, **f64), indexing="xy")
    kl_grid = -0.5 * (1 + lv_grid - mu_grid**2 - lv_grid.exp())
    levels = [0, 0.5, 1, 2, 4, 8]
    band_colors = [matplotlib.colormaps["viridis"](x) for x in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)]  # one distinct colour per band
    contour = axes[1].contourf(mu_grid, lv_grid, kl_grid, levels=levels + [40], colors=band_colors)
    lines = axes[1].contour(mu_grid, lv_grid, kl_grid, levels=levels[1:], linewidths=0.9,
                            colors=["white" if v < 2 else "black" for v in levels[1:]])  # readable on each band
    heights = label_heights or (-1.5,) * 4  # labels where each contour crosses its height, on the left
    spots = [(-math.sqrt(2 * v - (math.exp(at) - 1 - at)), at) for v, at in zip(levels[1:-1], heights)] + [(-2.55, 2.4)]
    labels = axes[1].clabel(lines, fmt="%g", fontsize=10, manual=spots)
    if clear_labels:  # the colour bar names the 8-nat level
        for text in [t for t in labels if t.get_text() == "8"]:
            text.remove()
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
        text = rf"$\log\sigma^2$ = {s:+.2f}".replace("-", "−")
        if not clear_labels:
            axes[1].annotate(text, (0, s), xytext=(-8, 0), textcoords="offset points",
                             ha="right", va="center", fontsize=10, bbox=label_box)
        elif s > 0:  # in the top band, above every contour line, with an arrow down to its dot
            axes[1].annotate(text, (0, s), xytext=(1.5, 3.42), textcoords="data", ha="center", va="center",
                             fontsize=10, bbox=label_box, arrowprops=dict(arrowstyle="->", color="black", lw=1))
        else:  # below its dot, inside the band between the 1- and 2-nat lines
            axes[1].annotate(text, (0, s), xytext=(0, -9), textcoords="offset points", ha="center", va="top",
                             fontsize=10, bbox=label_box)
    axes[1].plot([0], [0], "w*", ms=12, mec="black")
    if clear_labels:  # left of the star, inside the 0.5-nat line
        axes[1].annotate("prior", (0, 0), xytext=(-12, 0), textcoords="offset points", ha="right",
                         va="center", fontsize=10, bbox=label_box)
    else:
        axes[1].annotate("minimum (the prior)", (0, 0), xytext=(8, 6), textcoords="offset points", ha="left",
                         va="bottom", fontsize=10, bbox=label_box)
    axes[1].plot([example[0]], [example[1]], "o", color="tab:red", mec="white", ms=7)
    axes[1].annotate("the example q", example, xytext=(8, -8), textcoords="offset points", ha="left",
                     va="top", fontsize=10, bbox=label_box)
    cbar = fig.colorbar(contour, ax=axes[1], label="KL (nats; uneven levels)", format="%g", ticks=levels)
    cbar.set_ticks(levels + [24], labels=[f"{v:g}" for v in levels] + [f"> {levels[-1]:g}"])  # top band: all above 8
    cbar.add_lines(lines)  # the contour lines on the colour bar too: white at 0.5 and 1, black above
    axes[1].set(xlabel=r"$\mu$", ylabel=r"$\log\sigma^2$",
                title=rf"KL over the encoder's two outputs (dots: {level:g} nat at $\mu$ = 0)")
    fig.tight_layout()
    # the 8-nat label would be clipped at the top edge: drop it, redraw its line whole, label it inside its band
    for text in list(axes[1].texts):
        if text.get_text() == "8":
            text.remove()
    axes[1].contour(mu_grid, lv_grid, kl_grid, levels=[8], linewidths=0.9, colors="black")
    axes[1].text(-1.2, 2.92, "8", ha="center", va="center", fontsize=10)
    for text in axes[1].texts:  # contour labels upright, in black, on a white box, legible on every band
        if text.get_text() in {"0.5", "1", "2", "4", "8"}:
            text.set(rotation=0, color="black", bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    return fig, axes, (s_low, s_high)



# notebook 05 · training the VAE


def plot_training_curves(history, step_losses: torch.Tensor, reference: tuple[str, float] | None = None,
                         ylim: tuple[float, float] | None = None, zoom_from: int = 3, figsize=(9.6, 3.8)):
    """A run read three ways, in nats per image: −ELBO of every step (epoch means at e − ½, test scores at e),
    reconstruction and KL; ``reference`` (label, value) is a dotted line, ``ylim`` frames the −ELBO panel, and an
    inset zooms on the epochs from ``zoom_from`` on. Returns the figure and its three axes."""
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
    axes[0].legend(fontsize=9, loc="upper right", bbox_to_anchor=(1.0, 0.9), labelspacing=0.3)
    for ax in axes:
        ax.set_xlim(0, max(ends, default=1) + 0.4)
    fig.tight_layout()
    axes[2].set_ylim(bottom=0)  # the KL panel from 0, after the layout
    late = [r for r in rows if r["epoch"] >= zoom_from]
    if len(late) > 1:  # in the empty band of the −ELBO panel, below the legend, above the late epochs' steps
        inset = axes[0].inset_axes([0.36, 0.2, 0.6, 0.28])
        inset.plot([r["epoch"] - 0.5 for r in late], [-r["train_elbo"] for r in late], "o-", ms=3)
        inset.plot([r["epoch"] for r in late], [-r["test_elbo"] for r in late], "s--", ms=3)
        inset.text(0.97, 0.92, f"epochs {zoom_from}–{late[-1]['epoch']}, zoomed", transform=inset.transAxes,
                   ha="right", va="top", fontsize=9)
        inset.tick_params(labelsize=9, labelbottom=False)
        inset.grid(alpha=0.3)
    return fig, axes


def plot_gradient_noise(measured: dict, epochs: tuple, batch_size: int, ax=None):
    """Per epoch, one step's gradient signal (squared length of the mean gradient) beside its variance, stacked
    into the part from ε and the part from the images. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4))
    width, top = 0.34, 0.0
    for i, e in enumerate(epochs):
        total, signal = measured[e, "images and eps"][0], measured[e, "images and eps"][-1]  # (variance, ..., signal)
        eps = measured[e, "eps alone"][0]
        top = max(top, total, signal)
        ax.bar(i - width / 2, signal, width, color="tab:green", label="signal: squared length\nof the mean gradient" if i == 0 else None)
        ax.bar(i + width / 2, eps, width, color="tab:orange", label="variance from ε" if i == 0 else None)
        ax.bar(i + width / 2, total - eps, width, bottom=eps, color="tab:blue", label="variance from the images:\ntotal − ε alone" if i == 0 else None)
        ax.text(i - width / 2, signal, f"{signal:.0f}", ha="center", va="bottom", fontsize=9)
        ax.text(i + width / 2, total, f"{total:.0f}", ha="center", va="bottom", fontsize=9)
        ax.text(i + width / 2, eps / 2, f"{eps:.0f}", ha="center", va="center", fontsize=9)
        ax.text(i + width / 2, eps + (total - eps) / 2, f"{total - eps:.0f}", ha="center", va="center", fontsize=9)
    ax.set(xticks=range(len(epochs)), xticklabels=[f"after epoch {e}" for e in epochs], xlim=(-0.6, len(epochs) - 0.4),
           ylim=(0, 1.1 * top), ylabel="squared gradient length,\nsummed over all weights",
           title=f"one step's gradient, {batch_size} images, one z each")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9, frameon=False)  # right of the bars, none hidden
    return ax


def plot_run_log(history, step_losses: torch.Tensor, start: float, reference: tuple[str, float] | None = None,
                 zoom_from: int = 3, figsize=(9.6, 3.8)):
    """Like ``plot_training_curves``, but the −ELBO panel has log axes, so the first epoch's fall from the
    untrained model's test score ``start`` (a square drawn at the first step) is drawn whole; an inset in the
    panel's empty upper right zooms on the epochs from ``zoom_from`` on. Returns the figure and its three axes."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    fig, axes = plot_training_curves(history, step_losses, reference=reference, zoom_from=len(history) + 1,
                                     figsize=figsize)
    ax = axes[0]
    rows = [h.to_dict() if hasattr(h, "to_dict") else dict(h) for h in history]
    first = len(rows) / max(len(step_losses), 1)  # the first step, in epochs
    for line in ax.lines[:1]:
        line.set(lw=0.6, alpha=0.8, color="0.55")
    ax.plot([first], [start], "s", ms=5, color="tab:orange")
    ax.annotate(f"untrained, {start:.1f}\n(drawn at step 1)", (first, start), xytext=(6, -3),
                textcoords="offset points", fontsize=9, va="top")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(first * 0.8, max(r["epoch"] for r in rows) * 1.3)
    ax.set_ylim(90, start * 1.15)
    plain = FuncFormatter(lambda v, _: f"{v:g}")  # 0.01, 0.1, 1, 10 rather than 0.01, 0.10, 1.00, 10.00
    ax.yaxis.set_major_locator(FixedLocator([100, 150, 200, 300, 400, 500]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(plain)
    ax.xaxis.set_major_locator(FixedLocator([0.01, 0.1, 1, 10]))
    ax.xaxis.set_major_formatter(plain)
    ax.set(title="−ELBO (log axes)", xlabel="epoch (log scale)")
    ax.get_legend().remove()  # lines are labelled in place; the markers' legend goes under all three panels
    if reference is not None:
        ax.text(ax.get_xlim()[1] / 1.1, reference[1] * 1.03, f"{reference[0]}, {reference[1]:.1f}", ha="right",
                va="bottom", fontsize=9, color="0.3")
    if len(step_losses):  # above the grey trace, left of where it crosses 150
        ax.text(0.25, 260, "one batch", fontsize=9, color="0.4", ha="right", va="bottom")
    handles, labels = axes[2].get_legend_handles_labels()
    labels = [f"{label} (drawn mid-epoch)" if label.startswith("mean over") else label for label in labels]
    fig.legend(handles, labels, fontsize=9, loc="lower center", ncol=2, frameon=False)
    late = [r for r in rows if r["epoch"] >= zoom_from]
    if len(late) > 1:  # upper right: after the first tenth of an epoch no step is that high
        inset = ax.inset_axes([0.55, 0.6, 0.42, 0.31])
        inset.plot([r["epoch"] - 0.5 for r in late], [-r["train_elbo"] for r in late], "o-", ms=3)
        inset.plot([r["epoch"] for r in late], [-r["test_elbo"] for r in late], "s--", ms=3)
        inset.set_title(f"epochs {zoom_from}–{late[-1]['epoch']}", fontsize=9, pad=2)
        inset.tick_params(labelsize=9, pad=1)
        inset.grid(alpha=0.3)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the panels
    return fig, axes


def run_summary(history, step_losses: torch.Tensor, late_from: int = 5) -> dict:
    """Numbers that describe a run: the first epoch's step mean and test −ELBO, the test gain per epoch over the
    last five epochs, the sd of the last epoch's step losses, and the range of the test KL from epoch
    ``late_from`` on (nan where the run is too short)."""
    nan = float("nan")
    late_kl = [h.test_kl for h in history[late_from - 1:]] or [nan]
    per_epoch = len(step_losses) // max(len(history), 1)
    return {"first_mean": -history[0].train_elbo, "first_test": -history[0].test_elbo,
            "late_gain": (history[-1].test_elbo - history[-6].test_elbo) / 5 if len(history) > 5 else nan,
            "step_sd": float(step_losses[-per_epoch:].std()) if per_epoch > 1 else nan,
            "kl_low": min(late_kl), "kl_high": max(late_kl)}


# notebook 06 · shape experiments


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


def mark_flatten_and_loss_shapes(ax, batch: int, d_in: int = 784):
    """On a ``diagrams.vae_diagram(..., batch=batch)``: name the ``view(-1, d_in)`` step on the first arrow, give
    both loss terms their per-image shape [batch], and keep the loss arcs clear of the image labels. Returns the axes."""
    from matplotlib.patches import FancyArrowPatch

    shape = dict(fontsize=9.5, color="#1f4e79")
    for t in ax.texts:
        if t.get_text().startswith("KL term"):
            t.set_text(t.get_text() + f" → [{batch}]")
        elif t.get_text() == f"[{batch},1,28,28]":
            t.set_position((0.4, 2.52))
    ax.annotate(f"view(-1, {d_in})", xy=(1.17, 1.98), xytext=(1.1, 1.25), ha="left", va="top",
                arrowprops=dict(arrowstyle="-", color="#1f4e79", lw=0.8), **shape)
    for p in ax.patches:  # the two dashed reconstruction arcs: start below the image labels, end beside the text
        if isinstance(p, FancyArrowPatch) and abs(p._posA_posB[0][1] - 1.35) < 1e-6:
            x_start = p._posA_posB[0][0]
            p.set_positions((x_start, 1.02), (1.75 if x_start < 5 else 8.35, -0.12))
    ax.text(5.05, -0.5, f"summed over the {d_in} pixels → [{batch}], one number per image", ha="center", va="top",
            fontsize=10, color="#b03030")
    ax.set_ylim(-0.95, ax.get_ylim()[1])
    return ax


def show_glued_row(ax, row: torch.Tensor, title: str = "", labels=None):
    """One row of 784 values drawn as 28×28, with the seams of the four 14×14 digits it holds (orange: even and
    odd lines; cyan dashed: between digits) and ``labels`` to their right. Returns the axes."""
    ax.imshow(row.detach().cpu().reshape(28, 28), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.axvline(13.5, color="tab:orange", lw=1)
    for line in (6.5, 13.5, 20.5):
        ax.axhline(line, color="tab:cyan", lw=1, ls=(0, (4, 4)))
    for k, label in enumerate(labels or []):
        ax.text(28.3, 3.5 + 7 * k, label, va="center", fontsize=10)
    ax.set_title(title)
    ax.set_xlabel("pixel")
    ax.set_ylabel("pixel")
    return ax


# notebook 08 · likelihood evaluation and importance sampling


def plot_bound_curves(curves: dict, *, labels: dict | None = None, n_images: int | None = None, figsize=(6.5, 3.9),
                      ylabel: str = "mean L_k, nats per image"):
    """Each model's mean bound L_k over the images against k on a log axis,
    ``curves = {model: {k: per-image tensor}}``. Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=figsize)
    for (name, b), marker in zip(curves.items(), "o^sDv"):
        ks = sorted(b)
        ax.plot(ks, [b[k].mean().item() for k in ks], marker + "-", label=(labels or {}).get(name, name))
    ax.set(xscale="log", xlabel="k, importance samples per image", ylabel=ylabel)
    ax.set_title("the bound against k" + (f" ({n_images} test images)" if n_images else ""), fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    return fig, ax


def plot_paired_comparison(a: torch.Tensor, b: torch.Tensor, names: tuple[str, str], differences: dict,
                           reference: dict, reference_label: str = "paper", figsize=(10.6, 4.0),
                           score_label: str = "log p(x) estimate", reference_note: str = ""):
    """Per-image scores of model ``a`` against model ``b`` (left); their differences against k ± paired standard
    error (right), ``differences = {"A − B": {k: per-image tensor}}``, with ``reference = {"A − B": value}``
    printed in the legend ("A − B (paper: +0.29)") and drawn as hollow markers in a shaded strip just right of
    the largest k, labelled ``reference_label`` (and ``reference_note``), not at any k of the axis.
    Returns (fig, (ax_s, ax_d))."""
    se = lambda v: (v.std() / math.sqrt(len(v))).item()  # noqa: E731
    fig, (ax_s, ax_d) = plt.subplots(1, 2, figsize=figsize, gridspec_kw=dict(width_ratios=[4, 5.5]))
    ax_s.plot(b.cpu(), a.cpu(), "o", ms=3, alpha=0.6)
    lo, hi = min(a.min(), b.min()).item() - 5, max(a.max(), b.max()).item() + 5
    ax_s.plot([lo, hi], [lo, hi], color="grey", lw=1, label="equal scores")
    ax_s.set(xlim=(lo, hi), ylim=(lo, hi), aspect="equal", xlabel=f"{names[1]}: {score_label}, nats",
             ylabel=f"{names[0]}: {score_label}, nats")
    ax_s.set_title(f"one dot per test image ({len(a)})", fontsize=10)
    ax_s.legend(fontsize=9, loc="upper left")
    ax_s.grid(alpha=0.3)
    k_max = max(max(d) for d in differences.values())
    has_ref = any(label in reference for label in differences)
    strip = (k_max * 1.8, k_max * 9) if has_ref else None  # the reference strip, right of the largest k
    for (label, d), marker, colour in zip(differences.items(), "^sDvo", ("black", "tab:purple", "tab:olive")):
        ks = sorted(d)
        shown = f"{label} ({reference_label}: {reference[label]:+.2f})" if label in reference else label
        ax_d.errorbar(ks, [d[k].mean().item() for k in ks], yerr=[se(d[k]) for k in ks],
                      fmt=marker + "-", capsize=3, color=colour, label=shown)
        if label in reference:  # its value is in the legend; the marker shows where it lies on the y scale
            ax_d.plot([math.sqrt(strip[0] * strip[1])], [reference[label]], marker, ms=9, mfc="none", mec=colour,
                      mew=1.8, zorder=4)
    ax_d.axhline(0, color="grey", lw=1)
    ax_d.set(xscale="log", xlabel="k, importance samples per image", ylabel="difference, nats per image (± paired SE)")
    ax_d.set_title("differences on the same images", fontsize=10)
    ax_d.grid(alpha=0.3, which="both")
    ax_d.legend(fontsize=9, loc="lower right")
    if has_ref:
        ax_d.set_xlim(0.7, strip[1])
        ax_d.axvspan(*strip, color="0.92", zorder=0)
        decades = [10 ** i for i in range(int(math.log10(k_max)) + 1)]  # no k ticks under the strip
        ax_d.set_xticks(decades, [f"$10^{{{int(math.log10(t))}}}$" for t in decades])
        ax_d.set_xticks([m * t for t in decades for m in range(2, 10) if m * t <= k_max], minor=True)
        ax_d.set_xticklabels([], minor=True)
        lo_y, hi_y = ax_d.get_ylim()
        note = reference_label + (f",\n{reference_note}" if reference_note else "")
        ax_d.annotate(note, (math.sqrt(strip[0] * strip[1]), hi_y - 0.03 * (hi_y - lo_y)), ha="center", va="top",
                      fontsize=9, color="0.3")
    else:
        ax_d.set_xlim(0.7, k_max * 1.5)
    fig.tight_layout()
    return fig, (ax_s, ax_d)


def plot_largest_weights(shares: dict, ks: tuple, figsize=(9.5, 3.4), titles: tuple | None = None):
    """Box plots of the largest normalised importance weight per test image, ``shares = {model: {k: tensor}}``,
    one panel per group size in ``ks`` (one or two); the first panel marks the equal-weights level 1/k where
    k ≤ 100. Returns (fig, axes)."""
    fig, axes = plt.subplots(1, len(ks), figsize=figsize, sharey=True, squeeze=False)
    axes = axes[0]
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
    if ks[0] <= 100:
        axes[0].axhline(1 / ks[0], color="grey", ls="--", lw=1)
        axes[0].annotate(f"1/k: all {ks[0]} equal", (0.55, 1 / ks[0] + 0.02), fontsize=9, color="grey")
    axes[0].set_ylabel("largest normalised weight")
    fig.tight_layout()
    return fig, axes


def plot_missed_mode(joint, q, z_samples: torch.Tensor, bounds: dict, exact: float = 0.0, z_range=(-7.0, 7.0),
                     figsize=(9.5, 3.4), reference: tuple | None = None):
    """A 1-D p(x, z) with a proposal q(z|x) that found one mode of two and a rug of its samples (left), and
    the bound L_k against k flattening below log p(x) (right). Returns (fig, (ax_z, ax_k))."""
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
    ax_k.plot(ks, [bounds[k] for k in ks], "o-", label="$L_k$")
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


def plot_proposal_draws(log_w: dict, colors: dict, *, underflow: float | None = None,
                        underflow_label: str = "≈ −104: $e^a$ rounds\nto 0 in float32", title: str = "",
                        zoom_margin: float = 5.0, left_margin: float = 5.0, figsize=(9.5, 3.6)):
    """One image's log importance weights under two proposals, ``log_w = {label: [K] tensor}``, on log count
    scales: every draw (left, ``left_margin`` nats left of the lowest) and a zoom (right) from ``zoom_margin``
    nats left of the last proposal's lowest draw or of the first one's log p̂(x), whichever is lower, where ▼
    sits on the bar of the first proposal's largest draw (its value in the legend, below the
    panel); dashed lines in each proposal's colour mark its log p̂(x), ``underflow`` a grey line (labelled in the left panel's legend only).
    Returns (fig, axes)."""
    import numpy as np
    from matplotlib.lines import Line2D

    log_mean = {name: (torch.logsumexp(v, 0) - math.log(len(v))).item() for name, v in log_w.items()}
    names = list(log_w)
    first, last = names[0], names[-1]
    right_edge = max([v.max().item() for v in log_w.values()] + ([underflow] if underflow is not None else [])) + 4
    fig, axes = plt.subplots(1, 2, figsize=figsize, gridspec_kw=dict(width_ratios=[5, 4]))
    ranges = ((min(v.min().item() for v in log_w.values()) - 5, right_edge),
              (min(log_w[last].min().item(), log_mean[first]) - zoom_margin, right_edge))
    for ax, (lo, hi), n_bins in zip(axes, ranges, (70, 50)):
        for name in names:
            if name != first:
                style = dict(histtype="stepfilled", lw=0, alpha=0.55)
            else:  # in both panels as solid bars in front of the others, so that its few draws stand out
                style = dict(histtype="stepfilled", lw=0, alpha=1.0, zorder=3)
            ax.hist(log_w[name].cpu().numpy(), bins=n_bins, range=(lo, hi), color=colors[name],
                    label=f"{name}: log p̂(x) = {log_mean[name]:.1f}", **style)
            if ax is axes[1]:  # dashed log p̂(x) lines in the zoom only, where they have room
                ax.axvline(log_mean[name], color=colors[name], ls="--", lw=1.5)
        if underflow is not None:  # labelled in the left panel's legend only
            ax.axvline(underflow, color="dimgrey", lw=1.5, ls=":",
                       label=underflow_label.replace("\n", " ") if ax is axes[0] else None)
        ax.set_xlim(lo - (left_margin - 5.0 if ax is axes[0] else 0.0), hi)
        ax.set_yscale("log")
        ax.set_xlabel("log w, nats")
        ax.grid(alpha=0.3)
    n = len(log_w[last])
    axes[0].set_ylabel(f"draws of {n} (log scale)")
    axes[0].set_title(title or f"{n} draws from each proposal", fontsize=10)
    axes[0].legend(fontsize=9, loc="upper left")
    axes[1].set_ylabel(f"draws of {n} (log scale)")
    axes[1].set_title("zoom on the right end", fontsize=10)
    # the zoom's log count axis starts at 0.5, so that bars of one draw stand clear of the axis; headroom as for
    # counts down to 0.4
    axes[1].update_datalim([(0.0, 0.4)], updatex=False)
    axes[1].autoscale_view(scalex=False)
    axes[1].set_ylim(bottom=0.5)
    # ▼ just above the centre of the bar of the first proposal's largest draw, the draw that nearly sets its
    # estimate; its value in the legend
    lo, hi = ranges[1]
    values = log_w[first].cpu().numpy()
    counts, edges = np.histogram(values, bins=50, range=(lo, hi))
    best = float(values.max())
    i = min(max(np.searchsorted(edges, best, side="right") - 1, 0), len(counts) - 1)
    from matplotlib.transforms import offset_copy
    on_top = offset_copy(axes[1].transData, fig=fig, y=6, units="points")  # the marker's tip on the bar's top
    axes[1].plot([(edges[i] + edges[i + 1]) / 2], [max(counts[i], 1)], "v", ms=10, color=colors[first], zorder=4,
                 transform=on_top, clip_on=False)
    # the legend below the zoom panel, clear of its histograms: ▼ in the first row, each proposal's dashed
    # log p̂(x) in the second (the legend fills its columns first)
    dashed = [Line2D([], [], color=colors[name], ls="--", lw=1.5, label=f"{name.split()[0]}'s log p̂(x)")
              for name in names]
    axes[1].legend(handles=[Line2D([], [], color=colors[first], marker="v", ls="", ms=9,
                                   label=f"largest {first.split()[0]} draw: {best:.1f}".replace("-", "−")),
                            dashed[0], Line2D([], [], ls="", label=" "), *dashed[1:]],
                   fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=2, frameon=False,
                   handlelength=1.2, columnspacing=1.0)
    fig.tight_layout()
    return fig, axes


def plot_weight_shares(panels: dict, posterior_mean: torch.Tensor, posterior_cov: torch.Tensor, title: str = "",
                       figsize=(6.5, 3.9), widths=None, r_max: float = 4.0):
    """Notebook 01: importance weights against the distance from the posterior mean, one colour per proposal:
    ``panels`` maps a label to (z [n, 2], w / p(x) = p(z|x) / q(z|x) [n]), on a log y axis (1 = a draw that alone
    gives p(x)); the x axis is the whitened (Mahalanobis) distance r = ||L^-1 (z - mean)||. ``widths``, if given,
    holds each panel's c (q = N(mean, c² cov)): its exact ratio c^d exp(-r²(1 - 1/c²)/2) is drawn dashed, out to
    ``r_max``. Without ``widths`` the legend sits at the lower left, with them at the upper left.
    Returns (fig, ax)."""
    fig, ax = plt.subplots(figsize=figsize)
    precision = torch.linalg.inv(posterior_cov)
    colors = ("tab:blue", "tab:red", "tab:green", "tab:purple")
    for (label, (z, ratio)), color in zip(panels.items(), colors):
        offset = (z - posterior_mean).unsqueeze(-1)
        distance = (offset.mT @ precision @ offset).flatten().sqrt()
        ax.scatter(distance, ratio, s=10, color=color, alpha=0.7, label=label)
    if widths is not None:
        d = posterior_mean.shape[-1]
        r = torch.linspace(0, r_max, 200, dtype=torch.float64)
        for c, color in zip(widths, colors):
            curve = c**d * torch.exp(-r**2 * (1 - 1 / c**2) / 2)
            ax.plot(r, curve, color=color, ls="--", lw=1.2)
        ax.plot([], [], color="0.3", ls="--", lw=1.2, label="dashed: exact ratio $c^d e^{-r^2(1 - 1/c^2)/2}$")
    ax.axhline(1.0, color="gray", ls=":", lw=1.2, label="w = p(x): this draw alone gives p(x)")
    ax.set_yscale("log")
    ax.margins(y=0.08)
    low, high = ax.get_ylim()
    steps = (0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if high < 100 else (0.01, 0.1, 1, 10, 100, 1_000, 10_000)
    ticks = [t for t in steps if low <= t <= high]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.yaxis.set_minor_formatter(plt.NullFormatter())
    ax.set(xlabel="whitened distance of the draw from the posterior mean, $r = \\|L^{-1}(z - \\mu)\\|$",
           ylabel="w / p(x) = p(z|x) / q(z|x)", title=title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left" if widths is None else "upper left", fontsize=9)
    fig.tight_layout()
    return fig, ax
