"""Solutions to the exercises of notebook 05 · 训练变分自编码器 (training the VAE).

Each function (or value) has the name of the notebook's stub; paste its body into the stub to compare.
"""

import math


adam_summed_loss = "a"  # Adam divides each gradient by its own running size: a factor 128 cancels


def step_variance(v_eps, v_total, batch_size, k):
    """The variance of a step with batch_size images and k codes each, from the two measured at 128 × 1.

    On section 4's numbers (v_eps about 575, v_total about 772): 128 × 2 gives about 484, 256 × 1 about 386,
    so the step with twice the images is 1.25 times less noisy.
    """
    from_images = v_total - v_eps  # v_total holds both parts; only this one comes from which images are drawn
    # B independent images divide both parts by B; k codes per image divide only the ε part by k
    return from_images * 128 / batch_size + v_eps * 128 / (batch_size * k)


def break_even_signal(v_eps, v_total, k, work):
    """The signal at which runs of 128 images × k codes and 128 × 1 need the same work; below it, k codes win.

    In units of S_min steps of one code, one code needs 1 + v_total / s, k codes work · (1 + V_k / s).
    On section 4's numbers a second code (work about 1.49: the decoder does 321,600 of the 651,200
    multiply-adds per image) pays only below a signal of about 98, a tenth of the 991 measured. That is a
    simple noise scale 128 · 772 / 98 of about 1,000 images, eight times the batch of 128. Four codes (work
    about 2.48) give a negative signal: they need more work whatever the signal. They cut the variance only
    2.3-fold (772 to about 341) for 2.48 times the work, so they lose even where the noise is all that counts.
    """
    with_k = step_variance(v_eps, v_total, 128, k)  # the variance of a step of 128 images with k codes each
    # 1 + v_total / s = work · (1 + with_k / s)  ⇔  s · (work − 1) = v_total − work · with_k
    return (v_total - work * with_k) / (work - 1)


def elbo_in_nats(bpd, image_shape):
    """A reported bits per dimension -> the ELBO in nats per image (negative, like the ELBOs of notebook 05).

    8 bits per dimension on MNIST is −8 · 784 · ln 2 ≈ −4347 nats per image; the trained VAE's 104.6 nats
    are 104.6 / (784 · ln 2) ≈ 0.19 bits per dimension. The two numbers sit on different scales: a model of
    256 grey levels pays 8 bits per pixel for knowing nothing, the Bernoulli formula on grey values pays
    1 bit, and on grey pixels that formula is no probability at all. So 0.19 ranks nothing.
    """
    n_dims = math.prod(image_shape)  # every channel of every pixel is one dimension
    return -bpd * n_dims * math.log(2)  # one bit is ln 2 nats; the ELBO is minus the cost
