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


def test_ess_through_softmax_passes_and_naive_ess_is_named():
    softmax_ess = lambda a: 1 / torch.softmax(a, dim=0).pow(2).sum(dim=0)  # noqa: E731
    assert lesson01.effective_sample_size.check(softmax_ess, verbose=False).passed

    def naive(a):
        w = torch.exp(a)
        return torch.sum(w, 0) ** 2 / torch.sum(w * w, 0)

    result = lesson01.effective_sample_size.check(naive, verbose=False)
    assert result.status == "incorrect" and "case 3" in result.message and "exponentiated directly" in result.message


def test_ess_over_the_wrong_axis_is_caught_by_its_shape():
    result = lesson01.effective_sample_size.check(lambda a: 1 / torch.softmax(a, dim=1).pow(2).sum(dim=1),
                                                  verbose=False)
    assert result.status == "incorrect" and "shape" in result.message and result.mistake == "the sums taken over the wrong axis"


def test_ess_as_a_fraction_is_named():
    result = lesson01.effective_sample_size.check(
        lambda a: 1 / (torch.softmax(a, dim=0).pow(2).sum(dim=0) * a.shape[0]), verbose=False)
    assert result.mistake == "means where sums are meant"


def test_ring_prediction_matches_a_measurement():
    z = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ring = z / 10 + z / z.norm(dim=1, keepdim=True)
    measured = (ring.norm(dim=1) < 1.1).double().mean().item()
    assert abs(measured - lesson01.ring_share_answer()) < 0.005
    closest = min(lesson01.RING_CHOICES, key=lambda c: abs(lesson01.RING_CHOICES[c] - measured))
    assert lesson01.ring_share_inside.answer() == closest
    assert lesson01.ring_share_inside.check(closest, verbose=False).passed
    wrong = lesson01.ring_share_inside.check("D", verbose=False)
    assert wrong.status == "incorrect" and "1-D normal" in wrong.message and "0.393" in wrong.message
    square = lesson01.ring_share_inside.check("b", verbose=False)
    assert square.status == "incorrect" and "square" in square.message
    mean_one = lesson01.ring_share_inside.check("c", verbose=False)
    assert mean_one.status == "incorrect" and "mean 2" in mean_one.message
    assert lesson01.ring_share_inside.check("e", verbose=False).status == "incorrect"


def test_no_hint_is_the_solution_code_and_the_identity_comes_last():
    for ex, code in ((lesson01.mixture_log_density, "logsumexp(log_weights +"),
                     (lesson01.effective_sample_size, "logsumexp(2 * log_weights")):
        assert not any(code in hint for hint in ex.hints), ex.name
    assert "shifted by the same constant" in lesson01.effective_sample_size.hints[-1]
    assert "CDF" in lesson01.ring_share_inside.hints[-1]
    assert not any("exp(-" in hint for hint in lesson01.ring_share_inside.hints)  # the CDF is left to the reader


def test_the_lesson_does_not_print_the_stable_ess():
    # Exercise 2 asks for the ESS from log-weights without overflow; section 6 must not show that code
    import nbformat

    from vae_helpers.data import project_root

    nb = nbformat.read(project_root() / "notebooks" / "01_latent_variable_models.ipynb", as_version=4)
    lesson_code = [c.source for c in nb.cells if c.cell_type == "code" and "def effective_sample_size" not in c.source]
    ess_code = [src for src in lesson_code if "ess =" in src]
    assert ess_code, "section 6 computes an ESS"
    assert not any("softmax" in src or "logsumexp(2" in src for src in ess_code)


def test_one_global_maximum_and_no_stabilisation_fail_on_the_issue_27_cases():
    def ess_one_max(a):  # stabilised with one maximum for the whole batch, not one per column
        m = a.max()
        return torch.exp(2 * torch.log(torch.exp(a - m).sum(0)) - torch.log(torch.exp(2 * (a - m)).sum(0)))

    result = lesson01.effective_sample_size.check(ess_one_max, verbose=False)
    assert result.status == "incorrect" and "one maximum per group" in result.message
    cases = lesson01.effective_sample_size.cases()
    apart = [c for c in cases if "−800" in c.label][0]
    assert not torch.isfinite(ess_one_max(*apart.args)).all()  # the −800 column alone catches it
    f32 = [c for c in cases if "float32" in c.label][0]
    assert not torch.isfinite(lesson01._ess_direct_exp(*f32.args)).all()  # unstabilised fails at VAE scale

    def mix_one_max(x, log_weights, means, sigma):
        t = log_weights + Normal(means, sigma).log_prob(x.unsqueeze(-1))
        m = t.max()
        return m + torch.log(torch.exp(t - m).sum(-1))

    assert not lesson01.mixture_log_density.check(mix_one_max, verbose=False).passed
    for case in lesson01.mixture_log_density.cases()[-2:]:  # 800 nats apart, float32 near −110
        assert not torch.isfinite(mix_one_max(*case.args) if "apart" in case.label
                                  else lesson01._mix_direct_exp(*case.args)).all()
