"""One training run in a run folder: data → model → fit → grids, checkpoint, metrics.json."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .checkpoint import (CheckpointError, atomic_write, is_empty_dir, load_checkpoint, make_run_dir, new_run_dir,
                         save_checkpoint)
from .config import RunConfig, check_image_size, resolve_device, validate
from .data import load_images, project_root
from .model import VAE
from .plotting import reconstruction_pairs, sample_images, save_grid
from .train import EpochStats, TrainingSnapshot, fit

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.json"


@dataclass
class RunResult:
    """What a run produced: the folder, the trained model and the per-epoch history."""

    run_dir: Path
    model: VAE
    history: list[EpochStats]
    config: RunConfig
    files: list[Path] = field(default_factory=list)

    @property
    def final(self) -> EpochStats:
        return self.history[-1]


def default_runs_dir() -> Path:
    return project_root() / "runs"


def build_model(config: RunConfig) -> VAE:
    return VAE(**config.model_fields())


def image_side(image_size: int) -> int:
    side = int(round(image_size ** 0.5))
    return side


def prepare_data(config: RunConfig, device: torch.device):
    """Train images (limited), test images and labels, on ``device``, checked against image_size."""
    train_x, _ = load_images(config.dataset, True, root=config.data_root, mirror=config.data_mirror,
                             device=device, limit=config.limit)
    test_x, test_y = load_images(config.dataset, False, root=config.data_root, mirror=config.data_mirror,
                                 device=device)
    check_image_size(config.image_size, tuple(train_x.shape))
    return train_x, test_x, test_y


def train_run(
    config: RunConfig,
    run_dir: str | Path | None = None,
    *,
    resume: bool = False,
    progress: bool = True,
    grids: bool = True,
    log=print,
) -> RunResult:
    """Train one configuration and write its results into a run folder.

    ``run_dir=None`` makes a new folder under ``runs/``. An existing folder is only reused
    with ``resume=True`` (training continues from its checkpoint); otherwise a fresh
    ``name-2``, ``name-3`` … folder is made, so earlier results are never overwritten.
    Each epoch writes ``samples/sample-XX.png`` (fixed z), ``samples/reconstruction-XX.png``
    (test inputs and reconstructions, row by row) and ``checkpoint.pt``; the end writes
    ``metrics.json``.
    """
    validate(config)
    device = resolve_device(config.device)
    payload = None
    if run_dir is not None and resume and (Path(run_dir) / CHECKPOINT).is_file():
        run_dir = Path(run_dir)
        payload = load_checkpoint(run_dir / CHECKPOINT, config.model_fields())
        log(f"resuming {run_dir} from epoch {payload['epoch']}")
    elif run_dir is not None:
        run_dir = Path(run_dir)
        if not is_empty_dir(run_dir):
            fresh = new_run_dir(run_dir.parent, run_dir.name)
            log(f"{run_dir} already holds results; writing this run to {fresh} instead")
            run_dir = fresh
        else:
            make_run_dir(run_dir)
    else:
        run_dir = new_run_dir(default_runs_dir(), f"{config.dataset}")
    train_x, test_x, _ = prepare_data(config, device)
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    side = image_side(config.image_size)
    fixed_z = torch.randn(64, config.z_dim, generator=torch.Generator().manual_seed(config.seed))
    shown = test_x[:32]
    files: list[Path] = []

    def on_epoch_end(snapshot: TrainingSnapshot) -> None:
        if grids:
            e = snapshot.epoch
            was_training = model.training
            model.eval()
            files.append(save_grid(sample_images(model, fixed_z).view(-1, 1, side, side),
                                   run_dir / "samples" / f"sample-{e:02d}.png"))
            files.append(save_grid(reconstruction_pairs(model, shown),
                                   run_dir / "samples" / f"reconstruction-{e:02d}.png"))
            model.train(was_training)
        save_checkpoint(snapshot.state_dict(), run_dir / CHECKPOINT)

    history = fit(
        model, train_x, test_x,
        epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, seed=config.seed,
        objective=config.objective, k=config.k, kl_weight=config.kl_weight, binarize=config.binarize, precision=config.precision,
        engine=config.engine, compile_adam=config.compile_adam, resume=payload, on_epoch_end=on_epoch_end, progress=progress,
    )
    metrics = {
        "config": config.to_dict(),
        "device": str(device),
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "history": [h.to_dict() for h in history],
        "final": history[-1].to_dict() if history else None,
    }
    files.append(atomic_write(run_dir / METRICS, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2))))
    files.append(run_dir / CHECKPOINT)
    return RunResult(run_dir, model, history, config, files)


def load_run(run_dir: str | Path, device: str = "cpu") -> tuple[VAE, dict]:
    """Load a finished run's model and metrics."""
    run_dir = Path(run_dir)
    metrics_path = run_dir / METRICS
    if not metrics_path.is_file():
        raise CheckpointError(f"{run_dir} has no {METRICS}: the run did not finish. Train it (or resume it) first.")
    metrics = json.loads(metrics_path.read_text())
    config = RunConfig.from_dict(metrics["config"])
    payload = load_checkpoint(run_dir / CHECKPOINT, config.model_fields())
    model = build_model(config)
    model.load_state_dict(payload["model"])
    return model.to(device).eval(), metrics


def config_fingerprint(config: RunConfig) -> str:
    """Eight hex digits that change with any setting of ``config`` (a run folder's name carries them)."""
    return hashlib.sha1(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:8]


