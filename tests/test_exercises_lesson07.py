"""Exercise checkers of notebook 07: typical mistakes fail with a reason
(tests/test_exercises.py: every solution passes, every stub reads as not done)."""

import torch

from vae_helpers.exercises import lesson07
from vae_helpers.losses import gaussian_kl
from vae_helpers.model import VAE
from vae_helpers.plotting import manifold_images, sample_images


def test_evenly_spaced_grid_fails():
    result = lesson07.check_inverse_cdf_grid(lambda n, q: torch.linspace(-2, 2, n))
    assert not result.passed
    assert "test case 1" in result.message and "icdf" in result.message


def test_grid_without_the_quantile_fails():
    # linspace(0, 1) puts -inf and +inf at the ends
    result = lesson07.check_inverse_cdf_grid(
        lambda n, q: torch.distributions.Normal(0.0, 1.0).icdf(torch.linspace(0, 1, n)))
    assert not result.passed and "test case 1" in result.message


def test_interpolation_missing_the_end_point_fails():
    def open_ended(z_a, z_b, steps):
        t = torch.arange(steps, dtype=z_a.dtype)[:, None] / steps
        return (1 - t) * z_a + t * z_b

    result = lesson07.check_interpolate(open_ended)
    assert not result.passed and "last row exactly z_b" in result.message


def test_interpolation_with_the_wrong_shape_fails():
    result = lesson07.check_interpolate(lambda z_a, z_b, steps: torch.stack([z_a, z_b]))
    assert not result.passed and "expected shape [8, 20], got shape [2, 20]" in result.message


def test_kl_summed_over_dimensions_fails_on_shape():
    result = lesson07.check_kl_per_dimension(
        lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv.exp())).sum(dim=1))
    assert not result.passed and "expected shape [4], got shape [6]" in result.message


def test_kl_summed_over_the_batch_fails_on_value():
    result = lesson07.check_kl_per_dimension(
        lambda mu, lv: (-0.5 * (1 + lv - mu**2 - lv.exp())).sum(dim=0))
    assert not result.passed and "test case 1" in result.message and "dim=0" in result.message


def test_references_agree_with_the_package():
    # the grid is the one plotting.manifold_images decodes
    model = VAE(image_size=16, h_dim=8, z_dim=2)
    values = lesson07.reference_inverse_cdf_grid(4, 0.05).float()
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1.reshape(-1), z2.reshape(-1)], dim=1)
    assert torch.allclose(manifold_images(model, n=4), sample_images(model, z), atol=1e-6)
    # the per-dimension KL sums to the package's KL
    g = torch.Generator().manual_seed(0)
    mu, log_var = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    per_dim = lesson07.reference_kl_per_dimension(mu, log_var)
    assert torch.allclose(per_dim.sum(), gaussian_kl(mu, log_var).mean())
