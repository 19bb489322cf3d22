"""The original tutorial's pipeline vs ours: seconds per epoch, images per second and test ELBO, in one process.

    .venv/bin/python benchmarks/speed.py --epochs 3 --data-mirror /path/to/mirror
    .venv/bin/python benchmarks/speed.py --epochs 15 --device cuda

Copies of the original tutorial's configuration (784-400-20, Adam 1e-3, batch 128), started
from the same initial weights, are trained epoch by epoch, alternating (the order rotates
every epoch, so all see the same machine conditions):

* tutorial: the original tutorial's pipeline and loop -- torchvision MNIST + ToTensor + DataLoader
  (``vae_helpers.data.original_tutorial_loader``), ``x.to(device).view(-1, 784)`` per batch, a
  sigmoid decoder, ``binary_cross_entropy(..., reduction='sum')`` + KL summed over the
  batch, ``.item()`` every 10 steps (where the original tutorial prints);
* ours: ``vae_helpers.train.fit`` on the whole training set held as one tensor on the device
  (``InMemoryBatches``), Bernoulli logits, losses in nats per image; once per combination of
  ``--precisions`` (fp32, bf16) and ``--engines`` (autograd; manual: the hand-written backward
  pass of ``vae_helpers.manual_step``; manual-compiled: the same with ``compile_adam=True``; its
  first epoch includes compiling, which the median leaves out).

All models are then scored by ``vae_helpers.train.evaluate`` on the test set (the original
tutorial's model weights are copied into a ``VAE``; its decoder's pre-sigmoid output is exactly
the logits), so the test ELBOs are comparable. This is a benchmark, not a test: results go
to stdout (and ``--json``); benchmarks/README.md records measured figures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from vae_helpers.config import resolve_device
from vae_helpers.data import InMemoryBatches, load_images, original_tutorial_loader
from vae_helpers.model import VAE
from vae_helpers.train import evaluate, fit

IMAGE_SIZE, H_DIM, Z_DIM, BATCH_SIZE, LR = 784, 400, 20, 128, 1e-3


class TutorialVAE(nn.Module):
    """The original tutorial's model, layer for layer (fc1 … fc5, sigmoid output)."""

    def __init__(self, image_size: int = IMAGE_SIZE, h_dim: int = H_DIM, z_dim: int = Z_DIM) -> None:
        super().__init__()
        self.fc1 = nn.Linear(image_size, h_dim)
        self.fc2 = nn.Linear(h_dim, z_dim)
        self.fc3 = nn.Linear(h_dim, z_dim)
        self.fc4 = nn.Linear(z_dim, h_dim)
        self.fc5 = nn.Linear(h_dim, image_size)

    def encode(self, x):
        h = F.relu(self.fc1(x))
        return self.fc2(h), self.fc3(h)

    def reparameterize(self, mu, log_var):
        std = torch.exp(log_var / 2)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h = F.relu(self.fc4(z))
        return torch.sigmoid(self.fc5(h))  # the original tutorial writes F.sigmoid, an alias of torch.sigmoid

    def forward(self, x):
        mu, log_var = self.encode(x)
        z = self.reparameterize(mu, log_var)
        return self.decode(z), mu, log_var


#: TutorialVAE parameter → VAE parameter (same shapes, same creation order, so same init per seed)
TUTORIAL_TO_OURS = {
    "fc1": "encoder.0",
    "fc2": "fc_mu",
    "fc3": "fc_log_var",
    "fc4": "decoder.0.0",
    "fc5": "decoder.1",
}


def tutorial_as_vae(tutorial_model: TutorialVAE) -> VAE:
    """A ``VAE`` holding the original tutorial's model weights (its decode() gives that model's pre-sigmoid values)."""
    state = {}
    for ours_name, tensor in tutorial_model.state_dict().items():
        layer, kind = ours_name.split(".")
        state[f"{TUTORIAL_TO_OURS[layer]}.{kind}"] = tensor
    model = VAE(IMAGE_SIZE, H_DIM, Z_DIM).to(next(tutorial_model.parameters()).device)
    model.load_state_dict(state)
    return model


def tutorial_epoch(model: TutorialVAE, optimizer, loader, device) -> None:
    """One epoch of the original tutorial's training loop (printing left out, its .item() calls kept)."""
    model.train()
    for i, (x, _) in enumerate(loader):
        x = x.to(device).view(-1, IMAGE_SIZE)
        x_reconst, mu, log_var = model(x)
        reconst_loss = F.binary_cross_entropy(x_reconst, x, reduction="sum")
        kl_div = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
        loss = reconst_loss + kl_div
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if (i + 1) % 10 == 0:
            reconst_loss.item(), kl_div.item()  # the original tutorial prints these two every 10 steps