def train_or_load(config: RunConfig, runs_dir: str | Path, name: str, *, reuse: bool = True,
                  log=print) -> tuple[VAE, list[EpochStats], bool]:
    """The trained model and history of ``config``, from ``runs_dir/<name>-<fingerprint>/`` when a finished run
    with exactly these settings is there (and ``reuse``), else trained into that folder by ``train_run``.

    Returns ``(model in eval mode, history, loaded)``. Messages name the folder relative to ``runs_dir``.
    """
    runs_dir = Path(runs_dir)
    run_dir = runs_dir / f"{name}-{config_fingerprint(config)}"
    if reuse and (run_dir / METRICS).is_file():
        model, metrics = load_run(run_dir, device=str(resolve_device(config.device)))
        return model, [EpochStats(**h) for h in metrics["history"]], True
    result = train_run(config, run_dir, resume=True, progress=False,
                       log=lambda message: log(str(message).replace(str(runs_dir) + "/", "")))
    return result.model.eval(), result.history, False


def config_from_parameters(knobs) -> RunConfig:
    """The validated ``RunConfig`` of a notebook's parameters cell, read from its ``globals()``.

    Reads the upper-case knobs a notebook declares (``DATASET``, ``EPOCHS``, ``BATCH_SIZE``, ``LR``,
    ``H_DIM``, ``Z_DIM``, ``SEED``, ``LIMIT`` (0: all), ``DEVICE_NAME``, ``PRECISION``, ``ENGINE``,
    ``COMPILE_ADAM``, ``DATA_ROOT``, ``DATA_MIRROR`` (empty: the default)); a knob the cell lacks
    keeps ``RunConfig``'s default. So a lesson's cells need not name the machinery knobs that
    ``make run`` passes.
    """
    names = {"dataset": "DATASET", "epochs": "EPOCHS", "batch_size": "BATCH_SIZE", "lr": "LR", "h_dim": "H_DIM",
             "z_dim": "Z_DIM", "seed": "SEED", "device": "DEVICE_NAME", "precision": "PRECISION",
             "engine": "ENGINE", "compile_adam": "COMPILE_ADAM"}
    values = {field_name: knobs[knob] for field_name, knob in names.items() if knob in knobs}
    for field_name, knob in (("limit", "LIMIT"), ("data_root", "DATA_ROOT"), ("data_mirror", "DATA_MIRROR")):
        if knob in knobs:
            values[field_name] = knobs[knob] or None  # 0 or "": the default
    return validate(RunConfig(**values))


@dataclass
class RecordedRun:
    """What ``fit_recorded`` kept: the run folder, the history and the extra records of a run."""

    run_dir: Path
    history: list[EpochStats]
    step_losses: torch.Tensor  # −ELBO (nats per image) of every training batch, in order
    train_scores: list[dict]  # ``train.evaluate`` on the probe training images after each epoch
    kept: dict[int, dict]  # copies of the model's weights after the epochs asked for
    fixed_z: torch.Tensor  # the 64 prior codes decoded into the sample grids

    @property
    def final(self) -> EpochStats:
        return self.history[-1]


def fit_recorded(model: VAE, train_x: torch.Tensor, test_x: torch.Tensor, config: RunConfig, runs_dir: str | Path,
                 name: str, *, train_probe: torch.Tensor, keep_epochs=(), progress: bool = True) -> RecordedRun:
    """``train.fit`` in a fresh run folder, recording what a reader of the run needs.

    Besides ``fit``'s per-epoch history: the −ELBO of every training batch (a forward hook on the
    model), ``train_probe`` scored after every epoch exactly as ``fit`` scores the test images, the
    grids ``samples/sample-XX.png`` (64 fixed prior codes) and ``samples/reconstruction-XX.png`` (the
    first 32 test images), a checkpoint after every epoch, ``metrics.json`` at the end, and copies of
    the weights after each epoch in ``keep_epochs``. Draws no random numbers of its own beyond
    ``fit``'s, so the run is the one ``fit`` alone would make.
    """
    import copy

    from .losses import vae_loss
    from .train import evaluate

    run_dir = new_run_dir(Path(runs_dir), name)
    fixed_z = torch.randn(64, config.z_dim, generator=torch.Generator().manual_seed(config.seed))
    shown = test_x[:32]
    steps: list[torch.Tensor] = []
    train_scores: list[dict] = []
    kept: dict[int, dict] = {}

    def record_step(module, inputs, outputs):  # after every forward pass of a training batch
        if module.training:
            logits, mu, log_var = (t.detach().float() for t in outputs)
            steps.append(vae_loss(logits, inputs[0], mu, log_var)[0])

    def on_epoch_end(snapshot: TrainingSnapshot) -> None:
        e = snapshot.epoch
        train_scores.append(evaluate(model, train_probe, seed=config.seed))
        model.eval()
        save_grid(sample_images(model, fixed_z), run_dir / "samples" / f"sample-{e:02d}.png")
        save_grid(reconstruction_pairs(model, shown), run_dir / "samples" / f"reconstruction-{e:02d}.png")
        model.train()
        if e in keep_epochs:
            kept[e] = copy.deepcopy(model.state_dict())
        save_checkpoint(snapshot.state_dict(), run_dir / CHECKPOINT)

    hook = model.register_forward_hook(record_step)
    try:
        history = fit(model, train_x, test_x, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                      seed=config.seed, kl_weight=config.kl_weight, precision=config.precision,
                      engine=config.engine, compile_adam=config.compile_adam, on_epoch_end=on_epoch_end,
                      progress=progress)
    finally:
        hook.remove()
    metrics = {"config": config.to_dict(), "device": str(next(model.parameters()).device), "torch": torch.__version__,
               "history": [h.to_dict() for h in history], "final": history[-1].to_dict() if history else None}
    atomic_write(run_dir / METRICS, lambda tmp: Path(tmp).write_text(json.dumps(metrics, indent=2)))
    step_losses = torch.stack(steps).cpu() if steps else torch.empty(0)
    return RecordedRun(run_dir, history, step_losses, train_scores, kept, fixed_z)
