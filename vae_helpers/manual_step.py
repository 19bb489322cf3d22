"""A training step for the MLP VAE with the backward pass written out by hand (``engine='manual'``).

Autograd records every operation and replays it backwards; for this small network on a CPU,
that bookkeeping, per-tensor casts and copies cost more than the arithmetic they surround. Here
the forward pass, the loss, its gradient and the update are one straight sequence of torch ops:

* the weights live in one flat float32 buffer (the parameters are views into it), their
  gradients in another, so casting all weights to bfloat16 or all gradients back is one copy;
* the gradient of the per-image Bernoulli loss w.r.t. the logits is ``(sigmoid(l) - x) / B``,
  and the closed-form KL gives ``mu / B`` and ``(sigma^2 - 1) / (2B)`` for mu and log-variance;
* matrix products write their results straight into the gradient buffer (``out=``);
* on a CPU, Adam's update runs over the flat buffers as one loop compiled by ``torch.compile``
  (the formula of ``torch.optim.Adam``; its state stays in the optimizer, so checkpoints are
  unchanged), which also casts the new weights to bfloat16: one pass over memory instead of
  three (``compile_adam=True`` in ``fit``). Compiling takes seconds once per process (several seconds
  cold, less from torch's on-disk cache); where it fails (no C++ compiler), a
  warning says so and ``optimizer.step()`` is used.

The numbers are those of ``model(x)`` + ``vae_loss`` + ``backward()`` + ``optimizer.step()``
(tests compare them).
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings

import torch
import torch.nn as nn

from .model import VAE

_COMPUTE_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16}


def adam_update(weights, weights_low, grads, exp_avg, exp_avg_sq, step_size, bias_correction2_sqrt,
                beta1: float, beta2: float, eps: float, cast: bool) -> None:
    """torch.optim.Adam's update of flat buffers (no weight decay), then ``weights_low = weights``."""
    grad = grads.float()
    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    weights.sub_(exp_avg * step_size / denom)
    if cast:
        weights_low.copy_(weights)


_compiled_update = None  # torch.compile(adam_update), made on first use; False once compiling failed


@contextlib.contextmanager
def _quiet_compiler_notices():
    """Hide torch's 'No CUDA runtime is found' notice, printed when compiling on a CPU-only machine."""
    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _plain_adam(optimizer) -> bool:
    """Whether ``optimizer`` is torch's Adam with settings ``adam_update`` reproduces."""
    if type(optimizer) is not torch.optim.Adam or len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    return (group["weight_decay"] == 0 and not group["amsgrad"] and not group["maximize"]
            and not group.get("differentiable") and not torch.is_tensor(group["lr"]))


def _activation_backward(activation: str):
    """grad, output -> grad through the activation, from the activation's *output*."""
    if activation == "relu":
        return lambda grad, out: torch.ops.aten.threshold_backward(grad, out, 0)
    return lambda grad, out: torch.ops.aten.tanh_backward(grad, out)


