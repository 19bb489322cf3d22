"""Execute notebooks in place (store fresh outputs for committing) and strip noisy metadata.

    .venv/bin/python scripts/execute_notebooks.py notebooks/01_*.ipynb [--timeout 600]

Outputs are what the reader sees in JupyterLab and what nbval compares, so run this after
editing a notebook. Cell ids, execution timestamps and papermill metadata are removed, and
streams are stored in their final state (a progress bar as its last line, not every update).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from vae_helpers import series

KERNEL = "vae-notebooks"
KERNELSPEC = {"name": KERNEL, "display_name": "Python 3 (vae-notebooks)", "language": "python"}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Keep only the metadata a reader needs: kernelspec, language_info, cell tags, and the folded
    source of check cells (``jupyter.source_hidden``, lesson-style.md § 3)."""
    nb.metadata = nbformat.NotebookNode(
        kernelspec=KERNELSPEC,
        language_info={"name": "python", "pygments_lexer": "ipython3"},
    )
    for cell in nb.cells:
        tags = cell.metadata.get("tags")
        folded = bool(cell.metadata.get("jupyter", {}).get("source_hidden")) or "check" in (tags or [])
        cell.metadata = nbformat.NotebookNode(tags=tags) if tags else nbformat.NotebookNode()
        if folded:
            cell.metadata["jupyter"] = nbformat.NotebookNode(source_hidden=True)
        if cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if "metadata" in out and not out["metadata"]:
                    out["metadata"] = {}
    return nb


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    clean(nb)
    began = time.perf_counter()
    with series.local_kernel_config() as config:  # IPC, not TCP: no "running over TCP" warning
        NotebookClient(nb, timeout=timeout, kernel_name=KERNEL, config=config,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    clean(nb)
    series.collapse_streams(nb)  # progress bars: their final state, not dozens of \r chunks
    nbformat.write(nb, path)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--clean-only", action="store_true", help="strip metadata and collapse streams without executing")
    args = parser.parse_args()
    for path in args.notebooks:
        if args.clean_only:
            nbformat.write(series.collapse_streams(clean(nbformat.read(path, as_version=4))), path)
            print(f"cleaned {path}")
            continue
        seconds = execute(path, args.timeout)
        print(f"executed {path} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
