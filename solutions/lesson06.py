"""Solutions to the exercises of notebook 06 · 张量形状实验 (shape experiments).

Each name is the one of the notebook's stub or prediction; compare with your answer after trying.
"""

# Exercise 1: 20 x 196 = 3920 values = 5 x 784, so view(-1, 784) returns 5 rows (no error)
view_shape_of_twenty = "[5, 784]"

# Exercise 2: x[:64] and x[:, :, :14] are one block of memory per image; x[:, :, :, :14] has gaps
# between its rows and x.transpose(2, 3) reads memory column by column, so view refuses those two
viewable_slices = "ab"


def flatten_batch(x):
    """Keep the batch dimension, collect the rest; reshape copies when view() cannot."""
    return x.reshape(len(x), -1)


def dilated_conv_side(side, kernel_size, stride, padding, dilation):
    """Section 7's formula with k replaced by the span of the dilated kernel, dilation * (k - 1) + 1."""
    span = dilation * (kernel_size - 1) + 1
    return (side + 2 * padding - span) // stride + 1
