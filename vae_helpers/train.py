"""Training and evaluation: ``fit`` and ``evaluate``, returning per-epoch numbers (no files, no plots)."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable

import torch
from tqdm.std import tqdm

from . import fast
from .config import RunConfig, check_image_size, validate
from .data import InMemoryBatches
from .losses import elbo_k_terms, iwae_bound, log_importance_weights
from .manual_step import ManualStep


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite; training stopped."""

    def __init__(self, epoch: int, step: int, value: float) -> None:
        self.epoch, self.step, self.value = epoch, step, value
        super().__init__(
            f"the training loss became {value} at epoch {epoch}, step {step}; training stopped and the "
            "last good checkpoint (if any) was kept. Try a smaller learning rate (lr) or check the "
            "input data for NaNs."
        )


@dataclass
class EpochStats:
    """One epoch's numbers, all in nats per image (ELBO terms; higher ELBO is better)."""

    epoch: int
    train_elbo: float
    train_recon: float
    train_kl: float
    test_elbo: float | None
    test_recon: float | None
    test_kl: float | None
    seconds: float
    images_per_second: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainingSnapshot:
    """Everything needed to resume after an epoch (what a checkpoint stores)."""

    epoch: int
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    history: list[EpochStats]
    rng: dict

    def state_dict(self) -> dict:
        return {
            "epoch": self.epoch,
            "model_config": self.model.config(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "history": [h.to_dict() for h in self.history],
            "rng": self.rng,
        }


def _capture_rng(shuffle: torch.Generator, device: torch.device) -> dict:
    state = {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _restore_rng(state: dict, shuffle: torch.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    shuffle.set_state(state["shuffle"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def make_adam(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with the fused kernel (one pass over the weights per step) where torch has it for this device."""
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch, or a device without a fused Adam
        return torch.optim.Adam(model.parameters(), lr=lr)


def forward_precision(device: torch.device, precision: str):
    """The context the forward pass runs in: nothing for 'fp32', bfloat16 autocast for 'bf16'."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(model, images: torch.Tensor, *, batch_size: int = 1000, seed: int = 0, binarize: bool = False) -> dict:
    """Mean reconstruction, KL and ELBO (nats per image) over ``images``; one z sample each.

    Runs under a forked, seeded RNG, so it is repeatable and leaves training's RNG untouched.
    """
    was_training = model.training
    model.eval()
    device = _device_of(model)
    devices = [device] if device.type == "cuda" else []
    recon_sum = torch.zeros((), device=device)
    kl_sum = torch.zeros((), device=device)
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for x in InMemoryBatches(images.to(device), batch_size, shuffle=False, binarize=binarize):
            logits, mu, log_var = model(x)
            _, recon, kl = fast.vae_loss(logits, x, mu, log_var)
            recon_sum += recon * len(x)
            kl_sum += kl * len(x)
    model.train(was_training)
    recon, kl = recon_sum.item() / len(images), kl_sum.item() / len(images)
    return {"recon": recon, "kl": kl, "elbo": -(recon + kl)}


def _model_settings(model) -> dict:
    """The run settings ``fit`` validates for ``model``: its ``config()``, or, for a module without
    one (e.g. a convolutional VAE written in a notebook), only its ``image_size``."""
    if hasattr(model, "config"):
        return model.config()
    return {"image_size": model.image_size}


def fit(
    model,
    train_images: torch.Tensor,
    test_images: torch.Tensor | None = None,
    *,
    epochs: int = 15,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    objective: str = "elbo",
    k: int = 1,
    kl_weight: float = 1.0,
    binarize: bool = False,
    precision: str = "fp32",
    engine: str = "autograd",
    compile_adam: bool = False,
    resume: dict | None = None,
    on_epoch_end: Callable[[TrainingSnapshot], None] | None = None,
    progress: bool = True,
    loss_fn: Callable | None = None,
) -> list[EpochStats]:
    """Train ``model`` with Adam on images already on its device; return the per-epoch history.

    ``objective`` is 'elbo' (the VAE) or 'iwae'. ``k`` is the number of samples z ~ q(z|x) per
    image: for 'iwae' those of the bound, for 'elbo' k > 1 averages the ELBO over k samples
    (``losses.elbo_k_terms``: same expectation, lower variance). 'elbo_sampled' trains on the mean of
    the k ``losses.log_importance_weights``: the same ELBO with its KL term sampled too, as Burda et al.
    (2016) train their VAEs (the history then has no recon/KL split, as for 'iwae'). ``kl_weight`` trains on
    recon + kl_weight * KL (a beta-VAE, Higgins et al. 2017; 'elbo' only); the history always
    reports the true ELBO, recon + KL. ``resume`` is a checkpoint
    payload (``TrainingSnapshot.state_dict()``); training continues where it stopped and, on
    CPU with the same seed, ends with the same weights as an uninterrupted run.
    ``on_epoch_end`` receives a snapshot after each epoch (write checkpoints, grids, ...).
    ``precision='bf16'`` runs the forward pass under bfloat16 autocast (faster on CPUs with
    AVX512-BF16/AMX and on recent GPUs; weights, loss and test scores stay float32); on a CPU
    without native bfloat16 it warns once (``fast.SlowPrecisionWarning``): it can be several
    times slower there. On a CPU the one-sample ELBO uses ``fast.vae_loss`` (same numbers).
    ``engine='manual'`` (ELBO only) replaces autograd by a hand-written backward pass
    (``vae_helpers.manual_step``): the same gradients with far less overhead per step;
    ``compile_adam=True`` adds its one-pass Adam update, built by ``torch.compile`` (CPU).
    ``loss_fn(logits, x, mu, log_var)``, if given, replaces the loss that is minimised (e.g. a deliberately
    wrong one, to see what it trains; one-sample ELBO with autograd only); the history still reports the
    true ELBO.
    """
    if loss_fn is not None and (objective != "elbo" or k != 1 or engine != "autograd" or kl_weight != 1):
        raise ValueError("loss_fn replaces the one-sample ELBO: use it with objective='elbo', k=1, "
                         "engine='autograd' and kl_weight=1")
    device = _device_of(model)
    validate(
        RunConfig(
            epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, objective=objective, k=k,
            kl_weight=kl_weight, binarize=binarize, device=device.type, precision=precision, engine=engine,
            compile_adam=compile_adam, **_model_settings(model),
        )
    )
    check_image_size(model.image_size, tuple(train_images.shape))
    fast.warn_if_slow_bf16(device, precision)
    train_images = train_images.to(device)
    torch.manual_seed(seed)
    shuffle = torch.Generator().manual_seed(seed)
    optimizer = make_adam(model, lr)
    history: list[EpochStats] = []
    start = 0
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        _restore_rng(resume["rng"], shuffle, device)
        history = [EpochStats(**h) for h in resume["history"]]
        start = resume["epoch"]
    batches = InMemoryBatches(train_images, batch_size, generator=shuffle, binarize=binarize)
    steps = len(batches)
    manual = ManualStep(model, optimizer, precision, compile_adam) if engine == "manual" else None
    try:
        bar = tqdm(total=(epochs - start) * steps, desc="training", unit="step", disable=not progress,
                   mininterval=0.5, file=sys.stdout)  # text, not a widget: a stored notebook keeps its final state
        model.train()
        for epoch in range(start + 1, epochs + 1):
            began = time.perf_counter()
            # per-step numbers stay on the device: no .item() sync inside the loop
            terms, sizes = [], []
            for step, x in enumerate(batches):
                if manual is not None:  # engine='manual': forward, hand-written backward and Adam in one call
                    neg_elbo, recon, kl = manual.step(x)
                else:
                    if objective == "elbo" and k == 1:
                        with forward_precision(device, precision):
                            logits, mu, log_var = model(x)
                        # the loss is always summed in float32 (bfloat16 keeps only ~3 significant digits)
                        neg_elbo, recon, kl = fast.vae_loss(logits.float(), x, mu.float(), log_var.float())
                    elif objective == "elbo":
                        recon, kl = (term.mean() for term in elbo_k_terms(model, x, k))
                        neg_elbo = recon + kl
                    elif objective == "elbo_sampled":  # the mean of the k log w_i: the KL term sampled too
                        neg_elbo = loss = -log_importance_weights(model, x, k).mean()
                        recon = kl = torch.full((), float("nan"), device=device)
                    else:
                        neg_elbo = loss = -iwae_bound(model, x, k).mean()
                        recon = kl = torch.full((), float("nan"), device=device)
                    if objective == "elbo":
                        loss = neg_elbo if kl_weight == 1 else recon + kl_weight * kl
                        if loss_fn is not None:
                            loss = loss_fn(logits, x, mu, log_var)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                terms.append(torch.stack([neg_elbo.detach(), recon.detach(), kl.detach()]))
                sizes.append(len(x))
                bar.update(1)
            stats, sizes = torch.stack(terms).cpu(), torch.tensor(sizes, dtype=torch.float32)
            bad = (~torch.isfinite(stats[:, 0])).nonzero()
            if len(bad):
                step = int(bad[0, 0])
                bar.close()
                raise NonFiniteLossError(epoch, step + 1, float(stats[step, 0]))
            means = (stats * sizes[:, None]).sum(0) / sizes.sum()
            seconds = time.perf_counter() - began
            test = evaluate(model, test_images, seed=seed, binarize=binarize) if test_images is not None else None
            record = EpochStats(
                epoch=epoch,
                train_elbo=-float(means[0]),
                train_recon=float(means[1]),
                train_kl=float(means[2]),
                test_elbo=test["elbo"] if test else None,
                test_recon=test["recon"] if test else None,
                test_kl=test["kl"] if test else None,
                seconds=seconds,
                images_per_second=len(train_images) / seconds if seconds > 0 else math.inf,
            )
            history.append(record)
            bar.set_postfix(epoch=epoch, train_elbo=f"{record.train_elbo:.2f}",
                            test_elbo=f"{record.test_elbo:.2f}" if test else "-")
            if on_epoch_end is not None:
                on_epoch_end(TrainingSnapshot(epoch, model, optimizer, history, _capture_rng(shuffle, device)))
        bar.close()
    finally:
        if manual is not None:
            manual.close()
    return history



def fit_and_score(model, train_images: torch.Tensor, test_images: torch.Tensor, *, epochs: int,
                  batch_size: int = 128, seed: int = 0, device: torch.device | str = "cpu",
                  verbose: bool = True, **options) -> dict:
    """Train ``model`` with ``fit`` (no progress bar) on ``train_images``, score it with ``evaluate`` on
    ``test_images``; return ``evaluate``'s numbers plus ``model``, ``params`` and ``seconds`` (mean per epoch).

    Every model of a comparison gets the same budget: the same epochs, batch size and seed. ``options``
    go to ``fit`` (e.g. ``kl_weight``). With ``verbose`` it prints one line per model.
    """
    model = model.to(device)
    history = fit(model, train_images.to(device), None, epochs=epochs, batch_size=batch_size, seed=seed,
                  progress=False, **options)
    score = evaluate(model, test_images.to(device), seed=seed)
    seconds = sum(h.seconds for h in history) / len(history)
    result = {"model": model, **score, "seconds": seconds, "params": sum(p.numel() for p in model.parameters())}
    if verbose:
        extra = "".join(f", {key}={value}" for key, value in options.items())
        print(f"{model.__class__.__name__}({model.image_size} pixels{extra}): test ELBO {score['elbo']:.1f} "
              f"(recon {score['recon']:.1f}, KL {score['kl']:.1f})")
    return result


def step_milliseconds(models: dict, images: torch.Tensor, *, batch_size: int = 128, steps: int = 8,
                      rounds: int = 5) -> dict:
    """Milliseconds per training step (forward and backward pass of the ELBO on one batch) of each model.

    Per-epoch times are noisy on a shared machine, so the models are timed in alternation, ``rounds``
    times ``steps`` steps each, and the median round is kept; the weights are not changed. Returns
    ``{name: ms}`` and, under ``"ratios"``, ``{name: median of (ms / ms of the first model)}``.
    """
    from .losses import vae_loss

    names = list(models)
    times = {name: [] for name in names}
    for _ in range(rounds):
        for name in names:
            net = models[name]
            xb = images[:batch_size].to(_device_of(net))
            sync = torch.cuda.synchronize if xb.is_cuda else (lambda: None)  # a GPU runs asynchronously
            sync()
            began = time.perf_counter()
            for _ in range(steps):
                logits, mu, log_var = net(xb)
                vae_loss(logits, xb, mu, log_var)[0].backward()
            sync()
            net.zero_grad(set_to_none=True)
            times[name].append(1000 * (time.perf_counter() - began) / steps)
    median = lambda values: sorted(values)[len(values) // 2]  # noqa: E731
    out = {name: median(times[name]) for name in names}
    out["ratios"] = {name: median([t / b for t, b in zip(times[name], times[names[0]])]) for name in names}
    return out

