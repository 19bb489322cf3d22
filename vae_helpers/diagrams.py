"""Pictures of the model, drawn by code: the VAE's data flow (dense and convolutional), the latent-variable model's
graph, the IWAE's two objectives."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

ENCODER, DECODER, NOISE, LOSS, GENERATE = "#dbe9f6", "#fde0c5", "#e8e8e8", "#b03030", "#2a7a2a"


# drawing helpers


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
    # white strokes on black, as MNIST stores them and as every grid of the series shows them
    ax.imshow(image, cmap="gray", vmin=0, vmax=1, extent=(x - size / 2, x + size / 2, y - size / 2, y + size / 2),
              zorder=3, interpolation="nearest")
    ax.add_patch(Rectangle((x - size / 2, y - size / 2), size, size, fill=False, ec="#333333", lw=1, zorder=4))
    ax.text(x, y - size / 2 - 0.12, label, ha="center", va="top", fontsize=10)


# the model, drawn in many lessons


def vae_diagram(x_image=None, recon_image=None, dims=(784, 400, 20), ax=None, losses=True,
                recon_label="Bernoulli means", generation=False, sample_image=None, sample_label="new image",
                batch=None, tile=0.9, kl_note="in closed form"):
    """The VAE's data flow: encoder → μ, log σ² → z = μ + σ·ε → decoder, with the two loss terms, optional
    digit images ([28, 28], ``tile`` units wide: the boxes are 1.1 high), the path that generates new images
    (``generation``) and tensor shapes (``batch``). ``kl_note`` follows the KL term's formula ("" for none).
    Returns the axes."""
    d_in, d_hidden, d_z = dims
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4.6 if generation else 3.6))
    x_in, x_out = 1.0 - tile / 2, 9.15 + tile / 2  # the tiles' centres: their inner edges stay put
    _image(ax, x_image, x_in, 2.0, tile, "input $x$")
    _box(ax, 2.25, 2.0, 1.82, 1.1, f"encoder\n$q_\\phi(z\\mid x)$\n{d_in}→{d_hidden}→2×{d_z}", ENCODER)
    _box(ax, 4.05, 2.55, 0.95, 0.5, "$\\mu$", ENCODER, 11)
    _box(ax, 4.05, 1.45, 0.95, 0.5, "$\\log\\sigma^2$", ENCODER, 11)
    _box(ax, 5.9, 2.0, 1.6, 0.75, "$z = \\mu + \\sigma\\odot\\varepsilon$", "white", 11)
    _box(ax, 5.9, 0.55, 1.45, 0.5, "$\\varepsilon\\sim\\mathcal{N}(0, I)$", NOISE, 10)
    _box(ax, 7.85, 2.0, 1.7, 1.1, f"decoder\n$p_\\theta(x\\mid z)$\n{d_z}→{d_hidden}→{d_in}", DECODER)
    _image(ax, recon_image, x_out, 2.0, tile, recon_label)
    _arrow(ax, (1.0, 2.0), (1.32, 2.0))
    _arrow(ax, (3.18, 2.2), (3.57, 2.55))
    _arrow(ax, (3.18, 1.8), (3.57, 1.45))
    _arrow(ax, (4.53, 2.55), (5.1, 2.15))
    _arrow(ax, (4.53, 1.45), (5.1, 1.85))
    _arrow(ax, (5.9, 0.8), (5.9, 1.62))
    _arrow(ax, (6.7, 2.0), (6.98, 2.0))
    _arrow(ax, (8.72, 2.0), (9.13, 2.0))
    ax.text(6.84, 2.12, "$z$", fontsize=10, ha="center", va="bottom")
    if batch is not None:
        shape = dict(fontsize=9.5, color="#1f4e79", ha="center")
        ax.text(0.55, 2.52, f"[{batch},1,28,28]", va="bottom", **shape)
        ax.text(2.25, 2.62, f"[{batch},{d_in}]→[{batch},{d_hidden}]", va="bottom", **shape)
        ax.text(4.05, 1.0, f"[{batch},{d_z}] each", va="top", **shape)
        ax.text(5.9, 2.45, f"[{batch},{d_z}]", va="bottom", **shape)
        ax.text(7.85, 2.62, f"→[{batch},{d_in}] logits", va="bottom", **shape)
    top = 3.8 if losses else 3.0
    if generation:
        # to make a new image, skip the encoder: a code from the prior goes straight into the decoder
        ax.add_patch(FancyBboxPatch((7.0, 3.05), 1.7, 0.78, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    fc="white", ec=GENERATE, lw=1.4, ls="--"))
        ax.text(7.85, 3.44, "to generate:\n$z\\sim\\mathcal{N}(0, I)$", ha="center", va="center", fontsize=10,
                color=GENERATE, linespacing=1.5)
        _arrow(ax, (7.85, 3.03), (7.85, 2.6), color=GENERATE, dashed=True)
        if sample_image is not None:
            # what the decoder makes of the new code, above the reconstruction
            _arrow(ax, (8.72, 2.45), (9.2, 3.05), color=GENERATE, dashed=True)
            ax.imshow(sample_image, cmap="gray", vmin=0, vmax=1, extent=(9.2, 10.1, 3.0, 3.9), zorder=3,
                      interpolation="nearest")
            ax.add_patch(Rectangle((9.2, 3.0), 0.9, 0.9, fill=False, ec=GENERATE, lw=1.4, ls="--", zorder=4))
            ax.text(9.65, 3.95, sample_label, ha="center", va="bottom", fontsize=10, color=GENERATE)
        top = 4.3
    if losses:
        # the KL term depends on both outputs of the encoder: a dashed frame around μ and log σ²
        ax.add_patch(FancyBboxPatch((3.5, 1.12), 1.1, 1.76, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    fill=False, ec=LOSS, lw=1.2, ls="--"))
        ax.text(4.05, 3.45, f"KL term: $\\mathrm{{KL}}(q_\\phi(z\\mid x)\\,\\|\\,\\mathcal{{N}}(0, I))$ {kl_note}".rstrip(),
                ha="center", fontsize=10, color=LOSS)
        _arrow(ax, (4.05, 2.92), (4.05, 3.35), color=LOSS, dashed=True)
        ax.text(5.05, -0.25, "reconstruction loss: $-\\log p_\\theta(x\\mid z)$, input against output",
                ha="center", fontsize=10, color=LOSS)
        below = 2.0 - tile / 2 - 0.2  # under the tiles' labels
        _arrow(ax, (x_in, below), (2.0, -0.2), color=LOSS, dashed=True, rad=0.25)
        _arrow(ax, (x_out, below), (8.1, -0.2), color=LOSS, dashed=True, rad=-0.25)
    ax.set_xlim(min(-0.1, 0.9 - tile), max(10.3, 9.25 + tile))
    ax.set_ylim(-0.6 if losses else 0.1, top)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def graphical_model(ax=None, encoder=True, indexed=False, q_label_outside=False, q_label_by_arc=False):
    """The latent-variable model p(z) p(x|z) as a graph: z → x in a plate over the data, θ on the edge; with
    ``encoder`` also q_φ(z|x) as a dashed arc; ``indexed`` writes the nodes z_n, x_n with the plate's index;
    ``q_label_outside`` writes q_φ(z|x) left of the plate, under φ's arrow, instead of over the plate's edge;
    ``q_label_by_arc`` writes it beside the dashed arc, inside the plate, with φ's arrow meeting the arc's middle."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4))
    if indexed:
        z, x, prior, likelihood = "$z_n$", "$x_n$", "$p(z_n) = \\mathcal{N}(0, I)$", "$p(x_n\\mid z_n;\\theta)$"
    else:
        z, x, prior, likelihood = "$z$", "$x$", "$p(z) = \\mathcal{N}(0, I)$", "$p_\\theta(x\\mid z)$"
    width = 3.4 if indexed else 3.0  # room for the longer label p(z_n) = N(0, I)
    ax.add_patch(Rectangle((0.25, 0.15), width, 2.7, fill=False, ec="#333333", lw=1.2))
    ax.text(3.15, 0.25, "n = 1, 2, …" if indexed else "N images", ha="right", va="bottom", fontsize=10)
    ax.add_patch(Circle((1.4, 2.2), 0.38, fc="white", ec="#333333", lw=1.5))
    ax.text(1.4, 2.2, z, ha="center", va="center", fontsize=14)
    ax.add_patch(Circle((1.4, 0.85), 0.38, fc="#bbbbbb", ec="#333333", lw=1.5))
    ax.text(1.4, 0.85, x, ha="center", va="center", fontsize=14)
    _arrow(ax, (1.4, 1.8), (1.4, 1.25))
    ax.text(4.05, 1.52, "$\\theta$", ha="center", va="center", fontsize=13)
    if q_label_by_arc:  # θ's arrow ends on the z → x edge it parametrises, as φ's ends on the dashed arc
        _arrow(ax, (3.9, 1.42), (1.46, 1.42))
    else:
        _arrow(ax, (3.9, 1.45), (1.8, 1.0))
    ax.text(1.9, 2.2, prior, ha="left", va="center", fontsize=10)
    ax.text(1.62, 1.62, likelihood, ha="left", va="center", fontsize=10)
    if encoder:
        ax.text(-0.55, 1.52 if q_label_by_arc else 1.75, "$\\phi$", ha="center", va="center", fontsize=13)
        _arrow(ax, (1.0, 0.95), (1.0, 2.1), dashed=True, rad=-0.5)
        if q_label_by_arc:  # φ's arrow ends at the middle of the arc it parametrises; the label sits in the arc's bend
            _arrow(ax, (-0.4, 1.52), (0.69, 1.52), dashed=True)
            ax.text(0.8, 1.52, "$q_\\phi(z\\mid x)$", ha="left", va="center", fontsize=9)
        else:
            _arrow(ax, (-0.4, 1.55), (0.78, 1.55), dashed=True)
            if q_label_outside:
                ax.text(0.15, 1.42, "$q_\\phi(z\\mid x)$", ha="right", va="top", fontsize=10)
            else:
                ax.text(0.68, 1.2, "$q_\\phi(z\\mid x)$", ha="right", va="top", fontsize=10,
                        bbox=dict(facecolor="white", edgecolor="none", pad=1.5))  # on a white patch over the plate's edge
    ax.set_xlim(-1.1 if encoder else 0.1, 4.4)
    ax.set_ylim(0.0, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# notebook 06 · shape experiments


def conv_vae_diagram(channels=16, z_dim=20, ax=None, image=None, sample_label="sample", padding=None, height=2.8):
    """The convolutional VAE as feature maps: 1×28×28 → c×14×14 → 2c×7×7 → code → back, an optional digit in
    the input square; ``sample_label`` names the step from μ, log σ² to z. ``padding`` (an int) adds
    "pad p" to the four convolutions' labels; ``height`` is the figure's height in inches when ``ax`` is
    None. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(12, height))
    c = channels
    # (x centre, map side in pixels, channels, label, colour); a map is a square whose side grows with its pixels
    stages = [(0.6, 28, 1, "x\n1×28×28", "white"), (2.4, 14, c, f"{c}×14×14", ENCODER),
              (4.1, 7, 2 * c, f"{2 * c}×7×7", ENCODER), (5.85, None, None, f"μ, log σ²\n2×{z_dim}", ENCODER),
              (7.3, None, None, f"z\n{z_dim}", "white"), (9.0, 7, 2 * c, f"{2 * c}×7×7", DECODER),
              (10.7, 14, c, f"{c}×14×14", DECODER), (12.4, 28, 1, "logits 1×28×28\n→ flatten: 784", DECODER)]
    half = {}
    for x, side, depth, label, colour in stages:
        if side is None:
            _box(ax, x, 1.5, 0.9, 0.62, label, colour, size=11)
            half[x] = 0.47
            continue
        size = 0.4 + 0.6 * side / 28
        layers = 1 if depth == 1 else 3 * depth // c  # three sheets for c channels, six for 2c: drawn in proportion
        step = 0.07 if layers <= 3 else 0.05
        for k in reversed(range(layers)):
            ax.add_patch(Rectangle((x - size / 2 + step * k, 1.5 - size / 2 + step * k), size, size, fc=colour,
                                   ec="#333333", lw=1.0))
        if image is not None and x == stages[0][0]:
            ax.imshow(image, cmap="gray", vmin=0, vmax=1, interpolation="nearest",
                      extent=(x - size / 2, x + size / 2, 1.5 - size / 2, 1.5 + size / 2), zorder=3)
        ax.text(x, 0.92, label, ha="center", va="top", fontsize=11)
        half[x] = size / 2 + step * (layers - 1)
    pad = "" if padding is None else f"\npad {padding}"
    arrows = [(0.6, 2.4, "conv 4×4,\nstride 2" + pad), (2.4, 4.1, "conv 4×4,\nstride 2" + pad),
              (4.1, 5.85, f"flatten {2 * c * 49},\nLinear"), (5.85, 7.3, sample_label),
              (7.3, 9.0, f"Linear {2 * c * 49},\nunflatten"), (9.0, 10.7, "transposed\nconv 4×4,\nstride 2" + pad),
              (10.7, 12.4, "transposed\nconv 4×4,\nstride 2" + pad)]
    for a, b, label in arrows:
        _arrow(ax, (a + half[a] + 0.05, 1.5), (b - half[b] - 0.05, 1.5))
        middle = (a + half[a] + b - half[b]) / 2
        ax.plot([middle, middle], [1.55, 2.08], color="#999999", lw=0.8, ls=":")
        ax.text(middle, 2.1, label, ha="center", va="bottom", fontsize=10.5)
    ax.set_xlim(-0.1, 13.2)
    ax.set_ylim(0.45, 2.85 if padding is None else 3.1)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# notebook 08 · likelihood evaluation


def iwae_two_heads_diagram(ax=None, k_label="k"):
    """The k-sample ELBO and L_k as one data flow: x → q(z|x) → k codes z_i → log w_i, gathered into two heads,
    the mean of the log w_i (the control) and log-sum-exp − log k (the IWAE). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(13.5, 3.9))
    _box(ax, 0.5, 1.5, 0.8, 0.6, "x", "white", size=12)
    _box(ax, 2.15, 1.5, 1.9, 0.9, "encoder\n" r"$q(z\mid x)=\mathcal{N}(\mu,\sigma^2)$", ENCODER)
    _arrow(ax, (0.9, 1.5), (1.2, 1.5))
    _box(ax, 4.05, 3.45, 1.7, 0.45, r"$\varepsilon_i \sim \mathcal{N}(0, I)$", NOISE, size=10)
    _arrow(ax, (4.05, 3.22), (4.05, 2.8))
    _box(ax, 9.85, 3.45, 3.3, 0.45, r"prior $p(z)=\mathcal{N}(0, I)$: $\log p(z_i)$", "white", size=10)
    _arrow(ax, (9.85, 3.22), (9.85, 2.8))
    for x in (4.05, 9.85):
        ax.text(x, 3.0, "  (every row)", ha="left", va="center", fontsize=10)
    rows = [(2.55, "1"), (1.75, "2"), (0.55, k_label)]
    for y, i in rows:
        _box(ax, 4.05, y, 1.4, 0.5, rf"$z_{{{i}}}=\mu+\sigma\varepsilon_{{{i}}}$", NOISE, size=10)
        _arrow(ax, (3.1, 1.5), (3.35, y))
        _box(ax, 6.1, y, 1.7, 0.62, "decoder\n" rf"$\log p(x\mid z_{{{i}}})$", DECODER, size=10)
        _arrow(ax, (4.75, y), (5.25, y))
        _box(ax, 9.85, y, 5.1, 0.5,
             rf"$\log w_{{{i}}}=\log p(x\mid z_{{{i}}})+\log p(z_{{{i}}})-\log q(z_{{{i}}}\mid x)$", "white", size=10)
        _arrow(ax, (6.95, y), (7.3, y))
        ax.plot([12.4, 12.75], [y, y], color="#777777", lw=1.4)
    ax.plot([12.75, 12.75], [rows[-1][0], rows[0][0]], color="#777777", lw=1.4)
    for y in (4.05, 6.1, 9.85):
        ax.text(y, 1.15, r"$\vdots$", ha="center", va="center", fontsize=14)
    for y, text in ((2.35, "mean of\n" r"the $\log w_i$"), (0.75, "log-sum-exp\n" rf"$-\,\log {k_label}$")):
        _arrow(ax, (12.75, y), (13.0, y), color="#777777")
        _box(ax, 13.8, y, 1.6, 0.75, text, "white")
        _arrow(ax, (14.6, y), (14.8, y), color=LOSS)
    ax.text(14.85, 2.35, "k-sample ELBO\n(the control)", ha="left", va="center", fontsize=10, color=LOSS)
    ax.text(14.85, 0.75, rf"$L_{{{k_label}}}$" "\n(the IWAE)", ha="left", va="center", fontsize=10, color=LOSS)
    ax.set_xlim(0.0, 16.3)
    ax.set_ylim(0.1, 3.8)
    ax.axis("off")
    return ax


# notebook 01 · amortized inference


def amortized_encoder(images, ax=None):
    """Notebook 01: one encoder network maps each image x_n ([n, 28, 28], up to 3) to the parameters of its own
    q(z|x_n). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 3.0))
    ys = [2.4, 1.4, 0.4][:len(images)]
    for n, (image, y) in enumerate(zip(images, ys), start=1):
        _image(ax, image, 0.5, y, 0.75, "")
        ax.text(0.0, y, f"$x_{n}$", ha="right", va="center", fontsize=12)
        _arrow(ax, (0.9, y), (2.0, 1.4))
        _arrow(ax, (4.0, 1.4), (5.1, y))
        _box(ax, 6.3, y, 2.3, 0.6, f"$\\mu_{n}, \\sigma_{n}$: $q(z\\mid x_{n})$", ENCODER, 11)
    _box(ax, 3.0, 1.4, 2.0, 1.1, "encoder\none network\nfor all images", ENCODER, 11)
    ax.set_xlim(-0.4, 7.6)
    ax.set_ylim(-0.1, 2.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
