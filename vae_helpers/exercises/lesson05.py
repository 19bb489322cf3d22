"""Exercises of notebook 05 (training the VAE). Solutions: solutions/lesson05.py."""

from __future__ import annotations

import math

import torch

from ..losses import gaussian_kl, reconstruction_nats, vae_loss
from ..model import VAE
from ..train import make_adam
from .core import Case, Exercise, Mistake, Prediction, _copy_args

# --------------------------------------------------------------------------- 1. Adam and a summed loss


def _adam_step_ratio() -> float:
    """How far Adam's first step moves the weights with the loss x128, relative to the plain loss."""
    moves = []
    for scale in (1.0, 128.0):
        torch.manual_seed(0)
        layer = torch.nn.Linear(30, 7).double()
        before = layer.weight.detach().clone()
        optimizer = torch.optim.Adam(layer.parameters(), lr=1e-3)
        x = torch.randn(128, 30, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        (scale * layer(x).pow(2).mean()).backward()
        optimizer.step()
        moves.append(float((layer.weight.detach() - before).norm()))
    return moves[1] / moves[0]


def _adam_answer() -> str:
    ratio = _adam_step_ratio()
    return "a" if abs(ratio - 1) < 0.01 else "b" if abs(ratio / 128 - 1) < 0.01 else "c"


adam_summed_loss = Prediction(
    "adam_summed_loss",
    _adam_answer,
    lesson="lesson05",
    choices=["a", "b", "c"],
    explain=("Adam divides each gradient by the square root of its own running mean square, so a "
             "constant factor on the loss cancels (up to its tiny eps): the step is nearly the same. "
             "With plain SGD (w -= lr * grad) the step would be 128 times larger. What the sum does "
             "change is the number you print: a sum over 128 images, not nats per image."),
    hints=["Write Adam's first step for one weight: m = (1-b1) g, v = (1-b2) g^2, then the bias "
           "corrections. What is m_hat / sqrt(v_hat)?",
           "Replace g by 128 g in m_hat / (sqrt(v_hat) + eps) and simplify (eps = 1e-8 is tiny)."],
    mistakes={"b": "that is plain SGD, whose step is lr * gradient; Adam's step is lr * m_hat / "
                   "(sqrt(v_hat) + eps), and a factor on g appears above and below the fraction."},
)

# --------------------------------------------------------------------------- 2. one training step


class _StepExercise(Exercise):
    """A training step: compares (the returned loss, the model's weights after the step)."""

    def _call(self, fn, case: Case):
        model, optimizer, x = _copy_args(case.args)  # one deep copy: the optimizer keeps the model's weights
        for copied, original in zip(model.parameters(), case.args[0].parameters()):
            # deepcopy leaves .grad behind; a step in the middle of training finds last step's there
            copied.grad = None if original.grad is None else original.grad.clone()
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # a tiny model: threads would only wait for each other
        try:
            with torch.random.fork_rng():
                torch.manual_seed(0)  # the same noise eps for the reference, the reader and each mistake
                loss = fn(model, optimizer, x)
        finally:
            torch.set_num_threads(threads)
        if loss is None:
            return None
        if isinstance(loss, torch.Tensor) and loss.numel() == 1:
            loss = float(loss.detach())
        weights = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
        return (loss, weights)


def reference_training_step(model, optimizer, x):
    """forward, loss (negative ELBO per image), zero_grad, backward, step; returns the loss."""
    logits, mu, log_var = model(x)
    loss, _, _ = vae_loss(logits, x, mu, log_var)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _step_with(loss_fn, order="zero-backward-step"):
    def step(model, optimizer, x):
        logits, mu, log_var = model(x)
        loss = loss_fn(logits, x, mu, log_var)
        if order == "zero-backward-step":
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        elif order == "backward-step":  # no zero_grad
            loss.backward()
            optimizer.step()
        else:  # "zero-step-backward": the step comes before the gradients
            optimizer.zero_grad()
            optimizer.step()
            loss.backward()
        return loss
    return step


def _mean_loss(logits, x, mu, log_var):
    return vae_loss(logits, x, mu, log_var)[0]


def _summed_loss(logits, x, mu, log_var):
    return (reconstruction_nats(logits, x) + gaussian_kl(mu, log_var)).sum()


def _flipped_kl(logits, x, mu, log_var):
    return (reconstruction_nats(logits, x) - gaussian_kl(mu, log_var)).mean()


def _no_kl(logits, x, mu, log_var):
    return reconstruction_nats(logits, x).mean()


def _step_cases() -> list[Case]:
    """A tiny VAE (16 pixels, 5 images, float64) after one step of training, as fit leaves it."""
    cases = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    for label, make_optimizer in (("Adam, as fit makes it", lambda m: make_adam(m, 1e-2)),
                                  ("plain SGD, lr 0.05", lambda m: torch.optim.SGD(m.parameters(), lr=0.05))):
        with torch.random.fork_rng():
            torch.manual_seed(5)
            model = VAE(16, 6, 3).double()
            x = torch.rand(5, 16, dtype=torch.float64)
            optimizer = make_optimizer(model)
            reference_training_step(model, optimizer, torch.rand(5, 16, dtype=torch.float64))
        cases.append(Case((model, optimizer, x), f"{label}, one step already taken"))
    torch.set_num_threads(threads)
    return cases


training_step = _StepExercise(
    "training_step",
    reference_training_step,
    _step_cases,
    hints=["Four things happen in a step, in an order that matters: a forward pass with its loss, "
           "clearing the old gradients, computing the new ones, and the update.",
           "backward() adds its gradients to whatever .grad already holds (here: the previous "
           "step's), and step() uses what .grad holds when it runs. Where must zero_grad() go?",
           "model(x) gives (logits, mu, log_var); losses.vae_loss turns them into (loss, recon, kl). "
           "Then optimizer.zero_grad(), loss.backward(), optimizer.step(); return the loss."],
    lesson="lesson05",
    mistakes=[
        Mistake("optimizer.zero_grad() missing, or not before loss.backward()",
                "backward() adds to what .grad holds, and in the middle of training the previous "
                "step's gradients are still there: zero_grad() must come before backward() in this "
                "function (after step() it clears them too late), or this step also follows the "
                "previous batch's gradient.",
                _step_with(_mean_loss, "backward-step")),
        Mistake("optimizer.step() with no fresh gradients",
                "the update uses whatever gradients are stored when step() runs: before backward() "
                "(or right after a zero_grad() that follows it) there are none, so the weights do "
                "not move; the new gradients wait for the next step.",
                _step_with(_mean_loss, "zero-step-backward")),
        Mistake("the loss summed over the batch instead of averaged",
                "the number is no longer nats per image, and with plain SGD the step is B times "
                "larger (Adam's step barely changes: it divides each gradient by its own size).",
                _step_with(_summed_loss)),
        Mistake("the KL with the wrong sign",
                "the negative ELBO is reconstruction + KL; subtracting the KL rewards codes far "
                "from the prior instead of charging for them.", _step_with(_flipped_kl)),
        Mistake("the KL term left out",
                "without the KL the loss is a plain autoencoder's; the ELBO charges every image "
                "KL(q(z|x) || p(z)) nats for its code.", _step_with(_no_kl)),
    ],
    rtol=1e-6,
    atol=1e-9,
)

# --------------------------------------------------------------------------- 3. a published bits/dim in nats


def reference_elbo_in_nats(bpd: torch.Tensor, image_shape: tuple) -> torch.Tensor:
    """Bits per dimension -> the ELBO in nats per image: times the dimensions, times ln 2, negated."""
    return -bpd * math.prod(image_shape) * math.log(2)


def _nats_cases() -> list[Case]:
    return [
        Case((torch.tensor([3.5, 4.25], dtype=torch.float64), (3, 32, 32)), "colour 32x32 images"),
        Case((torch.tensor([0.19, 1.0, 0.0625], dtype=torch.float64), (1, 28, 28)), "MNIST-sized"),
        Case((torch.tensor([2.0], dtype=torch.float64), (3, 48, 64)), "colour 48x64 images"),
    ]


elbo_in_nats = Exercise(
    "elbo_in_nats",
    reference_elbo_in_nats,
    _nats_cases,
    hints=["Bits per dimension were made from the ELBO by a few steps (section 6); undo each of "
           "them, and mind what counts as one dimension of a colour image.",
           "How many numbers does one image of shape (C, H, W) hold? How many nats is one bit? "
           "Which sign does the ELBO column of the table have?",
           "Multiply by C*H*W and by math.log(2), then negate: the ELBO is minus the cost."],
    lesson="lesson05",
    mistakes=[
        Mistake("the sign forgotten",
                "bits per dimension count a cost, -ELBO, which is positive; the ELBO itself (a "
                "log-probability bound) is negative, as in the table.",
                lambda bpd, shape: bpd * math.prod(shape) * math.log(2)),
        Mistake("divided by ln 2 instead of multiplying",
                "one bit is ln 2 (about 0.693) nats, so a number of bits is a smaller number of "
                "nats: multiply by ln 2.",
                lambda bpd, shape: -bpd * math.prod(shape) / math.log(2)),
        Mistake("still in bits (no ln 2)",
                "that is bits per image; nats use the natural log: one bit is ln 2 nats.",
                lambda bpd, shape: -bpd * math.prod(shape)),
        Mistake("the channels left out",
                "a colour image has C values per pixel, each one a dimension: C*H*W of them.",
                lambda bpd, shape: -bpd * shape[-1] * shape[-2] * math.log(2)),
        Mistake("multiplied by the image side instead of the number of dimensions",
                "an image of C x H x W numbers has C*H*W dimensions, not W.",
                lambda bpd, shape: -bpd * shape[-1] * math.log(2)),
        Mistake("divided by the number of dimensions instead of multiplying",
                "bits per dimension are the cost of one image shared out over its dimensions; the "
                "cost of the whole image is that share times the number of dimensions.",
                lambda bpd, shape: -bpd * math.log(2) / math.prod(shape)),
    ],
    rtol=1e-6,
    atol=1e-9,
)

__all__ = ["adam_summed_loss", "training_step", "elbo_in_nats"]
