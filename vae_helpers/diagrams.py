"""Pictures of the model, drawn by code: the VAE's data flow and the latent-variable model's graph."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

ENCODER, DECODER, NOISE, LOSS, GENERATE = "#dbe9f6", "#fde0c5", "#e8e8e8", "#b03030", "#2a7a2a"


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


def vae_diagram(x_image=None, recon_image=None, dims=(784, 400, 20), ax=None, losses=True,
                recon_label="Bernoulli means", generation=False, sample_image=None, sample_label="new image",
                batch=None):
    """Encoder → μ, σ → z = μ + σ·ε → decoder, with the two loss terms; optional digit images ([28, 28]).

    ``recon_label`` names the image on the right (e.g. "untrained output"). ``generation=True`` adds the
    path that makes new images (green, dashed): a code drawn from the prior N(0, I) goes straight into
    the decoder, no encoder; ``sample_image`` (with ``sample_label``) shows what the decoder makes of it.
    ``batch`` (a number) writes the tensor shapes of a batch of that size beside the boxes.
    """
    d_in, d_hidden, d_z = dims
    if ax is None:
        _, ax = plt.subplots(figsize=(11, 4.6 if generation else 3.6))
    _image(ax, x_image, 0.55, 2.0, 0.9, "input $x$")
    _box(ax, 2.25, 2.0, 1.82, 1.1, f"encoder\n$q_\\phi(z\\mid x)$\n{d_in}→{d_hidden}→2×{d_z}", ENCODER)
    _box(ax, 4.05, 2.55, 0.95, 0.5, "$\\mu$", ENCODER, 11)
    _box(ax, 4.05, 1.45, 0.95, 0.5, "$\\log\\sigma^2$", ENCODER, 11)
    _box(ax, 5.9, 2.0, 1.6, 0.75, "$z = \\mu + \\sigma\\odot\\varepsilon$", "white", 11)
    _box(ax, 5.9, 0.55, 1.45, 0.5, "$\\varepsilon\\sim\\mathcal{N}(0, I)$", NOISE, 10)
    _box(ax, 7.85, 2.0, 1.7, 1.1, f"decoder\n$p_\\theta(x\\mid z)$\n{d_z}→{d_hidden}→{d_in}", DECODER)
    _image(ax, recon_image, 9.6, 2.0, 0.9, recon_label)
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
        ax.text(4.05, 3.45, "KL term: $\\mathrm{KL}(q_\\phi(z\\mid x)\\,\\|\\,\\mathcal{N}(0, I))$ in closed form",
                ha="center", fontsize=10, color=LOSS)
        _arrow(ax, (4.05, 2.92), (4.05, 3.35), color=LOSS, dashed=True)
        ax.text(5.05, -0.25, "reconstruction loss: $-\\log p_\\theta(x\\mid z)$, input against output",
                ha="center", fontsize=10, color=LOSS)
        _arrow(ax, (0.55, 1.35), (2.0, -0.2), color=LOSS, dashed=True, rad=0.25)
        _arrow(ax, (9.6, 1.35), (8.1, -0.2), color=LOSS, dashed=True, rad=-0.25)
    ax.set_xlim(-0.1, 10.3)
    ax.set_ylim(-0.6 if losses else 0.1, top)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def graphical_model(ax=None, inference=True, n_label="N images"):
    """The latent-variable model p(z) p(x|z) as a graph: z → x in a plate over the data; q(z|x) dashed."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4))
    ax.add_patch(Rectangle((0.25, 0.15), 3.0, 2.7, fill=False, ec="#333333", lw=1.2))
    ax.text(3.15, 0.25, n_label, ha="right", va="bottom", fontsize=10)
    ax.add_patch(Circle((1.4, 2.2), 0.38, fc="white", ec="#333333", lw=1.5))
    ax.text(1.4, 2.2, "$z$", ha="center", va="center", fontsize=14)
    ax.add_patch(Circle((1.4, 0.85), 0.38, fc="#bbbbbb", ec="#333333", lw=1.5))
    ax.text(1.4, 0.85, "$x$", ha="center", va="center", fontsize=14)
    _arrow(ax, (1.4, 1.8), (1.4, 1.25))
    ax.text(4.05, 1.52, "$\\theta$", ha="center", va="center", fontsize=13)
    _arrow(ax, (3.9, 1.45), (1.8, 1.0))
    ax.text(1.9, 2.2, "$p(z) = \\mathcal{N}(0, I)$", ha="left", va="center", fontsize=10)
    ax.text(1.62, 1.62, "$p_\\theta(x\\mid z)$", ha="left", va="center", fontsize=10)
    if inference:
        ax.text(-0.55, 1.75, "$\\phi$", ha="center", va="center", fontsize=13)
        _arrow(ax, (1.0, 0.95), (1.0, 2.1), dashed=True, rad=-0.5)
        _arrow(ax, (-0.4, 1.55), (0.78, 1.55), dashed=True)
        ax.text(-0.45, 1.35, "$q_\\phi(z\\mid x)$", ha="center", va="top", fontsize=10)
    ax.set_xlim(-1.1, 4.4)
    ax.set_ylim(0.0, 3.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def iwae_diagram(ax=None, k_label="k", both_heads=False):
    """The importance-weighted bound as a data flow: x -> q(z|x) -> k samples z_i -> decoder -> log w_i -> L_k.

    Each row shows the three terms of log w_i: the decoder's log p(x|z_i), the prior's log p(z_i), and the
    encoder's log q(z_i|x). Added for lesson 08; self-contained (uses only this module's private drawing helpers).
    ``both_heads=True`` (added in round 13; the default is unchanged) ends the same log w column in two heads:
    the mean of the log w_i (the k-sample ELBO, the control's objective) and log-sum-exp − log k (L_k, the IWAE's).
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(13, 3.8))
    _box(ax, 0.5, 1.5, 0.8, 0.6, "x", "white", size=12)
    _box(ax, 2.15, 1.5, 1.9, 0.9, "encoder\n" r"$q(z\mid x)=\mathcal{N}(\mu,\sigma^2)$", ENCODER)
    _arrow(ax, (0.9, 1.5), (1.2, 1.5))
    _box(ax, 9.65, 3.45, 3.3, 0.45, r"prior $p(z)=\mathcal{N}(0, I)$: $\log p(z_i)$", "white", size=10)
    rows = [(2.55, "1"), (1.75, "2"), (0.55, k_label)]
    for y, i in rows:
        _box(ax, 4.05, y, 1.4, 0.5, rf"$z_{{{i}}}=\mu+\sigma\varepsilon_{{{i}}}$", NOISE, size=10)
        _arrow(ax, (3.1, 1.5), (3.35, y))
        _box(ax, 6.1, y, 1.7, 0.62, "decoder\n" rf"$\log p(x\mid z_{{{i}}})$", DECODER, size=10)
        _arrow(ax, (4.75, y), (5.25, y))
        _box(ax, 9.65, y, 4.7, 0.5,
             rf"$\log w_{{{i}}}=\log p(x\mid z_{{{i}}})+\log p(z_{{{i}}})-\log q(z_{{{i}}}\mid x)$", "white", size=10)
        _arrow(ax, (6.95, y), (7.3, y))
        if not both_heads:
            _arrow(ax, (12.0, y), (12.2, 1.5))
    _arrow(ax, (9.65, 3.22), (9.65, 2.8))
    ax.text(9.65, 3.0, "  (every row)", ha="left", va="center", fontsize=10)
    ax.text(4.05, 1.15, r"$\vdots$", ha="center", va="center", fontsize=14)
    ax.text(6.1, 1.15, r"$\vdots$", ha="center", va="center", fontsize=14)
    ax.text(9.65, 1.15, r"$\vdots$", ha="center", va="center", fontsize=14)
    if both_heads:
        for y in (2.35, 0.75):
            for row_y, _ in rows:
                _arrow(ax, (12.0, row_y), (12.25, y), color="#999999")
        _box(ax, 13.05, 2.35, 1.6, 0.75, "mean of\n" r"the $\log w_i$", "white")
        _arrow(ax, (13.85, 2.35), (14.05, 2.35), color=LOSS)
        ax.text(14.1, 2.35, "k-sample ELBO\n(the control)", ha="left", va="center", fontsize=10, color=LOSS)
        _box(ax, 13.05, 0.75, 1.6, 0.75, "log-sum-exp\n" rf"$-\,\log {k_label}$", "white")
        _arrow(ax, (13.85, 0.75), (14.05, 0.75), color=LOSS)
        ax.text(14.1, 0.75, rf"$L_{{{k_label}}}$" "\n(the IWAE)", ha="left", va="center", fontsize=10, color=LOSS)
        ax.set_xlim(0.0, 15.5)
        ax.set_ylim(0.1, 3.8)
        ax.axis("off")
        return ax
    _box(ax, 12.98, 1.5, 1.56, 1.0, "log-sum-exp\n" rf"$-\,\log {k_label}$", "white")
    _arrow(ax, (13.76, 1.5), (14.0, 1.5), color=LOSS)
    ax.text(14.05, 1.5, rf"$L_{{{k_label}}}$", ha="left", va="center", fontsize=13, color=LOSS)
    ax.set_xlim(0.0, 14.6)
    ax.set_ylim(0.1, 3.8)
    ax.axis("off")
    return ax


def training_curves(history, baseline=None, test_loss=None, mark_step=None, batch_size=128, ylim=(100, 350),
                    figsize=(10, 3.6), test_kl=None, mark_label=None, log_y=False):
    """Two panels of a short training run, in nats per image: the loss and its reconstruction part (left),
    the KL term (right); one point per training step.

    ``history`` holds one ``(reconstruction, KL)`` pair per step. ``baseline`` = ``(label, value)`` draws a
    dashed reference line on the left (e.g. the average digit's loss), ``test_loss`` a black dot at the
    last step (the −ELBO on the test images), ``mark_step`` a dotted vertical line with its step number.
    ``ylim`` zooms the left panel (the first steps start far above it). ``test_kl`` adds the KL term on
    the test images as a black dot on the right (and, with ``test_loss``, their reconstruction loss on the
    left). ``mark_step="baseline"`` marks the first step after which every batch's loss (−ELBO, KL term
    included) stays below the baseline, with a dot on the loss curve. ``mark_label`` gives that dot a legend
    entry (``{step}`` is replaced by its step). ``log_y`` draws the left panel on a
    logarithmic axis (its label says so), so that ``ylim`` can reach the first steps' loss. Returns the figure.
    """
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
            left.plot(len(history), test_loss - test_kl, "o", mfc="white", mec="k",
                      label=f"reconstruction loss on them ({test_loss - test_kl:.1f})")
    if mark_step == "baseline" and baseline is not None:
        mark_step = 1 + max((i for i, (r, k) in enumerate(history, 1) if r + k >= baseline[1]), default=0)
        if mark_step <= len(history):
            label = mark_label.format(step=mark_step) if mark_label else None
            left.plot(mark_step, sum(history[mark_step - 1]), "o", color="C0", ms=6, zorder=5, label=label)
    if mark_step is not None and 1 <= mark_step <= len(history):
        left.axvline(mark_step, color="grey", ls=":", lw=1)
        left.text(mark_step + 2, ylim[0] + 4, f"step {mark_step}", fontsize=9, va="bottom")
    if log_y:
        from matplotlib.ticker import NullFormatter

        left.set_yscale("log")
        ticks = [t for t in (100, 150, 200, 300, 400, 500) if ylim[0] <= t <= ylim[1]]
        left.set_yticks(ticks, [str(t) for t in ticks])
        left.yaxis.set_minor_formatter(NullFormatter())
    left.set_ylim(*ylim)
    left.legend(fontsize=9, loc="upper right")
    right.plot(steps, kl, color="C2", label="KL term per batch")
    if test_kl is not None:
        right.plot(len(history), test_kl, "ko", label=f"KL term on the test images ({test_kl:.1f})")
        right.legend(fontsize=9, loc="upper right")
    for ax, title in ((left, f"per training batch (the loss starts at {sum(history[0]):.0f})"),
                      (right, "the KL term per training batch")):
        ax.set_xlabel(f"training step ({batch_size} images each)")
        ax.set_ylabel("nats per image (log scale)" if log_y and ax is left else "nats per image")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def graphical_model_with_encoder(ax=None, n_label="N images"):
    """``graphical_model`` with q_φ(z|x) written beside its dashed arc rather than under φ's arrow, on a white
    patch where it crosses the plate's edge (added for notebook 02). Returns the axes."""
    ax = graphical_model(ax=ax, inference=True, n_label=n_label)
    for text in ax.texts:
        if text.get_text().startswith("$q_"):
            text.set_position((0.68, 1.2))
            text.set_horizontalalignment("right")
            text.set_bbox(dict(facecolor="white", edgecolor="none", pad=1.5))  # over the plate's edge
    return ax


def conv_vae_diagram(channels=16, z_dim=20, ax=None):
    """The convolutional VAE of notebook 06 as feature maps: 1×28×28 → c×14×14 → 2c×7×7 → code → back."""
    if ax is None:
        _, ax = plt.subplots(figsize=(12, 2.8))
    c = channels
    # (x centre, map side in pixels, channels, label, colour); a map is a square whose side grows with its pixels
    stages = [(0.6, 28, 1, "x\n1×28×28", "white"), (2.4, 14, c, f"{c}×14×14", ENCODER),
              (4.1, 7, 2 * c, f"{2 * c}×7×7", ENCODER), (5.85, None, None, f"μ, log σ²\n2×{z_dim}", ENCODER),
              (7.3, None, None, f"z\n{z_dim}", "white"), (9.0, 7, 2 * c, f"{2 * c}×7×7", DECODER),
              (10.7, 14, c, f"{c}×14×14", DECODER), (12.4, 28, 1, "logits 1×28×28\n→ flatten: 784", DECODER)]
    half = {}
    for x, side, depth, label, colour in stages:
        if side is None:
            _box(ax, x, 1.5, 0.9, 0.62, label, colour, size=9)
            half[x] = 0.47
            continue
        size = 0.4 + 0.6 * side / 28
        layers = 1 if depth == 1 else 3  # a stack of three squares stands for many channels
        for k in reversed(range(layers)):
            ax.add_patch(Rectangle((x - size / 2 + 0.07 * k, 1.5 - size / 2 + 0.07 * k), size, size, fc=colour,
                                   ec="#333333", lw=1.0))
        ax.text(x, 0.92, label, ha="center", va="top", fontsize=9)
        half[x] = size / 2 + 0.07 * (layers - 1)
    arrows = [(0.6, 2.4, "conv 4×4,\nstride 2"), (2.4, 4.1, "conv 4×4,\nstride 2"),
              (4.1, 5.85, f"flatten {2 * c * 49},\nLinear"), (5.85, 7.3, "sample"),
              (7.3, 9.0, f"Linear {2 * c * 49},\nunflatten"), (9.0, 10.7, "transposed\nconv"),
              (10.7, 12.4, "transposed\nconv")]
    for a, b, label in arrows:
        _arrow(ax, (a + half[a] + 0.05, 1.5), (b - half[b] - 0.05, 1.5))
        middle = (a + half[a] + b - half[b]) / 2
        ax.plot([middle, middle], [1.55, 2.08], color="#999999", lw=0.8, ls=":")
        ax.text(middle, 2.1, label, ha="center", va="bottom", fontsize=9.5)
    ax.set_xlim(-0.1, 13.2)
    ax.set_ylim(0.45, 2.6)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def reconstructions_and_samples(images, reconstructions, samples, ncol=12, figsize=(10, 4.4), fontsize=10):
    """Two panels of digit tiles ([N, 1, 28, 28] or [N, 784], values in [0, 1]): test images above their
    reconstructions, then, after a gap, new images decoded from prior codes, under one label. Returns the figure."""
    from torchvision.utils import make_grid

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
