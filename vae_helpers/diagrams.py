"""Pictures of the model, drawn by code: the VAE's data flow and the latent-variable model's graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

ENCODER, DECODER, NOISE, LOSS = "#dbe9f6", "#fde0c5", "#e8e8e8", "#b03030"


def _box(ax, x, y, w, h, text, color, size=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="#333333", lw=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=size)


def _arrow(ax, start, end, color="#333333", style="-|>", dashed=False, rad=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=14, color=color, lw=1.4,
                                 linestyle="--" if dashed else "-", connectionstyle=f"arc3,rad={rad}",
                                 shrinkA=2, shrinkB=2))


def _image(ax, image, x, y, size, label):
    if image is None:
        _box(ax, x, y, size, size, label, "white")
        return
    ax.imshow(image, cmap="gray_r", vmin=0, vmax=1, extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2),
              zorder=3)
    ax.add_patch(Rectangle((x - size / 2, y - size / 2), size, size, fill=False, ec="#333333", lw=1, zorder=4))
    ax.text(x, y - size / 2 - 0.12, label, ha="center", va="top", fontsize=10)


def vae_diagram(x_image=None, recon_image=None, dims=(784, 400, 20), ax=None, losses=True):
    """Encoder → μ, σ → z = μ + σ·ε → decoder, with the two loss terms; optional digit images ([28, 28])."""
    d_in, d_hidden, d_z = dims
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 3.6))
    _image(ax, x_image, 0.55, 2.0, 0.9, "input $x$")
    _box(ax, 2.2, 2.0, 1.55, 1.1, f"encoder\n$q_\\phi(z\\mid x)$\n{d_in}→{d_hidden}→{d_z}×2", ENCODER)
    _box(ax, 4.05, 2.55, 0.95, 0.5, "$\\mu$", ENCODER, 11)
    _box(ax, 4.05, 1.45, 0.95, 0.5, "$\\log\\sigma^2$", ENCODER, 11)
    _box(ax, 5.9, 2.0, 1.45, 0.75, "$z = \\mu + \\sigma\\odot\\varepsilon$", "white", 11)
    _box(ax, 5.9, 0.55, 1.45, 0.5, "$\\varepsilon\\sim\\mathcal{N}(0, I)$", NOISE, 10)
    _box(ax, 7.85, 2.0, 1.55, 1.1, f"decoder\n$p_\\theta(x\\mid z)$\n{d_z}→{d_hidden}→{d_in}", DECODER)
    _image(ax, recon_image, 9.55, 2.0, 0.9, "Bernoulli means")
    _arrow(ax, (1.0, 2.0), (1.42, 2.0))
    _arrow(ax, (2.98, 2.2), (3.57, 2.55))
    _arrow(ax, (2.98, 1.8), (3.57, 1.45))
    _arrow(ax, (4.53, 2.55), (5.17, 2.15))
    _arrow(ax, (4.53, 1.45), (5.17, 1.85))
    _arrow(ax, (5.9, 0.8), (5.9, 1.62))
    _arrow(ax, (6.63, 2.0), (7.07, 2.0))
    _arrow(ax, (8.63, 2.0), (9.1, 2.0))
    ax.text(6.85, 2.12, "$z$", fontsize=10, ha="center", va="bottom")
    if losses:
        ax.text(4.05, 3.45, "KL term: $\\mathrm{KL}(q_\\phi(z\\mid x)\\,\\|\\,\\mathcal{N}(0, I))$ in closed form",
                ha="center", fontsize=10, color=LOSS)
        _arrow(ax, (4.05, 2.8), (4.05, 3.35), color=LOSS, dashed=True)
        ax.text(5.05, -0.25, "reconstruction term: $-\\log p_\\theta(x\\mid z)$, input against output",
                ha="center", fontsize=10, color=LOSS)
        _arrow(ax, (0.55, 1.35), (2.0, -0.2), color=LOSS, dashed=True, rad=0.25)
        _arrow(ax, (9.55, 1.35), (8.1, -0.2), color=LOSS, dashed=True, rad=-0.25)
    ax.set_xlim(-0.1, 10.2)
    ax.set_ylim(-0.6 if losses else 0.1, 3.8 if losses else 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def graphical_model(ax=None, inference=True, n_label="N images"):
    """The latent-variable model p(z) p(x|z) as a graph: z → x in a plate over the data; q(z|x) dashed."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.2))
    ax.add_patch(Rectangle((0.25, 0.15), 2.3, 2.7, fill=False, ec="#333333", lw=1.2))
    ax.text(2.45, 0.25, n_label, ha="right", va="bottom", fontsize=10)
    ax.add_patch(Circle((1.4, 2.2), 0.38, fc="white", ec="#333333", lw=1.5))
    ax.text(1.4, 2.2, "$z$", ha="center", va="center", fontsize=14)
    ax.add_patch(Circle((1.4, 0.85), 0.38, fc="#bbbbbb", ec="#333333", lw=1.5))
    ax.text(1.4, 0.85, "$x$", ha="center", va="center", fontsize=14)
    _arrow(ax, (1.4, 1.8), (1.4, 1.25))
    ax.text(3.35, 1.52, "$\\theta$", ha="center", va="center", fontsize=13)
    _arrow(ax, (3.2, 1.45), (1.8, 1.0))
    ax.text(1.95, 2.2, "$p(z) = \\mathcal{N}(0, I)$", ha="left", va="center", fontsize=10)
    ax.text(1.82, 1.47, "$p_\\theta(x\\mid z)$", ha="left", va="center", fontsize=10)
    if inference:
        ax.text(-0.55, 1.52, "$\\phi$", ha="center", va="center", fontsize=13)
        _arrow(ax, (1.0, 0.95), (1.0, 2.1), dashed=True, rad=-0.5)
        _arrow(ax, (-0.4, 1.55), (0.78, 1.55), dashed=True)
        ax.text(-0.5, 1.1, "$q_\\phi(z\\mid x)$", ha="center", va="top", fontsize=10)
    ax.set_xlim(-1.0, 3.7)
    ax.set_ylim(0.0, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
