"""Draw the small pictures of the README's "what you will learn" map, one per notebook.

    .venv/bin/python scripts/make_readme_figures.py [--out docs/images] [--data-mirror DIR]

Writes ``docs/images/NN_name.png`` for notebooks 00-08 (each well under 60 KB). The data pictures
use real MNIST (``--data-mirror``, else ``$VAE_DATA_MIRROR``, else ``../shared/data`` beside the
project) and four short trainings; the theory pictures are computed from closed forms
(``vae_helpers.toy``, ``vae_helpers.gradients``). Seeded and run on the CPU, so a second run on the
same machine writes the same pictures; it takes about a minute on an idle laptop CPU.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch.distributions import Normal  # noqa: E402
from torchvision.utils import make_grid  # noqa: E402

from vae_helpers import gradients, toy  # noqa: E402
from vae_helpers.data import MIRROR_ENV, load_images, project_root, resize_images  # noqa: E402
from vae_helpers.losses import log_importance_weights  # noqa: E402
from vae_helpers.model import VAE  # noqa: E402
from vae_helpers.plotting import manifold_images, sample_images  # noqa: E402
from vae_helpers.train import fit  # noqa: E402

MAX_BYTES = 60_000
DPI = 100
#: the PNG writer's metadata: no software version, so pictures do not change with matplotlib's
PNG_META = {"Software": None}


def save(fig, path: Path) -> Path:
    fig.savefig(path, dpi=DPI, metadata=PNG_META, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"error: {path} is {size} bytes, over the {MAX_BYTES}-byte limit")
    print(f"  {path.name}: {size / 1000:.1f} kB")
    return path


def grid_image(images: torch.Tensor, nrow: int):
    return make_grid(images.float().cpu(), nrow=nrow, padding=2, pad_value=1.0)[0].numpy()


# --------------------------------------------------------------------------- data and models


def load_data(args):
    kw = dict(root=args.data_root, mirror=args.data_mirror)
    train, _ = load_images("mnist", True, **kw)
    test, test_y = load_images("mnist", False, **kw)
    return train, test, test_y


def train_model(train, epochs, seed=0, batch_size=128, **model_kw) -> VAE:
    binarize = model_kw.pop("binarize", False)
    torch.manual_seed(seed)
    model = VAE(**model_kw)
    began = time.perf_counter()
    fit(model, train, None, epochs=epochs, batch_size=batch_size, seed=seed, binarize=binarize, progress=False)
    print(f"  trained {model.image_size}-{model.h_dim}-{model.z_dim} for {epochs} epochs "
          f"in {time.perf_counter() - began:.0f} s")
    return model.eval()


# --------------------------------------------------------------------------- the pictures


def fig_00_overview(model: VAE, test: torch.Tensor, out: Path) -> Path:
    """The VAE in one line: image → encoder → (mu, sigma) → z = mu + sigma·eps → decoder → image."""
    x = test[3:4]
    with torch.no_grad():
        mu, log_var = model.encode(x)
        recon = model.decode_probs(mu).view(28, 28)
    fig = plt.figure(figsize=(7.6, 1.25))
    ax = fig.add_axes([0.09, 0, 0.82, 1])
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    steps = [
        ("encoder\n$q_\\phi(z\\mid x)$", "#cfe2f3"),
        ("$\\mu,\\ \\sigma$\n(20 numbers each)", "#fff2cc"),
        ("$z=\\mu+\\sigma\\odot\\epsilon$\n$\\epsilon\\sim N(0,I)$", "#fff2cc"),
        ("decoder\n$p_\\theta(x\\mid z)$", "#d9ead3"),
    ]
    boxes = [ax.text(0.08 + 0.28 * i, 0.5, text, ha="center", va="center", fontsize=9,
                     bbox=dict(boxstyle="round,pad=0.4", facecolor=color, edgecolor="0.4"))
             for i, (text, color) in enumerate(steps)]
    arrow = dict(arrowstyle="->", color="0.3", shrinkA=4, shrinkB=4)
    for left, right in zip(boxes[:-1], boxes[1:]):
        ax.annotate("", xy=(0, 0.5), xycoords=right, xytext=(1, 0.5), textcoords=left, arrowprops=arrow)
    ax.annotate("", xy=(0, 0.5), xycoords=boxes[0], xytext=(-0.01, 0.5), textcoords="data", arrowprops=arrow,
                annotation_clip=False)
    ax.annotate("", xy=(1.01, 0.5), xycoords="data", xytext=(1, 0.5), textcoords=boxes[-1], arrowprops=arrow,
                annotation_clip=False)
    for left, img, title in ((0.0, x.view(28, 28), "input $x$"), (0.915, recon, "reconstruction")):
        inset = fig.add_axes([left, 0.08, 0.085, 0.7])
        inset.imshow(img.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        inset.set_title(title, fontsize=8)
        inset.set_axis_off()
    return save(fig, out / "00_overview.png")


def fig_01_samples_vs_dimension(out: Path) -> Path:
    """Prior samples needed to estimate p(x) to 10 % in the linear-Gaussian toy model, by latent size."""
    g = torch.Generator().manual_seed(0)
    dims = list(range(1, 11))
    medians = []
    for d in dims:
        model = toy.make_linear_gaussian(d, 2 * d, noise_std=0.5, generator=g)
        x, _ = model.sample(200, generator=g)
        medians.append(toy.prior_samples_needed(model, x, rel_error=0.1).median().item())
    fig, ax = plt.subplots(figsize=(4.2, 2.8))
    ax.semilogy(dims, medians, "o-")
    ax.set_xlabel("latent dimensions d (data: 2d)")
    ax.set_ylabel("prior samples for 10% error")
    ax.set_title("sampling the prior: cost explodes with d", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return save(fig, out / "01_samples_vs_dimension.png")


def fig_02_elbo_gap(out: Path) -> Path:
    """ELBO(q) against q's mean for a 1-D model: it touches log p(x) only at the true posterior."""
    model = toy.LinearGaussianModel(torch.tensor([[1.0]], dtype=toy.DTYPE), torch.zeros(1, dtype=toy.DTYPE), 0.6)
    x = torch.tensor([[1.5]], dtype=toy.DTYPE)
    post = model.posterior(x)
    post_mean, post_var = post.mean[0, 0].item(), post.covariance_matrix[0, 0, 0].item()
    means = torch.linspace(post_mean - 2.0, post_mean + 2.0, 201, dtype=toy.DTYPE)
    log_px = model.marginal().log_prob(x).item()
    fig, ax = plt.subplots(figsize=(4.6, 2.9))
    ax.axhline(log_px, color="black", linestyle="--", label="log p(x)")
    for scale, style, label in ((1.0, "-", "ELBO, q with the posterior's variance"),
                                (0.3, ":", "ELBO, q too narrow (0.3 x variance)")):
        log_var = torch.full((len(means), 1), math.log(scale * post_var), dtype=toy.DTYPE)
        q = toy.diagonal_gaussian(means[:, None], log_var)
        elbo = toy.elbo_exact(model, x.expand(len(means), 1), q)
        ax.plot(means, elbo, style, label=label)
    q_best = toy.diagonal_gaussian(torch.tensor([[post_mean + 1.0]], dtype=toy.DTYPE),
                                   torch.tensor([[math.log(post_var)]], dtype=toy.DTYPE))
    e = toy.elbo_exact(model, x, q_best).item()
    ax.annotate("", xy=(post_mean + 1.0, log_px), xytext=(post_mean + 1.0, e),
                arrowprops=dict(arrowstyle="<->", color="C3"))
    ax.text(post_mean + 1.08, (log_px + e) / 2, "gap =\nKL(q‖p(z|x))", color="C3", fontsize=8, va="center")
    ax.set_ylim(log_px - 4.5, log_px + 0.6)
    ax.set_xlabel("mean of q(z|x)")
    ax.set_ylabel("nats")
    ax.set_title("the ELBO is a lower bound on log p(x)", fontsize=10)
    ax.legend(fontsize=7, loc="lower center")
    return save(fig, out / "02_elbo_gap.png")


