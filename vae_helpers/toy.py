"""A toy latent-variable model whose p(x) and p(z|x) are known exactly (notebooks 01 and 02).

The linear-Gaussian model

    z ~ N(0, I_d),    x | z ~ N(W z + b, sigma^2 I_D)

has the marginal p(x) = N(b, W W^T + sigma^2 I_D) and a Gaussian posterior p(z|x), so every
Monte-Carlo estimate (prior sampling, ELBO, importance-weighted bound) can be checked against the
exact answer. Everything is float64: the notebooks print 4 significant digits that nbval compares.

Shapes: a batch of observations ``x`` is [B, D]; a distribution ``q`` over z has batch shape [B]
and event shape [d]; sampled quantities have a leading sample dimension, e.g. log weights [k, B].
Random draws take an explicit ``torch.Generator`` so notebooks and tests are reproducible.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
from torch.distributions import Distribution, Independent, MultivariateNormal, Normal, kl_divergence

DTYPE = torch.float64


def log_mean_exp(log_values: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """log((1/n) sum_i exp(a_i)) along ``dim``, computed stably with logsumexp."""
    return torch.logsumexp(log_values, dim=dim) - math.log(log_values.shape[dim])


def diagonal_gaussian(mean: torch.Tensor, log_var: torch.Tensor) -> Independent:
    """N(mean, diag(exp(log_var))) as a distribution over vectors (what a VAE encoder outputs)."""
    return Independent(Normal(mean, torch.exp(0.5 * log_var)), 1)


def gaussian_mean_and_covariance(q: Distribution) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean [..., d], covariance [..., d, d]) of a MultivariateNormal or a diagonal Gaussian."""
    if isinstance(q, MultivariateNormal):
        return q.mean, q.covariance_matrix
    if isinstance(q, Independent) and isinstance(q.base_dist, Normal):
        return q.mean, torch.diag_embed(q.variance)
    raise TypeError(f"expected a MultivariateNormal or a diagonal Gaussian, got {type(q).__name__}")


def as_multivariate_normal(q: Distribution) -> MultivariateNormal:
    """The same Gaussian as a MultivariateNormal (so torch's KL between full Gaussians applies)."""
    if isinstance(q, MultivariateNormal):
        return q
    mean, cov = gaussian_mean_and_covariance(q)
    return MultivariateNormal(mean, covariance_matrix=cov)


