"""The exercises of notebook 03 (the reparameterization trick).

- ``step_gradient`` (a step function): the true gradient of P(z > 0), where every pathwise draw is 0;
- ``reparameterize_full_cov`` (transfer): the trick for a Gaussian with a full covariance matrix; any square
  root A of the covariance (AAᵀ = Σ) is accepted, not only the reference's Cholesky factor;
- ``optimal_baseline_sigma`` (derive): the variance-minimising constant baseline for the σ-gradient of E[z²].

None of them is a log-sum-exp; issue #27's far-apart-columns and float32 cases do not apply here.

Solutions: ``solutions/lesson03.py``.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from .core import Case, Exercise, Mistake, _lost_graph
from .i18n import N_, _

_F64 = torch.float64
LESSON = "lesson03"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


# --------------------------------------------------------------------------- 1. a step function


def _phi(t):
    return torch.exp(-0.5 * t**2) / math.sqrt(2 * math.pi)


def reference_step_gradient(mu, sigma):
    """∂/∂μ P(z > 0) for z ~ N(μ, σ²): the density of z at the jump, φ(μ/σ)/σ."""
    return _phi(mu / sigma) / sigma


def _step_cases() -> list[Case]:
    return [
        Case((torch.tensor([0.5, -1.0, 2.0, 0.0], dtype=_F64), torch.tensor([1.0, 0.5, 1.5, 2.0], dtype=_F64)),
             "four (mu, sigma) pairs"),
        Case((torch.tensor([1.5, -0.3], dtype=_F64), torch.tensor([0.7, 3.0], dtype=_F64)), "two more pairs"),
    ]


step_gradient = Exercise(
    "step_gradient",
    reference_step_gradient,
    _step_cases,
    hints=[
        "Forget the estimators for a moment: E[𝟙[z > 0]] = P(z > 0). Write that probability for any μ and σ "
        "with the standard normal CDF Φ, then differentiate it by hand.",
        "Write z = μ + σε: P(z > 0) = P(ε > −μ/σ). For the second question: as μ moves, P(z > 0) changes only "
        "because probability crosses one point. What does f′ tell a single draw about that point?",
        "P(ε > −μ/σ) = Φ(μ/σ), with Φ the standard normal CDF, and Φ′ is the standard normal density φ. "
        "Differentiate with respect to μ and mind the chain rule.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("divided by σ² instead of σ",
                "your answer has one factor 1/σ too many: count the factors the chain rule of Φ(μ/σ) gives.",
                lambda mu, sigma: _phi(mu / sigma) / sigma**2, hint=3),
        Mistake("the density taken at μ, not at the jump 0",
                "your answer is the density at the peak of z's distribution; which point must probability cross for "
                "P(z > 0) to change?",
                lambda mu, sigma: _phi(torch.zeros_like(mu)) / sigma, hint=2),
        Mistake("zero: the pathwise estimate taken for the gradient",
                "f′(z) = 0 for every z except the jump, so every pathwise draw is 0; but P(z > 0) grows with μ, "
                "so its gradient is positive. Moving the gradient inside the expectation is safe for an f that does not "
                "jump (locally absolutely continuous, e.g. Lipschitz); a step jumps at 0, and that jump is all the gradient there is.",
                lambda mu, sigma: torch.zeros_like(mu * sigma), hint=1),
        Mistake("the probability Φ(μ/σ) instead of its gradient",
                "Φ(μ/σ) is E[f] itself; the exercise asks for its derivative in μ.",
                lambda mu, sigma: 0.5 * (1 + torch.erf(mu / (sigma * math.sqrt(2)))), hint=3),
        Mistake("the factor 1/σ of the chain rule left out",
                "Φ is evaluated at μ/σ, not at μ: the chain rule adds the inner derivative.",
                lambda mu, sigma: _phi(mu / sigma), hint=3),
        Mistake("the sign flipped",
                "moving μ to the right moves probability mass past 0 onto the positive side: P(z > 0) grows, "
                "so the gradient is positive.",
                lambda mu, sigma: -_phi(mu / sigma) / sigma, hint=2),
    ],
    rtol=1e-6, atol=1e-9,
)


# --------------------------------------------------------------------------- 2. full covariance


def reference_reparameterize_full_cov(mu, cov, eps):
    """z_b = μ_b + L ε_b with L = cholesky(cov), LLᵀ = Σ; rows of [B, d] at once."""
    scale_tril = torch.linalg.cholesky(cov)
    return mu + eps @ scale_tril.T


def _cov(d: int, seed: int) -> torch.Tensor:
    a = _randn((d, d), seed)
    return a @ a.T + 0.5 * torch.eye(d, dtype=_F64)


def _cov_cases() -> list[Case]:
    cases = []
    for seed, (b, d) in enumerate(((4, 3), (5, 2), (2, 4))):
        cases.append(Case((_randn((b, d), seed), _cov(d, 10 + seed), _randn((b, d), 20 + seed)),
                          f"{b} rows, d = {d}"))
    mu, cov = _randn((3, 2), 30).requires_grad_(), _cov(2, 31).requires_grad_()
    cases.append(Case((mu, cov, _randn((3, 2), 32)), "μ and the covariance carry gradients, as in training"))
    return cases


ANOTHER_ROOT = N_("correct ({n} cases checked). Your matrix A satisfies AAᵀ = Σ, so z ~ N(μ, Σ) and its gradient "
                  "reaches μ and Σ: a valid answer. It is not the reference's choice, the lower-triangular Cholesky "
                  "factor L that MultivariateNormal.rsample uses, so for the same ε your z differ from rsample's.")


class _AnySquareRoot(Exercise):
    """The full-covariance exercise: any fixed A with AAᵀ = Σ is right, not only the reference's Cholesky factor.

    When the usual comparison with the reference fails, A is read off the answer itself, A = fn(0, Σ, I)ᵀ
    (each row of noise a unit vector), and the answer passes when AAᵀ = Σ and, on every case, it equals
    μ + εAᵀ with that A (affine in ε, the same A for every row), in float64, with the gradient reaching μ and Σ.
    """

    def _root(self, fn, cov):
        d = cov.shape[0]
        unit = Case((torch.zeros(d, d, dtype=cov.dtype), cov.detach(), torch.eye(d, dtype=cov.dtype)))
        return self._call(fn, unit).detach().T

    def _is_a_square_root(self, fn) -> bool:
        try:
            for case in self.cases():
                mu, cov, eps = case.args
                root = self._root(fn, cov)
                if not torch.allclose(root @ root.T, cov.detach(), rtol=self.rtol, atol=self.atol):
                    return False
                got = self._call(fn, case)
                if not isinstance(got, torch.Tensor) or got.dtype != mu.dtype or got.shape != mu.shape:
                    return False
                if not torch.allclose(got.detach(), (mu + eps @ root.T).detach(), rtol=self.rtol, atol=self.atol):
                    return False
                if _lost_graph(got, self._call(self.reference, case)) or self._unreached_inputs(fn, case):
                    return False
            return True
        except Exception:
            return False

    def _check(self, fn):
        result = super()._check(fn)
        if result.status == "incorrect" and callable(fn) and self._is_a_square_root(fn):
            return dataclasses.replace(result, status="correct", mistake=None, diagnosis=None,
                                       message=_(ANOTHER_ROOT, n=len(self.cases())))
        return result


reparameterize_full_cov = _AnySquareRoot(
    "reparameterize_full_cov",
    reference_reparameterize_full_cov,
    _cov_cases,
    hints=[
        "Try z = μ + Aε for a fixed d×d matrix A. The noise ε has covariance I: what is the covariance "
        "of Aε, written with A?",
        "So A must satisfy AAᵀ = Σ (the argument `cov`); any such A is accepted. The usual one is lower-triangular "
        "with a positive diagonal, and torch.linalg has a factorization that returns it.",
        "z has shape [B, d]: each row is one vector. L ε_b is written for a column vector ε_b; when the "
        "vectors are rows, which side does the matrix multiply from, and transposed or not?",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the covariance where its square root is meant",
                "z = μ + Σε has covariance ΣΣᵀ = Σ², not Σ: like σ (not σ²) in "
                "one dimension, the noise is scaled by a square root L with LLᵀ = Σ.",
                lambda mu, cov, eps: mu + eps @ cov.T, hint=1),
        Mistake("the factor on the wrong side (Lᵀε instead of Lε)",
                "Lᵀε has covariance LᵀL, which is not Σ; with rows of noise, L ε_b is `eps @ L.T`.",
                lambda mu, cov, eps: mu + eps @ torch.linalg.cholesky(cov), hint=3),
        Mistake("only the diagonal: the correlations dropped",
                "scaling each coordinate by its own standard deviation gives the right variances but "
                "independent coordinates; the off-diagonal covariances are lost.",
                lambda mu, cov, eps: mu + eps * cov.diagonal().sqrt(), hint=1),
        Mistake("μ left out",
                "Aε alone has mean 0; the recipe shifts the scaled noise by the mean, z = μ + Aε.",
                lambda mu, cov, eps: eps @ torch.linalg.cholesky(cov).T, hint=1),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- 3. the optimal baseline for sigma


def reference_optimal_baseline_sigma(mu, sigma):
    """E[f s²]/E[s²] for f = z² and the σ-score s = (ε² − 1)/σ: μ² + 5σ²."""
    return mu**2 + 5 * sigma**2


def _baseline_cases() -> list[Case]:
    return [
        Case((torch.tensor([0.4, 1.0, -2.0, 3.5], dtype=_F64), torch.tensor([0.5, 2.0, 0.3, 1.7], dtype=_F64)),
             "four (mu, sigma) pairs"),
        Case((torch.tensor([1.5, -0.7], dtype=_F64), torch.tensor([1.0, 1.0], dtype=_F64)), "sigma = 1"),
    ]


optimal_baseline_sigma = Exercise(
    "optimal_baseline_sigma",
    reference_optimal_baseline_sigma,
    _baseline_cases,
    hints=[
        "b* = E[f s²]/E[s²] with f = z² = (μ + σε)² and s = (ε² − 1)/σ, not the μ-score ε/σ. Both "
        "expectations are sums of Gaussian moments: E[ε²] = 1, E[ε⁴] = 3, E[ε⁶] = 15, odd ones 0.",
        "E[s²] = E[(ε² − 1)²]/σ²: expand the square and use the moments. For E[f s²], expand "
        "(μ² + 2μσε + σ²ε²)(ε⁴ − 2ε² + 1)/σ² and drop the odd powers.",
        "E[s²] = 2/σ². In E[f s²] only the even powers ε⁰, ε², ε⁴, ε⁶ survive, and the "
        "σ² part is the one that needs E[ε⁶]. Collect the μ² and σ² parts, then divide by E[s²].",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the mean E[f] = μ² + σ²",
                "E[f] is a fine baseline but not the best one: the optimum weights f by s², and s² is large where "
                "|ε| is large, which is where f is large too.",
                lambda mu, sigma: mu**2 + sigma**2, hint=1),
        Mistake("the μ-gradient's baseline μ² + 3σ²",
                "each parameter has its own score and so its own optimal baseline; for σ the score is "
                "(ε² − 1)/σ, not ε/σ.",
                lambda mu, sigma: mu**2 + 3 * sigma**2, hint=1),
        Mistake("E[f s²] without the division by E[s²]",
                "b* = E[f s²]/E[s²], and E[s²] = 2/σ² here.",
                lambda mu, sigma: (2 * mu**2 + 10 * sigma**2) / sigma**2, hint=3),
        Mistake("E[ε⁶] taken as 9 (it is 15)",
                "the sixth moment of a standard normal is 5 · 3 · 1 = 15.",
                lambda mu, sigma: mu**2 + 2 * sigma**2, hint=1),
    ],
    rtol=1e-6, atol=1e-8,
)


__all__ = ["step_gradient", "reparameterize_full_cov", "optimal_baseline_sigma"]
