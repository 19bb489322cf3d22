"""An interactive latent explorer for a 2-D VAE: two sliders set z, the decoded digit and the
code's place on the scatter of encoder means are redrawn (ipywidgets; JupyterLab or Notebook).

Without a live kernel (an HTML export, a notebook opened untrusted) the output shows a PNG
snapshot of the explorer's current state instead of the widget.
"""

from __future__ import annotations

import base64
import io

import ipywidgets as widgets
import torch
from matplotlib.figure import Figure
from torchvision.utils import save_image

from .plotting import plot_latent_scatter, sample_images

#: CSS classes of the explorer's parts (the browser test finds them by these)
CSS = {"box": "vae-explorer", "z1": "vae-explorer-z1", "z2": "vae-explorer-z2",
       "digit": "vae-explorer-digit", "map": "vae-explorer-map"}


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


class LatentExplorer(widgets.VBox):
    """Sliders for (z1, z2) of a 2-D model; ``digit`` and ``map`` are ipywidgets.Image (PNG)."""

    def __init__(self, model, codes: torch.Tensor, labels: torch.Tensor, *, start=(0.0, 0.0),
                 limit: float = 3.0, step: float = 0.05, scale: int = 6) -> None:
        self.model, self.scale = model, scale
        self.z1 = widgets.FloatSlider(value=start[0], min=-limit, max=limit, step=step, description="z1",
                                      continuous_update=True)
        self.z2 = widgets.FloatSlider(value=start[1], min=-limit, max=limit, step=step, description="z2",
                                      continuous_update=True)
        self.digit = widgets.Image(format="png")
        self.map = widgets.Image(format="png")
        for part, name in ((self, "box"), (self.z1, "z1"), (self.z2, "z2"), (self.digit, "digit"), (self.map, "map")):
            part.add_class(CSS[name])
        self._codes, self._labels, self._limit = codes.detach().cpu(), labels.detach().cpu(), limit
        self._fig = Figure(figsize=(4.2, 3.4), dpi=100)  # not pyplot: never shown by the inline backend
        self._mark = self._draw_map(self._fig.add_subplot(), start)
        self._fig.tight_layout()
        self.z1.observe(self._redraw, names="value")
        self.z2.observe(self._redraw, names="value")
        self._redraw()
        super().__init__([widgets.HBox([self.digit, self.map]), self.z1, self.z2])

    def code(self) -> torch.Tensor:
        """The current code z = (z1, z2), shape [1, 2]."""
        return torch.tensor([[self.z1.value, self.z2.value]], dtype=torch.float32)

    def _redraw(self, _change=None) -> None:
        image = sample_images(self.model, self.code())[0]  # [1, 28, 28], pixel probabilities
        big = torch.nn.functional.interpolate(image[None], scale_factor=self.scale, mode="nearest")[0]
        buffer = io.BytesIO()
        save_image(big, buffer, format="png")
        self.digit.value = buffer.getvalue()
        self._mark.set_data([self.z1.value], [self.z2.value])
        self.map.value = _png(self._fig)

    def _draw_map(self, ax, z):
        """The encoder means coloured by class (as plotting.plot_latent_scatter) and a cross at z."""
        plot_latent_scatter(self._codes, self._labels, ax=ax, s=4, alpha=0.4)
        (mark,) = ax.plot([z[0]], [z[1]], "k+", markersize=16, markeredgewidth=2.5)
        ax.set(xlim=(-self._limit, self._limit), ylim=(-self._limit, self._limit), aspect="equal")
        ax.set_title("the code among the encoder means", fontsize=10)
        return mark

    def snapshot(self) -> Figure:
        """A static matplotlib figure of the current state: the decoded digit, and the map drawn afresh."""
        fig = Figure(figsize=(8, 3.6), dpi=100)
        axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.35]})
        image = sample_images(self.model, self.code())[0, 0]
        axes[0].imshow(image.numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        axes[0].set_title(f"decoded z = ({self.z1.value:.2f}, {self.z2.value:.2f})", fontsize=10)
        axes[0].set_axis_off()
        self._draw_map(axes[1], (self.z1.value, self.z2.value))
        fig.tight_layout()
        return fig

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["image/png"] = base64.b64encode(_png(self.snapshot())).decode("ascii")
        bundle["text/plain"] = (f"LatentExplorer at z = ({self.z1.value:.2f}, {self.z2.value:.2f}): run the "
                                "notebook in JupyterLab to move the sliders")
        return bundle


__all__ = ["CSS", "LatentExplorer"]