def heaviest_share_and_gap(log_weights: torch.Tensor, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Along ``dim`` of log-weights (e.g. log p(x|z_i) over draws i): the heaviest draw's share of the total
    weight, and by how much its log-weight beats the second largest (nats)."""
    top_two = log_weights.topk(2, dim=dim).values
    share = (log_weights.amax(dim) - torch.logsumexp(log_weights, dim)).exp()
    return share, top_two.select(dim, 0) - top_two.select(dim, 1)


def sample_gaussian(q: Distribution, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """n reparameterised draws z = mean + L eps, eps ~ N(0, I), from a Gaussian q. Shape [n, *q.batch_shape, d]."""
    mean = q.mean
    eps = torch.randn((n, *mean.shape), generator=generator, dtype=mean.dtype)
    if isinstance(q, MultivariateNormal):
        return mean + (q.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)
    if isinstance(q, Independent) and isinstance(q.base_dist, Normal):
        return mean + q.base_dist.scale * eps
    raise TypeError(f"expected a MultivariateNormal or a diagonal Gaussian, got {type(q).__name__}")


@dataclass(frozen=True)
class LinearGaussianModel:
    """z ~ N(0, I_d), x | z ~ N(W z + b, sigma^2 I_D): a latent-variable model with closed forms."""

    weight: torch.Tensor  # W, [D, d]: the linear "generator" f(z) = W z + b
    bias: torch.Tensor  # b, [D]
    noise_std: float  # sigma: the smaller, the sharper p(x|z)

    @property
    def latent_dim(self) -> int:
        return self.weight.shape[1]

    @property
    def data_dim(self) -> int:
        return self.weight.shape[0]

    def with_noise_std(self, noise_std: float) -> "LinearGaussianModel":
        """The same W and b with another sigma."""
        return dataclasses.replace(self, noise_std=float(noise_std))

    def prior(self) -> Independent:
        """p(z) = N(0, I_d)."""
        zeros = torch.zeros(self.latent_dim, dtype=self.weight.dtype)
        return diagonal_gaussian(zeros, zeros)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """f(z; theta) = W z + b, the mean of p(x|z). Shape [..., D]."""
        return z @ self.weight.T + self.bias

    def likelihood(self, z: torch.Tensor) -> Independent:
        """p(x|z) = N(W z + b, sigma^2 I_D), one distribution per z."""
        mean = self.decode(z)
        return Independent(Normal(mean, torch.full_like(mean, self.noise_std)), 1)

    def marginal(self) -> MultivariateNormal:
        """p(x) = N(b, W W^T + sigma^2 I_D): the likelihood integral in closed form."""
        cov = self.weight @ self.weight.T + self.noise_std**2 * torch.eye(self.data_dim, dtype=self.weight.dtype)
        return MultivariateNormal(self.bias, covariance_matrix=cov)

    def posterior_precision(self) -> torch.Tensor:
        """Lambda = I_d + W^T W / sigma^2, the inverse covariance of p(z|x) (the same for every x)."""
        eye = torch.eye(self.latent_dim, dtype=self.weight.dtype)
        return eye + self.weight.T @ self.weight / self.noise_std**2

    def posterior(self, x: torch.Tensor) -> MultivariateNormal:
        """p(z|x) = N(Lambda^-1 W^T (x - b) / sigma^2, Lambda^-1), by Bayes' rule. Batch shape [B]."""
        x = torch.as_tensor(x, dtype=self.weight.dtype)
        cov = torch.linalg.inv(self.posterior_precision())
        cov = 0.5 * (cov + cov.T)  # exactly symmetric for the Cholesky factorisation
        mean = (x - self.bias) @ self.weight @ cov / self.noise_std**2
        return MultivariateNormal(mean, covariance_matrix=cov)

    def log_joint(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """log p(x, z) = log p(x|z) + log p(z); z may carry leading sample dimensions."""
        return self.likelihood(z).log_prob(x) + self.prior().log_prob(z)

    def sample(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """n draws (x [n, D], z [n, d]) from the generative process: z from the prior, then x from p(x|z)."""
        z = torch.randn((n, self.latent_dim), generator=generator, dtype=self.weight.dtype)
        noise = torch.randn((n, self.data_dim), generator=generator, dtype=self.weight.dtype)
        return self.decode(z) + self.noise_std * noise, z


def make_linear_gaussian(
    latent_dim: int, data_dim: int, noise_std: float, generator: torch.Generator | None = None
) -> LinearGaussianModel:
    """A random LinearGaussianModel: W and b with standard-normal entries."""
    if latent_dim < 1 or data_dim < 1:
        raise ValueError(f"latent_dim and data_dim must be >= 1, got {latent_dim} and {data_dim}")
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0, got {noise_std}")
    weight = torch.randn((data_dim, latent_dim), generator=generator, dtype=DTYPE)
    bias = torch.randn((data_dim,), generator=generator, dtype=DTYPE)
    return LinearGaussianModel(weight, bias, float(noise_std))


# --- Monte Carlo with samples from the prior (notebook 01) -------------------------------------


def prior_log_likelihoods(
    model: LinearGaussianModel, x: torch.Tensor, n_samples: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """log p(x|z_i) for n_samples draws z_i ~ p(z), shared by all x. Shape [n_samples, B]."""
    z = torch.randn((n_samples, model.latent_dim), generator=generator, dtype=model.weight.dtype)
    return model.likelihood(z.unsqueeze(1)).log_prob(torch.as_tensor(x, dtype=model.weight.dtype))


def prior_mc_log_marginal(
    model: LinearGaussianModel,
    x: torch.Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
    chunk: int = 100_000,
) -> torch.Tensor:
    """log p(x) ~= log (1/N) sum_i p(x|z_i) with z_i ~ p(z), in chunks to bound memory. Shape [B]."""
    parts, left = [], n_samples
    while left > 0:
        n = min(chunk, left)
        parts.append(torch.logsumexp(prior_log_likelihoods(model, x, n, generator), dim=0))
        left -= n
    return torch.logsumexp(torch.stack(parts), dim=0) - math.log(n_samples)


def log_second_moment_ratio(model: LinearGaussianModel, x: torch.Tensor) -> torch.Tensor:
    """log rho(x), rho = E_p(z)[p(x|z)^2] / p(x)^2, exactly. Shape [B].

    The prior-sampling estimate of p(x) with N samples has relative standard deviation
    sqrt((rho - 1) / N). Uses N(x; m, s^2 I)^2 = (4 pi s^2)^(-D/2) N(x; m, s^2/2 I).
    """
    x = torch.as_tensor(x, dtype=model.weight.dtype)
    half_noise = model.with_noise_std(model.noise_std / math.sqrt(2.0)).marginal()
    log_second_moment = -0.5 * model.data_dim * math.log(4 * math.pi * model.noise_std**2) + half_noise.log_prob(x)
    return log_second_moment - 2 * model.marginal().log_prob(x)


def prior_samples_needed(model: LinearGaussianModel, x: torch.Tensor, rel_error: float = 0.1) -> torch.Tensor:
    """Prior samples N for which the estimate of p(x) has relative standard deviation ``rel_error``:
    N = (rho - 1) / rel_error^2. Shape [B] (float64; may be inf when it overflows)."""
    log_rho = log_second_moment_ratio(model, x)
    return torch.expm1(log_rho) / rel_error**2


# --- ELBO and importance sampling with an approximate posterior q(z|x) (notebook 02) ---------


def elbo_exact(model: LinearGaussianModel, x: torch.Tensor, q: Distribution) -> torch.Tensor:
    """ELBO(q) = E_q[log p(x|z)] + E_q[log p(z)] + H[q], exactly, for a Gaussian q. Shape [B]."""
    x = torch.as_tensor(x, dtype=model.weight.dtype)
    mean, cov = gaussian_mean_and_covariance(q)
    w, var, d, D = model.weight, model.noise_std**2, model.latent_dim, model.data_dim
    residual = x - model.decode(mean)
    trace_wcw = torch.einsum("ij,...jk,ik->...", w, cov, w)  # tr(W C W^T)
    expected_log_lik = -0.5 * D * math.log(2 * math.pi * var) - (residual.pow(2).sum(-1) + trace_wcw) / (2 * var)
    trace_cov = torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1)
    expected_log_prior = -0.5 * d * math.log(2 * math.pi) - 0.5 * (mean.pow(2).sum(-1) + trace_cov)
    return expected_log_lik + expected_log_prior + q.entropy()


def log_importance_weights(
    model: LinearGaussianModel, x: torch.Tensor, q: Distribution, k: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """log w_i = log p(x, z_i) - log q(z_i) for k draws z_i ~ q. Shape [k, B]."""
    z = sample_gaussian(q, k, generator)
    return model.log_joint(torch.as_tensor(x, dtype=model.weight.dtype), z) - q.log_prob(z)


def elbo_mc(
    model: LinearGaussianModel,
    x: torch.Tensor,
    q: Distribution,
    n_samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte-Carlo ELBO: the average of log p(x, z_i) - log q(z_i) over z_i ~ q. Shape [B]."""
    return log_importance_weights(model, x, q, n_samples, generator).mean(dim=0)


def importance_weighted_bound(
    model: LinearGaussianModel,
    x: torch.Tensor,
    q: Distribution,
    k: int,
    n_repeats: int = 1,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """n_repeats independent draws of L_k = log (1/k) sum_i w_i, z_i ~ q. Shape [n_repeats, B].

    E[L_1] is the ELBO; E[L_k] rises with k towards log p(x) (Burda et al., 2016).
    """
    log_w = log_importance_weights(model, x, q, k * n_repeats, generator)
    return log_mean_exp(log_w.reshape(n_repeats, k, *log_w.shape[1:]), dim=1)


def posterior_kl(model: LinearGaussianModel, x: torch.Tensor, q: Distribution) -> torch.Tensor:
    """KL(q(z|x) || p(z|x)) exactly: the gap log p(x) - ELBO(q). Shape [B]."""
    return kl_divergence(as_multivariate_normal(q), model.posterior(x))


def best_diagonal_gaussian(model: LinearGaussianModel, x: torch.Tensor) -> Independent:
    """The diagonal Gaussian q closest to p(z|x) in KL(q || p): the posterior mean and
    variances 1 / Lambda_ii (Lambda = posterior precision). The best an encoder with a
    diagonal q can do; the gap is zero only when the posterior has no correlations."""
    mean = model.posterior(x).mean
    log_var = -torch.log(torch.diagonal(model.posterior_precision()))
    return diagonal_gaussian(mean, log_var.expand_as(mean))


def marginal_matched_diagonal_gaussian(model: LinearGaussianModel, x: torch.Tensor) -> Independent:
    """The diagonal Gaussian with the posterior's mean and marginal variances Sigma_ii: the diagonal
    q closest to p(z|x) in the *forward* KL(p || q). Wider than ``best_diagonal_gaussian``."""
    posterior = model.posterior(x)
    log_var = torch.log(torch.diagonal(posterior.covariance_matrix, dim1=-2, dim2=-1))
    return diagonal_gaussian(posterior.mean, log_var.expand_as(posterior.mean))


def make_linear_gaussian_with_posterior(
    posterior_cov: torch.Tensor, data_dim: int, noise_std: float, generator: torch.Generator | None = None
) -> LinearGaussianModel:
    """A LinearGaussianModel whose posterior p(z|x) has covariance ``posterior_cov`` (for every x).

    W = Q R with Q [D, d] random orthonormal columns and R^T R = sigma^2 (Sigma^-1 - I), so that
    Lambda = I + W^T W / sigma^2 = Sigma^-1. Needs Sigma <= I (the posterior is never wider than the
    prior) and D >= d; b has standard-normal entries.
    """
    cov = torch.as_tensor(posterior_cov, dtype=DTYPE)
    d = cov.shape[0]
    if cov.shape != (d, d) or not torch.allclose(cov, cov.T):
        raise ValueError(f"posterior_cov must be a symmetric square matrix, got shape {list(cov.shape)}")
    if data_dim < d:
        raise ValueError(f"data_dim must be >= the latent dimension {d}, got {data_dim}")
    if not noise_std > 0:
        raise ValueError(f"noise_std must be > 0, got {noise_std}")
    values = torch.linalg.eigvalsh(cov)
    if values.min() <= 0 or values.max() > 1 + 1e-12:
        raise ValueError(f"posterior_cov must have eigenvalues in (0, 1], got {values.tolist()}")
    gram = noise_std**2 * (torch.linalg.inv(cov) - torch.eye(d, dtype=DTYPE))  # W^T W
    g_values, g_vectors = torch.linalg.eigh(0.5 * (gram + gram.T))
    root = g_vectors @ torch.diag(g_values.clamp(min=0).sqrt()) @ g_vectors.T  # symmetric R, R^T R = gram
    q, _ = torch.linalg.qr(torch.randn((data_dim, d), generator=generator, dtype=DTYPE))
    bias = torch.randn((data_dim,), generator=generator, dtype=DTYPE)
    return LinearGaussianModel(q @ root, bias, float(noise_std))


def log_importance_moment(
    model: LinearGaussianModel, x: torch.Tensor, q: Distribution, order: float = 2.0
) -> torch.Tensor:
    """log E_q[(w / p(x))^n], n = ``order``, w = p(x, z) / q(z), exactly, for a Gaussian q. Shape [B].

    n = 2 gives rho_q = E_q[w^2] / p(x)^2: the importance-sampling estimate of p(x) with K draws
    from q has relative standard deviation sqrt((rho_q - 1) / K). With p(z|x) = N(mu, Sigma),
    Lambda = Sigma^-1 and q = N(m, C), the moment is int p(z|x)^n q(z)^(1-n) dz, finite only when
    A = n Lambda - (n - 1) C^-1 is positive definite (q not too narrow); then, with
    h = n Lambda mu - (n - 1) C^-1 m, its log is
    (n-1)/2 log|C| - n/2 log|Sigma| - 1/2 log|A| + 1/2 h^T A^-1 h - n/2 mu^T Lambda mu + (n-1)/2 m^T C^-1 m.
    Returns +inf where A is not positive definite.
    """
    n = float(order)
    posterior = model.posterior(x)
    mu, sigma = posterior.mean, posterior.covariance_matrix
    m, c = gaussian_mean_and_covariance(q)
    m, c = m.expand_as(mu), c.expand(*mu.shape[:-1], *c.shape[-2:])
    lam, c_inv = torch.linalg.inv(sigma), torch.linalg.inv(c)
    a = n * lam - (n - 1) * c_inv
    a = 0.5 * (a + a.transpose(-1, -2))
    finite = torch.linalg.eigvalsh(a).min(dim=-1).values > 0
    safe_a = torch.where(finite[..., None, None], a, torch.eye(a.shape[-1], dtype=a.dtype).expand_as(a))
    h = (n * lam @ mu.unsqueeze(-1) - (n - 1) * c_inv @ m.unsqueeze(-1)).squeeze(-1)

    def quad(v, mat):
        return (v.unsqueeze(-2) @ mat @ v.unsqueeze(-1))[..., 0, 0]

    log_moment = ((n - 1) / 2 * torch.logdet(c) - n / 2 * torch.logdet(sigma) - 0.5 * torch.logdet(safe_a)
                  + 0.5 * quad(h, torch.linalg.inv(safe_a)) - n / 2 * quad(mu, lam) + (n - 1) / 2 * quad(m, c_inv))
    return torch.where(finite, log_moment, torch.full_like(log_moment, math.inf))


# --- added for notebook 01: a linear model of digits, and two properties of a drawn digit ------


def fit_probabilistic_pca(pixels: torch.Tensor, latent_dim: int) -> LinearGaussianModel:
    """The maximum-likelihood probabilistic PCA of ``pixels`` [n, D] (Tipping & Bishop 1999), as a
    LinearGaussianModel: b is the mean, sigma² the mean of the D − d smallest eigenvalues of the
    covariance, and the columns of W the top d eigenvectors scaled by √(λ_k − sigma²)."""
    pixels = pixels.to(DTYPE)
    if not 1 <= latent_dim < pixels.shape[1]:
        raise ValueError(f"latent_dim must lie in 1 .. {pixels.shape[1] - 1}, got {latent_dim}")
    eigenvalues, eigenvectors = torch.linalg.eigh(torch.cov(pixels.T))  # ascending order
    eigenvalues, eigenvectors = eigenvalues.flip(0), eigenvectors.flip(1)  # largest first
    sigma2 = eigenvalues[latent_dim:].mean()  # the average variance of the D - d directions left out
    weight = eigenvectors[:, :latent_dim] * (eigenvalues[:latent_dim] - sigma2).sqrt()
    return LinearGaussianModel(weight, pixels.mean(0), sigma2.sqrt().item())


def slant_and_ink(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Two properties of each image [n, H, W]: the slant (how many pixels the ink moves to the right
    per pixel of height, from the image's second moments; > 0 leans right) and the ink (the sum of
    the pixel values)."""
    images = images.to(DTYPE)
    rows = torch.arange(images.shape[-2], dtype=DTYPE)
    cols = torch.arange(images.shape[-1], dtype=DTYPE)
    ink = images.sum((-2, -1))
    row_mean = (images.sum(-1) * rows).sum(-1) / ink  # the centre of the ink
    col_mean = (images.sum(-2) * cols).sum(-1) / ink
    up = row_mean[:, None, None] - rows[None, :, None]  # height above the centre (rows count downwards)
    right = cols[None, None, :] - col_mean[:, None, None]
    slant = (images * up * right).sum((-2, -1)) / (images * up**2).sum((-2, -1))
    return slant, ink


def turned_line_log_marginal(
    bias: torch.Tensor, x: torch.Tensor, towards: torch.Tensor, turn_deg: torch.Tensor, noise_std: float
) -> torch.Tensor:
    """log p(x) under the 1-D-latent line model x = u z + b + sigma eps with a unit direction u, for each
    angle in ``turn_deg``: u is the direction from b to ``towards`` [2], turned by that many degrees.
    ``x`` is [n, 2]; returns [len(turn_deg), n] (turn 0 puts the line through ``towards``)."""
    start = torch.atan2(towards[1] - bias[1], towards[0] - bias[0])
    angle = torch.deg2rad(turn_deg.to(DTYPE)) + start
    u = torch.stack([angle.cos(), angle.sin()], dim=-1).unsqueeze(-1)  # one unit direction per angle, [k, 2, 1]
    cov = u @ u.mT + noise_std**2 * torch.eye(2, dtype=DTYPE)
    return MultivariateNormal(bias.to(DTYPE), covariance_matrix=cov).log_prob(x.to(DTYPE).unsqueeze(1)).T


def inside_ellipse(z: torch.Tensor, mean: torch.Tensor, cov: torch.Tensor, n_sd: float = 2.0) -> torch.Tensor:
    """Notebook 01: whether each z [n, d] lies inside the n_sd-sd ellipse of N(mean, cov) (Mahalanobis < n_sd)."""
    offset = (z - mean).unsqueeze(-1)
    return (offset.mT @ torch.linalg.inv(cov) @ offset).flatten() < n_sd**2


def prior_mass_of_ellipse(mean: torch.Tensor, cov: torch.Tensor, n_sd: float = 2.0, n_grid: int = 400) -> float:
    """Notebook 01: the exact N(0, I_2) mass of the n_sd-sd ellipse of the 2-D Gaussian N(mean, cov), by quadrature
    in polar coordinates of the whitened ellipse z = mean + L u, |u| < n_sd (L the Cholesky factor of cov)."""
    chol = torch.linalg.cholesky(cov.double())
    r = (torch.arange(n_grid, dtype=torch.float64) + 0.5) / n_grid * n_sd  # midpoint rule in r and angle
    a = (torch.arange(4 * n_grid, dtype=torch.float64) + 0.5) / (4 * n_grid) * 2 * math.pi
    u = torch.stack([r[:, None] * a.cos(), r[:, None] * a.sin()], -1)  # [r, angle, 2]
    z = mean.double() + u @ chol.T
    density = torch.exp(-0.5 * (z**2).sum(-1)) / (2 * math.pi)
    return (density * r[:, None]).sum().item() * (n_sd / n_grid) * (2 * math.pi / (4 * n_grid)) * chol.det().item()
