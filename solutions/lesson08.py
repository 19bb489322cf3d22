"""Solutions to the exercises of notebook 08 · 评估对数似然 (how good is the model? evaluating log p(x)).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import math

import torch


# Exercise 2 (a prediction): L_k tends to log p(x), which has no encoder in it, so the expected gradient
# of L_k with respect to the encoder's parameters tends to zero (like 1/k), while the noise of its
# k-sample estimate falls only like 1/√k: the encoder's signal-to-noise ratio falls.
encoder_signal_as_k_grows = "b"


def test_images_needed(a, b, target_se):
    """The fewest test images N for which the paired standard error std(a − b)/√N ≤ target_se.

    On section 8's IWAE and control: about 1,700 images paired. The unpaired standard error, with
    var(a) + var(b) in place of var(a − b), would need about 183,000, far more than MNIST's 10,000.
    """
    # the variance of the per-image differences in the pilot run; torch's var, like section 8's std,
    # is the sample variance (divided by N − 1)
    spread = (a - b).var().item()
    return math.ceil(spread / target_se**2)  # √(spread/N) ≤ target  ⇔  N ≥ spread/target²


def bits_per_dim(log_px, num_pixels):
    """log p(x) in nats per image → bits per dimension (a positive cost), one per image."""
    return -log_px / (num_pixels * math.log(2))  # nats / ln 2 = bits; per pixel: / D


def effective_sample_size(log_w):
    """(Σᵢ wᵢ)² / Σᵢ wᵢ² per image, in log space so tiny weights do not become 0/0.

    On the notebook's models a typical image keeps a few to a few tens of its 5000 samples (between 1/m and
    1/m² for section 7's medians m of 0.19 to 0.27). The toy of section 6 keeps about 87,000 of its 100,000:
    the ESS is computed from the weights that were drawn, and the missed mode's weights never are. A large
    ESS does not show that an estimate has found all of p(x).
    """
    log_sum_w = torch.logsumexp(log_w, dim=0)
    log_sum_w2 = torch.logsumexp(2 * log_w, dim=0)  # log Σᵢ wᵢ²: the log of wᵢ² is 2 log wᵢ
    return torch.exp(2 * log_sum_w - log_sum_w2)
