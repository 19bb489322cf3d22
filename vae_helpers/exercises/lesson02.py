"""The exercises of notebook 02 (the encoder and the ELBO). Solutions: ``solutions/lesson02.py``.

- ``diagonal_price_3d_guess``: predict whether the best diagonal q of a 3-D posterior with every pair correlated
  loses more than, exactly or less than three pairs' prices; ``diagonal_price_3d``: then compute what it loses.
- ``best_isotropic_q``: derive the q = N(m, s² I) with the largest ELBO for a correlated Gaussian
  posterior in d dimensions, and the price it pays (KL(q ‖ p(z|x)) = log p(x) − ELBO).
- ``forward_kl_estimate``: estimate the forward KL(p(z|x) ‖ q) from importance weights of samples of q
  (stable per observation: its cases include log-weights near −800 and float32 ones near −110).
- ``constant_q_gap``: the amortization gap, averaged over x, of the best q that ignores x on the toy model
  (posterior standard deviations 0.3 and 0.4, r = 0.8).
"""

from __future__ import annotations

import math

import torch

from .. import toy
from .core import TRY_FIRST, Case, CheckResult, Exercise, Mistake, Prediction
from .i18n import _

_F64 = torch.float64


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(202)


# --- 2 · the best isotropic q of a correlated Gaussian posterior --------------------------------


def _precision_diagonal(cov: torch.Tensor) -> torch.Tensor:
    return torch.diagonal(torch.linalg.inv(cov), dim1=-2, dim2=-1)


