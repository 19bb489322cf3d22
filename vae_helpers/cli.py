"""Command line: ``python -m vae_helpers train|data …`` (parse → validate → call)."""

from __future__ import annotations

import argparse
import sys

from .checkpoint import CheckpointError, OutputError
from .config import DATASETS, DEVICES, ConfigError, RunConfig, validate
from .data import MIRROR_ENV, ROOT_ENV, DataCorruptError, DataNotFoundError, DataRootError, ensure_dataset
from .train import NonFiniteLossError

EXPECTED_ERRORS = (
    ConfigError, DataNotFoundError, DataCorruptError, DataRootError, CheckpointError, OutputError,
    NonFiniteLossError,
)


def _parser() -> argparse.ArgumentParser:
    d = RunConfig()
    parser = argparse.ArgumentParser(prog="python -m vae_helpers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser(
        "train",
        help="train a VAE and write samples, reconstructions, checkpoint.pt and metrics.json",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("--dataset", default=d.dataset, help=f"one of {list(DATASETS)}")
    train.add_argument("--epochs", type=int, default=d.epochs, help="passes over the training set")
    train.add_argument("--batch-size", type=int, default=d.batch_size, help="images per optimisation step")
    train.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate")
    train.add_argument("--h-dim", type=int, default=d.h_dim, help="hidden units per layer")
    train.add_argument("--z-dim", type=int, default=d.z_dim, help="latent dimensions")
    train.add_argument("--hidden-layers", type=int, default=d.hidden_layers, help="hidden layers per side")
    train.add_argument("--activation", default=d.activation, help="relu or tanh")
    train.add_argument("--image-size", type=int, default=d.image_size, help="pixels per image (28*28=784)")
    train.add_argument("--objective", default=d.objective, help="elbo (VAE), iwae, or elbo_sampled (the ELBO with its KL term sampled too)")
    train.add_argument("--k", type=int, default=d.k,
                       help="samples z ~ q(z|x) per image: the IWAE bound's, or the ELBO averaged over k")
    train.add_argument("--kl-weight", type=float, default=d.kl_weight,
                       help="train on recon + KL_WEIGHT * KL (a beta-VAE; 1 = the ELBO)")
    train.add_argument("--binarize", action="store_true", help="dynamically binarize pixels each batch")
    train.add_argument("--device", default=d.device, help=f"one of {list(DEVICES)}")
    train.add_argument("--precision", default=d.precision,
                       help="fp32, or bf16: mixed precision, faster on CPUs with AVX512-BF16/AMX and recent GPUs")
    train.add_argument("--engine", default=d.engine,
                       help="autograd, or manual: the hand-written backward pass (vae_helpers.manual_step), faster")
    train.add_argument("--compile-adam", action="store_true",
                       help="with --engine manual: Adam's update as one compiled pass (CPU; seconds to compile once)")
    train.add_argument("--seed", type=int, default=d.seed, help="random seed")
    train.add_argument("--data-root", default=None, help=f"dataset root (default: ${ROOT_ENV} or ./data)")
    train.add_argument("--data-mirror", default=None, help=f"offline folder with the dataset files (or ${MIRROR_ENV})")
    train.add_argument("--limit", type=int, default=None, help="use only the first N training images")
    train.add_argument("--out", default=None, help="run folder (default: a new folder under runs/)")
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    data = sub.add_parser("data", help="install a dataset into the data root (from the mirror or by download)",
                          formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data.add_argument("--dataset", default=d.dataset, help=f"one of {list(DATASETS)}")
    data.add_argument("--data-root", default=None, help=f"dataset root (default: ${ROOT_ENV} or ./data)")
    data.add_argument("--data-mirror", default=None, help=f"offline folder with the dataset files (or ${MIRROR_ENV})")
    data.add_argument("--no-download", action="store_true", help="never try the network")
    return parser


def _train(args) -> int:
    from .runs import train_run

    config = validate(
        RunConfig(
            dataset=args.dataset, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
            image_size=args.image_size, h_dim=args.h_dim, z_dim=args.z_dim,
            hidden_layers=args.hidden_layers, activation=args.activation, objective=args.objective,
            k=args.k, kl_weight=args.kl_weight, binarize=args.binarize, seed=args.seed, device=args.device, precision=args.precision,
            engine=args.engine, compile_adam=args.compile_adam, limit=args.limit,
            data_root=args.data_root, data_mirror=args.data_mirror,
        )
    )
    result = train_run(config, args.out, resume=args.resume, progress=not args.no_progress)
    final = result.final
    print(f"run folder: {result.run_dir}")
    print(
        f"epoch {final.epoch}: test ELBO {final.test_elbo:.2f} nats/image "
        f"(reconstruction {final.test_recon:.2f}, KL {final.test_kl:.2f}); "
        f"{final.seconds:.1f} s/epoch"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            return _train(args)
        folder = ensure_dataset(args.dataset, args.data_root, args.data_mirror, download=not args.no_download)
        print(f"{args.dataset} is installed in {folder}")
        return 0
    except EXPECTED_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the last finished epoch's checkpoint is kept; rerun with --resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
