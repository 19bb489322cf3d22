"""Checkers for the exercises of notebook 02 (the encoder and the ELBO).

Each ``check_*`` calls the reader's function on a few fixed cases, compares it with a reference
implementation and prints ✓ or ✗ with a reason. Solutions: ``solutions/lesson02.py``.
"""

from __future__ import annotations

import torch

from .. import toy
from ..losses import gaussian_kl
from .feedback import CheckResult, check_function

_F64 = torch.float64


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(202)


def reference_kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(log_var)) || N(0, I)) per row (the package's ``losses.gaussian_kl``)."""
    return gaussian_kl(mu, log_var)


def reference_elbo_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """Monte-Carlo ELBO: the mean of log w_i = log p(x, z_i) - log q(z_i|x) over dim 0."""
    return log_w.mean(dim=0)


def reference_iw_bound_from_log_weights(log_w: torch.Tensor) -> torch.Tensor:
    """L_k = log (1/k) sum_i w_i over dim 0, computed stably."""
    return toy.log_mean_exp(log_w, dim=0)


def _log_weight_cases() -> list[tuple]:
    g = _generator()
    return [
        (torch.randn(1, 3, generator=g, dtype=_F64),),  # k = 1: both bounds are the same number
        (torch.randn(8, 2, generator=g, dtype=_F64) * 2.0 - 5.0,),
        (torch.randn(64, 4, generator=g, dtype=_F64) * 10.0 - 900.0,),  # realistic sizes: exp underflows
    ]


def check_kl_to_standard_normal(reader_fn) -> CheckResult:
    """Exercise 1: the closed-form KL of a diagonal Gaussian q to the prior N(0, I)."""
    g = _generator()
    cases = [
        (torch.zeros(2, 3, dtype=_F64), torch.zeros(2, 3, dtype=_F64)),  # q = prior: KL = 0
        (torch.randn(4, 2, generator=g, dtype=_F64), torch.randn(4, 2, generator=g, dtype=_F64)),
        (torch.randn(3, 5, generator=g, dtype=_F64) * 3, torch.randn(3, 5, generator=g, dtype=_F64) - 2),
    ]
    hint = (
        "per dimension KL = 0.5 * (mu^2 + sigma^2 - 1 - log sigma^2) with sigma^2 = exp(log_var); "
        "sum over the last dimension (one number per row)."
    )
    return check_function("kl_to_standard_normal", reader_fn, reference_kl_to_standard_normal, cases, hint)


def check_elbo_from_log_weights(reader_fn) -> CheckResult:
    """Exercise 2: the Monte-Carlo ELBO from log importance weights [k, B]."""
    hint = "the ELBO is E_q[log w]: average the log weights over the k samples (dim 0), giving shape [B]."
    return check_function(
        "elbo_from_log_weights", reader_fn, reference_elbo_from_log_weights, _log_weight_cases(), hint
    )


def check_iw_bound_from_log_weights(reader_fn) -> CheckResult:
    """Exercise 3: the importance-weighted bound L_k from log weights [k, B]."""
    hint = (
        "L_k is the log of the average weight, log((1/k) * sum_i w_i), not the average of the log "
        "weights (that is the ELBO). Work in logs: exp(log_w) underflows to 0 for log weights near -900."
    )
    return check_function(
        "iw_bound_from_log_weights", reader_fn, reference_iw_bound_from_log_weights, _log_weight_cases(), hint
    )
