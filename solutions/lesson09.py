"""Solutions to the exercises of notebook 09 · 加速训练 (making training fast).

Each function (or value) has the name of the notebook's stub; paste its body into the stub to compare.
"""


def arithmetic_intensity(batch, n_in, n_out, bytes_per_value):
    """FLOPs per byte moved of y = x W^T: x [B, n_in] and W [n_out, n_in] read, y [B, n_out] written."""
    flops = 2 * batch * n_in * n_out
    values_moved = batch * n_in + n_in * n_out + batch * n_out
    return flops / (bytes_per_value * values_moved)


# Exercise 1's questions, answered (the check prints this, with section 4's balance point of the run): the
# first layer (784 -> 400, float32) has an intensity of 0.50 FLOP/byte at batch 1 (the weights are nearly all
# of the bytes: 2 FLOPs per 4-byte weight), 43 at batch 128 and 105 at batch 1024; as the batch grows it tends
# to 2*784*400 / (4*(784 + 400)) = 132. It crosses a float32 balance point of B FLOP/byte at the smallest batch
# with 627200*b / (4*(1184*b + 313600)) >= B, so the answer depends on the machine: for example batch 13 for
# B = 5.8 and batch 8 for B = 3.6 (other machines); the stored run's B of 1.6 FLOP/byte (an L2-cache bandwidth)
# is crossed at batch 4, as f(3) = 1.48 and f(4) = 1.97.
# bfloat16 halves the bytes, so it doubles the intensity at every batch size; but bfloat16 arithmetic also
# raises the compute roof, so the bfloat16 balance point lies further right: whether the crossing moves to a
# smaller batch depends on both, and only a measurement of the bfloat16 product's speed says.


def training_step_flops(batch, image_size, h_dim, z_dim):
    """FLOPs of the matrix products of one training step (forward and backward) of the MLP VAE."""
    layers = [(image_size, h_dim), (h_dim, z_dim), (h_dim, z_dim), (z_dim, h_dim), (h_dim, image_size)]
    forward = sum(2 * batch * n_in * n_out for n_in, n_out in layers)  # 2 FLOPs per multiply-add
    weight_grads = forward  # g^T h: one product of the same size per layer
    input_grads = forward - 2 * batch * image_size * h_dim  # g W: every layer but the first
    return forward + weight_grads + input_grads


# Exercise 2's questions, answered: for the 784-400-20 model at batch 128 the products of a step are
# 419.8 MFLOP; the rule of thumb says 3 x 166.7 = 500.1 MFLOP, 19 % too many. The first layer
# (784 -> 400) is 48 % of the forward FLOPs, and its input gradient (the images need none) is never
# computed: the rule counts it anyway. Per step the backward pass runs 9 products (aten::mm): 5 weight
# gradients and 4 input gradients (all layers but the first); the forward pass runs 5 (aten::addmm, with
# the bias). Section 3's table, over 10 steps, counts 90 aten::mm and 50 aten::addmm calls.


# Exercise 3. The answer is measured on the reader's machine, so it depends on it. Only the part of a step fixed per
# step (per-operation overhead, Adam's update of the same weights) is shared among more images. Where
# that part is small (a CPU with few cores: about a quarter of the step) expect "b"; where it is most of
# the step (a GPU) expect "a". On a busy machine the check declines to judge.
batch_1024_per_image = "b"
