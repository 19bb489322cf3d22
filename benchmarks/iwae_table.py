"""Burda, Grosse & Salakhutdinov (ICLR 2016), Table 1, one stochastic layer: VAE vs IWAE on MNIST.

Trains the paper's model (784-200-200-50, tanh, Bernoulli decoder, dynamically binarized MNIST)
with the VAE objective (k = 1), the paper's control (``vaeK``: the ELBO averaged over K samples)
and the IWAE objective (``iwaeK``: k = 5, 50), then estimates the test log-likelihood with k = 5000
importance samples. Writes ``results.json`` and ``table.md`` into ``--out`` (one
``<model>/result.json`` and ``<model>/checkpoint.pt`` per model as well); ``--write-md FILE``
also puts the table into FILE between the markers ``<!-- iwae_table:begin -->`` and
``<!-- iwae_table:end -->``.

``--notebook-summary FILE --write-md benchmarks/IWAE.md`` writes the table of notebook 08's run
(the ``summary-*.json`` the notebook saves in its runs folder) between the markers
``<!-- notebook08:begin -->`` and ``<!-- notebook08:end -->``, so that IWAE.md shows exactly
the numbers the notebook printed.

    # the paper's length: 3280 passes with its learning-rate schedule (a GPU, many hours)
    python benchmarks/iwae_table.py --epochs 3280 --device auto --jobs 3
    # a short check on a CPU (minutes)
    python benchmarks/iwae_table.py --epochs 2 --schedule constant --test-limit 500 --device cpu

``--schedule paper`` runs the paper's 8 stages, stage i at learning rate lr * 10**(-i/7) for
3**i passes when --epochs is 3280, scaled down (each stage at least one pass) for fewer epochs.
``--schedule constant`` keeps lr fixed (better for very short runs). ``--resume`` continues an
interrupted run from the checkpoint written after every pass. ``--jobs N`` trains the models in
N parallel processes (this small model leaves a GPU mostly idle, so the models can share one).
Everything stays on the device: the training images, the batches, the binarization, the samples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

from vae_helpers.checkpoint import atomic_write, load_checkpoint, save_checkpoint
from vae_helpers.config import resolve_device
from vae_helpers.data import load_images, project_root
from vae_helpers.losses import log_importance_weights
from vae_helpers.model import VAE
from vae_helpers.train import evaluate, fit

#: the paper's architecture (one stochastic layer)
MODEL = dict(image_size=784, h_dim=200, z_dim=50, hidden_layers=2, activation="tanh")
#: Table 1 of the paper, MNIST, one stochastic layer: test NLL in nats (k = 5000 estimate) and active
#: units; "vaeK" is the paper's control, a VAE trained with the ELBO averaged over K samples
PAPER_NLL = {"vae": 86.76, "vae5": 86.47, "vae50": 86.35, "iwae5": 85.54, "iwae50": 84.78}
PAPER_ACTIVE_UNITS = {"vae": 19, "vae5": 20, "vae50": 20, "iwae5": 22, "iwae50": 25}
PAPER_EPOCHS = 3280  # sum of 3**i for i = 0..7
STAGES = 8


# --------------------------------------------------------------------------- settings


def parse_model(name: str, closed_form_kl: bool = False) -> tuple[str, int]:
    """'vae' → ('elbo_sampled', 1); 'vaeK' → ('elbo_sampled', K), the control; 'iwaeK' → ('iwae', K).

    'elbo_sampled' is the paper's Eq. 7: the mean of the K log w_i, so the KL term is sampled too; with
    ``closed_form_kl`` the VAE and the control take the KL in closed form instead ('elbo')."""
    vae = "elbo" if closed_form_kl else "elbo_sampled"
    if name == "vae":
        return vae, 1
    for prefix, objective in (("iwae", "iwae"), ("vae", vae)):
        if name.startswith(prefix) and name[len(prefix):].isdigit() and int(name[len(prefix):]) >= 1:
            return objective, int(name[len(prefix):])
    raise SystemExit(f"error: unknown model {name!r}; use 'vae', 'vaeK' (the control) or 'iwaeK' with K a "
                     "whole number, e.g. vae5, iwae5")


def schedule(epochs: int, kind: str, lr: float) -> list[tuple[int, float]]:
    """(passes, learning rate) per stage."""
    if kind == "constant":
        return [(epochs, lr)]
    if epochs < STAGES:
        raise SystemExit(f"error: --schedule paper needs --epochs >= {STAGES} (one pass per stage); "
                         "use --schedule constant for shorter runs")
    scale = epochs / PAPER_EPOCHS
    return [(max(1, round(3**i * scale)), lr * 10 ** (-i / 7)) for i in range(STAGES)]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="vae,vae5,iwae5,iwae50",
                   help="comma-separated: vae, vae5 (the control: ELBO averaged over 5 samples), iwae5, iwae50, ...")
    p.add_argument("--epochs", type=int, default=PAPER_EPOCHS, help="passes over the training set (paper: 3280)")
    p.add_argument("--schedule", choices=("paper", "constant"), default="paper", help="learning-rate schedule")
    p.add_argument("--lr", type=float, default=1e-3, help="(first) Adam learning rate")
    p.add_argument("--batch-size", type=int, default=20, help="images per step (paper: 20)")
    p.add_argument("--k-list", default="1,5,50,500,5000",
                   help="k values at which the test bound L_k is reported; the largest is the log p(x) "
                        "estimate (paper: 5000); each must divide the largest")
    p.add_argument("--test-limit", type=int, default=0, help="evaluate on the first N test images (0 = all 10000)")
    p.add_argument("--train-limit", type=int, default=0, help="train on the first N images (0 = all 60000)")
    p.add_argument("--monitor", type=int, default=1000, help="test images for the per-epoch test ELBO (0 = none)")
    p.add_argument("--eval-batch", type=int, default=0, help="test images per evaluation batch (0 = 1000 on CUDA, 100 on CPU)")
    p.add_argument("--chunk", type=int, default=500, help="importance samples per evaluation pass")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--seed", type=int, default=0, help="random seed (model init, batches, binarization, samples)")
    p.add_argument("--data-root", default=None, help="dataset root (default: $VAE_DATA_ROOT or ./data)")
    p.add_argument("--data-mirror", default=None, help="offline folder with the MNIST files (or $VAE_DATA_MIRROR)")
    p.add_argument("--out", type=Path, default=project_root() / "build" / "benchmarks" / "iwae",
                   help="output folder")
    p.add_argument("--label", default="", help="free text stored with the results (e.g. 'short CPU check')")
    p.add_argument("--jobs", type=int, default=1, help="models trained in parallel processes")
    p.add_argument("--resume", action="store_true", help="continue from <out>/<model>/checkpoint.pt")
    p.add_argument("--table-only", action="store_true", help="only rebuild results.json and table.md from <out>")
    p.add_argument("--write-md", type=Path, default=None,
                   help="also write the table into this markdown file, between its begin/end markers")
    p.add_argument("--notebook-summary", type=Path, default=None,
                   help="notebook 08's summary-*.json: write its table into --write-md and exit")
    p.add_argument("--closed-form-kl", action="store_true",
                   help="train the VAE and the control with the KL term in closed form (default: sampled, as the paper)")
    p.add_argument("--validate-args", action="store_true",
                   help="keep torch.distributions' argument checks on (each one costs a GPU sync per step)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # one model of a --jobs run
    args = p.parse_args(argv)
    args.model_list = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in args.model_list:
        parse_model(m)
    try:
        args.ks = sorted({int(k) for k in args.k_list.split(",")})
    except ValueError:
        raise SystemExit(f"error: --k-list must be whole numbers separated by commas, got {args.k_list!r}")
    if not args.ks or args.ks[0] < 1 or any(args.ks[-1] % k for k in args.ks):
        raise SystemExit(f"error: every k in --k-list must be >= 1 and divide the largest, got {args.ks}")
    if args.epochs < 1 or args.batch_size < 1 or args.jobs < 1:
        raise SystemExit("error: --epochs, --batch-size and --jobs must be positive")
    schedule(args.epochs, args.schedule, args.lr)  # fail early
    return args


# --------------------------------------------------------------------------- evaluation


def bounds_from_log_weights(log_w: torch.Tensor, ks: list[int]) -> dict[int, torch.Tensor]:
    """L_k per image for each k, from K = max(ks) log weights [K, B].

    The K samples are split into K/k disjoint groups of k; L_k is the mean over the groups of
    log((1/k) sum_group w). For k = K this is the usual K-sample estimate of log p(x); for small k
    the average over many groups gives E[L_k] far more precisely than one group would.
    """
    K, B = log_w.shape
    out = {}
    for k in ks:
        groups = log_w.reshape(K // k, k, B)
        out[k] = (torch.logsumexp(groups, dim=1) - math.log(k)).mean(0)
    return out


@torch.no_grad()
def test_bounds(model, x: torch.Tensor, ks: list[int], batch: int, chunk: int, seed: int) -> dict[int, torch.Tensor]:
    """L_k for every test image, from max(ks) importance samples drawn in chunks (seeded)."""
    device = x.device
    devices = [device] if device.type == "cuda" else []
    K = ks[-1]
    parts: dict[int, list[torch.Tensor]] = {k: [] for k in ks}
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        for xb in x.split(batch):
            log_w = torch.cat([log_importance_weights(model, xb, min(chunk, K - s)) for s in range(0, K, chunk)])
            for k, v in bounds_from_log_weights(log_w, ks).items():
                parts[k].append(v)
    return {k: torch.cat(v) for k, v in parts.items()}


@torch.no_grad()
def active_units(model, x: torch.Tensor, batch: int = 1000, threshold: float = 1e-2) -> int:
    """Latent dimensions u with Cov_x(E_q[u|x]) > threshold (the paper's 'active units'), over the images x.

    Called on the binarized test images; the authors' code (yburda/iwae) used the first 500 training images.
    """
    mu = torch.cat([model.encode(xb)[0] for xb in x.split(batch)])
    return int((mu.var(0) > threshold).sum())


# --------------------------------------------------------------------------- one model


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def run_model(name: str, args: argparse.Namespace) -> dict:
    objective, k = parse_model(name, args.closed_form_kl)
    device = resolve_device(args.device)
    out = args.out / name
    out.mkdir(parents=True, exist_ok=True)
    limit = args.train_limit or None
    train_x, _ = load_images("mnist", True, root=args.data_root, mirror=args.data_mirror, device=device, limit=limit)
    test_x, _ = load_images("mnist", False, root=args.data_root, mirror=args.data_mirror, device=device,
                            limit=args.test_limit or None)
    # the evaluation set: the test images binarized once, with a fixed seed (same bits on any device)
    test_bits = torch.bernoulli(test_x.cpu(), generator=torch.Generator().manual_seed(args.seed + 1)).to(device)
    monitor = test_x[: args.monitor] if args.monitor else None

    stages = schedule(args.epochs, args.schedule, args.lr)
    ends = [sum(n for n, _ in stages[: i + 1]) for i in range(len(stages))]
    plan = {"schedule": args.schedule, "lr": args.lr, "ends": ends, "batch_size": args.batch_size,
            "seed": args.seed, "train_images": len(train_x), "objective": objective}
    torch.manual_seed(args.seed)
    model = VAE(**MODEL).to(device)
    payload, train_seconds = None, 0.0
    ckpt = out / "checkpoint.pt"
    if args.resume and ckpt.is_file():
        payload = load_checkpoint(ckpt, model.config(), map_location=device)
        saved = payload["iwae_table"]["plan"]
        # a constant schedule may be extended; the paper's schedule must be the same one
        same = {key: saved.get(key, plan[key]) == plan[key] for key in plan}  # older checkpoints lack "objective"
        if args.schedule == "constant" and saved["schedule"] == "constant":
            same["ends"] = payload["epoch"] <= ends[-1]
        if not all(same.values()):
            raise SystemExit(f"error: {ckpt} was written by a run with other settings ({saved}); this run "
                             f"has {plan}. Use the same settings, or another --out.")
        train_seconds = payload["iwae_table"]["train_seconds"]
        model.load_state_dict(payload["model"])
        print(f"[{name}] resuming after epoch {payload['epoch']}", flush=True)

    state = {"payload": payload, "began": 0.0, "before": train_seconds}

    def on_epoch_end(snap) -> None:
        sync(device)
        state["payload"] = snap.state_dict()
        state["payload"]["iwae_table"] = {"plan": plan,
                                          "train_seconds": state["before"] + time.perf_counter() - state["began"]}
        save_checkpoint(state["payload"], ckpt)  # every epoch: an interrupted run loses one epoch at most

    for i, ((n, lr), end) in enumerate(zip(stages, ends)):
        if payload is not None and payload["epoch"] >= end:
            continue
        if payload is not None:  # the paper's schedule: the same Adam state, a lower learning rate
            for group in payload["optimizer"]["param_groups"]:
                group["lr"] = lr
        sync(device)
        state["began"], state["before"] = time.perf_counter(), train_seconds
        fit(model, train_x, monitor, epochs=end, batch_size=args.batch_size, lr=lr, seed=args.seed,
            objective=objective, k=k, binarize=True, resume=payload, on_epoch_end=on_epoch_end, progress=False)
        payload = state["payload"]
        train_seconds = payload["iwae_table"]["train_seconds"]
        h = payload["history"][-1]
        test = f"{h['test_elbo']:.2f}" if h["test_elbo"] is not None else "-"
        print(f"[{name}] stage {i + 1}/{len(stages)}: epoch {end}, lr {lr:.3g}, train objective "
              f"{h['train_elbo']:.2f}, test ELBO {test}, {train_seconds:.0f} s", flush=True)

    history = payload["history"]
    model.eval()
    eval_batch = args.eval_batch or (1000 if device.type == "cuda" else 100)
    sync(device)
    began = time.perf_counter()
    bounds = test_bounds(model, test_bits, args.ks, eval_batch, args.chunk, args.seed + 2)
    elbo = evaluate(model, test_bits, seed=args.seed + 3)
    units = active_units(model, test_bits)
    sync(device)
    eval_seconds = time.perf_counter() - began
    K = args.ks[-1]
    result = {
        "model": name,
        "objective": objective,
        "k_train": k,
        "nll": -bounds[K].mean().item(),
        "nll_stderr": bounds[K].std().item() / math.sqrt(len(test_bits)),
        "k_eval": K,
        "bounds": {str(kk): v.mean().item() for kk, v in bounds.items()},
        "test_elbo_closed_form_kl": elbo["elbo"],
        "active_units": units,
        "final_train_objective": history[-1]["train_elbo"],
        "epochs": history[-1]["epoch"],
        "stages": [{"epochs": n, "lr": lr} for n, lr in stages],
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "seconds_per_epoch": train_seconds / max(1, history[-1]["epoch"]),
        "paper_nll": PAPER_NLL.get(name),
        "paper_active_units": PAPER_ACTIVE_UNITS.get(name),
        "settings": {
            "model": MODEL, "batch_size": args.batch_size, "schedule": args.schedule, "lr": args.lr,
            "adam": "torch.optim.Adam defaults (betas 0.9, 0.999; eps 1e-8)", "binarize": "dynamic",
            "train_images": len(train_x), "test_images": len(test_bits), "seed": args.seed,
            "device": device_name(device), "torch": torch.__version__, "label": args.label,
        },
        "history": history,
    }
    atomic_write(out / "result.json", lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
    print(f"[{name}] test NLL {result['nll']:.2f} ± {result['nll_stderr']:.2f} nats (k={K}, "
          f"{len(test_bits)} images), {units} active units, train {train_seconds:.0f} s, eval {eval_seconds:.0f} s",
          flush=True)
    return result


# --------------------------------------------------------------------------- table


def table(results: list[dict]) -> str:
    """The markdown table: ours next to the paper's, with epochs and wall time."""
    ks = sorted({int(k) for r in results for k in r["bounds"]})
    head = ["model", "train k", "epochs", "train time", "test NLL (ours)", "paper NLL", "active units",
            "paper's active units"]
    head += [f"L_{k}" for k in ks[:-1]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        paper = f"{r['paper_nll']:.2f}" if r.get("paper_nll") else "–"
        row = [
            "IWAE" if r["objective"] == "iwae" else "VAE",
            str(r["k_train"]),
            str(r["epochs"]),
            f"{r['train_seconds'] / 60:.1f} min",
            f"{r['nll']:.2f} ± {r['nll_stderr']:.2f}",
            paper,
            f"{r['active_units']} / {MODEL['z_dim']}",
            str(r.get("paper_active_units") or PAPER_ACTIVE_UNITS.get(r["model"], "–")),
        ]
        row += [f"{r['bounds'][str(k)]:.2f}" if str(k) in r["bounds"] else "–" for k in ks[:-1]]
        lines.append("| " + " | ".join(row) + " |")
    s = results[0]["settings"]
    lines.append("")
    lines.append(
        f"Test NLL = −L_{results[0]['k_eval']} (nats, mean ± standard error over {s['test_images']} test images, "
        f"binarized once with a fixed seed); L_k = mean importance-weighted bound with k samples "
        f"(higher is better). Device: {s['device']}, torch {s['torch']}; batch {s['batch_size']}, "
        f"schedule '{s['schedule']}', {s['train_images']} training images."
        + (f" Label: {s['label']}." if s.get("label") else "")
    )
    return "\n".join(lines) + "\n"


def notebook_table(summary: dict) -> str:
    """Notebook 08's run as markdown: the numbers it printed, from the summary file it wrote."""
    st, models = summary["settings"], summary["models"]
    lines = ["| model | train k | epochs | test −log p(x), ours (nats) | paper (nats) | active units (ours) "
             "| paper's active units |", "|---|---|---|---|---|---|---|"]
    for name, m in models.items():
        paper = f"{m['paper_nll']:.2f}" if m.get("paper_nll") else "–"
        lines.append(f"| {name} | {m['k']} | {m['epochs']} | {m['nll']:.4g} ± {m['nll_se']:.2g} | {paper} | "
                     f"{m['active_units']} / {MODEL['z_dim']} | {m.get('paper_active_units') or '–'} |")
    ks = sorted({int(k) for b in summary["bounds"].values() for k in b})
    lines += ["", "| model | " + " | ".join(f"L_{k}" for k in ks) + " |", "|---|" + "---|" * len(ks)]
    for name, b in summary["bounds"].items():
        lines.append(f"| {name} | " + " | ".join(f"{b[str(k)]:.4g}" for k in ks) + " |")
    lines += ["", "| difference of mean log p(x) | nats | paired SE | unpaired SE |", "|---|---|---|---|"]
    for pair, d in summary["paired"].items():
        lines.append(f"| {pair} | {d['mean']:+.3g} | {d['paired_se']:.2g} | {d['unpaired_se']:.2g} |")
    lines.append("")
    lines.append(f"Settings: {st['epochs']} epochs per model, constant learning rate {st['lr']:g}, batch "
                 f"{st['batch_size']}, training images: {st['limit'] or 'all 60000'}; k = {st['k_max']} importance "
                 f"samples (chunks of {st['chunk']}) on the first {st['n_test']} test images, binarized once; "
                 f"seed {st['seed']}; device {st['device']}, torch {st['torch']}. ± is the standard error over "
                 "the test images. Generated by `benchmarks/iwae_table.py --notebook-summary` from the file "
                 "notebook 08 wrote.")
    return "\n".join(lines) + "\n"


def write_between_markers(path: Path, name: str, text: str) -> None:
    """Replace what lies between ``<!-- name:begin -->`` and ``<!-- name:end -->`` in ``path``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    doc = path.read_text()
    if begin not in doc or end not in doc:
        raise SystemExit(f"error: {path} has no {begin} ... {end} markers to write between")
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{begin}\n{text}{end}{tail}"
    atomic_write(path, lambda tmp: Path(tmp).write_text(new))
    print(f"wrote the {name} table into {path}")


def collect(args: argparse.Namespace) -> list[dict]:
    results = []
    for name in args.model_list:
        path = args.out / name / "result.json"
        if path.is_file():
            results.append(json.loads(path.read_text()))
        else:
            print(f"warning: no result for {name} ({path} missing)", file=sys.stderr)
    return results


def write_outputs(args: argparse.Namespace, results: list[dict]) -> None:
    if not results:
        raise SystemExit("error: no results to tabulate")
    slim = [{k: v for k, v in r.items() if k != "history"} for r in results]
    atomic_write(args.out / "results.json", lambda tmp: Path(tmp).write_text(json.dumps(slim, indent=1)))
    text = table(results)
    atomic_write(args.out / "table.md", lambda tmp: Path(tmp).write_text(text))
    print(text)
    if args.write_md is not None:
        write_between_markers(args.write_md, "iwae_table", text)


def main(argv=None) -> int:
    args = parse_args(argv)
    # torch.distributions checks its arguments (scale > 0, samples in the support) with tensor
    # reductions that the CPU must read: on a GPU every step then waits for the device. The inputs
    # here are valid by construction (scale = exp(...), binarized pixels), so the checks are skipped.
    torch.distributions.Distribution.set_default_validate_args(args.validate_args)
    if args.notebook_summary is not None:
        text = notebook_table(json.loads(args.notebook_summary.read_text()))
        print(text)
        if args.write_md is not None:
            write_between_markers(args.write_md, "notebook08", text)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    if args.table_only:
        write_outputs(args, collect(args))
        return 0
    if args.jobs > 1 and len(args.model_list) > 1:
        base = [a for a in (sys.argv[1:] if argv is None else argv)]
        cmd = [sys.executable, os.path.abspath(__file__)]
        pending = list(args.model_list)
        running: list[subprocess.Popen] = []
        failed = []
        threads = max(1, (os.cpu_count() or 1) // min(args.jobs, len(pending)))
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        while pending or running:
            while pending and len(running) < args.jobs:
                name = pending.pop(0)
                running.append(subprocess.Popen(cmd + base + ["--models", name, "--jobs", "1", "--child"], env=env))
            time.sleep(1)
            for proc in list(running):
                if proc.poll() is not None:
                    running.remove(proc)
                    if proc.returncode:
                        failed.append(proc.args[-4])
        write_outputs(args, collect(args))
        if failed:
            print(f"error: {failed} failed", file=sys.stderr)
        return 1 if failed else 0
    results = [run_model(name, args) for name in args.model_list]
    if not args.child:
        write_outputs(args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
