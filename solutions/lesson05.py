"""Solutions to the exercises of notebook 05 · 训练变分自编码器 (training the VAE).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import torch


def nats_per_image(batch_sums, batch_sizes):
    """All the per-batch sums over all the images (the last, smaller batch weighs less)."""
    return float(sum(batch_sums)) / float(sum(batch_sizes))


def bce_with_logits(logits, x):
    """-log p(x|z) per image: max(l, 0) - l*x + log(1 + exp(-|l|)), summed over pixels."""
    per_pixel = torch.clamp(logits, min=0) - logits * x + torch.log1p(torch.exp(-logits.abs()))
    return per_pixel.sum(dim=1)


def in_memory_batches(images, batch_size, seed):
    """A seeded shuffle of the indices, split into batches, each sliced from the tensor."""
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(seed))
    return [images[idx] for idx in order.split(batch_size)]
