"""Solutions to the exercises of notebook 08 · 评估对数似然 (how good is the model? evaluating log p(x)).

Each function has the name of the notebook's stub; paste its body into the stub to compare.
"""

import math

import torch


def log_mean_exp(log_w):
    """log of the mean of exp(log_w) over dim 0, without ever computing exp(log_w) itself."""
    k = log_w.shape[0]
    return torch.logsumexp(log_w, dim=0) - math.log(k)


def iwae_from_log_weights(log_w, k):
    """Mean of L_k over the K/k disjoint groups of k consecutive samples: shape [B]."""
    K, B = log_w.shape
    groups = log_w.reshape(K // k, k, B)
    per_group = torch.logsumexp(groups, dim=1) - math.log(k)  # [K/k, B]
    return per_group.mean(dim=0)


def effective_sample_size(log_w):
    """(sum w)^2 / sum w^2 per column, in log space so tiny weights do not become 0/0."""
    return torch.exp(2 * torch.logsumexp(log_w, dim=0) - torch.logsumexp(2 * log_w, dim=0))