def ours_name(precision: str, engine: str) -> str:
    """'ours' for fit's defaults, else e.g. 'ours-bf16', 'ours-manual-bf16'."""
    parts = ["ours"] + ([engine] if engine != "autograd" else []) + ([precision] if precision != "fp32" else [])
    return "-".join(parts)


def bf16_is_fast(device: torch.device) -> bool:
    """Whether this device has bfloat16 matrix units (else bf16 autocast is emulated and slow)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
        return "avx512_bf16" in flags or "amx_bf16" in flags
    return False


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pipeline_seconds(loader, images: torch.Tensor, device: torch.device, seed: int) -> tuple[float, float]:
    """One pass over each input pipeline alone (batches produced on the device, no model)."""
    sync(device)
    began = time.perf_counter()
    for x, _ in loader:
        x = x.to(device).view(-1, IMAGE_SIZE)
    sync(device)
    tutorial_s = time.perf_counter() - began
    began = time.perf_counter()
    for x in InMemoryBatches(images, BATCH_SIZE, generator=torch.Generator().manual_seed(seed)):
        pass
    sync(device)
    ours_s = time.perf_counter() - began
    return tutorial_s, ours_s


def profile_steps(tutorial_model, tutorial_opt, loader, ours_model, images, device, steps: int = 60) -> None:
    """Print the top operators of ``steps`` training steps of each pipeline (torch.profiler)."""
    from itertools import islice

    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sort = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    with profile(activities=activities) as prof:
        tutorial_epoch(tutorial_model, tutorial_opt, islice(loader, steps), device)
        sync(device)
    print(f"\n--- profile: tutorial pipeline, {steps} steps ---")
    print(prof.key_averages().table(sort_by=sort, row_limit=15))
    with profile(activities=activities) as prof:
        fit(ours_model, images[: steps * BATCH_SIZE], epochs=1, progress=False)
        sync(device)
    print(f"\n--- profile: ours (fit), {steps} steps ---")
    print(prof.key_averages().table(sort_by=sort, row_limit=15))


def step_variants(images: torch.Tensor, passes: int = 4, compile_step: bool = False) -> None:
    """A/B of variants of fit's training step (same loop), alternating; medians after a warm-up pass."""
    from vae_helpers import fast, losses
    from vae_helpers.manual_step import ManualStep
    from vae_helpers.train import forward_precision

    device = images.device

    def make(variant):
        torch.manual_seed(0)
        model = VAE(IMAGE_SIZE, H_DIM, Z_DIM).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=LR, fused=variant != "foreach Adam")
        precision = "bf16" if "bf16" in variant else "fp32"
        if variant.startswith("manual"):
            return ManualStep(model, opt, precision, compile_update="compiled" in variant).step

        # fit's loss (fast.vae_loss), or the textbook formula of losses.vae_loss: the same numbers
        loss_fn = losses.vae_loss if variant == "textbook loss" else fast.vae_loss

        def step(xb):
            with forward_precision(device, precision):
                logits, mu, log_var = model(xb)
            loss, _, _ = loss_fn(logits.float(), xb, mu.float(), log_var.float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        return torch.compile(step) if "compile" in variant else step

    variants = ["fit (fused Adam)", "textbook loss", "foreach Adam", "bf16 autocast", "manual", "manual bf16", "manual compiled bf16"]
    if compile_step:
        variants += ["torch.compile", "bf16 + compile"]
    steps = {v: make(v) for v in variants}
    times: dict[str, list[float]] = {v: [] for v in variants}
    for r in range(passes + 1):
        for v in variants:
            sync(device)
            began = time.perf_counter()
            for xb in InMemoryBatches(images, BATCH_SIZE, generator=torch.Generator().manual_seed(r)):
                steps[v](xb)
            sync(device)
            if r > 0:  # pass 0 warms up (and compiles)
                times[v].append(time.perf_counter() - began)
    base = statistics.median(times[variants[0]])
    print(f"\nstep variants, seconds per pass over {len(images)} images (median of {passes}):")
    for v in variants:
        med = statistics.median(times[v])
        print(f"  {v:<22} {med:7.3f} s  ({(med / base - 1) * 100:+.0f} %)  {[round(t, 3) for t in times[v]]}")


def machine_description(device: torch.device) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    text = (f"{os.cpu_count()}-core {platform.machine()} CPU ({cpu}), torch {torch.__version__}, "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}")
    if device.type == "cuda":
        text += f", GPU {torch.cuda.get_device_name(device)}"
    return text


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="The original tutorial's DataLoader pipeline vs vae_helpers.train.fit on in-memory tensors.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--epochs", type=int, default=3, help="epochs for each of the two runs")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    parser.add_argument("--data-mirror", default=None, help="offline dataset folder (default: $VAE_DATA_MIRROR)")
    parser.add_argument("--data-root", default=None, help="dataset root (default: $VAE_DATA_ROOT or ./data)")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--seed", type=int, default=0, help="seed for the initial weights and the shuffles")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader workers for the original tutorial's pipeline (it uses 0)")
    parser.add_argument("--no-pipeline", action="store_true", help="skip timing the input pipelines alone")
    parser.add_argument("--profile", action="store_true", help="print torch.profiler tables for 60 steps of each")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    parser.add_argument("--precisions", default="auto",
                        help="our runs: comma-separated fp32,bf16; 'auto' adds bf16 where the device has bf16 units")
    parser.add_argument("--engines", default="autograd,manual,manual-compiled",
                        help="our runs: comma-separated autograd, manual (fit's engine) and manual-compiled "
                             "(engine='manual', compile_adam=True); each with every precision")
    parser.add_argument("--step-variants", action="store_true",
                        help="instead: A/B variants of fit's step (textbook loss, fused Adam, bf16 autocast, manual engine) and exit")
    parser.add_argument("--compile", action="store_true", help="with --step-variants: also torch.compile the step")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be a positive number of images")
    if args.precisions != "auto":
        args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
        if not args.precisions or any(p not in ("fp32", "bf16") for p in args.precisions):
            parser.error("--precisions takes fp32, bf16 or both (comma-separated), or auto")
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not args.engines or any(e not in ("autograd", "manual", "manual-compiled") for e in args.engines):
        parser.error("--engines takes autograd, manual and/or manual-compiled (comma-separated)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    device = resolve_device(args.device)
    if args.precisions == "auto":
        args.precisions = ["fp32", "bf16"] if bf16_is_fast(device) else ["fp32"]
    print(f"machine: {machine_description(device)}")
    print(f"device:  {device}; epochs: {args.epochs}; limit: {args.limit or 'all'}; seed: {args.seed}; "
          f"ours in {' and '.join(args.precisions)}, engines {' and '.join(args.engines)}")

    # --- data: the original tutorial's DataLoader, and ours as tensors on the device
    loader = original_tutorial_loader(batch_size=BATCH_SIZE, root=args.data_root, mirror=args.data_mirror,
                               num_workers=args.num_workers)
    if args.limit is not None:
        subset = torch.utils.data.Subset(loader.dataset, range(min(args.limit, len(loader.dataset))))
        loader = torch.utils.data.DataLoader(subset, batch_size=BATCH_SIZE, shuffle=True,
                                             num_workers=args.num_workers)
    train_x, _ = load_images("mnist", True, root=args.data_root, mirror=args.data_mirror, device=device,
                             limit=args.limit)
    test_x, _ = load_images("mnist", False, root=args.data_root, mirror=args.data_mirror, device=device)
    n = len(train_x)
    assert len(loader.dataset) == n

    if args.step_variants:
        step_variants(train_x, compile_step=args.compile)
        return 0

    # --- the runs, all from the same initial weights
    torch.manual_seed(args.seed)
    tutorial_model = TutorialVAE().to(device)
    variants = {ours_name(p, e): (p, e) for e in args.engines for p in args.precisions}
    ours_models = {}
    for name in variants:
        torch.manual_seed(args.seed)
        ours_models[name] = VAE(IMAGE_SIZE, H_DIM, Z_DIM).to(device)
        for key, tensor in tutorial_as_vae(tutorial_model).state_dict().items():
            assert torch.equal(tensor, ours_models[name].state_dict()[key]), key
    tutorial_opt = torch.optim.Adam(tutorial_model.parameters(), lr=LR)
    runs = ["tutorial"] + list(variants)

    if args.profile:
        import copy

        probe = copy.deepcopy(tutorial_model)
        profile_steps(probe, torch.optim.Adam(probe.parameters(), lr=LR), loader,
                      copy.deepcopy(ours_models[runs[1]]), train_x, device)

    pipeline = None
    if not args.no_pipeline:
        pipeline = pipeline_seconds(loader, train_x, device, args.seed)
        print(f"input pipeline alone, one pass over {n} images: tutorial DataLoader+ToTensor "
              f"{pipeline[0]:.2f} s, in-memory tensor {pipeline[1]:.3f} s")

    # --- alternate epochs (the order rotates every epoch); each run keeps its own RNG stream
    torch.manual_seed(args.seed + 1)
    tutorial_rng = torch.get_rng_state()
    tutorial_cuda_rng = torch.cuda.get_rng_state(device) if device.type == "cuda" else None
    payloads: dict[str, dict | None] = {name: None for name in variants}

    def capture(name):
        def keep(snapshot):
            payloads[name] = snapshot.state_dict()
        return keep

    rows = []
    w = max(14, max(len(r) for r in runs) + 3)  # column width
    header = "".join(f"{r + ' s':>{w}}" for r in runs) + "".join(f"{r + ' ELBO':>{w + 5}}" for r in runs)
    print(f"\n{'epoch':>5}{header}")
    for epoch in range(1, args.epochs + 1):
        times = {}
        shift = (epoch - 1) % len(runs)
        for which in runs[shift:] + runs[:shift]:
            if which == "tutorial":
                torch.set_rng_state(tutorial_rng)
                if tutorial_cuda_rng is not None:
                    torch.cuda.set_rng_state(tutorial_cuda_rng, device)
                sync(device)
                began = time.perf_counter()
                tutorial_epoch(tutorial_model, tutorial_opt, loader, device)
                sync(device)
                times["tutorial"] = time.perf_counter() - began
                tutorial_rng = torch.get_rng_state()
                if tutorial_cuda_rng is not None:
                    tutorial_cuda_rng = torch.cuda.get_rng_state(device)
            else:
                precision, engine = variants[which]
                sync(device)
                began = time.perf_counter()
                fit(ours_models[which], train_x, None, epochs=epoch, batch_size=BATCH_SIZE, lr=LR,
                    seed=args.seed, precision=precision, engine=engine.split("-")[0],
                    compile_adam=engine == "manual-compiled", resume=payloads[which],
                    on_epoch_end=capture(which), progress=False)
                sync(device)
                times[which] = time.perf_counter() - began
        elbos = {"tutorial": evaluate(tutorial_as_vae(tutorial_model), test_x, seed=args.seed)["elbo"]}
        for name, model in ours_models.items():
            elbos[name] = evaluate(model, test_x, seed=args.seed)["elbo"]
        rows.append({"epoch": epoch, "seconds": times, "test_elbo": elbos})
        print(f"{epoch:>5}" + "".join(f"{times[r]:>{w}.2f}" for r in runs)
              + "".join(f"{elbos[r]:>{w + 5}.2f}" for r in runs), flush=True)

    medians = {r: statistics.median(row["seconds"][r] for row in rows) for r in runs}
    final = rows[-1]["test_elbo"]
    summary = {
        "machine": machine_description(device),
        "device": str(device),
        "epochs": args.epochs,
        "images": n,
        "seconds_per_epoch": medians,
        "images_per_second": {r: n / medians[r] for r in runs},
        "ratio_to_tutorial": {r: medians["tutorial"] / medians[r] for r in runs[1:]},
        "ratio_to_tutorial_per_epoch": {r: [row["seconds"]["tutorial"] / row["seconds"][r] for row in rows] for r in runs[1:]},
        "test_elbo": final,
        "elbo_difference_to_tutorial": {r: final[r] - final["tutorial"] for r in runs[1:]},
        "pipeline_seconds": {"tutorial": pipeline[0], "ours": pipeline[1]} if pipeline else None,
        "epochs_detail": rows,
    }
    print(f"\n{'':<30}" + "".join(f"{r:>{w}}" for r in runs))
    print(f"{'seconds per epoch (median)':<30}" + "".join(f"{medians[r]:>{w}.2f}" for r in runs))
    print(f"{'images per second':<30}" + "".join(f"{n / medians[r]:>{w},.0f}" for r in runs))
    print(f"{'faster than the tutorial':<30}{'':>{w}}" + "".join(f"{medians['tutorial'] / medians[r]:>{w - 1}.2f}x" for r in runs[1:]))
    # the machine's speed can drift during a run; each epoch's ratio compares runs minutes apart at most
    ratios = {r: sorted(row["seconds"]["tutorial"] / row["seconds"][r] for row in rows) for r in runs[1:]}
    print(f"{'epoch ratios: min-median-max':<30}{'':>{w}}" + "".join(
        f"{f'{v[0]:.1f}-{statistics.median(v):.1f}-{v[-1]:.1f}x':>{w}}" for v in ratios.values()))
    print(f"{'test ELBO after ' + str(args.epochs) + ' epochs':<30}" + "".join(f"{final[r]:>{w}.2f}" for r in runs))
    label = "ELBO minus the tutorial's"
    print(f"{label:<30}{'':>{w}}" + "".join(f"{final[r] - final['tutorial']:>+{w}.2f}" for r in runs[1:]))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if all(math.isfinite(v) for row in rows for v in row["test_elbo"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
