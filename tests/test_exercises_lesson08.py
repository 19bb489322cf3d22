"""Notebook 08's exercises, answered the way a reader might: each typical mistake, written as a
reader would write it (not as the exercise lists it), gets the verdict and the mistake's name.
(tests/test_exercises.py runs the generic checks: solutions pass, stubs read as not attempted.)"""

import math

import numpy as np
import torch
from lesson_solutions import load_solutions

from vae_helpers.exercises import lesson08
from vae_helpers.losses import estimate_log_likelihood, iwae_bound, log_importance_weights
from vae_helpers.model import VAE

solutions = load_solutions("lesson08")


def verdict(ex, fn):
    result = ex.check(fn, verbose=False)
    return result.status, result.mistake


def test_encoder_signal_prediction():
    ex = lesson08.encoder_signal_as_k_grows
    assert ex.check("B", verbose=False).passed
    grows = ex.check("a", verbose=False)
    assert not grows.passed and grows.mistake == "a" and "log p(x)" in grows.message
    control = ex.check("c", verbose=False)
    assert not control.passed and control.mistake == "c" and "control" in control.message
    noisier = ex.check("d", verbose=False)
    assert not noisier.passed and noisier.mistake == "d" and "1/√k" in noisier.message
    assert "not one of the choices" in ex.check("e", verbose=False).message
    assert solutions.encoder_signal_as_k_grows == ex.answer()


def test_test_images_needed_mistakes_as_a_reader_writes_them():
    ex = lesson08.test_images_needed

    def unpaired(a, b, target):
        return int(np.ceil((np.var(a.numpy(), ddof=1) + np.var(b.numpy(), ddof=1)) / target**2))

    def truncated(a, b, target):
        return int((a - b).var() / target**2)  # int() rounds towards zero

    def right_with_numpy(a, b, target):
        d = (a - b).numpy()
        return int(np.ceil(np.var(d, ddof=1) / target**2))

    def numpy_default_ddof(a, b, target):  # np.var divides by N, section 7's std by N - 1
        return int(np.ceil(np.var((a - b).numpy()) / target**2))

    assert verdict(ex, unpaired) == ("incorrect", "the variances of the two models added, as if the images were independent")
    assert verdict(ex, truncated)[1] == "rounded down"
    assert verdict(ex, numpy_default_ddof)[1].startswith("the population variance")
    assert ex.check(right_with_numpy, verbose=False).passed


def test_pairing_needs_far_fewer_images():
    # the point of pairing: the per-image spread (tens of nats) is shared and cancels
    for case in lesson08.test_images_needed.cases():
        a, b, target = case.args
        paired = lesson08.reference_test_images_needed(a, b, target)
        unpaired = math.ceil((a.var() + b.var()).item() / target**2)
        assert paired * 20 < unpaired
        assert (a - b).std() / math.sqrt(paired) <= target < (a - b).std() / math.sqrt(paired - 1)


def test_bits_per_dim_mistakes_as_a_reader_writes_them():
    ex = lesson08.bits_per_dim
    assert verdict(ex, lambda lp, d: -lp / d / math.log(2)) == ("correct", None)
    assert verdict(ex, lambda lp, d: torch.log2(torch.exp(-lp)) / d)[0] == "incorrect"  # exp(7000) overflows
    assert verdict(ex, lambda lp, d: -lp / d)[1] == "nats left as nats"
    assert verdict(ex, lambda lp, d: -lp / d / math.log(10))[1] == "log base 10 instead of base 2"
    assert verdict(ex, lambda lp, d: lp / d / math.log(2))[1] == "the sign kept"


def test_paper_number_in_bits_per_dim():
    # 84.78 nats per 784-pixel image (the IWAE, k = 50) is about 0.156 bits per pixel
    bpd = lesson08.reference_bits_per_dim(torch.tensor([-84.78], dtype=torch.float64), 784)
    assert abs(bpd.item() - 84.78 / 784 / math.log(2)) < 1e-12 and 0.15 < bpd.item() < 0.16


def test_effective_sample_size_mistakes_as_a_reader_writes_them():
    ex = lesson08.effective_sample_size

    def naive(log_w):
        w = torch.exp(log_w)
        return w.sum(0).pow(2) / w.pow(2).sum(0)

    def via_softmax(log_w):  # right: 1 / sum of squared normalised weights
        return 1 / torch.softmax(log_w, dim=0).pow(2).sum(0)

    assert verdict(ex, naive) == ("incorrect", "the weights exponentiated directly")
    assert verdict(ex, lambda lw: torch.softmax(lw, 0).pow(2).sum(0))[1] == "the ratio upside down"
    assert ex.check(via_softmax, verbose=False).passed


def test_effective_sample_size_limits():
    equal = torch.zeros(8, 3, dtype=torch.float64)
    one = torch.full((8, 3), -1e4, dtype=torch.float64)
    one[2] = 0.0
    assert torch.allclose(lesson08.reference_effective_sample_size(equal), torch.full((3,), 8.0, dtype=torch.float64))
    assert torch.allclose(lesson08.reference_effective_sample_size(one), torch.ones(3, dtype=torch.float64))


def test_references_agree_with_the_package():
    torch.manual_seed(0)
    model = VAE(image_size=16, h_dim=8, z_dim=3, hidden_layers=2, activation="tanh")
    x = torch.bernoulli(torch.rand(4, 16, generator=torch.Generator().manual_seed(1)))
    with torch.no_grad():
        torch.manual_seed(5)
        log_w = torch.cat([log_importance_weights(model, x, 50) for _ in range(4)])
        torch.manual_seed(5)
        estimate = estimate_log_likelihood(model, x, k=200, chunk=50)
        torch.manual_seed(7)
        bound = iwae_bound(model, x, 10)
        torch.manual_seed(7)
        log_w10 = log_importance_weights(model, x, 10)
    assert torch.allclose((torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])), estimate, atol=1e-5)
    assert torch.allclose((torch.logsumexp(log_w10, 0) - math.log(log_w10.shape[0])), bound, atol=1e-5)
    ess = lesson08.reference_effective_sample_size(log_w)
    assert bool(((ess >= 1 - 1e-6) & (ess <= 200 + 1e-6)).all())


def test_effective_sample_size_needs_one_maximum_per_image():
    ex = lesson08.effective_sample_size

    def one_global_max(log_w):
        w = torch.exp(log_w - log_w.max())
        return w.sum(0) ** 2 / w.pow(2).sum(0)

    def float32_unstabilised(log_w):
        w = torch.exp(log_w.float())
        return (w.sum(0) ** 2 / w.pow(2).sum(0)).to(log_w.dtype)

    assert verdict(ex, one_global_max) == ("incorrect", "one maximum for all the images")
    assert verdict(ex, float32_unstabilised)[0] == "incorrect"
    assert "hint(2)" in ex.check(one_global_max, verbose=False).message
