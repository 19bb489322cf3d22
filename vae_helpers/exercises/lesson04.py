"""The exercises of notebook 04 (the KL term in closed form).

- ``best_q`` (derive, the notebook's exercise 4): the Gaussian q that maximizes a β-weighted ELBO for one
  observation of a linear-Gaussian model, from the closed-form reconstruction term and KL;
- ``kl_standard_normal`` (restates the lesson; not in the notebook, the README's example of the exercise API):
  KL(N(mu, diag sigma^2) || N(0, I)) per row;
- ``kl_diagonal_gaussians`` (the notebook's exercise 1): KL(q || p) between two diagonal Gaussians, by a change of
  variables that turns p into N(0, I);
- ``mc_kl_grad_variance`` (derive, the notebook's exercise 3): the variance of a one-sample Monte Carlo KL's gradient;
- ``swapped_kl_growth`` (predict, the notebook's exercise 2): as sigma -> 0, does KL(p || q) grow like 1 / sigma,
  stay bounded, grow like 1 / sigma^2 or like -log sigma?

Solutions: ``solutions/lesson04.py``.
"""

from __future__ import annotations

import torch

from .core import Case, Exercise, Mistake, Prediction

_F64 = torch.float64
LESSON = "lesson04"


def _randn(shape: tuple[int, ...], seed: int) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=_F64)


# One catalogue entry per concept, shared by the exercises on it (the KL's direction).
WRONG_DIRECTION = "the KL in the wrong direction, KL(p ‖ q)"
WRONG_DIRECTION_WHY = ("the expectation is under q, the encoder's distribution: KL(q ‖ p) divides by p's variance; "
                       "KL(p ‖ q) is a different number.")


