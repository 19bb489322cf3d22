"""Tools for looking at a trained VAE's latent space (notebook 07 · 探索潜空间).

The notebook keeps the ideas in its cells; the plumbing is here: a leave-one-out nearest-neighbour vote on
codes, the log density of the aggregate posterior (a mixture of the encoder Gaussians), ELBO surgery, the
rescaling of one latent coordinate, and the figures' drawing code.
"""

from __future__ import annotations

import copy
import math

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Ellipse
from torch.distributions import Normal

from . import losses

__all__ = ["activity_figure", "blur_by_neighbourhood", "confusion_matrix", "decoded_manifold_figure", "elbo_surgery", "information_estimate", "interpolation_figure", "intro_figure",
           "knn_predict", "mixture_log_density", "model_minus_control", "plot_code_grid", "plot_codes", "plot_confusion", "plot_log_ratio", "prior_side_table",
           "hole_density_figure", "holes_figure", "lesson_models", "log_ratio_figure", "nearest_digit_similarity", "outer_ellipse_legend", "print_surgery", "similarity_by_quarter", "prior_regions_legend", "prior_shaped_control", "prior_side_test", "prior_shaped_means",
           "rescaled", "spread_indices", "vote"]


def vote(near: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """[M]: the majority label of each row of ``near`` [M, k] (labels of the k nearest codes, nearest first).

    A tie goes to the tied label whose member comes first in the row, i.e. the nearest one (``torch.mode`` would
    give it to the smallest label, which biases the vote towards small digits).
    """
    counts = torch.nn.functional.one_hot(near, classes).sum(1)  # [M, classes]
    is_top = counts.gather(1, near) == counts.max(1, keepdim=True).values  # [M, k]: neighbour's label is a top label
    return near.gather(1, is_top.float().argmax(1, keepdim=True)).squeeze(1)  # argmax: the first True


def knn_predict(codes: torch.Tensor, labels: torch.Tensor, k: int, chunk: int = 1000) -> torch.Tensor:
    """Leave-one-out k-nearest-neighbour vote: each code gets the majority label of its k nearest *other* codes
    (ties to the nearest tied neighbour, see ``vote``)."""
    predicted = []
    for start in range(0, len(codes), chunk):
        dist = torch.cdist(codes[start:start + chunk], codes)
        dist[torch.arange(len(dist)), torch.arange(start, start + len(dist))] = float("inf")  # not itself
        predicted.append(vote(labels[dist.topk(k, largest=False).indices]))  # topk sorts: nearest first
    return torch.cat(predicted)


def confusion_matrix(true: torch.Tensor, predicted: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """[classes, classes]: row c holds the shares of class c's images given each label (rows add up to 1)."""
    counts = torch.zeros(classes, classes)
    counts.index_put_((true.cpu(), predicted.cpu()), torch.ones(len(true)), accumulate=True)
    return counts / counts.sum(1, keepdim=True)


def mixture_log_density(z: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """[M]: log q(z_m) for the mixture q(z) = (1/N) Σₙ N(z; μₙ, diag σₙ²); z [M, d], mu and log_var [N, d].

    The [M, N] component log densities come from matrix products (the square (z - μ)² / σ² expanded), so that
    20-D mixtures of thousands of components stay quick; then a log-sum-exp per code, minus log N.
    """
    inv = torch.exp(-log_var)  # 1 / σ², [N, d]
    square = z.pow(2) @ inv.T - 2 * z @ (mu * inv).T + (mu.pow(2) * inv).sum(1)  # [M, N]
    log_components = -0.5 * (square + log_var.sum(1) + mu.shape[1] * math.log(2 * math.pi))
    return torch.logsumexp(log_components, dim=1) - math.log(mu.shape[0])


def elbo_surgery(mu: torch.Tensor, log_var: torch.Tensor, samples: int, seed: int) -> dict:
    """Hoffman & Johnson's split of the average KL term for the mixture q(z) of the N encoder Gaussians.

    Returns the average KL (closed form), KL(q(z) ‖ p(z)) by Monte Carlo over ``samples`` draws from each
    q(z|xₙ) with its standard error, I(x; z) as their difference and I(x; z) estimated directly.
    """
    mu, log_var = mu.double(), log_var.double()
    std = log_var.mul(0.5).exp()
    g = torch.Generator().manual_seed(seed)
    marginal, information = [], []
    for _ in range(samples):
        z = mu + std * torch.randn(mu.shape, generator=g, dtype=torch.float64).to(mu.device)  # zₙ ~ q(z|xₙ)
        log_mix = mixture_log_density(z, mu, log_var)
        marginal.append(log_mix - Normal(0.0, 1.0).log_prob(z).sum(1))  # log q(z) - log p(z)
        information.append(Normal(mu, std).log_prob(z).sum(1) - log_mix)  # log q(z|xₙ) - log q(z)
    average_kl = float(losses.gaussian_kl(mu, log_var).mean())
    marginal = torch.stack(marginal).mean(0)
    return {"kl": average_kl, "info": average_kl - float(marginal.mean()), "marginal": float(marginal.mean()),
            "marginal_se": float(marginal.std() / math.sqrt(len(mu))), "info_direct": float(torch.stack(information).mean())}


def information_estimate(mu: torch.Tensor, log_var: torch.Tensor, draws: int, seed: int, chunk: int = 250) -> float:
    """I(x; z) of the mixture of all N encoder Gaussians, estimated directly: the average of
    log q(z|xₙ) − log q_N(z) over ``draws`` codes, each from the Gaussian of a random image n. For large N (the
    60000 training images), where ``elbo_surgery``'s draws from every image would be slow."""
    mu, log_var = mu.double(), log_var.double()
    g = torch.Generator().manual_seed(seed)
    k = torch.randint(0, len(mu), (draws,), generator=g).to(mu.device)
    std = log_var[k].mul(0.5).exp()
    z = mu[k] + std * torch.randn(draws, mu.shape[1], generator=g, dtype=torch.float64).to(mu.device)
    log_mix = torch.cat([mixture_log_density(z[i:i + chunk], mu, log_var) for i in range(0, draws, chunk)])
    return float((Normal(mu[k], std).log_prob(z).sum(1) - log_mix).mean())


def rescaled(model, c: torch.Tensor):
    """The same VAE with z_j multiplied by c_j in the encoder and divided by c_j in the decoder's first layer."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        out.fc_mu.weight.mul_(c[:, None])
        out.fc_mu.bias.mul_(c)
        out.fc_log_var.bias.add_(2 * c.log())
        out.decoder[0][0].weight.div_(c)  # Linear(z_dim, h_dim): column j divided by c_j
    return out


def spread_indices(codes: torch.Tensor, labels: torch.Tensor, quantile: float = 0.8, own_region_k: int = 0) -> torch.Tensor:
    """Two indices per class, spread over the cloud: the code nearest to the class's median code, and the code
    at the given quantile of the class's distances from that median (a typical outer member). With
    ``own_region_k`` > 0 the outer member is chosen among the codes whose ``own_region_k`` nearest other codes
    vote their own class, so that it sits in its class's region rather than in another's."""
    codes, labels, chosen = codes.cpu(), labels.cpu(), []
    own = knn_predict(codes, labels, own_region_k) == labels if own_region_k else torch.ones(len(labels), dtype=torch.bool)
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        dist = (codes[members] - codes[members].median(0).values).norm(dim=1)
        target = torch.quantile(dist, quantile)
        outer = torch.where(own[members], (dist - target).abs(), torch.tensor(float("inf")))
        chosen += [int(members[dist.argmin()]), int(members[outer.argmin()])]
    return torch.tensor(chosen)


def _label_offsets(medians: torch.Tensor, min_gap: float, shift: tuple) -> list:
    """Where to write each class's label: at its median, or, when an earlier class's median lies within
    ``min_gap``, shifted by ``shift`` (drawn with a leader line)."""
    places = []
    for c, m in enumerate(medians.tolist()):
        crowded = any(float((medians[c] - medians[d]).norm()) < min_gap for d in range(c))
        places.append((m[0] + shift[0], m[1] + shift[1]) if crowded else None)
    return places


def _free_label_places(medians: torch.Tensor, reach: float) -> list:
    """For each median, a label position ``reach`` away from it, in the one of 16 directions that keeps farthest
    from the other medians and from the labels already placed (so that no label covers a median)."""
    taken, places = [m for m in medians.tolist()], []
    for m in medians.tolist():
        best = max(((m[0] + reach * math.cos(a), m[1] + reach * math.sin(a)) for a in
                    (2 * math.pi * i / 16 for i in range(16))),
                   key=lambda p: min(math.dist(p, q) for q in taken if q != m))
        places.append(best)
        taken.append(best)
    return places


def plot_codes(ax, mu: torch.Tensor, labels: torch.Tensor, shown: torch.Tensor, ellipses: torch.Tensor,
               sd: torch.Tensor, edge: float, *, boxed: bool = False, thin: torch.Tensor | None = None,
               marked: bool = False, colors: dict | None = None, dot_size: float = 5, label_reach: float = 0.5,
               alpha: float = 0.6, ellipse_digits: bool = False) -> None:
    """Scatter of encoder means coloured by label, each class's median code written as its digit, 2σ ellipses in
    the class colour, the prior's circles (radius 1 and 2) and square.

    With ``boxed`` the points are smaller and fainter and drawn in the order of ``shown`` (no class hides under a
    later one), and each median's digit sits in a white box edged in the class colour, shifted labels with a
    visible leader to a dot at the median. ``colors`` (class → colour) overrides tab10 for the classes it names;
    ``dot_size`` is the boxed scatter's marker size, ``alpha`` its opacity, and ``label_reach`` how far a marked
    median's digit sits from it. With ``ellipse_digits`` each 2σ ellipse gets its class's digit at its upper right."""
    from matplotlib import patheffects

    mu, labels, sd = mu.cpu(), labels.cpu(), sd.cpu()

    def colour(c):
        return (colors or {}).get(int(c), plt.cm.tab10(int(c)))

    if boxed:  # one scatter in random order; empty scatters give the legend its colours
        ax.scatter(mu[shown, 0], mu[shown, 1], s=dot_size, c=[colour(c) for c in labels[shown]], alpha=alpha,
                   linewidths=0)
    for c in range(10):  # one scatter per class, so that the legend shows the colours
        members = shown[labels[shown] == c]
        ax.scatter([] if boxed else mu[members, 0], [] if boxed else mu[members, 1], s=6, color=colour(c),
                   alpha=0.6, label=str(c))
    for i in ellipses.tolist():  # the encoder Gaussian q(z|x): an ellipse of two standard deviations
        ax.add_patch(Ellipse(mu[i].tolist(), 4 * float(sd[i, 0]), 4 * float(sd[i, 1]), fill=False,
                             color=colour(labels[i]), lw=1.6, zorder=4,
                             path_effects=[patheffects.withStroke(linewidth=2.6, foreground="black")]))
        if ellipse_digits:
            corner = (mu[i] + 1.6 * sd[i] + 0.12).tolist()  # just outside the ellipse's upper right
            ax.text(*corner, str(int(labels[i])), color=colour(labels[i]), fontsize=11, fontweight="bold", ha="center",
                    va="center", zorder=9, path_effects=[patheffects.withStroke(linewidth=2.5, foreground="black")])
    for i in ([] if thin is None else thin.tolist()):  # thin ellipses: e.g. the image nearest each median
        ax.add_patch(Ellipse(mu[i].tolist(), 4 * float(sd[i, 0]), 4 * float(sd[i, 1]), fill=False,
                             color=colour(labels[i]), lw=1.8, zorder=6))
    outline = [patheffects.withStroke(linewidth=3, foreground="white")]
    medians = torch.stack([mu[labels == c].median(0).values for c in range(10)])
    if marked:  # each median a small dot; its digit beside it, in a translucent box that covers no median
        for c, place in enumerate(_free_label_places(medians, label_reach)):
            m = medians[c].tolist()
            ax.plot(*m, "o", color=colour(c), markeredgecolor="white", markeredgewidth=1.2, markersize=7, zorder=8)
            ax.annotate(str(c), m, xytext=place, color="black", fontsize=12, fontweight="bold", ha="center",
                        va="center", zorder=7, bbox=dict(boxstyle="round,pad=0.1", fc="white", ec=colour(c),
                                                         lw=1.5, alpha=0.6),
                        arrowprops=dict(arrowstyle="-", color="black", lw=0.8, shrinkA=0, shrinkB=3, zorder=6))
    for c, place in enumerate([] if marked else _label_offsets(medians, 0.3, (0.75, -0.55))):  # median as its digit
        m = medians[c].tolist()
        if boxed:
            if place:
                ax.plot(*m, "o", color="black", markersize=4, zorder=8)
            ax.annotate(str(c), m, xytext=place or m, color="black", fontsize=13, fontweight="bold", ha="center",
                        va="center", zorder=7, bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=colour(c), lw=2.5),
                        arrowprops=dict(arrowstyle="-", color="black", lw=1.6, shrinkA=0, shrinkB=2, zorder=6)
                        if place else None)
            continue
        ax.annotate(str(c), m, xytext=place or m, color=colour(c), fontsize=15, fontweight="bold", ha="center",
                    va="center", zorder=5, path_effects=outline,
                    arrowprops=dict(arrowstyle="-", color="black", lw=0.8, shrinkA=6, zorder=5) if place else None)
    for radius in (1, 2):
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="black", linewidth=1))
    ax.add_patch(plt.Rectangle((-edge, -edge), 2 * edge, 2 * edge, fill=False, linestyle=":", color="black", lw=1.5))
    ax.legend(title="label", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=11, markerscale=4)
    ax.set(aspect="equal", xlabel="$z_1$", ylabel="$z_2$")


def plot_confusion(confusion: torch.Tensor, ax, xlabel: str, title: str) -> None:
    """Row-normalised confusion matrix in per cent; colours show only the off-diagonal (misassigned) shares."""
    off = confusion - torch.diag(confusion.diag())
    ax.imshow(off, cmap="Blues", vmin=0, vmax=0.3)
    for i in range(10):
        for j in range(10):
            if i == j or confusion[i, j] >= 0.005:
                ax.text(j, i, f"{100 * confusion[i, j]:.0f}", ha="center", va="center", fontsize=10,
                        fontweight="bold" if i == j else "normal", color="white" if off[i, j] > 0.15 else "black")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10), [f"{c} ({100 * confusion[c, c]:.0f} % kept)" for c in range(10)])
    ax.set(xlabel=xlabel, ylabel="true label (share that keeps its label)", title=title)


def plot_code_grid(ax, images: torch.Tensor, axis: list[torch.Tensor], medians: torch.Tensor, edge: float,
                   ring: tuple = (14, 2.2, 3.5), exact_square: bool = False, label_shift: dict | None = None) -> None:
    """Decoded images on an even grid of codes (row by row from the top), drawn at their coordinates, with the
    class medians as hollow rings and the prior's central square (|z_j| ≤ edge) in yellow: framing the tiles whose
    centres lie inside it, or with ``exact_square`` the square itself in data coordinates. ``label_shift`` (class →
    (dx, dy) in points) moves the labels it names away from their default place."""
    n = len(axis[0])
    step = [float(a[1] - a[0]) for a in axis]
    picture = torch.cat([torch.cat(list(row[:, 0]), 1) for row in images.cpu().view(n, n, 1, 28, 28)], 0)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1,
              extent=(float(axis[0][0]) - step[0] / 2, float(axis[0][-1]) + step[0] / 2,
                      float(axis[1][0]) - step[1] / 2, float(axis[1][-1]) + step[1] / 2))
    from matplotlib import patheffects

    inside = [a[a.abs() <= edge] for a in axis]  # the tile centres within the prior's central square
    corner = [float(a.min()) - s / 2 for a, s in zip(inside, step)]  # frame drawn between the tiles, not across them
    if exact_square:
        ax.add_patch(plt.Rectangle((-edge, -edge), 2 * edge, 2 * edge, fill=False, linestyle=":", color="yellow", lw=2.5))
    else:
        ax.add_patch(plt.Rectangle(corner, float(inside[0].max() - inside[0].min()) + step[0],
                                   float(inside[1].max() - inside[1].min()) + step[1], fill=False, linestyle=":",
                                   color="yellow", lw=2.5))
    outline = [patheffects.withStroke(linewidth=3.5, foreground="black")]
    size, width, stroke = ring  # the rings' marker size, line width and black outline width
    for c, place in enumerate(_label_offsets(medians, 0.3, (0.0, -0.3))):  # rings labelled with their digit
        m = medians[c].tolist()
        ax.plot(*m, "o", markerfacecolor="none", markeredgecolor="white", markersize=size, markeredgewidth=width,
                path_effects=[patheffects.withStroke(linewidth=stroke, foreground="black")])
        shift = (label_shift or {}).get(c, (10, -12) if place else (10, 4))
        ax.annotate(str(c), m, xytext=shift, textcoords="offset points", color="white",
                    fontsize=13, fontweight="bold", path_effects=outline)
    ax.set(xlabel="$z_1$", ylabel="$z_2$")


@torch.no_grad()
def blur_by_neighbourhood(images: torch.Tensor, grid_z: torch.Tensor, codes: torch.Tensor, labels: torch.Tensor,
                          k: int, radius: float) -> dict:
    """Per grid point: the grey share of the decoded image's ink (pixels above 0.2 that are below 0.8), the purity
    of its neighbourhood (the majority class's share of the k nearest codes), the number of codes within
    ``radius`` and the majority class."""
    images = images.cpu()
    inked = (images > 0.2).float().sum((1, 2, 3))
    grey = ((images > 0.2) & (images < 0.8)).float().sum((1, 2, 3)) / inked
    dist = torch.cdist(grid_z, codes)
    near = labels[dist.topk(k, largest=False).indices]
    majority = torch.mode(near, 1).values
    purity = (near == majority[:, None]).float().mean(1)
    return {"grey": grey, "purity": purity.cpu(), "density": (dist < radius).sum(1).float().cpu(),
            "majority": majority.cpu()}


def intro_figure(images: torch.Tensor, labels: torch.Tensor, model, h_dim: int, seed: int, compare: int = 0):
    """The lesson's first figure: twelve test digits on top; below, the VAE drawn with the first digit, the
    model's reconstruction of it and its decoding of one draw from the prior.

    With ``compare`` > 0 the top row instead shows the first ``compare`` test digits, their reconstructions and
    the decodings of ``compare`` prior draws (the diagram's draw is the first of them), in three labelled groups."""
    from . import diagrams, plotting

    if compare:
        return _intro_compare_figure(images, model, h_dim, seed, compare)
    fig = plt.figure(figsize=(11, 5.6))
    strip = fig.add_axes([0.08, 0.8, 0.84, 0.17])
    plotting.show_labelled_grid(images[:12], 12, [str(int(c)) for c in labels[:12]], [], "label", "", "", ax=strip,
                                fontsize=10)
    with torch.no_grad():
        recon = plotting.sample_images(model, model.encode(images[:1])[0])[0, 0].cpu()
        prior = torch.randn(1, model.z_dim, generator=torch.Generator().manual_seed(seed))
        drawn = plotting.sample_images(model, prior.to(images.device))[0, 0].cpu()
    diagrams.vae_diagram(plotting.as_images(images[:1])[0, 0].cpu(), recon, dims=(784, h_dim, model.z_dim),
                         ax=fig.add_axes([0, 0, 1, 0.76]), recon_label="reconstruction", generation=True,
                         sample_image=drawn, sample_label="from the prior")
    return fig


def _intro_compare_figure(images: torch.Tensor, model, h_dim: int, seed: int, k: int):
    """``intro_figure`` with ``compare`` = k: k test digits | their reconstructions | k decoded prior draws."""
    from . import diagrams, plotting

    with torch.no_grad():
        recon = plotting.sample_images(model, model.encode(images[:k])[0]).cpu()
        prior = torch.randn(k, model.z_dim, generator=torch.Generator().manual_seed(seed))
        drawn = plotting.sample_images(model, prior.to(images.device)).cpu()
    groups = [("test digits $x$", plotting.as_images(images[:k]).cpu(), "black"),
              ("their reconstructions", recon, "black"), ("decoded draws $z \\sim N(0, I)$", drawn, "tab:green")]
    fig = plt.figure(figsize=(11, 6.4))
    side, gap, between = 0.068, 0.006, 0.04  # tile width in figure units; the tiles are square on the 11 x 6.4 figure
    width = k * (side + gap) - gap
    for g, (title, tiles, colour) in enumerate(groups):
        left = (1 - 3 * width - 2 * between) / 2 + g * (width + between)
        for i in range(k):
            ax = fig.add_axes([left + i * (side + gap), 0.77, side, side * 11 / 6.4])
            ax.imshow(tiles[i, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set(color=colour, linewidth=2 if colour != "black" else 1, linestyle="--" if colour != "black" else "-")
        fig.text(left + width / 2, 0.77 + side * 11 / 6.4 + 0.015, title, ha="center", fontsize=12,
                 color=colour)
    diagrams.vae_diagram(plotting.as_images(images[:1])[0, 0].cpu(), recon[0, 0], dims=(784, h_dim, model.z_dim),
                         ax=fig.add_axes([0, 0, 1, 0.72]), recon_label="reconstruction", generation=True,
                         sample_image=drawn[0, 0], sample_label="from the prior")
    return fig


def decoded_manifold_figure(model, images: torch.Tensor, axis: list[torch.Tensor], medians: torch.Tensor,
                            edge: float, title_color: str | None = None, ring: tuple = (14, 2.2, 3.5),
                            exact_square: bool = False, label_shift: dict | None = None):
    """The decoded manifold (``plot_code_grid``, ``exact_square`` and ``label_shift`` passed on) with, below it, the decoder's image at
    each class's median code, titled in the class's colour, or in ``title_color`` when given."""
    from . import plotting

    fig = plt.figure(figsize=(9.4, 9.6))
    ax = fig.add_axes([0.09, 0.2, 0.86, 0.76])
    plot_code_grid(ax, images, axis, medians, edge, ring, exact_square, label_shift)
    ax.set(aspect="auto", title="2-D model: the decoder on an even grid over the codes")
    device = next(model.parameters()).device
    for c in range(10):  # the strip: the decoder at each class's median code
        tile = fig.add_axes([0.12 + 0.083 * c, 0.015, 0.075, 0.1])
        tile.imshow(plotting.sample_images(model, medians[c:c + 1].to(device))[0, 0].cpu(), cmap="gray", vmin=0, vmax=1)
        tile.set_xticks([]), tile.set_yticks([])
        tile.set_title(f"{c}s", fontsize=11, color=title_color or plt.cm.tab10(c), fontweight="bold")
    fig.text(0.005, 0.065, "decoder at\neach class's\nmedian code", fontsize=10, va="center")
    return fig


def prior_shaped_control(mu: torch.Tensor, log_var: torch.Tensor, samples: int, seed: int) -> dict:
    """ELBO surgery of a control cloud: each image keeps its encoder variances, but the means are redrawn from
    N(0, diag(1 − E_n σ_j²)), so that the mixture has the prior's mean and covariance (and, for many images, nearly
    its shape). Returns ``elbo_surgery``'s dict with I(x; z) from its direct estimate, which is steadier here than
    the Monte Carlo KL (whose rare far draws from the widest Gaussians make it heavy-tailed), and
    KL(q_N ‖ p) = average KL − I."""
    mu, log_var = mu.double(), log_var.double()
    spread = (1 - log_var.exp().mean(0)).clamp_min(0).sqrt()  # the means' standard deviation per coordinate
    means = torch.randn(mu.shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * spread
    out = elbo_surgery(means.to(mu.device), log_var, samples, seed + 1)
    return {**out, "info": out["info_direct"], "marginal": out["kl"] - out["info_direct"]}


def print_surgery(split: dict, elbo: dict, n: int) -> None:
    """The ELBO surgery as a table: per row (model or control), ELBO = −(reconstruction + KL term) where ``elbo``
    has the row, then KL term = I(x; z) + KL(q_N ‖ p) from ``split`` (``elbo_surgery``'s dicts), in nats per image."""
    width = max(9, *(len(name) for name in split))
    print(f"the first N = {n} test images, log N = {math.log(n):.2f} nats; all in nats per image")
    print(f"{'':>{width}} | {'ELBO':>7} = -({'recon':>6} + {'KL term':>7}) | {'KL term':>7} = {'I(n;z)':>6} + {'KL(q_N||p)':>10}")
    for name, r in split.items():
        h = elbo.get(name)
        left = f"{h['elbo']:>7.1f} = -({h['recon']:>6.1f} + {h['kl']:>7.2f})" if h else f"{'(no decoder)':>29}"
        spread = f" ± {r['marginal_se']:.2f}" if name in elbo else ""
        print(f"{name:>{width}} | {left} | {r['kl']:>7.2f} = {r['info']:>6.2f} + {r['marginal']:>6.2f}{spread}")


def plot_log_ratio(ax, ratios: dict, xlabel: str) -> None:
    """Overlaid histograms of log q(z) − log p(z), one per group of draws (label → [M] tensor), medians dashed."""
    values = torch.cat([r.cpu() for r in ratios.values()])
    bins = torch.linspace(float(values.min()), float(values.max()), 41).tolist()
    for (label, r), color in zip(ratios.items(), ("tab:red", "tab:blue", "tab:green")):
        ax.hist(r.cpu().numpy(), bins=bins, alpha=0.55, color=color, label=f"{label} (median {float(r.median()):.1f})")
        ax.axvline(float(r.median()), color=color, linestyle="--", linewidth=1.5)
    ax.axvline(0, color="black", linewidth=1, label="0: densities q(z) = p(z)")
    ax.set(xlabel=xlabel, ylabel="draws per bin")
    ax.legend(fontsize=10, loc="upper left")


def prior_shaped_means(log_var: torch.Tensor, seed: int) -> torch.Tensor:
    """[N, d] means for the encoder variances exp(log_var) [N, d], drawn from N(0, diag(1 − E_n σ_j²)): the mixture
    of N(meanₙ, σₙ²) then has the prior's mean and covariance (``prior_shaped_control``'s recipe, for any N)."""
    spread = (1 - log_var.exp().mean(0)).clamp_min(0).sqrt()  # the means' standard deviation per coordinate
    return torch.randn(log_var.shape, generator=torch.Generator().manual_seed(seed), dtype=log_var.dtype).to(
        log_var.device) * spread


def log_ratio_figure(panels: dict, xlabel: str, zero_label: str = "0: the two densities are equal",
                     quantile: float | None = None, xmin: float | None = None, tidy: bool = False, means: bool = True):
    """One row of overlaid histograms per panel (title → {label → [M] tensor of log q(z) − log p(z)}), on shared
    bins, each group's mean quoted in the legend.

    With ``quantile`` each panel also draws the second group's ``quantile`` as a solid line, labelled with the
    share of the first group left of it; with ``xmin`` the axis starts there and each panel counts the draws
    left of it (they are not drawn). With ``tidy`` the second group is drawn as an outline (no third colour where
    the two overlap), each panel's legend sits right of its axes, clear of the bars, and the count left of ``xmin``
    sits higher, clear of the bars and naming the groups it counts. With ``means=False`` the legend quotes no means."""
    values = torch.cat([r.cpu() for ratios in panels.values() for r in ratios.values()])
    low = float(values.min()) if xmin is None else xmin
    bins = torch.linspace(low, float(values.max()), 51).tolist()
    fig, axes = plt.subplots(len(panels), 1, figsize=(10.5 if tidy else 8, 2.6 * len(panels) + 0.6), sharex=True)
    for ax, (title, ratios) in zip(axes, panels.items()):
        for (label, r), color in zip(ratios.items(), ("tab:red", "tab:blue")):
            mean = float(r.mean())  # quoted in the legend only: a line would crowd the quantile's
            outline = tidy and color == "tab:blue"
            ax.hist(r.cpu().numpy(), bins=bins, alpha=1.0 if outline else 0.55, color=color,
                    label=f"{label} (mean {mean:.1f})" if means else label,
                    **({"histtype": "step", "linewidth": 1.8} if outline else {}))
        if quantile is not None:
            first, second = (r.cpu() for r in ratios.values())
            cut = float(torch.quantile(second, quantile))
            ax.axvline(cut, color="black", linestyle="-.", linewidth=1.5,
                       label=f"{quantile:.0%} quantile of {list(ratios)[1]}:\n{float((first < cut).float().mean()):.0%} of {list(ratios)[0]} left of it")
        if xmin is not None:
            hidden = sum(int((r.cpu() < xmin).sum()) for r in ratios.values())
            note = f"← {hidden} below {xmin:g}"
            if tidy:
                named = ", ".join(f"{int((r.cpu() < xmin).sum())} {label}" for label, r in ratios.items()
                                  if int((r.cpu() < xmin).sum()))
                note = f"← {named or 'no draws'} below {xmin:g}, not drawn"
            ax.text(0.005, 0.3 if tidy else 0.03, note, transform=ax.transAxes, fontsize=9)
        ax.axvline(0, color="black", linewidth=1, label=zero_label)
        ax.set(ylabel="count per bin", title=title)  # prior draws and held-out codes alike
        ax.legend(fontsize=10, loc="upper left", **({"bbox_to_anchor": (1.01, 1.0)} if tidy else {}))
    axes[-1].set_xlabel(xlabel)
    if xmin is not None:
        axes[-1].set_xlim(left=xmin)
    fig.tight_layout()
    return fig


def lesson_models(settings: dict, runs_dir, reuse: bool = True, **run_config) -> tuple[dict, dict]:
    """Train (or load from ``runs_dir``) one VAE per entry of ``settings`` (name → (z_dim, kl_weight)), the other
    ``config.RunConfig`` fields from ``run_config``; print one line per model; return (models, histories)."""
    from . import config, runs

    models, histories = {}, {}
    for name, (z_dim, beta) in settings.items():
        cfg = config.validate(config.RunConfig(z_dim=z_dim, kl_weight=beta, **run_config))
        models[name], histories[name], loaded = runs.train_or_load(cfg, runs_dir, f"z{z_dim}-beta{beta:g}", reuse=reuse)
        print(f"{name:>9}: {'loaded' if loaded else 'trained'} ({cfg.epochs} epochs); "
              f"test ELBO {histories[name][-1].test_elbo:.1f} nats/image")
    return models, histories


def prior_regions_legend(ax, edge: float, ellipses: bool = False, below: bool = False) -> None:
    """A second legend (lower right; with ``below``, under the axes, clear of the data) for ``plot_codes``' dashed
    circles and dotted square, with the prior's mass inside each: P(‖z‖ ≤ r) = 1 − exp(−r²/2) in 2-D, and
    (2Φ(edge) − 1)² for the square. With ``ellipses`` it also names ``plot_codes``' thin ellipses (the image nearest
    each class's median) and thick ones (an outer image)."""
    from matplotlib.lines import Line2D

    from matplotlib.legend import Legend

    inside = [1 - math.exp(-r * r / 2) for r in (1, 2)]
    square = float(2 * Normal(0.0, 1.0).cdf(torch.tensor(edge)) - 1) ** 2
    handles = [Line2D([], [], color="black", linestyle="--", lw=1), Line2D([], [], color="black", linestyle=":", lw=1.5)]
    labels = [f"circles r = 1, 2: {inside[0]:.0%}, {inside[1]:.0%} of p(z)", f"square |z_j| ≤ {edge:.2f}: {square:.0%} of p(z)"]
    place = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.1), "ncol": 2} if below else {"loc": "lower right"}
    legend = ax.add_artist(Legend(ax, handles, labels, fontsize=10, **place))  # the class legend stays ax's own
    legend.set_clip_on(False)  # drawn outside the axes too (below)
    if ellipses:  # two more entries in plot_codes' class legend (outside the axes)
        from matplotlib import patheffects

        marks = [Line2D([], [], color="grey", lw=1.8),
                 Line2D([], [], color="grey", lw=2, path_effects=[patheffects.withStroke(linewidth=4.5, foreground="black")])]
        old_handles, old_labels = ax.get_legend_handles_labels()
        ax.legend(old_handles + marks, old_labels + ["2σ, image\nnearest the\nmedian", "2σ, an outer\nimage"], title="label",
                  loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=11, markerscale=4, handlelength=1.6)


def outer_ellipse_legend(ax, label: str = "2σ of q(z|x) for\none image far\nfrom its median") -> None:
    """Add one entry to ``plot_codes``' class legend (outside the axes, right) for its black-edged 2σ ellipses."""
    from matplotlib import patheffects
    from matplotlib.lines import Line2D

    mark = Line2D([], [], color="grey", lw=1.6, path_effects=[patheffects.withStroke(linewidth=2.6, foreground="black")])
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles + [mark], labels + [label], title="label", loc="center left", bbox_to_anchor=(1.01, 0.5),
              fontsize=11, markerscale=4, handlelength=1.6)


def prior_side_test(model, images: torch.Tensor, held: int, draws: int, generator: torch.Generator,
                    seed: int) -> tuple[dict, callable]:
    """Notebook 07's test from the prior's side: do prior draws land where the codes of real digits are rare?

    The mixture q_M holds the encoder Gaussians of ``images[held:]``. Scored by log q_M(z) − log p(z) are ``draws``
    prior draws and ``draws`` codes, each drawn from the Gaussian of a random one of the first ``held`` images (held
    out of the mixture, so that no code meets its own Gaussian). The prior-shaped control repeats this with every
    image's widths kept and the means redrawn (``prior_shaped_means``). The prior draws, the held-out images and the
    model's held-out codes come from ``generator``; the control's codes from ``seed`` + 3. Returns
    ({"model": {"prior draws": [draws], "held-out codes": [draws]}, "prior-shaped control": {...}}, log_ratio),
    where log_ratio(z) scores any float64 codes [M, d] under the model's mixture."""
    with torch.no_grad():
        held_mu, held_log_var = (v.double() for v in model.encode(images[:held]))
        mix_mu, mix_log_var = (v.double() for v in model.encode(images[held:]))
    device, d = mix_mu.device, mix_mu.shape[1]
    k = torch.randint(0, held, (draws,), generator=generator).to(device)
    z_prior = torch.randn(draws, d, generator=generator, dtype=torch.float64).to(device)

    def score(z, means):  # log q_M(z) − log p(z) for the mixture with these means and the mixture images' widths
        return mixture_log_density(z, means, mix_log_var) - Normal(0.0, 1.0).log_prob(z).sum(1)

    def held_out_codes(means, gen):  # one draw from the Gaussian of each chosen held-out image
        noise = torch.randn(draws, d, generator=gen, dtype=torch.float64).to(device)
        return means[k] + held_log_var[k].mul(0.5).exp() * noise

    fake = prior_shaped_means(torch.cat([held_log_var, mix_log_var]), seed)  # the control: same widths, new means
    ratios = {"model": {"prior draws": score(z_prior, mix_mu), "held-out codes": score(held_out_codes(held_mu, generator), mix_mu)},
              "prior-shaped control": {"prior draws": score(z_prior, fake[held:]), "held-out codes":
                                       score(held_out_codes(fake[:held], torch.Generator().manual_seed(seed + 3)), fake[held:])}}
    return ratios, lambda z: score(z, mix_mu)


def prior_side_table(rows: dict, quantile: float = 0.05, gap: bool = True) -> dict:
    """Print, per row (name → ``prior_side_test``'s {"prior draws": [M], "held-out codes": [M]}), the share of prior
    draws that score below the held-out codes' ``quantile`` (a statistic that needs no calibration of the mixture)
    and, with ``gap``, the gap between the two groups' mean scores; return {name: (share, gap)}."""
    out = {}
    print(f"{'':>20} | {'prior draws below the':>26}" + (f" | {'mean gap,':>9}" if gap else ""))
    print(f"{'':>20} | {f'held-out codes {quantile:.0%} quantile':>26}" + (f" | {'nats':>9}" if gap else ""))
    for name, r in rows.items():
        p, q = r["prior draws"].cpu(), r["held-out codes"].cpu()
        out[name] = (float((p < torch.quantile(q, quantile)).float().mean()), float(q.mean() - p.mean()))
        print(f"{name:>20} | {out[name][0]:>26.0%}" + (f" | {out[name][1]:>9.1f}" if gap else ""))
    return out


def interpolation_figure(model, paths: list, start: torch.Tensor, end: torch.Tensor, pairs: list, t: torch.Tensor,
                         title: str, blend_pair: tuple | None = None):
    """Notebook 07's interpolation figure: one row per path (codes [steps, d], decoded by ``model``), labelled by its
    pair of digits, and a last row that blends the pixels of two images ``start`` and ``end`` with the weights
    ``t`` [steps] of the columns, labelled by ``blend_pair`` (default: the first pair)."""
    from . import plotting

    rows = [plotting.sample_images(model, path) for path in paths]
    w = t.reshape(-1, 1, 1, 1)
    blend = plotting.as_images((1 - w) * start + w * end)
    a, b = blend_pair or pairs[0]
    return plotting.show_labelled_grid(torch.cat(rows + [blend]), len(t), [f"{v:.2f}" for v in t.tolist()],
                                       [f"{p} → {q}" for p, q in pairs] + [f"pixels {a} → {b}"], "t", "pair", title,
                                       figsize=(9, 5.4), fontsize=10)


def activity_figure(stats: dict, threshold: float = 1e-2, kl_threshold: float = 0.1):
    """One marker per latent dimension: its average KL_j against its activity A_j = Var_x μ_j(x), one panel per model
    of ``stats`` (name → {"kl": [d], "activity": [d]}, at most two models; shared axes, filled markers), with Burda et
    al.'s threshold dashed and the KL count's threshold ``kl_threshold`` dotted. Returns (fig, axes)."""
    fig, axes = plt.subplots(1, len(stats), figsize=(5.6 * len(stats), 4.8), sharex=True, sharey=True, squeeze=False)
    axes = axes[0]
    for ax, (name, s), color, marker in zip(axes, stats.items(), ("tab:blue", "tab:orange"), ("o", "s")):
        ax.scatter(s["kl"], s["activity"], color=color, edgecolors="black", marker=marker, s=42, linewidths=0.6,
                   alpha=0.85, zorder=3)
        ax.set_title(f"{name}: {int((s['kl'] > kl_threshold).sum())} dimensions with $\\mathrm{{KL}}_j > {kl_threshold:g}$,"
                     f"\n{int((s['activity'] > threshold).sum())} with $A_j > 10^{{-2}}$", fontsize=10)
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
        ax.axvline(kl_threshold, color="black", linestyle=":", linewidth=1.2)
        ax.set(xscale="log", yscale="log", xlabel="average $\\mathrm{KL}_j$ of dimension $j$, nats")
    axes[0].set_ylabel("activity $A_j = \\mathrm{Var}_x\\,\\mu_j(x)$")
    ax = axes[-1]
    ax.text(1.12 * kl_threshold, 0.85 * threshold,  # right of the dotted line
            "$A_j = 10^{-2}$:\nBurda et al.'s threshold", fontsize=9.5, va="top")
    ax.text(1.12 * kl_threshold, 0.62, f"$\\mathrm{{KL}}_j = {kl_threshold:g}$ nats:\nthe KL count's threshold",
            fontsize=9.5, va="top", transform=ax.get_xaxis_transform())
    fig.tight_layout()
    return fig, axes


@torch.no_grad()
def nearest_digit_similarity(images: torch.Tensor, references: torch.Tensor, chunk: int = 500) -> torch.Tensor:
    """[M]: for each image, the cosine similarity of its pixels to those of the most similar reference image
    (1: the same picture up to brightness). A measure of how much a decoded image looks like some real digit."""
    refs = torch.nn.functional.normalize(references.flatten(1).float(), dim=1)
    flat = torch.nn.functional.normalize(images.flatten(1).float().to(refs.device), dim=1)
    return torch.cat([(flat[i:i + chunk] @ refs.T).max(1).values for i in range(0, len(flat), chunk)]).cpu()


def holes_figure(rows: dict, similarity: dict, per_row: int = 10, title: str | None = None):
    """Notebook 07's decoded prior draws: one row of ``per_row`` images per group (label → images [≥ per_row, 1, 28,
    28]), each row labelled with its group's mean ``similarity`` (label → [M] tensor, ``nearest_digit_similarity``)
    ± its standard error."""
    from . import plotting

    images = torch.cat([v[:per_row].cpu() for v in rows.values()])
    labels = [f"{k}\nsimilarity {float(similarity[k].mean()):.2f}"
              f" ± {float(similarity[k].std() / len(similarity[k]) ** 0.5):.1g}" for k in rows]
    fig, ax = plt.subplots(figsize=(11.5, 1.35 * len(rows) + 0.9))
    plotting.show_labelled_grid(images, per_row, [], labels, "", "", title, ax=ax, fontsize=10)
    ax.set_xticks([])
    ax.tick_params(axis="y", length=0)  # the row labels need no tick marks
    fig.tight_layout()
    return fig


def hole_density_figure(codes: torch.Tensor, draws: torch.Tensor, in_hole: torch.Tensor, edge: float, title: str,
                        among_style: dict | None = None, legend_outside: bool = False):
    """Notebook 07's holes in 2-D: the density of the encoder means ``codes`` [N, 2] as grey hexagons (darker: more
    codes), the prior draws ``draws`` [M, 2] on top, small solid blue dots where they land among the codes and
    small red crosses where ``in_hole`` [M] is true, the prior's circles of radius 1 and 2 and its square
    |z_j| ≤ ``edge``. ``among_style`` overrides the scatter settings of the draws among the codes (e.g. size, colour);
    ``legend_outside`` puts the legend below the axes, clear of every point."""
    from matplotlib.patches import Patch

    codes, draws, in_hole = codes.cpu(), draws.cpu(), in_hole.cpu()
    fig, ax = plt.subplots(figsize=(7.5, 8.0) if legend_outside else (7.5, 6.5))
    ax.hexbin(codes[:, 0], codes[:, 1], gridsize=72, cmap="Greys", bins="log", mincnt=1, linewidths=0.2, edgecolors="face",
              extent=(-4, 4, -4.2, 4.2), zorder=1, alpha=0.65)  # light enough for the draws on top to show
    ax.scatter(draws[~in_hole, 0], draws[~in_hole, 1], **{"s": 6, "color": "tab:blue", "linewidths": 0, "alpha": 0.75,
               **(among_style or {})}, zorder=2,
               label=f"prior draws among the codes ({int((~in_hole).sum())})")
    ax.scatter(draws[in_hole, 0], draws[in_hole, 1], s=16, marker="x", color="tab:red", linewidths=1, zorder=3,
               label=f"prior draws in holes ({int(in_hole.sum())})")
    for radius in (1, 2):
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="black", linewidth=1, zorder=4))
    ax.add_patch(plt.Rectangle((-edge, -edge), 2 * edge, 2 * edge, fill=False, linestyle=":", color="black", lw=1.5,
                               zorder=4))
    handles, labels = ax.get_legend_handles_labels()
    ax.legend([Patch(color="0.45", alpha=0.65)] + handles, [f"codes of {len(codes)} test images\n(darker: denser)"] + labels,
              fontsize=10, markerscale=2.5, framealpha=0.9,
              **({"loc": "upper center", "bbox_to_anchor": (0.5, -0.1), "ncol": 2} if legend_outside else {"loc": "lower right"}))
    ax.set(aspect="equal", xlabel="$z_1$", ylabel="$z_2$", title=title, xlim=(-4, 4), ylim=(-4.2, 4.2))
    return fig, ax


@torch.no_grad()
def similarity_by_quarter(model, z_sorted: torch.Tensor, references: torch.Tensor, parts: int = 4) -> tuple[list, float]:
    """Decode codes ``z_sorted`` [M, d], sorted by a score from lowest to highest, and measure each decoded image's
    ``nearest_digit_similarity`` to ``references``. Returns the similarities split into ``parts`` equal groups in
    score order (lowest first), and Spearman's rank correlation between score rank and similarity over all M."""
    from . import plotting

    sim = nearest_digit_similarity(plotting.sample_images(model, z_sorted), references).double()
    rank = sim.argsort().argsort().double()  # the rank of each similarity; the score's rank is the position
    position = torch.arange(len(sim), dtype=torch.float64)
    rho = float(torch.corrcoef(torch.stack([position, rank]))[0, 1])
    return list(sim.float().chunk(parts)), rho


def model_minus_control(model, mixture_images: torch.Tensor, held_images: torch.Tensor, sizes: tuple, draws: int,
                        seed: int) -> dict:
    """Notebook 07's check of the model-minus-control calibration: for each N of ``sizes``, the mixture of the encoder
    Gaussians of the first N ``mixture_images`` scores ``draws`` held-out codes (each from the Gaussian of a random one
    of ``held_images``) and ``draws`` prior draws by log q_N(z) − log p(z); the prior-shaped control
    (``prior_shaped_means``, same widths) scores its own held-out codes and the same prior draws. Prints one row per N
    with the model's mean score minus the control's, for each group; returns {N: (held-out difference, prior
    difference)}."""
    with torch.no_grad():
        mix_mu, mix_log_var = (v.double() for v in model.encode(mixture_images))
        held_mu, held_log_var = (v.double() for v in model.encode(held_images))
    g = torch.Generator().manual_seed(seed)
    device, d = mix_mu.device, mix_mu.shape[1]
    k = torch.randint(0, len(held_mu), (draws,), generator=g).to(device)
    width = held_log_var[k].mul(0.5).exp()
    held = held_mu[k] + width * torch.randn(draws, d, generator=g, dtype=torch.float64).to(device)
    prior = torch.randn(draws, d, generator=g, dtype=torch.float64).to(device)
    fake = prior_shaped_means(torch.cat([held_log_var, mix_log_var]), seed)  # the control's means: held, then mixture
    fake_held = fake[:len(held_mu)][k] + width * torch.randn(draws, d, generator=g, dtype=torch.float64).to(device)
    log_p = lambda z: Normal(0.0, 1.0).log_prob(z).sum(1)  # noqa: E731
    out = {}
    print(f"{'mixture size N':>14} | {'held-out codes':>14} | {'prior draws':>11}   (model's mean score minus the control's, nats)")
    for n in sizes:
        def score(z, means):
            return float((mixture_log_density(z, means[:n], mix_log_var[:n]) - log_p(z)).mean())
        out[n] = (score(held, mix_mu) - score(fake_held, fake[len(held_mu):]),
                  score(prior, mix_mu) - score(prior, fake[len(held_mu):]))
        print(f"{n:>14} | {out[n][0]:>14.1f} | {out[n][1]:>11.1f}")
    return out


def zoom_codes(ax, mu: torch.Tensor, labels: torch.Tensor, shown: torch.Tensor, half: float = 1.3,
               dot_size: float = 14, alpha: float = 0.7, label_shift: dict | None = None) -> None:
    """``plot_codes``' scatter, zoomed to the square |z_1|, |z_2| < ``half``: larger points, drawn in the order of
    ``shown``, each class's median (over all codes) written as its digit where it falls inside (``label_shift``:
    class → (dx, dy) moves a digit off a neighbour's); the radius-1 circle."""
    mu, labels, shown = mu.cpu(), labels.cpu(), shown.cpu()
    keep = shown[(mu[shown].abs() < half).all(1)]
    ax.scatter(mu[keep, 0], mu[keep, 1], s=dot_size, c=[plt.cm.tab10(int(c)) for c in labels[keep]], alpha=alpha,
               linewidths=0)
    for c in range(10):
        m = mu[labels == c].median(0).values
        if bool((m.abs() < half).all()):
            dx, dy = (label_shift or {}).get(c, (0, 0))
            ax.text(float(m[0]) + dx, float(m[1]) + dy, str(c), fontsize=13, fontweight="bold", ha="center", va="center", zorder=7,
                    bbox=dict(boxstyle="round,pad=0.15", fc="white", ec=plt.cm.tab10(c), lw=2, alpha=0.85))
    ax.add_patch(plt.Circle((0, 0), 1, fill=False, linestyle="--", color="black", linewidth=1))
    ax.set(xlim=(-half, half), ylim=(-half, half), aspect="equal", xlabel="$z_1$", ylabel="$z_2$",
           title=f"the centre, $|z_1|, |z_2| < {half:g}$, larger points")


def spikiness_figure(n: int = 20, sigma: float = 0.02):
    """Section 5's spikiness in 1-D: the prior p = N(0, 1) against a mixture q_N of ``n`` Gaussians of width
    ``sigma`` whose means sit at the ``n`` quantiles (i + ½)/n of N(0, 1 − σ²), so that q_N has about the prior's
    mean and variance; top their densities, bottom log q_N − log p. The title gives KL(q_N ‖ p), by numerical
    integration. Deterministic."""
    levels = (torch.arange(n, dtype=torch.float64) + 0.5) / n
    means = Normal(0.0, 1.0).icdf(levels) * math.sqrt(1 - sigma ** 2)
    z = torch.linspace(-4, 4, 20001, dtype=torch.float64)
    log_p = Normal(0.0, 1.0).log_prob(z)
    log_q = torch.logsumexp(Normal(means[:, None], sigma).log_prob(z), 0) - math.log(n)
    kl = float((log_q.exp() * (log_q - log_p)).sum() * (z[1] - z[0]))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 5.4), sharex=True)
    top.plot(z, log_q.exp(), color="tab:red", lw=1, label=f"$q_N$: {n} Gaussians of $\\sigma = {sigma:g}$, means at the prior's quantiles")
    top.plot(z, log_p.exp(), color="black", lw=2, label="prior $p = N(0, 1)$")
    top.set(ylabel="density", title=f"1-D example: $\\mathrm{{KL}}(q_N\\,\\|\\,p) = {kl:.1f}$ nats, $\\log N = {math.log(n):.1f}$")
    top.set_ylim(0, 1.45)  # the legend clear of the bumps
    top.legend(fontsize=10, loc="upper left")
    bottom.plot(z, (log_q - log_p).clamp_min(-12), color="tab:red", lw=1)
    bottom.axhline(0, color="black", lw=1, label="0: $q_N(z) = p(z)$")
    bottom.set(ylabel="$\\log q_N(z) - \\log p(z)$,\nnats (clipped at −12)", xlabel="$z$", ylim=(-12.5, 6))
    bottom.legend(fontsize=10, loc="lower left")
    fig.tight_layout()
    return fig
