"""The exercises of notebook 09 (making training fast · 加速训练).

1. ``arithmetic_intensity`` (derive; the warm-up): FLOPs per byte moved of one linear layer, as a
   function of the batch size — the number that places a product on the roofline;
2. ``training_step_flops`` (derive): the exact floating-point operations of the matrix products of
   one training step, forward and backward, against the common rule of thumb "3x the forward";
3. ``batch_1024_per_image`` (predict, then measured on this machine): is a step of 1024 images
   faster *per image* than a step of 128?

Solutions: ``solutions/lesson09.py``.
"""

from __future__ import annotations

import dataclasses
import functools
import time

import torch

from .core import Case, CheckResult, Exercise, Mistake, Prediction
from .i18n import N_, _

LESSON = "lesson09"

_RUN: dict = {}  # numbers of the notebook's run that the discussions quote (use_run)


def use_run(**values) -> None:
    """Remember numbers of the notebook's run for the discussions (``balance_point``: section 4's, FLOP/byte;
    ``step_seconds``: section 2's median of fit's step of 128, against which exercise 3 tells a busy machine)."""
    _RUN.update(values)


class _DiscussedExercise(Exercise):
    """An exercise whose written follow-up question is answered after a correct function."""

    def __init__(self, *args, discussion, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._discussion = discussion

    def _check(self, fn):
        result = super()._check(fn)
        if result.status == "correct":
            result = dataclasses.replace(result, message=result.message + "\n  " + self._discussion())
        return result


# --------------------------------------------------------------------------- 2. FLOPs of one step


def _layers(image_size, h_dim, z_dim):
    """(in, out) of the VAE's five linear layers: encoder, mu head, log-variance head, decoder x2."""
    return [(image_size, h_dim), (h_dim, z_dim), (h_dim, z_dim), (z_dim, h_dim), (h_dim, image_size)]


def reference_training_step_flops(batch, image_size, h_dim, z_dim):
    """FLOPs of the matrix products of one step (forward + backward) of the 784-400-20-style VAE.

    A product [B, in] x [in, out] is 2 * B * in * out FLOPs (a multiply and an add per term).
    Forward: one per layer. Backward: the weight gradient g^T h of every layer (same size), and the
    input gradient g W of every layer but the first (the images need no gradient).
    """
    forward = sum(2 * batch * i * o for i, o in _layers(image_size, h_dim, z_dim))
    first = 2 * batch * image_size * h_dim
    return forward + forward + (forward - first)


def _flops_cases() -> list[Case]:
    return [Case((128, 784, 400, 20), "the original tutorial's VAE, batch 128"),
            Case((1, 784, 400, 20), "a batch of one"),
            Case((64, 3072, 512, 64), "32 x 32 colour images, a wider VAE"),
            Case((20, 784, 200, 50), "batch 20, 784-200-50")]


def _flops_with(batch, image_size, h_dim, z_dim, *, per_term=2, heads=2, backward_input=True,
                backward_weight=True, skip_first=True):
    layers = _layers(image_size, h_dim, z_dim)
    if heads == 1:
        layers = [layers[0], layers[1], layers[3], layers[4]]
    f = sum(per_term * batch * i * o for i, o in layers)
    total = f + (f if backward_weight else 0)
    if backward_input:
        total += f - (per_term * batch * image_size * h_dim if skip_first else 0)
    return total


FLOPS_DISCUSSION = N_("The follow-up: for the 784-400-20 VAE at batch 128 the products of a step are {exact} MFLOP; "
                      "three forward passes would be {rule} MFLOP, {over} % too many. The rule assumes the backward pass "
                      "costs two forward passes, but the first layer needs no gradient for its input (the images are "
                      "not trained), and that layer is {first} % of the forward FLOPs. Per step the backward pass runs "
                      "{mm} products (`aten::mm`: {weights} weight gradients, {inputs} input gradients) and the forward "
                      "pass {fwd} (`aten::addmm`, with the bias): {mm10} and {fwd10} calls in 10 steps, as section 3's "
                      "table counts them. A second hidden layer in the encoder and in the decoder makes seven linear "
                      "layers: {mm2} `aten::mm` calls per step ({weights2} weight gradients, {inputs2} input gradients).")


def _flops_discussion() -> str:
    exact = reference_training_step_flops(128, 784, 400, 20)
    forward = sum(2 * 128 * i * o for i, o in _layers(784, 400, 20))
    return _(FLOPS_DISCUSSION, exact=f"{exact / 1e6:.1f}", rule=f"{3 * forward / 1e6:.1f}",
             over=f"{100 * (3 * forward / exact - 1):.0f}", first=f"{100 * 2 * 128 * 784 * 400 / forward:.0f}",
             mm=9, weights=5, inputs=4, fwd=5, mm10=90, fwd10=50, mm2=13, weights2=7, inputs2=6)


training_step_flops = _DiscussedExercise(
    "training_step_flops",
    reference_training_step_flops,
    _flops_cases,
    hints=[
        "Count only the matrix products (the element-wise work is far smaller). A product of a "
        "[B, n] matrix by an [n, m] one has B·n·m terms, and each term is a multiply and an add. "
        "How many linear layers does the VAE have? Do not forget that the encoder has two heads.",
        "The backward pass of one linear layer y = hWᵀ needs up to two products: the weight "
        "gradient gᵀh, and the gradient gW passed on to the layer's input. Which of the five layers "
        "has an input that nobody needs a gradient for?",
        "Write the forward count F as a sum over the five layers. How does the cost of the weight "
        "gradients compare with F, and which part of F do the input gradients not need?",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("the rule of thumb, 3× the forward",
                "the backward pass of the first layer needs no gradient for its input (the images are "
                "not trained), so the backward pass is less than twice the forward; for the 784-400-20 "
                "VAE the first layer is almost half of the arithmetic, so the rule overcounts by about 19 %.",
                lambda b, i, h, z: _flops_with(b, i, h, z, skip_first=False), hint=2),
        Mistake("the forward pass only",
                "a training step also runs the backward pass, which costs about twice as much as the "
                "forward: weight gradients and input gradients.",
                lambda b, i, h, z: _flops_with(b, i, h, z, backward_input=False, backward_weight=False), hint=2),
        Mistake("multiply-adds counted, not FLOPs",
                "each term of a product is a multiplication and an addition: two floating-point "
                "operations (hardware peaks are quoted in FLOPs counted that way).",
                lambda b, i, h, z: _flops_with(b, i, h, z, per_term=1), hint=1),
        Mistake("one head where the encoder has two",
                "the encoder ends in two linear layers from the hidden units, one for μ and one for "
                "log σ², each [h_dim → z_dim].",
                lambda b, i, h, z: _flops_with(b, i, h, z, heads=1), hint=1),
        Mistake("the backward pass without the input gradients",
                "to reach the earlier layers, the backward pass also multiplies each layer's gradient "
                "by its weights (gW): a second product per layer, all but the first.",
                lambda b, i, h, z: _flops_with(b, i, h, z, backward_input=False), hint=2),
    ],
    rtol=1e-12, atol=0.5, discussion=_flops_discussion,
)


# --------------------------------------------------------------------------- 3. batch 1024 per image


_DEVICE: list = []  # set by use_device: the notebook's DEVICE_NAME


def use_device(device) -> None:
    """Exercise 3 times ``device`` (the notebook's choice); without this call, a CUDA GPU if there is one."""
    _DEVICE[:] = [torch.device(device)]
    _seconds_per_image.cache_clear()


def _device() -> torch.device:
    if _DEVICE:
        return _DEVICE[0]
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@functools.cache
def _seconds_per_image() -> dict[int, float]:
    """fit's fp32 step on this machine, per image, at batch 128 and 1024: the best of blocks timed in
    alternation, so that a burst of load elsewhere on the machine hits both batch sizes alike."""
    from .. import fast, train
    from ..model import VAE

    device = _device()
    steps, sizes = {}, {}
    for batch in (128, 1024):
        torch.manual_seed(0)
        model = VAE(784, 400, 20).to(device)
        optimizer = train.make_adam(model, 1e-3)
        x = torch.rand(batch, 784, generator=torch.Generator().manual_seed(1)).to(device)

        def step(model=model, optimizer=optimizer, x=x):
            logits, mu, log_var = model(x)
            loss = fast.vae_loss(logits, x, mu, log_var)[0]
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        steps[batch] = step

    def block(batch, n):
        if device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        for _ in range(n):
            steps[batch]()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return (time.perf_counter() - began) / n

    for batch in steps:
        block(batch, 3)  # warm-up
        sizes[batch] = max(1, round(0.03 / max(block(batch, 2), 1e-6)))  # blocks of about 30 ms
    best = {batch: float("inf") for batch in steps}
    for _ in range(11):
        for batch in steps:
            best[batch] = min(best[batch], block(batch, sizes[batch]))
    return {batch: best[batch] / batch for batch in steps}


def _batch_answer() -> str:
    """The choice the measured ratio supports."""
    t = _seconds_per_image()
    ratio = t[128] / t[1024]  # > 1: the large batch is faster per image
    return "a" if ratio > 1.5 else "c" if ratio < 1 / 1.5 else "b"


def _batch_accepted() -> set[str]:
    """The answer, and its neighbour when the ratio is within 0.1 of the boundary (where timing noise decides)."""
    t = _seconds_per_image()
    ratio = t[128] / t[1024]
    if 1.4 < ratio < 1.6:
        return {"a", "b"}
    if 1 / 1.6 < ratio < 1 / 1.4:
        return {"b", "c"}
    return {_batch_answer()}


MEASURED = N_("Measured now on {device}: {t128} µs per image at batch 128, {t1024} µs at batch 1024 ({ratio}×). "
              "A step's products and element-wise work grow with the batch; its per-operation overhead (Python, "
              "dispatch, autograd's bookkeeping) and Adam's update of the same 652,824 weights do not. So a larger "
              "batch saves per image at most the share of the step of 128 that was fixed per step (section 4). Its "
              "activations also grow: a [1024, 784] float32 tensor is 3.2 MB, close to the 4 MiB of L2 in which "
              "section 4's memory roof was measured, where the step of 128's 0.4 MB fit easily.")
BUSY = N_("not judged: a step of 128 took {now} ms now against {then} ms in section 2, so the machine is busy and "
          "the timings would grade noise. Run this check again when the machine is quieter.")


def _busy() -> tuple[float, float] | None:
    """(ms now, ms in section 2) when the step of 128 now takes over 2.5x section 2's median; else None."""
    then = _RUN.get("step_seconds")
    now = _seconds_per_image()[128] * 128
    return (1e3 * now, 1e3 * then) if then and now > 2.5 * then else None


class _MeasuredPrediction(Prediction):
    """A prediction whose answer is measured on the reader's machine: the explanation quotes the
    measurement, and the 'known trap' messages leave out the choice that turned out right."""

    def __init__(self, *args, traps: dict, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._traps = dict(traps)

    @property
    def mistakes(self) -> dict:
        right = self.accepted()  # the answer, and a neighbour near the boundary: neither is a trap
        return {k: v for k, v in self._traps.items() if k not in right}

    @mistakes.setter
    def mistakes(self, value) -> None:  # Prediction.__init__ sets it; the traps above are used instead
        pass

    def accepted(self) -> set:
        return _batch_accepted() | {self.answer()}

    def _check(self, prediction):
        if prediction is not None and prediction is not Ellipsis and prediction in self.choices:
            busy = _busy()
            if busy:
                return CheckResult(self.name, "not attempted",
                                   _(BUSY, now=f"{busy[0]:.2f}", then=f"{busy[1]:.2f}"))
        return super()._check(prediction)

    @property
    def explain(self) -> str:
        t = _seconds_per_image()
        ratio = t[128] / t[1024]
        return _(MEASURED, device=_device().type, t128=f"{1e6 * t[128]:.2f}", t1024=f"{1e6 * t[1024]:.2f}",
                 ratio=f"{ratio:.2f}")

    @explain.setter
    def explain(self, value) -> None:
        pass


batch_1024_per_image = _MeasuredPrediction(
    "batch_1024_per_image",
    _batch_answer,
    lesson=LESSON,
    explain="",
    choices=["a", "b", "c"],
    hints=["Section 4 split the time below the roofs into per-operation overhead, which is the same for any "
           "batch, and kernels running below their roof, which grow with it. Which parts of a step grow 8× "
           "from batch 128 to 1024, and which stay the same per step? Mind the cache too: how large is one "
           "[1024, 784] float32 activation, next to section 4's 4 MiB of L2?",
           "Per image, the part that stays the same per step is divided by 8; the rest is not. Add section 4's "
           "per-operation overhead and Adam's kernel (the same 652,824 weights at any batch): what share of the "
           "step is that, and what is then the most an 8× larger batch could save per image?"],
    traps={"a": "that holds where most of a step is fixed per step (a GPU running this small model): there 8× "
                "the images cost little more time per step. Here most of the step grows with the batch, and "
                "only the fixed share can be saved per image.",
           "b": "here the measured ratio fell outside a factor of 1.5: besides section 4's per-operation overhead "
                "and Adam's kernel, the kernels' own speed changes with the batch (larger products run nearer their "
                "roof; larger activations can leave the L2 cache).",
           "c": "per image, a larger batch needs the same arithmetic and fewer operations; only its larger "
                "activations, which leave the L2 cache, can make it slower, and here they did not make it 1.5× "
                "slower."},
)


# --------------------------------------------------------------------------- 1. arithmetic intensity (the warm-up)


def reference_arithmetic_intensity(batch, n_in, n_out, bytes_per_value):
    """FLOPs per byte of y = x W^T for x [B, n_in], W [n_out, n_in]: read x and W, write y (no bias)."""
    flops = 2 * batch * n_in * n_out
    moved = bytes_per_value * (batch * n_in + n_in * n_out + batch * n_out)
    return flops / moved


def _intensity_cases() -> list[Case]:
    return [Case((128, 784, 400, 4), "the first layer, batch 128, float32"),
            Case((1, 784, 400, 4), "a batch of one"),
            Case((1024, 784, 400, 2), "batch 1024, bfloat16"),
            Case((128, 400, 20, 4), "the mu head")]


INTENSITY_DISCUSSION = N_("The follow-up: the first layer (784 → 400, float32) has an intensity of {i1} FLOP/byte at "
                          "batch 1 (the weights are nearly all of the bytes), {i128} at batch 128 and {i1024} at batch "
                          "1024; it tends to {limit} as the batch grows. {crossing} bfloat16 halves the bytes, so it "
                          "doubles the intensity at every batch size; but it also raises the compute roof, which moves "
                          "the balance point right, so the crossing need not move to a smaller batch.")
CROSSING = N_("It crosses section 4's float32 balance point, {balance} FLOP/byte, at batch {batch}.")
NO_BALANCE = N_("Run section 4 first to compare it with this machine's balance point.")


def _intensity_discussion() -> str:
    f = lambda b: reference_arithmetic_intensity(b, 784, 400, 4)  # noqa: E731
    balance = _RUN.get("balance_point")
    if balance is None:
        crossing = _(NO_BALANCE)
    else:
        batch = next((b for b in range(1, 1 << 20) if f(b) >= balance), None)
        crossing = _(CROSSING, balance=f"{balance:.1f}", batch=batch if batch else "—")
    return _(INTENSITY_DISCUSSION, i1=f"{f(1):.2f}", i128=f"{f(128):.0f}", i1024=f"{f(1024):.0f}",
             limit=f"{2 * 784 * 400 / (4 * (784 + 400)):.0f}", crossing=crossing)


arithmetic_intensity = _DiscussedExercise(
    "arithmetic_intensity",
    reference_arithmetic_intensity,
    _intensity_cases,
    hints=[
        "Arithmetic intensity = floating-point operations / bytes moved to and from memory. Count "
        "the FLOPs of the product first, then every tensor it must read or write at least once.",
        "Three tensors move: the input x [B, n_in] and the weights W [n_out, n_in] are read, the "
        "output y [B, n_out] is written. Each value takes bytes_per_value bytes (4 in float32).",
        "The FLOPs grow with the batch in proportion; of the three tensors moved, which one does not "
        "grow with the batch? What does that make the intensity at batch 1, and as the batch grows without bound?",
    ],
    lesson=LESSON,
    mistakes=[
        Mistake("multiply-adds counted, not FLOPs",
                "each term of the product is a multiplication and an addition: two FLOPs.",
                lambda b, i, o, s: b * i * o / (s * (b * i + i * o + b * o)), hint=3),
        Mistake("the weights left out of the bytes",
                "the weight matrix must be read too. At batch 1 it is nearly all of the traffic: each "
                "weight is read once for one multiply-add, 2 FLOPs per 4 bytes in float32, and the "
                "product is memory-bound.",
                lambda b, i, o, s: 2 * b * i * o / (s * (b * i + b * o)), hint=2),
        Mistake("the output left out of the bytes",
                "the product's result y [B, n_out] has to be written to memory too.",
                lambda b, i, o, s: 2 * b * i * o / (s * (b * i + i * o)), hint=2),
        Mistake("bits where bytes are meant",
                "bytes_per_value is already in bytes (4 for float32); multiplying by 8 counts bits.",
                lambda b, i, o, s: 2 * b * i * o / (8 * s * (b * i + i * o + b * o)), hint=2),
        Mistake("bytes per FLOP, the ratio upside down",
                "intensity is FLOPs per byte: high means much arithmetic for each byte moved "
                "(compute-bound), low means memory-bound.",
                lambda b, i, o, s: s * (b * i + i * o + b * o) / (2 * b * i * o), hint=1),
    ],
    rtol=1e-9, atol=1e-12, discussion=_intensity_discussion,
)


__all__ = ["use_device", "use_run", "training_step_flops", "batch_1024_per_image", "arithmetic_intensity"]
