"""fit's default (autograd, fp32) from another commit against today's, side by side in one process.

    git worktree add /tmp/old <commit>
    .venv/bin/python benchmarks/fit_ab.py --old-tree /tmp/old --rounds 6

Each round trains one epoch with each version on the same data, alternating which goes first,
and prints the seconds; the summary is the median ratio old/new (> 1: today's is faster).
The old package is imported from a copy named ``vae_helpers_old`` (its imports are relative).
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from vae_helpers.data import load_images
from vae_helpers.model import VAE
from vae_helpers.train import fit


def load_old_package(tree: Path):
    """(VAE, fit) of the vae_helpers package inside ``tree``, imported as vae_helpers_old."""
    folder = Path(tempfile.mkdtemp(prefix="fit-ab-"))
    shutil.copytree(tree / "vae_helpers", folder / "vae_helpers_old")
    sys.path.insert(0, str(folder))
    model = importlib.import_module("vae_helpers_old.model")
    train = importlib.import_module("vae_helpers_old.train")
    return model.VAE, train.fit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old-tree", type=Path, required=True, help="a checkout of the older commit")
    parser.add_argument("--rounds", type=int, default=6, help="epochs per version (alternating)")
    parser.add_argument("--limit", type=int, default=None, help="first N training images (default: all)")
    parser.add_argument("--data-mirror", default=None, help="offline dataset folder (default: $VAE_DATA_MIRROR)")
    args = parser.parse_args()

    OldVAE, old_fit = load_old_package(args.old_tree)
    train_x, _ = load_images("mnist", True, mirror=args.data_mirror, limit=args.limit)
    torch.manual_seed(0)
    old_model = OldVAE()
    torch.manual_seed(0)
    new_model = VAE()
    seconds = {"old": [], "new": []}
    print(f"{torch.get_num_threads()} CPU threads, torch {torch.__version__}, {len(train_x)} images")
    for r in range(args.rounds):
        order = [("old", old_fit, old_model), ("new", fit, new_model)]
        for name, train, model in order if r % 2 == 0 else order[::-1]:
            history = train(model, train_x, epochs=1, seed=r, progress=False)
            seconds[name].append(history[-1].seconds)
            print(f"round {r + 1}: {name} {history[-1].seconds:.2f} s, train ELBO {history[-1].train_elbo:.2f}",
                  flush=True)
    old, new = statistics.median(seconds["old"]), statistics.median(seconds["new"])
    ratios = sorted(o / n for o, n in zip(seconds["old"], seconds["new"]))
    print(f"median s/epoch: old {old:.2f}, new {new:.2f}; old/new {old / new:.3f} "
          f"(per round {ratios[0]:.3f}-{ratios[-1]:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
