"""The VAE: an MLP encoder to (mu, log_var), the reparameterization, an MLP decoder to logits."""

from __future__ import annotations

import torch
import torch.nn as nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def _mlp(sizes: list[int], activation: str) -> nn.Sequential:
    """Linear layers with an activation after each (the last one included)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    """Variational autoencoder for flattened images.

    The defaults are the original tutorial's 784-400-20 network with one ReLU hidden layer each side.
    ``decode`` returns Bernoulli *logits*; ``decode_probs`` returns pixel probabilities.
    """

    def __init__(
        self,
        image_size: int = 784,
        h_dim: int = 400,
        z_dim: int = 20,
        hidden_layers: int = 1,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not allowed: use one of {list(ACTIVATIONS)}.")
        self.image_size, self.h_dim, self.z_dim = image_size, h_dim, z_dim
        self.hidden_layers, self.activation = hidden_layers, activation
        hidden = [h_dim] * hidden_layers
        self.encoder = _mlp([image_size, *hidden], activation)
        self.fc_mu = nn.Linear(h_dim, z_dim)
        self.fc_log_var = nn.Linear(h_dim, z_dim)
        self.decoder = nn.Sequential(_mlp([z_dim, *hidden], activation), nn.Linear(h_dim, image_size))

    def config(self) -> dict:
        """The constructor arguments (stored in checkpoints)."""
        return {
            "image_size": self.image_size,
            "h_dim": self.h_dim,
            "z_dim": self.z_dim,
            "hidden_layers": self.hidden_layers,
            "activation": self.activation,
        }

    def flatten(self, x: torch.Tensor) -> torch.Tensor:
        """[B, image_size] or [B, C, H, W] → [B, image_size], refusing a size mismatch."""
        if x.dim() >= 2 and x[0].numel() == self.image_size:
            return x.reshape(x.shape[0], self.image_size)
        per_image = x[0].numel() if x.dim() >= 2 else x.numel()
        raise ValueError(
            f"VAE expects {self.image_size} values per image (image_size={self.image_size}), but got a "
            f"tensor of shape {list(x.shape)} = {per_image} values per image. Build the model with "
            f"image_size={per_image}, or resize the images to match."
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): the mean and log-variance of a diagonal Gaussian."""
        h = self.encoder(self.flatten(x))
        return self.fc_mu(h), self.fc_log_var(h)

    @staticmethod
    def reparameterize(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
        """z = mu + sigma * eps with eps ~ N(0, I): a sample that gradients flow through."""
        std = torch.exp(0.5 * log_var)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """p(x|z): Bernoulli logits, one per pixel."""
        return self.decoder(z)

    def decode_probs(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel probabilities sigmoid(logits), for pictures."""
        return torch.sigmoid(self.decode(z))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (logits, mu, log_var) for a batch of images."""
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return self.decode(z), mu, log_var