def _batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(mu, log_var) pairs [B, d] with B != d, log-variances between -4 and 2."""
    pairs = []
    for seed, shape in ((0, (4, 3)), (1, (2, 5)), (2, (3, 1))):
        mu = 1.5 * _randn(shape, seed)
        log_var = (1.5 * _randn(shape, seed + 100) - 1.0).clamp(-4.0, 2.0)
        pairs.append((mu, log_var))
    return pairs


# --------------------------------------------------------------------------- exercise 4: the best q of a linear-Gaussian model


def reference_best_q(x, w, v, beta):
    """argmax over (mu, sigma^2) of E_q[log N(x; w z, v)] - beta KL(N(mu, sigma^2) || N(0, 1)), as (mu, log sigma^2).

    -objective = ((x - w mu)^2 + w^2 sigma^2) / (2 v) + beta (mu^2 + sigma^2 - 1 - log sigma^2) / 2 + const, so
    sigma^2 = beta v / (beta v + w^2) and mu = w x / (w^2 + beta v); at beta = 1 the exact posterior p(z | x).
    """
    precision = 1 + w**2 / (beta * v)
    return w * x / (beta * v * precision), -torch.log(precision)


def _best_q_cases() -> list[Case]:
    x = torch.tensor([1.5, -0.7, 3.0, 0.2, -2.4], dtype=_F64)
    w = torch.tensor([2.0, -0.5, 0.3, 1.2, 0.8], dtype=_F64)
    v = torch.tensor([0.5, 2.0, 0.1, 1.5, 0.25], dtype=_F64)
    return [Case((x, w, v, 4.0), "five (x, w, v) triples, β = 4"),
            Case((x[:2] * 0 + 1.0, w[:2] * 0 + 3.0, v[:2] * 0 + 0.01, 8.0), "a precise decoder (w²/v = 900), β = 8"),
            Case((x[:3], w[:3] * 0 + 0.05, v[:3] * 0 + 4.0, 0.5), "a weak decoder (w²/v ≪ 1), β = 0.5")]


best_q = Exercise(
    "best_q",
    reference_best_q,
    _best_q_cases,
    hints=[
        "The objective to minimise is E_q[(x − wz)²]/(2v) + β·KL(q ‖ p) + const. Under q, z = μ + σε: what is "
        "E_q[(x − wz)²]?",
        "Once the expectation is written out, the objective splits into a part in μ alone and a part in σ² alone. "
        "Divide the σ² part by β: it has the form λσ² + ½(σ² − 1 − log σ²), for a λ that you can read off.",
        "E_q[(x − wz)²] = (x − wμ)² + w²σ²: a squared error at the mean plus a price for the spread. β multiplies "
        "only the KL's parts, ½μ² and ½(σ² − 1 − log σ²). Minimise each part over its one variable.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("β left out: the exact posterior (the answer at β = 1)",
                "the KL is weighted by β, so the prior's pull on both μ and σ² is β times as strong: "
                "σ² = βv / (βv + w²) and μ = wx / (w² + βv).",
                lambda x, w, v, beta: reference_best_q(x, w, v, 1.0), hint=3),
        Mistake("β put on the reconstruction term instead of the KL",
                "the objective is E_q[log p(x | z)] − β·KL: β multiplies the KL's ½μ² and ½(σ² − 1 − log σ²), "
                "not the squared error.",
                lambda x, w, v, beta: reference_best_q(x, w, v / beta, 1.0), hint=3),
        Mistake("the likelihood's curvature doubled (σ² = βv / (βv + 2w²))",
                "the reconstruction term charges w²σ²/(2v), so its pull on σ² is w²/(2v); with the KL's "
                "(β/2)(1 − 1/σ²) that balances at σ² = βv / (βv + w²).",
                lambda x, w, v, beta: (reference_best_q(x, w, v, beta)[0], torch.log(beta * v / (beta * v + 2 * w**2))),
                hint=3),
        Mistake("z replaced by its mean in the reconstruction term (the w²σ² dropped)",
                "E_q[(x − wz)²] is not (x − wμ)²: the spread of z adds w²σ², and that term is what "
                "makes a useful coordinate precise; without it the KL alone sets σ = 1.",
                lambda x, w, v, beta: (reference_best_q(x, w, v, beta)[0], torch.zeros_like(x)), hint=3),
        Mistake("the variance returned where the log-variance is asked",
                "the encoder's second output is log σ²; return the log of the variance you found.",
                lambda x, w, v, beta: (reference_best_q(x, w, v, beta)[0], reference_best_q(x, w, v, beta)[1].exp())),
        Mistake("log σ returned where log σ² is asked",
                "log σ² = 2 log σ: the encoder's second output is the log of the variance.",
                lambda x, w, v, beta: (reference_best_q(x, w, v, beta)[0], 0.5 * reference_best_q(x, w, v, beta)[1])),
        Mistake("the KL's pull on μ left out (μ = x/w)",
                "that is the decoder's inversion alone; the KL's β·½μ² pulls the code towards 0, more so "
                "the noisier the decoder and the larger β.",
                lambda x, w, v, beta: (x / w, reference_best_q(x, w, v, beta)[1]), hint=2),
        Mistake("the noise variance taken as 1",
                "v divides the squared error: a precise decoder (small v) makes both the mean and the "
                "spread follow x more closely.",
                lambda x, w, v, beta: reference_best_q(x, w, torch.ones_like(v), beta)),
        Mistake("σ² from the likelihood alone (the KL's pull on σ left out)",
                "v/w² is how precisely x pins z down on its own; the KL's β·½(σ² − 1 − log σ²) adds the prior's "
                "own pull, and the two precisions add.",
                lambda x, w, v, beta: (reference_best_q(x, w, v, beta)[0], torch.log(v / w**2)), hint=2),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- README example: KL to N(0, I)


def reference_kl_standard_normal(mu, log_var):
    """-1/2 sum_j (1 + log sigma_j^2 - mu_j^2 - sigma_j^2), one number per row, shape [B]."""
    return -0.5 * torch.sum(1 + log_var - mu**2 - log_var.exp(), dim=1)


def _kl_cases() -> list[Case]:
    cases = [Case(pair, f"a [{pair[0].shape[0]}, {pair[0].shape[1]}] batch") for pair in _batches()]
    mu, log_var = _batches()[0]
    cases.append(Case((mu.clone().requires_grad_(), log_var.clone().requires_grad_()),
                      "an encoder's outputs, which carry gradients"))
    return cases


kl_standard_normal = Exercise(
    "kl_standard_normal",
    reference_kl_standard_normal,
    _kl_cases,
    hints=[
        "Section 2 derived the KL of one coordinate; a diagonal Gaussian's coordinates are independent, "
        "so the KL of the whole vector is a sum over coordinates.",
        "Per coordinate the KL is E_q[log q(z)] − E_q[log p(z)], and σ² = exp(log_var) (not "
        "exp(log_var / 2), which is σ).",
        "E_q[log q(z)] = −½ log 2π − ½ log σ² − ½ and E_q[log p(z)] = −½ log 2π − ½(μ² + σ²). Assemble the "
        "KL from them and sum it over the latent axis (dim=1), not over the batch: one number per row, shape [B].",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake(WRONG_DIRECTION, WRONG_DIRECTION_WHY,  # the same mistake as in kl_diagonal_gaussians
                lambda mu, lv: 0.5 * torch.sum(lv + (1 + mu**2) / lv.exp() - 1, dim=1)),
        Mistake("summed over the batch instead of the latent dimensions",
                "the rows are images and the columns latent coordinates: sum over dim=1 for one KL per "
                "image, shape [B].",
                lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), dim=0), hint=3),
        Mistake("σ where σ² is meant (exp(log_var / 2) for the variance)",
                "the formula has the variance σ² = exp(log_var); exp(log_var / 2) is the standard "
                "deviation.",
                lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - (0.5 * lv).exp(), dim=1), hint=2),
        Mistake("the constant 1 left out",
                "without the 1 the KL of q = p is d/2 instead of 0: the 1 comes from E_q[(z − μ)²]/σ² = 1 "
                "in step 4.",
                lambda mu, lv: -0.5 * torch.sum(lv - mu**2 - lv.exp(), dim=1), hint=2),
        Mistake("a flipped sign",
                "a KL divergence is never negative; the −½ in front is part of the formula.",
                lambda mu, lv: 0.5 * torch.sum(1 + lv - mu**2 - lv.exp(), dim=1), hint=2),
        Mistake("averaged over the latent dimensions instead of summed",
                "the log-density of independent coordinates is a sum, so is the KL: a mean divides it "
                "by d.",
                lambda mu, lv: -0.5 * torch.mean(1 + lv - mu**2 - lv.exp(), dim=1), hint=1),
        Mistake("one number for the whole batch",
                "the loss averages over images later; this function returns one KL per image, shape "
                "[B].",
                lambda mu, lv: -0.5 * torch.sum(1 + lv - mu**2 - lv.exp()), hint=3),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- exercise 1: two diagonal Gaussians


def reference_kl_diagonal_gaussians(mu_q, log_var_q, mu_p, log_var_p):
    """KL(q || p) = 1/2 sum_j (log s_p - log s_q + (s_q + (mu_q - mu_p)^2) / s_p - 1), s = sigma^2."""
    ratio = (log_var_q.exp() + (mu_q - mu_p) ** 2) / log_var_p.exp()
    return 0.5 * torch.sum(log_var_p - log_var_q + ratio - 1, dim=1)


def _pair_cases() -> list[Case]:
    cases = []
    for i, (mu_q, log_var_q) in enumerate(_batches()[:2]):
        mu_p = _randn(tuple(mu_q.shape), 200 + i)
        log_var_p = 0.8 * _randn(tuple(mu_q.shape), 300 + i)
        cases.append(Case((mu_q, log_var_q, mu_p, log_var_p), "a general diagonal p"))
    mu_q, log_var_q = _batches()[0]
    zeros = torch.zeros_like(mu_q)
    cases.append(Case((mu_q, log_var_q, zeros, zeros), "p = N(0, I)"))
    return cases


def _kl_parts(mu_q, log_var_q, mu_p, log_var_p, var_q, var_p, dim=1):
    return 0.5 * torch.sum(log_var_p - log_var_q + (var_q + (mu_q - mu_p) ** 2) / var_p - 1, dim=dim)


kl_diagonal_gaussians = Exercise(
    "kl_diagonal_gaussians",
    reference_kl_diagonal_gaussians,
    _pair_cases,
    hints=[
        "An invertible map z′ = g(z), applied to the samples of both q and p, leaves the KL unchanged: both "
        "densities of z′ pick up the same Jacobian factor, which cancels in log q − log p. Look for the g that "
        "turns p into N(0, I).",
        "Standardize with p's parameters: z′ = (z − μ_p)/σ_p. Then p becomes N(0, I), and q becomes a Gaussian with "
        "mean (μ_q − μ_p)/σ_p and variance σ_q²/σ_p².",
        "In log-variances, σ_q²/σ_p² is log_var_q − log_var_p, and σ_p = exp(log_var_p / 2). Pass the new mean and "
        "log-variance to gaussian_kl, which already sums over the coordinates (dim=1).",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("(μ_q − μ_p)² not divided by σ_p²",
                "the mean difference is measured in p's units, like q's variance: (σ_q² + (μ_q − μ_p)²) / σ_p².",
                lambda mq, lq, mp, lp: 0.5 * torch.sum(lp - lq + lq.exp() / lp.exp() + (mq - mp) ** 2 - 1, dim=1)),
        Mistake(WRONG_DIRECTION, WRONG_DIRECTION_WHY,
                lambda mq, lq, mp, lp: _kl_parts(mp, lp, mq, lq, lp.exp(), lq.exp()), hint=3),
        Mistake("σ where σ² is meant (exp(log_var / 2) for the variances)",
                "the ratio term has variances, σ² = exp(log_var); exp(log_var / 2) is a standard "
                "deviation.",
                lambda mq, lq, mp, lp: _kl_parts(mq, lq, mp, lp, (0.5 * lq).exp(), (0.5 * lp).exp())),
        Mistake("p's mean left out (μ_q² instead of (μ_q − μ_p)²)",
                "E_q[(z − μ_p)²] measures the distance of q's mean from p's mean, not from 0.",
                lambda mq, lq, mp, lp: _kl_parts(mq, lq, torch.zeros_like(mp), lp, lq.exp(), lp.exp()), hint=2),
        Mistake("p taken as N(0, I): the standard-normal formula",
                "that is the special case μ_p = 0, σ_p = 1; here p has its own mean and variance.",
                lambda mq, lq, mp, lp: reference_kl_standard_normal(mq, lq), hint=1),
        Mistake("the log-variances subtracted the wrong way round",
                "E_q[log q] contributes −½ log σ_q² and −E_q[log p] contributes +½ log σ_p², so the KL has "
                "+½ log σ_p² − ½ log σ_q²: the log of p's variance over q's.",
                lambda mq, lq, mp, lp: _kl_parts(mq, lp, mp, lq, lq.exp(), lp.exp()), hint=3),
        Mistake("summed over the batch instead of the latent dimensions",
                "sum over the coordinates (dim=1): one KL per row, shape [B].",
                lambda mq, lq, mp, lp: _kl_parts(mq, lq, mp, lp, lq.exp(), lp.exp(), dim=0)),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- exercise 3: variance of the MC gradient


def reference_mc_kl_grad_variance(mu, log_var):
    """Var over eps of d/dmu and d/dlog_var of log q(z) - log p(z), z = mu + sigma eps (per coordinate).

    Along z = mu + sigma eps, log q(z) = const - log_var / 2 - eps^2 / 2 and log p(z) = const - z^2 / 2,
    so d/dmu = z (variance sigma^2) and d/dlog_var = -1/2 + sigma eps z / 2 (variance
    mu^2 sigma^2 / 4 + sigma^4 / 2).
    """
    var = log_var.exp()
    return var, mu**2 * var / 4 + var**2 / 2


def _variance_cases() -> list[Case]:
    cases = [Case(pair, f"a [{pair[0].shape[0]}, {pair[0].shape[1]}] batch") for pair in _batches()[:2]]
    mu = torch.tensor([[0.0, 0.5, -2.0]], dtype=_F64)
    cases.append(Case((mu, torch.tensor([[0.3, -1.2, 0.7]], dtype=_F64)), "one row, μ = 0 in its first column"))
    return cases


def _var_std(mu, lv):
    v_mu, v_lv = reference_mc_kl_grad_variance(mu, lv)
    return v_mu.sqrt(), v_lv.sqrt()


def _var_sigma_as_variance(mu, lv):
    return reference_mc_kl_grad_variance(mu, 2 * lv)  # sigma = exp(log_var): sigma^2 = exp(2 log_var)


def _var_score_kept(mu, lv):
    # d/dmu of log q taken at fixed z (the score eps / sigma) plus the path of log p: eps / sigma + z
    sigma = (0.5 * lv).exp()
    return (sigma + 1 / sigma) ** 2, mu**2 * sigma**2 / 4 + sigma**4 / 2


def _var_score_kept_both(mu, lv):
    # the same mistake in both outputs: d/dlog_var = (eps^2 - 1) / 2 (score at fixed z) + sigma eps z / 2 (path of log p)
    sigma = (0.5 * lv).exp()
    return (sigma + 1 / sigma) ** 2, (1 + sigma**2) ** 2 / 2 + mu**2 * sigma**2 / 4


def _var_eps4_is_1(mu, lv):
    var = lv.exp()
    return var, mu**2 * var / 4 + var**2 / 4


def _var_second_moment(mu, lv):
    var = lv.exp()
    return var + mu**2, mu**2 * var / 4 + var**2 / 2 + (var - 1) ** 2 / 4


mc_kl_grad_variance = Exercise(
    "mc_kl_grad_variance",
    reference_mc_kl_grad_variance,
    _variance_cases,
    hints=[
        "Substitute z = μ + σε into both log-densities first and only then differentiate, with ε held "
        "fixed (σ = exp(½ log σ²) depends on log σ² too).",
        "(z − μ)/σ = ε, so along the path log q(z) depends on μ not at all, and on log σ² only through "
        "its −½ log σ² term. A draw's μ-gradient is then just z, its log σ²-gradient a parabola in ε.",
        "The moments you will need at the end: Var[ε] = 1, Var[ε²] = E[ε⁴] − 1 = 2, and "
        "Cov[ε, ε²] = E[ε³] = 0.",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the derivative taken in log σ, not in log σ²",
                "the encoder outputs log σ², and d/d log σ = 2 · d/d log σ²: a derivative in log σ has 4 times the variance.",
                lambda mu, log_var: (log_var.exp(), 4 * (mu**2 * log_var.exp() / 4 + log_var.exp() ** 2 / 2))),
        Mistake("standard deviations where variances are asked",
                "the variance is the square of the spread: Var[z] = σ², not σ.", _var_std),
        Mistake("exp(log_var) used as σ (it is σ²)",
                "σ = exp(log_var / 2); exp(log_var) is already the variance.", _var_sigma_as_variance, hint=1),
        Mistake("log q differentiated at fixed z (the score kept, its path dropped)",
                "along z = μ + σε, log q depends on μ through its mean and through z, and the two "
                "cancel.", _var_score_kept, hint=2),
        Mistake("log q differentiated at fixed z in both outputs (the score kept, its path dropped)",
                "along z = μ + σε, log q depends on μ and log σ² through its parameters and through z; for μ "
                "the two cancel, and for log σ² they leave only −½.", _var_score_kept_both, hint=2),
        Mistake("Var[ε²] taken as 1 (it is E[ε⁴] − 1 = 2)",
                "for a standard normal E[ε⁴] = 3, so Var[ε²] = 3 − 1 = 2.", _var_eps4_is_1, hint=3),
        Mistake("E[g²] where the variance Var[g] = E[g²] − E[g]² is meant",
                "the mean of the estimate (the closed-form gradient) must be subtracted: a variance "
                "measures the spread around the mean.", _var_second_moment),
    ],
    rtol=1e-6, atol=1e-8,
)


# --------------------------------------------------------------------------- exercise 2: how the reversed KL grows


swapped_kl_growth = Prediction(
    "swapped_kl_growth",
    answer="c",
    lesson=LESSON,
    choices=["a", "b", "c", "d"],
    explain=("KL(q ‖ p) = ½(μ² + σ² − 1 − log σ²) grows only like −log σ, while "
             "KL(p ‖ q) = ½((1 + μ²)/σ² − 1 + log σ²) grows like 1/σ²: under p, points far from q's narrow "
             "peak are common, and log q punishes each of them by its squared distance over σ². Training "
             "with KL(p ‖ q) would make a confident (small-σ) encoder very expensive."),
    hints=[
        "KL(p ‖ q) averages log p − log q under the prior, so mostly where p has mass and q has almost none. "
        "The samples of p = N(0, 1) do not shrink with σ. What happens to log q(z) at a typical z of p "
        "when q's peak becomes very narrow?",
        "Derive KL(p ‖ q) = E_p[log p(z) − log q(z)] with the steps of section 2; you need "
        "E_p[(z − μ)²] = 1 + μ².",
        "Of the terms of −log q(z), ½ log σ² = log σ even falls as σ → 0, and only slowly; compare it with the "
        "term that holds (z − μ)², once averaged under p.",
    ],
    mistakes={
        "a": "under p the squared distance (z − μ)² averages 1 + μ² whatever σ is, and −log q(z) divides it by "
             "q's variance σ², not by σ.",
        "b": "under p, typical points z stay about 1 away from μ however narrow q is, and −log q(z) charges each "
             "of them (z − μ)²/(2σ²): the average, p's spread (1 + μ²) over q's variance σ², grows without bound.",
        "d": "the log σ² terms of the two KLs differ only in sign; what grows is p's spread (1 + μ²) divided by q's "
             "variance: the price of p's typical points scales with 1/σ², faster than any multiple of log σ.",
    },
)


__all__ = ["best_q", "kl_standard_normal", "kl_diagonal_gaussians", "mc_kl_grad_variance", "swapped_kl_growth"]