def _kl_isotropic_to_posterior(variance: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """KL(N(m, s² I) ‖ N(m, cov)) (same mean), s² = ``variance`` [B], shape [B]."""
    d = cov.shape[-1]
    trace_lam = _precision_diagonal(cov).sum(-1)
    return 0.5 * (variance * trace_lam - d - d * variance.log() + torch.logdet(cov))


def _best_isotropic_q(cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    variance = cov.shape[-1] / _precision_diagonal(cov).sum(-1)
    return variance, _kl_isotropic_to_posterior(variance, cov)


def _mean_of_diagonal_variances(cov):
    variance = (1 / _precision_diagonal(cov)).mean(-1)
    return variance, _kl_isotropic_to_posterior(variance, cov)


def _mean_marginal_variance(cov):
    variance = torch.diagonal(cov, dim1=-2, dim2=-1).mean(-1)
    return variance, _kl_isotropic_to_posterior(variance, cov)


def _missing_d(cov):
    variance = 1 / _precision_diagonal(cov).sum(-1)
    return variance, _kl_isotropic_to_posterior(variance, cov)


def _iso_diagonal_price(cov):
    variance, _ = _best_isotropic_q(cov)
    lam_ii = _precision_diagonal(cov)
    return variance, 0.5 * (lam_ii.log().sum(-1) + torch.logdet(cov))


def _iso_kl_wrong_direction(cov):
    variance, d = _best_isotropic_q(cov)[0], cov.shape[-1]
    trace_sigma = torch.diagonal(cov, dim1=-2, dim2=-1).sum(-1)  # KL(p || q)
    return variance, 0.5 * (trace_sigma / variance - d + d * variance.log() - torch.logdet(cov))


def _iso_flipped_sign(cov):
    variance, gap = _best_isotropic_q(cov)
    return variance, -gap


def _iso_missing_half(cov):
    variance, gap = _best_isotropic_q(cov)
    return variance, 2 * gap


def _iso_sd_for_variance(cov):
    variance, gap = _best_isotropic_q(cov)
    return variance.sqrt(), gap


def _random_covariances(g: torch.Generator, batch: int, d: int) -> torch.Tensor:
    a = torch.randn((batch, d, d), generator=g, dtype=_F64)
    return a @ a.transpose(-1, -2) / d + 0.2 * torch.eye(d, dtype=_F64)


def _cov_cases() -> list[Case]:
    g = _generator()
    return [
        Case((_random_covariances(g, 4, 3),), "4 posteriors in d = 3"),
        Case((_random_covariances(g, 3, 2),), "3 posteriors in d = 2"),
        Case((_random_covariances(g, 2, 5),), "2 posteriors in d = 5"),
    ]


best_isotropic_q = Exercise(
    "best_isotropic_q",
    _best_isotropic_q,
    _cov_cases,
    hints=[
        "Start from KL(q ‖ p) of section 5 and put cᵢ = s² in every coordinate: one unknown is left. "
        "As in section 5, the best mean is the posterior mean μ̄, and then the mean term drops out.",
        "Only two terms of that KL depend on s²: s² Σᵢ Λᵢᵢ and −d log s². Set the "
        "derivative with respect to s² to zero, then put s² back into the KL for the gap.",
        "Setting the derivative to zero gives an equation of the form a = b / s², with a and b not depending on "
        "s²: solve it, and put s² back into the KL; log|Λ| = −log|Σ| (torch.logdet), and the "
        "Λᵢᵢ need the inverse of cov.",
    ],
    lesson="lesson02",
    mistakes=[
        Mistake("the average of the best diagonal variances 1/Λᵢᵢ",
                "the isotropic q is not the average of the diagonal one's variances: write the KL with one "
                "shared s² and set its derivative to zero.",
                _mean_of_diagonal_variances, hint=1),
        Mistake("the average marginal variance (the forward KL's q)",
                "the average marginal variance minimises KL(p ‖ q), not KL(q ‖ p); the ELBO's q is set by "
                "the precision Λ, not by Σ.", _mean_marginal_variance, hint=1),
        Mistake("1/tr(Λ) without the factor d",
                "the term −Σᵢ log cᵢ has one log s² per coordinate: count them when you take the "
                "derivative.", _missing_d, hint=2),
        Mistake("the diagonal q's price",
                "that is what the diagonal family pays, with a variance per coordinate; one shared variance "
                "fits no better, so put your own s² into the KL.", _iso_diagonal_price, hint=2),
        Mistake("the KL in the wrong direction",
                "the gap log p(x) − ELBO is KL(q ‖ p(z|x)), with q first; KL(p ‖ q) is another number.",
                _iso_kl_wrong_direction, hint=1),
        Mistake("a flipped sign", "a KL divergence is never negative: check the sign of your gap.",
                _iso_flipped_sign),
        Mistake("a missing factor ½", "the Gaussian KL carries a factor ½ in front of the bracket.",
                _iso_missing_half),
        Mistake("a standard deviation where the variance is meant",
                "the first output should be the variance s², not its square root.", _iso_sd_for_variance),
    ],
    rtol=1e-6,
    atol=1e-8,
    reveal=False,
)


# --- 3 · the forward KL(p(z|x) || q) from samples of q ------------------------------------------


def _forward_kl_estimate(log_w: torch.Tensor) -> torch.Tensor:
    normalised = torch.softmax(log_w, dim=0)  # w_i / sum_j w_j, over the k samples (one maximum per column)
    return (normalised * (log_w - toy.log_mean_exp(log_w, dim=0))).sum(dim=0)  # no cancellation at log w ≈ −110


def _unweighted(log_w):
    return log_w.mean(dim=0) - toy.log_mean_exp(log_w, dim=0)


def _reverse_kl(log_w):
    return toy.log_mean_exp(log_w, dim=0) - log_w.mean(dim=0)


def _raw_weights(log_w):
    return (log_w.exp() * log_w).mean(dim=0) - toy.log_mean_exp(log_w, dim=0)


def _normalised_over_batch(log_w):
    return (torch.softmax(log_w, dim=1) * log_w).sum(dim=0) - toy.log_mean_exp(log_w, dim=0)


def _elbo_for_log_px(log_w):
    return (torch.softmax(log_w, dim=0) * log_w).sum(dim=0) - log_w.mean(dim=0)


def _forward_flipped(log_w):
    return -_forward_kl_estimate(log_w)


def _log_w_cases() -> list[Case]:
    g = _generator()
    model = toy.make_linear_gaussian(2, 3, 0.7, generator=g)
    cases = []
    for k, b in ((8, 3), (50, 2), (3, 5)):
        x, _ = model.sample(b, generator=g)
        q = toy.diagonal_gaussian(model.posterior(x).mean + 0.3, torch.full((b, 2), -1.0, dtype=_F64))
        log_w = toy.log_importance_weights(model, x, q, k, generator=g)
        cases.append(Case((log_w,), f"{k} samples of q for each of {b} observations of a toy model"))
    # columns hundreds of nats apart: one maximum for the whole tensor, or none, gives nan or inf
    spread = torch.randn((20, 2), generator=g, dtype=_F64) * torch.tensor([1.5, 2.0], dtype=_F64)
    cases.append(Case((spread + torch.tensor([-800.0, -5.0], dtype=_F64),),
                      "20 samples for 2 observations, log-weights near −800 and near −5"))
    # a VAE's scale in float32: exp(−110) underflows to 0 in float32
    vae_scale = -110.0 + 2.5 * torch.randn((64, 3), generator=g, dtype=_F64)
    cases.append(Case((vae_scale.float(),), "64 samples for 3 images, float32 log-weights near −110"))
    return cases


forward_kl_estimate = Exercise(
    "forward_kl_estimate",
    _forward_kl_estimate,
    _log_w_cases,
    hints=[
        "KL(p(z|x) ‖ q) is an expectation under the posterior, but the samples come from q. Section 3's "
        "identity p(x) = E_q[w] has a sibling: E_p(z|x)[f(z)] = E_q[(p(z|x) / q(z|x)) f(z)].",
        "p(z|x) / q(z|x) = w / p(x) and log p(z|x) − log q(z|x) = log w − log p(x) (Bayes' rule). "
        "p(x) is not given: estimate it from the same k weights, log p̂(x) = log((1/k) Σᵢ wᵢ).",
        "With p(x) estimated from the same samples, the weights of hint 1 become weights that sum to one "
        "over each observation's k samples (self-normalised importance sampling). Log-weights near −110, "
        "or −800, underflow when exponentiated: torch has a function that normalises them without leaving "
        "logs.",
    ],
    lesson="lesson02",
    mistakes=[
        Mistake("an unweighted average over the samples of q",
                "the samples come from q, not from p(z|x): without the weights wᵢ / Σⱼ wⱼ this averages "
                "under q and gives minus the reverse KL, never positive.", _unweighted, hint=1),
        Mistake("the reverse KL(q ‖ p(z|x))",
                "log((1/k) Σᵢ wᵢ) − mean(log w) estimates the ELBO's gap, KL(q ‖ p(z|x)); the forward KL puts "
                "p(z|x) first and needs the weights.", _reverse_kl, hint=1),
        Mistake("the weights wᵢ used without dividing by p(x)",
                "p(z|x) / q = w / p(x): the weights must be divided by (an estimate of) p(x) so that they "
                "average to one.", _raw_weights, hint=2),
        Mistake("the weights normalised over the batch instead of the samples",
                "each observation has its own k weights: normalise along the sample axis (dim 0), not across "
                "observations.", _normalised_over_batch, hint=3),
        Mistake("the mean of log w used for log p(x)",
                "the mean of the log weights estimates the ELBO, below log p(x); log p(x) is estimated by the "
                "log of the mean weight.", _elbo_for_log_px, hint=2),
        Mistake("a flipped sign", "a KL divergence is never negative: E_p[log p(z|x) − log q(z|x)], p's log first.",
                _forward_flipped),
    ],
    # float32 near −110: Σ w̃ᵢ log wᵢ − log p̂(x), a correct estimator, loses about 2·10⁻⁴ to cancellation
    rtol=1e-3,
    reveal=False,
)


# --- 1 · the price of a diagonal q for a 3-D posterior (a guess, then a computation) -------------


diagonal_price_3d_guess = Prediction(
    "diagonal_price_3d_guess",
    "less",
    lesson="lesson02",
    choices=("more", "exactly", "less"),
    explain=(
        "Each coordinate belongs to two of the three pairs, and its two neighbours are correlated with each "
        "other, so what they tell about it overlaps. Adding the three pair prices counts that shared part "
        "twice. Now compute the price from section 5's formula."
    ),
    mistakes={
        "exactly": "three pair prices would add up only if the pairs shared nothing; here every two pairs share a "
                   "coordinate.",
        "more": "two neighbours do squeeze a coordinate more than one does, but they are correlated with each "
                "other: what they tell about it overlaps.",
    },
)


def _diagonal_price(corr: float = 0.5, d: int = 3) -> float:
    """½ (Σᵢ log Λᵢᵢ − log|Λ|) for a posterior with unit variances and every pair correlated."""
    cov = torch.full((d, d), corr, dtype=_F64).fill_diagonal_(1.0)
    lam = torch.linalg.inv(cov)
    return (0.5 * (lam.diagonal().log().sum() - torch.logdet(lam))).item()


class _Computed(Prediction):
    """A number the reader computes, not a guess: a wrong value is not told the answer (the hints lead to it),
    and ``solution()`` prints the derivation."""

    def _check(self, prediction) -> CheckResult:
        if prediction is None or prediction is Ellipsis:
            return CheckResult(self.name, "not attempted",
                               _("not attempted yet: write the value you computed above, then run this cell."))
        result = super()._check(prediction)
        if result.status != "incorrect" or not isinstance(prediction, (int, float)):
            return result  # right, or not a number (that message names no answer)
        why = next((text for key, text in self.mistakes.items()
                    if math.isclose(float(prediction), key, rel_tol=0.02, abs_tol=1e-12)), "")
        lines = [_("you computed {value}; that is not it yet.", value=f"{prediction:.6g}")]
        if why:
            lines.append("  " + _("This is a known trap: {why}", why=_(why)))
        lines.append("  " + _("lesson02.{name}.hint() gives a nudge; lesson02.{name}.solution() shows the derivation.", name=self.name))
        return CheckResult(self.name, "incorrect", "\n".join(lines), prediction if why else None)

    def solution(self) -> None:
        print(_(TRY_FIRST))
        print(_(self.explain))


diagonal_price_3d = _Computed(
    "diagonal_price_3d",
    _diagonal_price,
    lesson="lesson02",
    rtol=0.02,
    explain=(
        "KL* = ½ (Σᵢ log Λᵢᵢ + log|Σ|). With unit variances and every pair at r = 0.5, "
        "|Σ| = (1 − r)² (1 + 2r) = 0.5 and Λᵢᵢ = (1 + r) / ((1 − r)(1 + 2r)) = 1.5, so "
        "KL* = ½ (3 log 1.5 + log 0.5) = 0.262 nats, less than three pair prices (0.432). The pairs count each "
        "coordinate twice: each pair squeezes its variance to 1 − r² = 0.75, 2 × ½ log(4/3) = 0.288 per coordinate, "
        "where both neighbours together squeeze it to 1/Λᵢᵢ = 2/3, ½ log 1.5 = 0.203. The determinant, "
        "½ log 0.5 = −0.347 against 3 × ½ log 0.75 = −0.432, takes back part of the difference."
    ),
    hints=[
        "Section 5's general formula needs the diagonal of Λ = Σ⁻¹ and log|Λ| = −log|Σ|. "
        "The variances do not matter (the price depends on the correlations alone), so take Σ with ones "
        "on the diagonal and 0.5 elsewhere.",
        "Σ = 0.5 I + 0.5 J, with J the matrix of ones: its eigenvalues are 0.5, 0.5 and 0.5 + 1.5 = 2, "
        "so |Σ| = 0.5. Its inverse has the same form, a I + b J; find a and b from Σ Σ⁻¹ = I.",
        "With J J = 3 J, solve Σ (a I + b J) = I for a and b. Then Λᵢᵢ = a + b, and section 5's formula "
        "with log|Λ| = −log|Σ|.",
    ],
    mistakes={
        0.4315: "that is three times the 2-D price −½ log(1 − 0.25): the pairs do not add up, because their "
                "correlations overlap; use the 3-D formula with Λ = Σ⁻¹.",
        0.1438: "−½ log(1 − r²) is the price for one pair; here three coordinates are correlated together.",
        0.0849: "that comes from Λᵢᵢ = 4/3, the diagonal of a wrong inverse: multiply your Σ⁻¹ by "
                "Σ = 0.5 I + 0.5 J (J J = 3 J) and check that it gives I.",
        0.3466: "−½ log|Σ| leaves out the sum of log Λᵢᵢ; the best diagonal q's variances are 1/Λᵢᵢ, not 1.",
    },
)


# --- 4 · an encoder that ignores x: its amortization gap on the toy model ------------------------


def _constant_q_gap(sd1: float = 0.3, sd2: float = 0.4, corr: float = 0.8) -> float:
    """½ (tr Λ − d): the amortization gap of the best q that ignores x, averaged over x ~ p(x)."""
    cov = torch.tensor([[sd1**2, corr * sd1 * sd2], [corr * sd1 * sd2, sd2**2]], dtype=_F64)
    lam = torch.linalg.inv(cov)
    return (0.5 * (lam.diagonal().sum() - 2)).item()


constant_q_gap = _Computed(
    "constant_q_gap",
    _constant_q_gap,
    lesson="lesson02",
    rtol=0.01,
    explain=(
        "Averaged over x, section 5's KL(q ‖ p(z|x)) is ½ [Σᵢ Λ̄ᵢᵢ cᵢ + mᵀΛ̄m + tr(Λ̄(I − Σ̄)) − d − Σᵢ log cᵢ − log|Λ̄|], "
        "because the posterior mean μ̄(x) has mean 0 and covariance I − Σ̄ over x (the law of total covariance: "
        "I = Cov z = E[Cov(z|x)] + Cov(E[z|x]) = Σ̄ + Cov μ̄). It is smallest at m = 0 and cᵢ = 1/Λ̄ᵢᵢ, the variances "
        "of q* itself, so only the mean term is left: the amortization gap is ½ tr(Λ̄(I − Σ̄)) = ½ (tr Λ̄ − d) "
        "= ½ (30.86 + 17.36 − 2) = 23.1 nats, 45 times the family's price of 0.511 nats."
    ),
    hints=[
        "Average section 5's KL over x. Which of its terms depend on x? The others fix the best c as they "
        "did for one x.",
        "Over x ~ p(x) the posterior mean μ̄(x) has mean 0 and covariance I − Σ̄. That is the law of total "
        "covariance, Cov z = E[Cov(z|x)] + Cov(E[z|x]), with Cov z = I under the prior.",
        "For a random vector v with mean 0, E[vᵀAv] = tr(A Cov v). Then compare the best q that ignores x "
        "with q*, term by term.",
    ],
    mistakes={
        23.62: "that is the whole average gap, log p(x) − ELBO(q); the amortization gap leaves out the 0.511 "
               "nats that q* pays too.",
        46.22: "the KL has a factor ½ in front of the mean term.",
        24.11: "the posterior mean does not have covariance I over x: the prior's spread is shared between "
               "Σ̄ and the spread of μ̄(x).",
        43.08: "that is q = N(0, I), the prior's amortization gap; the best q that ignores x keeps mean 0 but "
               "has smaller variances.",
    },
)
