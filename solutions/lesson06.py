"""Solutions to the exercises of notebook 06 · 张量形状实验 (shape experiments).

Each name is the one of the notebook's stub or prediction; compare with your answer after trying.
"""

# Exercise 1: 98 x 8 x 8 = 6272 values = 8 x 784 (98 = 2 x 7^2 supplies the 7^2, 8^2 = 2^6 the 2^4),
# so view(-1, 784) raises nothing and returns 8 rows of 784, each cutting small images apart
view_shape_of_98 = "[8, 784]"

# Exercise 2: x[:64] and x[:, :, :14] are one block of memory per image; x[:, :, :, :14] has gaps
# between its rows, so view refuses it; x.permute(0, 2, 3, 1) only moves the channel dimension of size 1,
# so the pixels are still read in memory order and view accepts it
viewable_slices = "abd"


def flatten_batch(x):
    """Keep the batch dimension, collect the rest; reshape copies when view() cannot."""
    return x.reshape(len(x), -1)


def dilated_conv_side(side, kernel_size, stride, padding, dilation):
    """Section 6's formula with k replaced by the span of the dilated kernel, dilation * (k - 1) + 1."""
    span = dilation * (kernel_size - 1) + 1
    return (side + 2 * padding - span) // stride + 1
