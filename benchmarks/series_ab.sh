#!/usr/bin/env bash
# Notebook run times, old tree against this one, alternating (speed is measured side by side).
#   git worktree add /tmp/old584 584ce47
#   bash benchmarks/series_ab.sh /tmp/old584 [ROUNDS=2] [NOTEBOOKS="00 01 02 03 04"]
# Each round runs the old tree's notebooks with the old tree's runner, then this tree's with `make run`'s
# runner, and prints one line per notebook: "old1 00_overview_and_setup.ipynb  ok  3.2 s".
set -euo pipefail
old=${1:?usage: bash benchmarks/series_ab.sh OLD_TREE [ROUNDS] [NOTEBOOKS]}
rounds=${2:-2}
notebooks=${3:-"00 01 02 03 04"}
here=$(cd "$(dirname "$0")/.." && pwd)
py=$here/.venv/bin/python
export VAE_DATA_MIRROR=${VAE_DATA_MIRROR:-$(cd "$here/../shared/data" 2>/dev/null && pwd || true)}
for r in $(seq "$rounds"); do
    (cd "$old" && PYTHONPATH="$old" "$py" -m vae_helpers.series --notebooks "$old/notebooks" --only $notebooks \
        --no-html --out "$(mktemp -d)" | grep -E '^[0-9][0-9]_.*(ok|failed)' | sed "s/^/old$r /")
    (cd "$here" && "$py" -m vae_helpers.series --only $notebooks --no-html --out "$(mktemp -d)" \
        | grep -E '^[0-9][0-9]_.*(ok|failed)' | sed "s/^/new$r /")
done
