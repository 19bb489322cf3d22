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

__all__ = ["blur_by_neighbourhood", "confusion_matrix", "elbo_surgery", "knn_predict", "mixture_log_density",
           "plot_code_grid", "plot_codes", "plot_confusion", "rescaled", "spread_indices"]


def knn_predict(codes: torch.Tensor, labels: torch.Tensor, k: int, chunk: int = 1000) -> torch.Tensor:
    """Leave-one-out k-nearest-neighbour vote: each code gets the majority label of its k nearest *other* codes."""
    predicted = []
    for start in range(0, len(codes), chunk):
        dist = torch.cdist(codes[start:start + chunk], codes)
        dist[torch.arange(len(dist)), torch.arange(start, start + len(dist))] = float("inf")  # not itself
        predicted.append(torch.mode(labels[dist.topk(k, largest=False).indices], dim=1).values)
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


def rescaled(model, c: torch.Tensor):
    """The same VAE with z_j multiplied by c_j in the encoder and divided by c_j in the decoder's first layer."""
    out = copy.deepcopy(model)
    with torch.no_grad():
        out.fc_mu.weight.mul_(c[:, None])
        out.fc_mu.bias.mul_(c)
        out.fc_log_var.bias.add_(2 * c.log())
        out.decoder[0][0].weight.div_(c)  # Linear(z_dim, h_dim): column j divided by c_j
    return out


def spread_indices(codes: torch.Tensor, labels: torch.Tensor, quantile: float = 0.8) -> torch.Tensor:
    """Two indices per class, spread over the cloud: the code nearest to the class's median code, and the code
    at the given quantile of the class's distances from that median (a typical outer member)."""
    codes, labels, chosen = codes.cpu(), labels.cpu(), []
    for c in labels.unique().tolist():
        members = (labels == c).nonzero().flatten()
        dist = (codes[members] - codes[members].median(0).values).norm(dim=1)
        target = torch.quantile(dist, quantile)
        chosen += [int(members[dist.argmin()]), int(members[(dist - target).abs().argmin()])]
    return torch.tensor(chosen)


def plot_codes(ax, mu: torch.Tensor, labels: torch.Tensor, shown: torch.Tensor, ellipses: torch.Tensor,
               sd: torch.Tensor, edge: float) -> None:
    """Scatter of encoder means coloured by label, class medians, 2σ ellipses, the prior's circles and square."""
    mu, labels, sd = mu.cpu(), labels.cpu(), sd.cpu()
    ax.scatter(mu[shown, 0], mu[shown, 1], s=4, c=plt.cm.tab10(labels[shown].numpy()), alpha=0.6)
    for i in ellipses.tolist():  # the encoder Gaussian q(z|x): an ellipse of two standard deviations
        ax.add_patch(Ellipse(mu[i].tolist(), 4 * float(sd[i, 0]), 4 * float(sd[i, 1]), fill=False, color="0.15",
                             lw=1.3, zorder=3))
    for c in range(10):  # each class's median code, a large dot (the legend's marker)
        ax.plot(*mu[labels == c].median(0).values.tolist(), "o", color=plt.cm.tab10(c), markersize=10,
                markeredgecolor="black", label=str(c), zorder=5)
    for radius in (1, 2):
        ax.add_patch(plt.Circle((0, 0), radius, fill=False, linestyle="--", color="black", linewidth=1))
    ax.add_patch(plt.Rectangle((-edge, -edge), 2 * edge, 2 * edge, fill=False, linestyle=":", color="black", lw=1.5))
    ax.legend(title="label\n(median)", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=11)
    ax.set(aspect="equal", xlabel="$z_1$", ylabel="$z_2$")


def plot_confusion(confusion: torch.Tensor, ax, xlabel: str, title: str) -> None:
    """Row-normalised confusion matrix in per cent; colours show only the off-diagonal shares."""
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


def plot_code_grid(ax, images: torch.Tensor, axis: list[torch.Tensor], medians: torch.Tensor, edge: float) -> None:
    """Decoded images on an even grid of codes (row by row from the top), drawn at their coordinates, with the
    class medians as dots and the prior's central square (|z_j| ≤ edge) in yellow."""
    n = len(axis[0])
    step = [float(a[1] - a[0]) for a in axis]
    picture = torch.cat([torch.cat(list(row[:, 0]), 1) for row in images.cpu().view(n, n, 1, 28, 28)], 0)
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1,
              extent=(float(axis[0][0]) - step[0] / 2, float(axis[0][-1]) + step[0] / 2,
                      float(axis[1][0]) - step[1] / 2, float(axis[1][-1]) + step[1] / 2))
    ax.add_patch(plt.Rectangle((-edge, -edge), 2 * edge, 2 * edge, fill=False, linestyle=":", color="yellow", lw=2))
    for c in range(10):
        ax.plot(*medians[c].tolist(), "o", color=plt.cm.tab10(c), markersize=10, markeredgecolor="black", label=str(c))
    ax.legend(title="class\nmedian", loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=11, borderaxespad=0)
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
