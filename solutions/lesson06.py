"""Solutions to the exercises of notebook 06 · 张量形状实验 (shape experiments).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""


def batch_sizes(n_images, batch_size):
    """Full batches, then the remainder (if any) as a last, smaller batch."""
    sizes = [batch_size] * (n_images // batch_size)
    if n_images % batch_size:
        sizes.append(n_images % batch_size)
    return sizes


def flatten_batch(x):
    """Keep the batch dimension, collect the rest; reshape copies when view() cannot."""
    return x.reshape(x.shape[0], -1)


def conv_output_side(side, kernel_size, stride, padding):
    """floor((side + 2 padding - kernel_size) / stride) + 1."""
    return (side + 2 * padding - kernel_size) // stride + 1
