"""Solutions to the exercises of notebook 06 · 张量形状实验 (shape experiments).

Each name is the one of the notebook's stub or prediction; compare with your answer after trying.
"""

# Exercise 1: 98 × 8 × 8 = 6272 values = 8 × 784 (98 = 2 × 7² supplies the 7², 8² = 2⁶ the 2⁴),
# so view(-1, 784) raises nothing and returns 8 rows of 784, each cutting small images apart
view_shape_of_98 = "[8, 784]"

# Exercise 2: x[:64], x[::2] (whole images, further apart) and x[:, :, :14] are one block of memory per
# image; x[:, :, :, :14] has gaps between its rows, so view refuses it
viewable_slices = "abd"

# Exercise 3: recon is [B, 3, 32], so recon.mean() divides each image's reconstruction by 3 × 32 = 96 rows:
# β = 96; kl kept as [B, 1]: [B, 3, 32] + [B, 1] stretches the 1 over the 32 pixels of a row and lines B
# up with the 3 channels, so only B = 3 and B = 1 broadcast
row_summed_colour_loss = "β = 96; batches 1 and 3"


# Exercise 4: each convolution (k = 4, s = 2, p = 1) maps a side H to ⌊H/2⌋, each transposed one back to 2H,
# so the decoder returns 4·⌊⌊n/2⌋/2⌋ = n exactly when 4 divides n; at 30: 15, then 7, then 14 and 28
conv_vae_sides = "24, 32 and 36"


def dilated_conv_side(side, kernel_size, stride, padding, dilation):
    """Section 6's formula with k replaced by the span of the dilated kernel, d·(k − 1) + 1."""
    span = dilation * (kernel_size - 1) + 1
    return (side + 2 * padding - span) // stride + 1
