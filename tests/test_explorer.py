"""The latent explorer of notebook 07: sliders redraw the digit and the mark, a static PNG fallback."""

import base64

import io

import matplotlib.pyplot as plt
import torch

from vae_helpers.explorer import CSS, LatentExplorer
from vae_helpers.model import VAE


def make_explorer():
    torch.manual_seed(0)
    model = VAE(image_size=784, h_dim=16, z_dim=2).eval()
    codes, labels = torch.randn(50, 2), torch.randint(0, 10, (50,))
    return LatentExplorer(model, codes, labels, start=(0.0, 0.0))


def test_moving_a_slider_redraws_the_digit_and_the_mark():
    explorer = make_explorer()
    digit, where = bytes(explorer.digit.value), bytes(explorer.map.value)
    assert digit.startswith(b"\x89PNG") and where.startswith(b"\x89PNG")
    explorer.z1.value = 2.0
    assert bytes(explorer.digit.value) != digit and bytes(explorer.map.value) != where
    assert torch.equal(explorer.code(), torch.tensor([[2.0, 0.0]]))
    explorer.z1.value = 0.0
    assert bytes(explorer.digit.value) == digit  # the same code decodes to the same picture


def test_the_digit_is_the_decoder_output():
    explorer = make_explorer()
    explorer.z2.value = -1.5
    with torch.no_grad():
        expected = explorer.model.decode_probs(torch.tensor([[0.0, -1.5]])).view(28, 28)
    shown = torch.from_numpy(plt.imread(io.BytesIO(bytes(explorer.digit.value))))[..., 0]  # scaled up, nearest
    assert shown.shape == (28 * explorer.scale, 28 * explorer.scale)
    assert torch.allclose(shown[:: explorer.scale, :: explorer.scale], expected, atol=1 / 255 + 1e-6)


def test_css_classes_and_static_fallback():
    explorer = make_explorer()
    assert CSS["digit"] in explorer.digit._dom_classes and CSS["z1"] in explorer.z1._dom_classes
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert "JupyterLab" in bundle["text/plain"]


def test_the_snapshot_draws_the_map_afresh_with_a_class_key():
    explorer = make_explorer()
    explorer.z1.value, explorer.z2.value = 1.0, -0.5
    fig = explorer.snapshot()
    digit_ax, map_ax, key_ax = fig.axes  # the colour bar is the third axes
    assert not map_ax.images  # the scatter itself, not a resampled picture of it
    assert len(map_ax.collections[0].get_offsets()) == 50
    (mark,) = map_ax.lines
    assert list(mark.get_xdata()) == [1.0] and list(mark.get_ydata()) == [-0.5]
    assert [t.get_text() for t in key_ax.get_yticklabels()] == [str(c) for c in range(10)]
    assert key_ax.get_ylim() == (-0.5, 9.5)  # one band per class, ticks at the centres