def fig_03_gradient_variance(out: Path) -> Path:
    """Per-sample variance of the two gradient estimators of d/dmu E[z^2], z ~ N(mu, 1)."""
    mus = torch.linspace(-3, 3, 121).tolist()
    fig, ax = plt.subplots(figsize=(4.4, 2.8))
    for estimator, label in (("score", "score function (REINFORCE)"), ("pathwise", "pathwise (reparameterized)")):
        ax.semilogy(mus, [gradients.square_grad_variance(m, 1.0, estimator) for m in mus], label=label)
    eps = torch.randn(20000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for m in (-2.0, 0.0, 2.0):  # Monte Carlo dots on the curves
        for estimator, fn in (("score", gradients.score_function_grad), ("pathwise", gradients.pathwise_grad)):
            ax.plot(m, fn(lambda z: z**2, m, 1.0, eps).var().item(), "k.", markersize=5)
    ax.set_xlabel("$\\mu$  (z ~ N($\\mu$, 1), f(z) = $z^2$)")
    ax.set_ylabel("variance of one-sample gradient")
    ax.set_title("reparameterization tames the variance", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    return save(fig, out / "03_gradient_variance.png")


def fig_04_kl_surface(out: Path) -> Path:
    """KL(N(mu, sigma^2) || N(0, 1)) over mu and log sigma^2."""
    mu = torch.linspace(-3, 3, 121)
    log_var = torch.linspace(-4, 3, 141)
    M, L = torch.meshgrid(mu, log_var, indexing="xy")
    kl = -0.5 * (1 + L - M**2 - L.exp())
    fig, ax = plt.subplots(figsize=(4.4, 3.0))
    mesh = ax.contourf(M, L, kl, levels=[0.5 * i for i in range(11)], cmap="viridis", extend="max")
    lines = ax.contour(M, L, kl, levels=[0.1, 0.5, 1, 2, 4], colors="white", linewidths=0.6)
    ax.clabel(lines, fontsize=7, fmt="%g")
    fig.colorbar(mesh, ax=ax, label="KL, nats")
    ax.plot(0, 0, "w*", markersize=10)
    ax.set_xlabel("$\\mu$")
    ax.set_ylabel("$\\log\\sigma^2$")
    ax.set_title("KL to the prior: zero only at N(0, 1)", fontsize=10)
    return save(fig, out / "04_kl_surface.png")


def fig_05_samples(model: VAE, out: Path) -> Path:
    z = torch.randn(64, model.z_dim, generator=torch.Generator().manual_seed(1))
    fig, ax = plt.subplots(figsize=(2.9, 2.9))
    ax.imshow(grid_image(sample_images(model, z), 8), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title("decoded samples z ~ N(0, I)", fontsize=10)
    return save(fig, out / "05_samples.png")


def fig_06_resized(models: dict[int, VAE], out: Path) -> Path:
    """Samples of the same VAE trained on MNIST resized to several sides (image_size = side * side)."""
    g = torch.Generator().manual_seed(2)
    fig, axes = plt.subplots(1, len(models), figsize=(2.3 * len(models), 2.6))
    for ax, (side, model) in zip(axes, models.items()):
        z = torch.randn(16, model.z_dim, generator=g)
        ax.imshow(grid_image(sample_images(model, z).view(-1, 1, side, side), 4), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{side}x{side} (image_size={side * side})", fontsize=8)
    return save(fig, out / "06_resized_samples.png")


def fig_07_manifold(model: VAE, out: Path) -> Path:
    n = 10
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    ax.imshow(grid_image(manifold_images(model, n=n), n), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("$z_1$ (inverse-CDF grid)")
    ax.set_ylabel("$z_2$")
    ax.set_title("2-D latent space, decoded", fontsize=10)
    return save(fig, out / "07_latent_manifold.png")


@torch.no_grad()
def fig_08_bound_vs_k(model: VAE, test: torch.Tensor, out: Path) -> Path:
    """Mean L_k over 200 binarized test images, k = 1 ... 1000, from 1000 samples per image."""
    x = torch.bernoulli(test[:200], generator=torch.Generator().manual_seed(1))
    torch.manual_seed(2)
    K = 1000
    log_w = torch.cat([log_importance_weights(model, x, 250) for _ in range(K // 250)])
    ks = [1, 5, 10, 50, 100, 500, 1000]
    values = [(torch.logsumexp(log_w.reshape(K // k, k, -1), 1) - math.log(k)).mean().item() for k in ks]
    fig, ax = plt.subplots(figsize=(4.4, 2.8))
    ax.semilogx(ks, values, "o-")
    ax.set_xlabel("k, importance samples")
    ax.set_ylabel("mean $L_k$, nats")
    ax.set_title("from the ELBO ($L_1$) towards log p(x)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    return save(fig, out / "08_bound_vs_k.png")


# --------------------------------------------------------------------------- main


def default_mirror() -> str | None:
    if os.environ.get(MIRROR_ENV):
        return os.environ[MIRROR_ENV]
    shared = project_root().parent / "shared" / "data"
    return str(shared) if shared.is_dir() else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=project_root() / "docs" / "images", help="output folder")
    p.add_argument("--data-mirror", default=default_mirror(), help="offline MNIST folder")
    p.add_argument("--data-root", default=None, help="dataset root (default: $VAE_DATA_ROOT or ./data)")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10})

    print("theory pictures (closed forms)")
    fig_01_samples_vs_dimension(args.out)
    fig_02_elbo_gap(args.out)
    fig_03_gradient_variance(args.out)
    fig_04_kl_surface(args.out)

    print("data pictures (real MNIST, short trainings on the CPU)")
    train, test, _ = load_data(args)
    tutorial_model = train_model(train, epochs=10, h_dim=400, z_dim=20)
    fig_00_overview(tutorial_model, test, args.out)
    fig_05_samples(tutorial_model, args.out)
    resized = {side: train_model(resize_images(train, side), epochs=5, image_size=side * side, h_dim=400, z_dim=20)
               for side in (14, 28, 32)}
    fig_06_resized(resized, args.out)
    model2 = train_model(train, epochs=5, h_dim=400, z_dim=2)
    fig_07_manifold(model2, args.out)
    paper = train_model(train, epochs=3, batch_size=100, h_dim=200, z_dim=50, hidden_layers=2,
                        activation="tanh", binarize=True)
    fig_08_bound_vs_k(paper, test, args.out)
    print(f"done in {time.perf_counter() - began:.0f} s: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
