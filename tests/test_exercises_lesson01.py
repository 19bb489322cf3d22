"""Notebook 01's exercises, answered the way a reader might (right, and with typical mistakes).

The generic checks (solution passes, stub not attempted, every listed mistake named) are in
tests/test_exercises.py; here the mistakes are written independently of the listed ones.
"""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal

from vae_helpers.exercises import lesson01


def test_mixture_written_with_explicit_loops_passes():
    def by_loops(x, log_weights, means, sigma):
        rows = []
        for xb in x:
            terms = [lw + Normal(m, sigma).log_prob(xb) for lw, m in zip(log_weights, means)]
            rows.append(torch.logsumexp(torch.stack(terms), dim=0))
        return torch.stack(rows)

    assert lesson01.mixture_log_density.check(by_loops, verbose=False).passed


def test_mixture_with_the_log_inside_the_sum_is_named():
    def jensen(x, log_weights, means, sigma):
        log_n = -0.5 * torch.log(torch.tensor(2 * math.pi * sigma**2)) - (x[:, None] - means) ** 2 / (2 * sigma**2)
        return (torch.exp(log_weights) * log_n).sum(dim=1)

    result = lesson01.mixture_log_density.check(jensen, verbose=False)
    assert result.status == "incorrect" and result.mistake.startswith("the mean of the logs")
    assert "Jensen" in result.message and "case 1" in result.message


def test_mixture_computed_with_densities_fails_only_far_from_the_components():
    def with_densities(x, log_weights, means, sigma):
        density = torch.exp(-(x[:, None] - means) ** 2 / (2 * sigma**2)) / math.sqrt(2 * math.pi * sigma**2)
        return torch.log(density @ torch.exp(log_weights))

    result = lesson01.mixture_log_density.check(with_densities, verbose=False)
    assert result.status == "incorrect" and "case 4" in result.message and "underflow" in result.message


def test_mixture_that_ignores_the_weights_is_named():
    def unweighted(x, log_weights, means, sigma):
        return torch.log(torch.exp(Normal(means, sigma).log_prob(x[:, None])).mean(-1))

    result = lesson01.mixture_log_density.check(unweighted, verbose=False)
    # wrong on the first case already; on the far points it also underflows, so no single mistake fits
    assert result.status == "incorrect" and "case 1" in result.message


def test_ring_prediction_matches_a_measurement():
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ring = z / 10 + z / z.norm(dim=1, keepdim=True)
    measured = (ring.norm(dim=1) < 1.1).double().mean().item()
    assert abs(measured - lesson01.ring_share_answer()) < 0.005
    closest = min(lesson01.RING_CHOICES, key=lambda c: abs(lesson01.RING_CHOICES[c] - measured))
    assert lesson01.ring_share_inside.answer() == closest
    assert lesson01.ring_share_inside.check(closest, verbose=False).passed
    assert min(lesson01.RING_CHOICES.values()) < measured < max(lesson01.RING_CHOICES.values())  # no elimination
    even = lesson01.ring_share_inside.check("A", verbose=False)
    assert even.status == "incorrect" and "evenly" in even.message and "0.393" in even.message
    square = lesson01.ring_share_inside.check("c", verbose=False)
    assert square.status == "incorrect" and "square" in square.message
    mean_one = lesson01.ring_share_inside.check("d", verbose=False)
    assert mean_one.status == "incorrect" and "mean 2" in mean_one.message
    assert lesson01.ring_share_inside.check("e", verbose=False).status == "incorrect"


def test_wide_proposal_prediction_matches_a_measurement():
    # rho of a q widened 1.2-fold around a Gaussian posterior, measured by Monte Carlo in 1-D, then multiplied
    c, n = 1.2, 400_000
    z = c * torch.randn(n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    w = Normal(0.0, 1.0).log_prob(z).exp() / Normal(0.0, c).log_prob(z).exp()  # p(z|x) / q(z|x)
    per_direction = w.pow(2).mean().item()
    assert abs(per_direction - c**2 / math.sqrt(2 * c**2 - 1)) < 0.002
    draws = (per_direction**200 - 1) / 0.1**2
    closest = min(lesson01.DRAWS_CHOICES, key=lambda k: abs(math.log(lesson01.DRAWS_CHOICES[k] / draws)))
    assert closest == lesson01.wide_proposal_draws.answer() == "c"
    assert abs(lesson01.wide_proposal_draws_answer(latent_dim=20) - 166) < 1  # section 9: d = 20
    per_widening = lesson01.wide_proposal_draws.check("d", verbose=False)
    assert per_widening.status == "incorrect" and "1.05" in per_widening.message
    assert abs(math.log10(1.2**200 / 0.1**2) - math.log10(lesson01.DRAWS_CHOICES["d"])) < 0.1


def test_no_hint_is_the_solution_code_and_the_identity_comes_last():
    ex = lesson01.mixture_log_density
    assert not any("logsumexp(log_weights +" in hint for hint in ex.hints), ex.name
    assert "CDF" in lesson01.ring_share_inside.hints[-1]
    assert not any("exp(-" in hint for hint in lesson01.ring_share_inside.hints)  # the CDF is left to the reader
    assert not any("million" in hint or "18,000" in hint for hint in lesson01.wide_proposal_draws.hints)


def test_mixture_with_one_global_maximum_fails_on_the_issue_27_cases():
    def mix_one_max(x, log_weights, means, sigma):
        t = log_weights + Normal(means, sigma).log_prob(x.unsqueeze(-1))
        m = t.max()
        return m + torch.log(torch.exp(t - m).sum(-1))

    assert not lesson01.mixture_log_density.check(mix_one_max, verbose=False).passed
    for case in lesson01.mixture_log_density.cases()[-2:]:  # 800 nats apart, float32 near −110
        assert not torch.isfinite(mix_one_max(*case.args) if "apart" in case.label
                                  else lesson01._mix_direct_exp(*case.args)).all()