class ManualStep:
    """``step(x)`` = one Adam step on the negative ELBO of batch ``x``; returns (loss, recon, KL).

    Works for ``vae_helpers.model.VAE`` (any depth, ReLU or tanh). While it exists the model's
    parameters are views into its flat buffers; ``close()`` gives them their own memory back.
    ``precision='bf16'`` runs the matrix products in bfloat16, like autocast; the weights, Adam
    and every loss term stay float32. ``compile_update=True`` runs Adam as the compiled one-pass
    ``adam_update`` (CPU, plain Adam; else ``optimizer.step()``); in bf16 it reads the bfloat16
    gradients directly, so ``p.grad`` is not filled then.
    """

    def __init__(self, model: VAE, optimizer: torch.optim.Optimizer, precision: str = "fp32",
                 compile_update: bool = False) -> None:
        if not isinstance(model, VAE):
            raise TypeError(f"engine='manual' trains vae_helpers.model.VAE only, not {type(model).__name__}; "
                            "use engine='autograd' for other models.")
        if precision not in _COMPUTE_DTYPES:
            raise ValueError(f"precision={precision!r} is not allowed: use one of {list(_COMPUTE_DTYPES)}.")
        self.model, self.optimizer = model, optimizer
        self.dtype = _COMPUTE_DTYPES[precision]
        self.z_dim = model.z_dim
        self.act = (lambda t: t.relu_()) if model.activation == "relu" else (lambda t: t.tanh_())
        self.act_backward = _activation_backward(model.activation)

        encoder = [m for m in model.encoder if isinstance(m, nn.Linear)]
        decoder = [m for m in model.decoder[0] if isinstance(m, nn.Linear)] + [model.decoder[1]]
        # mu's and log_var's layers sit side by side, so they run as one [2*z_dim, h_dim] product
        heads = [model.fc_mu.weight, model.fc_log_var.weight, model.fc_mu.bias, model.fc_log_var.bias]
        order = [p for lin in encoder for p in (lin.weight, lin.bias)] + heads
        order += [p for lin in decoder for p in (lin.weight, lin.bias)]
        if {id(p) for p in order} != {id(p) for p in model.parameters()}:
            raise TypeError("engine='manual' needs the VAE's standard layers; use engine='autograd'.")
        if any(p.dtype != torch.float32 for p in order):
            raise TypeError("engine='manual' needs float32 weights (precision='bf16' handles bfloat16); "
                            "call model.float() first.")

        device = model.fc_mu.weight.device
        total = sum(p.numel() for p in order)
        self.weights = torch.empty(total, device=device)
        self.grads = torch.zeros(total, device=device)
        low = self.dtype != torch.float32
        self.weights_low = torch.empty(total, device=device, dtype=self.dtype) if low else self.weights
        self.grads_low = torch.empty(total, device=device, dtype=self.dtype) if low else self.grads
        self._params, self._spans = order, {}
        start = 0
        with torch.no_grad():
            for p in order:
                end = start + p.numel()
                self.weights[start:end].copy_(p.reshape(-1))
                p.data = self.weights[start:end].view_as(p)
                p.grad = self.grads[start:end].view_as(p)
                self._spans[id(p)] = (start, end)
                start = end

        self.encoder = [self._views([lin.weight], [lin.bias]) for lin in encoder]
        self.heads = self._views(heads[:2], heads[2:])
        self.decoder = [self._views([lin.weight], [lin.bias]) for lin in decoder]
        self._low_versions = None  # the parameters' version counters when weights_low was last cast

        # the one-pass update keeps Adam's state in flat buffers too; the optimizer's state tensors
        # are views into them, so optimizer.state_dict() (checkpoints) stays exactly torch's
        self.one_pass = compile_update and device.type == "cpu" and _plain_adam(optimizer)
        if self.one_pass:
            self.exp_avg, self.exp_avg_sq = torch.zeros(total), torch.zeros(total)
            self._steps = []
            fused = bool(optimizer.param_groups[0].get("fused"))
            with torch.no_grad():
                for p in order:
                    state = optimizer.state[p]
                    if not state:  # what torch.optim.Adam creates at its first step
                        state["step"] = torch.zeros((), dtype=torch.float32, device=device if fused else "cpu")
                        state["exp_avg"] = torch.zeros_like(p)
                        state["exp_avg_sq"] = torch.zeros_like(p)
                    start, end = self._spans[id(p)]
                    for name, flat in (("exp_avg", self.exp_avg), ("exp_avg_sq", self.exp_avg_sq)):
                        flat[start:end].copy_(state[name].reshape(-1))
                        state[name] = flat[start:end].view_as(p)
                    self._steps.append(state["step"])
            self._step_count = self._first_step = int(self._steps[0])
            if any(int(step) != self._step_count for step in self._steps):  # not what fit makes
                self.one_pass = False
            self._step_size, self._correction = torch.zeros(()), torch.zeros(())

    def _views(self, weights: list, biases: list) -> tuple[torch.Tensor, ...]:
        """(weight, bias, weight grad, bias grad) in the compute dtype; several layers stacked as one."""
        w0, w1 = self._spans[id(weights[0])][0], self._spans[id(weights[-1])][1]
        b0, b1 = self._spans[id(biases[0])][0], self._spans[id(biases[-1])][1]
        rows, cols = sum(w.shape[0] for w in weights), weights[0].shape[1]
        return (self.weights_low[w0:w1].view(rows, cols), self.weights_low[b0:b1],
                self.grads_low[w0:w1].view(rows, cols), self.grads_low[b0:b1])

    @torch.no_grad()
    def step(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Forward, loss, hand-written backward and optimizer step for one batch."""
        # this step's bfloat16 weights, in one cast: unless the last update cast them already and
        # nothing changed a parameter since (an in-place change bumps its version counter)
        if self.weights_low is not self.weights and self._versions() != self._low_versions:
            self.weights_low.copy_(self.weights)
            self._low_versions = self._versions()
        x = self.model.flatten(x).float()
        n = x.shape[0]

        # forward: keep each layer's input (for the weight gradient) and output (for the activation's)
        inputs, outputs = [], []
        h = x.to(self.dtype)
        for weight, bias, _, _ in self.encoder:
            inputs.append(h)
            h = self.act(torch.addmm(bias, h, weight.t()))
            outputs.append(h)
        head_input = h
        head_w, head_b, head_gw, head_gb = self.heads
        mu_log_var = torch.addmm(head_b, h, head_w.t()).float()
        mu, log_var = mu_log_var[:, :self.z_dim], mu_log_var[:, self.z_dim:]
        std = torch.exp(0.5 * log_var)
        eps = torch.randn_like(std)
        noise = eps * std
        z = mu + noise
        h = z.to(self.dtype)
        dec_inputs, dec_outputs = [], []
        for i, (weight, bias, _, _) in enumerate(self.decoder):
            dec_inputs.append(h)
            h = torch.addmm(bias, h, weight.t())
            if i < len(self.decoder) - 1:
                h = self.act(h)
                dec_outputs.append(h)
        logits = h.float()

        # loss in nats per image: Bernoulli cross-entropy softplus(l) - x*l, and the closed-form KL
        probs = torch.sigmoid(logits)
        # softplus(l) = max(l, 0) - log(max(p, 1 - p)) with p = sigmoid(l)
        recon = (logits.clamp_min(0).sum() - torch.dot(x.reshape(-1), logits.reshape(-1))
                 - torch.log(torch.maximum(probs, 1 - probs)).sum()) / n
        var = std * std
        kl = 0.5 * (torch.dot(mu.reshape(-1), mu.reshape(-1)) + var.sum() - log_var.sum()) / n - 0.5 * self.z_dim

        # backward, by hand
        grad = torch.sub(probs, x).div_(n).to(self.dtype)  # d loss / d logits
        for i in range(len(self.decoder) - 1, -1, -1):
            weight, _, grad_w, grad_b = self.decoder[i]
            if i < len(self.decoder) - 1:
                grad = self.act_backward(grad, dec_outputs[i])
            torch.mm(grad.t(), dec_inputs[i], out=grad_w)
            torch.sum(grad, 0, out=grad_b)
            grad = torch.mm(grad, weight)
        grad_z = grad.float()
        grad_heads = torch.empty_like(mu_log_var)
        torch.add(grad_z, mu, alpha=1 / n, out=grad_heads[:, :self.z_dim])  # d/d mu
        # d/d log_var: through z (dz/dlog_var = eps * sigma / 2) and through the KL ((sigma^2 - 1) / 2)
        torch.addcmul(var.sub(1).mul_(0.5 / n), grad_z, noise, value=0.5, out=grad_heads[:, self.z_dim:])
        grad = grad_heads.to(self.dtype)
        torch.mm(grad.t(), head_input, out=head_gw)
        torch.sum(grad, 0, out=head_gb)
        grad = torch.mm(grad, head_w)
        for i in range(len(self.encoder) - 1, -1, -1):
            weight, _, grad_w, grad_b = self.encoder[i]
            grad = self.act_backward(grad, outputs[i])
            torch.mm(grad.t(), inputs[i], out=grad_w)
            torch.sum(grad, 0, out=grad_b)
            if i > 0:
                grad = torch.mm(grad, weight)
        self._update()
        return recon + kl, recon, kl

    def _update(self) -> None:
        """Adam: the compiled one-pass update where possible, else optimizer.step()."""
        if self.one_pass and self._one_pass_step():
            return
        if self.grads_low is not self.grads:
            self.grads.copy_(self.grads_low)
        self.optimizer.step()
        self._low_versions = None  # the weights changed: cast them again before the next step

    def _one_pass_step(self) -> bool:
        global _compiled_update
        if _compiled_update is None:
            _compiled_update = torch.compile(adam_update, fullgraph=True)
        group = self.optimizer.param_groups[0]
        (beta1, beta2), t = group["betas"], self._step_count + 1
        self._step_size.fill_(group["lr"] / (1 - beta1 ** t))
        self._correction.fill_(math.sqrt(1 - beta2 ** t))
        cast = self.weights_low is not self.weights
        try:
            if _compiled_update is False:
                raise RuntimeError("it failed earlier in this process")
            with _quiet_compiler_notices() if self._step_count == self._first_step else contextlib.nullcontext():
                _compiled_update(self.weights, self.weights_low, self.grads_low, self.exp_avg, self.exp_avg_sq,
                                 self._step_size, self._correction, float(beta1), float(beta2),
                                 float(group["eps"]), cast)
        except Exception as err:  # noqa: BLE001 -- compiling happens at the first call; any failure: eager
            if _compiled_update is not False:
                warnings.warn(f"torch.compile could not build the one-pass Adam update ({err}); "
                              "engine='manual' uses optimizer.step() instead.", RuntimeWarning)
            _compiled_update, self.one_pass = False, False
            return False
        torch._foreach_add_(self._steps, 1.0)
        self._step_count = t
        if cast:
            self._low_versions = self._versions()
        return True

    def _versions(self) -> tuple[int, ...]:
        return tuple(p._version for p in self._params)

    def close(self) -> None:
        """Give every parameter its own memory again (the model no longer depends on this object)."""
        with torch.no_grad():
            for p in self._params:
                p.data = p.data.clone()
                p.grad = None
                state = self.optimizer.state.get(p, {})
                for name in ("exp_avg", "exp_avg_sq"):
                    if name in state:
                        state[name] = state[name].clone()
