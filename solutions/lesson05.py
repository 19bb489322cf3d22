"""Solutions to the exercises of notebook 05 · 训练变分自编码器 (training the VAE).

Each function (or value) has the name of the notebook's stub; paste its body into the stub to compare.
"""

import math


adam_summed_loss = "a"  # Adam divides each gradient by its own running size: a factor 128 cancels


def step_variance(v_eps, v_total, batch_size, k):
    """The variance of a step with batch_size images and k codes each, from the two measured at 128 × 1.

    On section 4's numbers (v_eps about 575, v_total about 772): 128 × 2 gives about 484, 256 × 1 about 386,
    so the step with twice the images is 1.25 times less noisy. A step of 256 × 1 costs 2 times one of 128 × 1,
    a second code only about 1.49 times (the decoder does 321,600 of the 651,200 multiply-adds per image).
    By section 4's rule a run needs about 1 + variance / signal times its noise-free steps (signal about 991):
    1.78 for 128 × 1, 1.49 for 128 × 2, 1.39 for 256 × 1. Times the work of a step: 1.78, 2.22 and 2.78.
    With the noise already below the signal, quieter steps do not pay for their work: one code and 128 images
    need the least. (Variance × work alone, about 720 for 128 × 2 against 772 for 128 × 1, would favour the
    second code; that yardstick holds only where the noise swamps the signal.)
    """
    from_images = v_total - v_eps  # v_total holds both parts; only this one comes from which images are drawn
    # B independent images divide both parts by B; k codes per image divide only the ε part by k
    return from_images * 128 / batch_size + v_eps * 128 / (batch_size * k)


def elbo_in_nats(bpd, image_shape):
    """A reported bits per dimension -> the ELBO in nats per image (negative, like the ELBOs of notebook 05).

    8 bits per dimension on MNIST is −8 · 784 · ln 2 ≈ −4347 nats per image; the trained VAE's 104.6 nats
    are 104.6 / (784 · ln 2) ≈ 0.19 bits per dimension. The two numbers sit on different scales: a model of
    256 grey levels pays 8 bits per pixel for knowing nothing, the Bernoulli formula on grey values pays
    1 bit, and on grey pixels that formula is no probability at all. So 0.19 ranks nothing.
    """
    n_dims = math.prod(image_shape)  # every channel of every pixel is one dimension
    return -bpd * n_dims * math.log(2)  # one bit is ln 2 nats; the ELBO is minus the cost
