"""Solutions to the exercises of notebook 05 · 训练变分自编码器 (training the VAE).

Each function (or value) has the name of the notebook's stub; paste its body into the stub to compare.
"""

import math

from vae_helpers import losses

adam_summed_loss = "a"  # Adam divides each gradient by its own running size: a factor 128 cancels


def training_step(model, optimizer, x):
    """One step of the VAE: forward, negative ELBO per image, fresh gradients, Adam's update."""
    logits, mu, log_var = model(x)
    loss, recon, kl = losses.vae_loss(logits, x, mu, log_var)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def elbo_in_nats(bpd, image_shape):
    """A reported bits per dimension -> the ELBO in nats per image (negative, like the table's column)."""
    n_dims = math.prod(image_shape)  # every channel of every pixel is one dimension
    return -bpd * n_dims * math.log(2)  # one bit is ln 2 nats; the ELBO is minus the cost
