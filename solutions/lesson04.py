"""Solutions to the exercises of notebook 04 · KL散度的闭式解 (the KL term in closed form).

Each name is the notebook's stub (or prediction); compare with your own answer after trying.
"""

import torch

from vae_helpers.losses import gaussian_kl


def best_q(x, w, v, beta):
    """The Gaussian q = N(mu, sigma^2) that maximizes E_q[log p(x | z)] - beta KL(q || N(0, 1)) for x under
    z ~ N(0, 1), x | z ~ N(w z, v).

    -objective = E_q[(x - w z)^2] / (2 v) + beta KL(q || N(0, 1)) + const
               = ((x - w mu)^2 + w^2 sigma^2) / (2 v) + beta (mu^2 + sigma^2 - 1 - log sigma^2) / 2 + const.
    d/dsigma^2 = 0 gives 1 / sigma^2 = 1 + w^2 / (beta v); d/dmu = 0 gives mu = w x / (w^2 + beta v). Divided by
    beta, the sigma^2 part is lambda sigma^2 + (sigma^2 - 1 - log sigma^2) / 2 with lambda = w^2 / (2 beta v).
    At beta = 1 this is the exact posterior p(z | x), and the ELBO equals log p(x); a large beta pushes a weak
    coordinate (small w^2 / v) to the prior N(0, 1): it collapses.
    """
    var = beta * v / (beta * v + w**2)
    mu = w * x / (w**2 + beta * v)
    return mu, torch.log(var)


def kl_standard_normal(mu, log_var):  # not in the notebook: the README's example of the exercise API
    """KL(N(mu, sigma^2) || N(0, I)) per row: -1/2 sum(1 + log sigma^2 - mu^2 - sigma^2)."""
    return -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1)


def kl_diagonal_gaussians(mu_q, log_var_q, mu_p, log_var_p):
    """KL(q || p) for two diagonal Gaussians, summed over dimensions, one number per row."""
    # z' = (z - mu_p) / sigma_p turns p into N(0, I) and q into N((mu_q - mu_p) / sigma_p, sigma_q^2 / sigma_p^2);
    # the KL does not change under this map
    return gaussian_kl((mu_q - mu_p) * torch.exp(-0.5 * log_var_p), log_var_q - log_var_p)


def mc_kl_grad_variance(mu, log_var):
    """Variances over eps of the one-sample Monte Carlo KL's gradients.

    Along z = mu + sigma * eps: log q(z) - log p(z) = -log_var/2 - eps^2/2 + z^2/2 (+ const), so
    d/dmu = z, with variance sigma^2, and d/dlog_var = -1/2 + z * sigma * eps / 2
    = -1/2 + (mu * sigma * eps + sigma^2 * eps^2) / 2, with variance mu^2 sigma^2 / 4 + sigma^4 / 2
    (Var[eps] = 1, Var[eps^2] = 2, Cov[eps, eps^2] = 0).
    """
    var = log_var.exp()
    var_d_mu = var
    var_d_log_var = mu**2 * var / 4 + var**2 / 2
    return var_d_mu, var_d_log_var


# KL(p || q) = 1/2 ((1 + mu^2) / sigma^2 - 1 + log sigma^2) grows like 1 / sigma^2 (choice c);
# KL(q || p) only like -log sigma.
swapped_kl_growth = "c"
