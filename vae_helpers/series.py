"""The series runner behind ``make run``: execute every notebook with papermill, in order.

    python -m vae_helpers.series                      # notebooks/[0-9][0-9]_*.ipynb → build/
    python -m vae_helpers.series --quick              # few epochs, few images: minutes, not hours
    python -m vae_helpers.series --epochs 3 --dataset fashion-mnist --only 05 06
    python -m vae_helpers.series --edition zh         # the Chinese edition, notebooks/zh/ → build/zh/

Each notebook is executed into ``<out>/NN_name.ipynb`` (and ``.html`` beside it); a progress
line is printed per notebook and a summary table at the end. Parameters pass through only to
the notebooks that declare them in their ``parameters`` cell. A notebook that fails stops the
run, naming the notebook, the failing cell and its error.

Key metrics follow one convention: a notebook prints a tagged line with ``report_metric``::

    [metric] test_elbo = -104.9

The runner reads these lines from the executed notebook, shows them in the summary and writes
``<out>/metrics/NN.json`` per notebook and ``<out>/summary.json`` for the whole run.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import functools
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from .data import project_root

#: the tag that marks a metric line in a notebook's printed output
METRIC_TAG = "[metric]"
#: set to "1" in the notebooks the runner executes: only there does ``report_metric`` print
RUNNER_FLAG = "VAE_SERIES_RUNNER"
METRIC_LINE = re.compile(r"^\[metric\]\s+([A-Za-z_][\w.-]*)\s*=\s*(\S+)")
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
DEFAULT_KERNEL = "vae-notebooks"
EDITIONS = {"en": ("notebooks", "build"), "zh": ("notebooks/zh", "build/zh")}  # notebooks, outputs

#: CLI flag → notebook parameter name (a notebook receives it only if it declares it)
FLAG_PARAMETERS = {
    "epochs": "EPOCHS",
    "dataset": "DATASET",
    "data_mirror": "DATA_MIRROR",
    "data_root": "DATA_ROOT",
    "limit": "LIMIT",
    "device": "DEVICE_NAME",
    "precision": "PRECISION",
    "engine": "ENGINE",
    "compile_adam": "COMPILE_ADAM",
    "seed": "SEED",
}
#: what --quick sets (explicit flags and -p win over these)
QUICK_PARAMETERS = {"QUICK": True, "EPOCHS": 2, "LIMIT": 2048}


def report_metric(name: str, value: float, unit: str = "") -> None:
    """Print ``[metric] name = value`` (4 significant digits) for the series runner; a reader sees nothing."""
    if not re.fullmatch(r"[A-Za-z_][\w.-]*", name):
        raise ValueError(f"metric name {name!r} must be a word (letters, digits, '_', '.', '-')")
    if os.environ.get(RUNNER_FLAG) != "1":
        return
    print(f"{METRIC_TAG} {name} = {float(value):.4g}" + (f" {unit}" if unit else ""))


# --------------------------------------------------------------------------- notebooks


class SeriesError(RuntimeError):
    """The runner cannot start: no notebooks, unknown --only numbers, a bad -p value."""


@dataclass
class Parameter:
    """One line of a notebook's ``parameters`` cell."""

    name: str
    type_name: str  # 'int', 'float', 'str', 'bool', 'list', 'dict', 'None' or an annotation's text
    default: str
    help: str = ""


def find_notebooks(folder: str | Path) -> list[Path]:
    """``NN_*.ipynb`` in ``folder``, in number order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SeriesError(f"notebook folder {folder} does not exist")
    return sorted(folder.glob(NOTEBOOK_GLOB))


def select(notebooks: list[Path], only: list[str] | None) -> list[Path]:
    """Keep the notebooks whose number (``05``, ``5``) or file name is in ``only``."""
    if not only:
        return notebooks
    wanted = []
    for item in only:
        wanted += [part.strip() for part in str(item).split(",") if part.strip()]
    chosen = []
    for key in wanted:
        matches = [nb for nb in notebooks if nb.name[:2] == (key.zfill(2) if key.isdigit() else None)
                   or nb.stem == key or nb.name == key]
        if not matches:
            known = ", ".join(nb.name[:2] for nb in notebooks) or "none"
            raise SeriesError(f"--only {key}: no notebook with that number or name (have: {known})")
        chosen += [nb for nb in matches if nb not in chosen]
    return [nb for nb in notebooks if nb in chosen]


def _parameters_source(path: Path) -> str | None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            return cell.source
    return None


def _ast_parameters(source: str) -> dict[str, Parameter]:
    """Names assigned in a parameters cell, read with ``ast`` (papermill skips e.g. ``int | None``)."""
    found: dict[str, Parameter] = {}
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return found
    lines = source.splitlines()
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, annotation, value = node.target.id, ast.unparse(node.annotation), node.value
        elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, annotation, value = node.targets[0].id, "", node.value
        else:
            continue
        line = lines[node.lineno - 1]
        comment = line.split("#", 1)[1].strip() if "#" in line else ""
        found[name] = Parameter(name, annotation or "None", ast.unparse(value), comment)
    return found


def declared_parameters(path: str | Path) -> dict[str, Parameter]:
    """The parameters a notebook declares: papermill's inspection, completed with an ``ast`` read."""
    import papermill

    path = Path(path)
    source = _parameters_source(path)
    if source is None:
        return {}
    params = {
        name: Parameter(name, str(info.get("inferred_type_name") or "None"), str(info.get("default")),
                        str(info.get("help") or ""))
        for name, info in papermill.inspect_notebook(str(path)).items()
    }
    for name, param in _ast_parameters(source).items():
        if name not in params:
            params[name] = param
        elif params[name].type_name == "None" and param.type_name != "None":
            params[name].type_name = param.type_name
    return params


def _default_value(param: Parameter) -> Any:
    try:
        return ast.literal_eval(param.default)
    except (ValueError, SyntaxError):
        return None


def coerce(value: Any, param: Parameter) -> Any:
    """Turn a value from the command line (a string) into the type the notebook declares."""
    if not isinstance(value, str):
        return value
    options = set(re.findall(r"[A-Za-z_]\w*", param.type_name))  # 'int | None', 'list[int]', 'Optional[str]'
    default = _default_value(param)
    text = value.strip()
    if text.lower() in ("none", "null") and ({"None", "Optional"} & options or default is None):
        return None
    kind = next((t for t in ("list", "dict", "tuple", "bool", "int", "float", "str") if t in options), None)
    if kind is None and default is not None:
        kind = type(default).__name__
    try:
        if kind == "bool":
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind in ("list", "dict", "tuple"):
            parsed = ast.literal_eval(text)
            if kind == "list":  # "[14, 32]", "14, 32" and "28" all give a list
                return list(parsed) if isinstance(parsed, (list, tuple)) else [parsed]
            return parsed
        if kind == "str":
            return value
        return ast.literal_eval(text)  # undeclared type: a Python literal, else the string itself
    except (ValueError, SyntaxError) as err:
        if kind in (None, "NoneType"):
            return value
        raise SeriesError(f"parameter {param.name}={value!r}: the notebook declares {param.type_name} "
                          f"(default {param.default}); {err}") from err


def parameters_for(requested: dict[str, Any], declared: dict[str, Parameter]) -> dict[str, Any]:
    """The requested parameters this notebook declares, converted to its declared types."""
    return {name: coerce(value, declared[name]) for name, value in requested.items() if name in declared}


# --------------------------------------------------------------------------- running


@dataclass
class NotebookResult:
    """One notebook's outcome, as shown in the summary table and written to summary.json."""

    notebook: str
    status: str  # 'ok', 'failed' or 'not run'
    seconds: float = 0.0
    parameters: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, str] = field(default_factory=dict)
    error: str = ""
    output: str = ""
    html: str = ""


def read_metrics(nb) -> dict[str, str]:
    """``{name: value}`` from the ``[metric] name = value`` lines the notebook printed (last wins)."""
    metrics: dict[str, str] = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "stream" and out.get("name") == "stdout":
                text = out.get("text", "")
                text = "".join(text) if isinstance(text, list) else text
                for line in text.splitlines():
                    match = METRIC_LINE.match(line.strip())
                    if match:
                        metrics[match.group(1)] = match.group(2)
    return metrics


def describe_failure(err: BaseException) -> str:
    """The failing cell and its error in one or two lines (papermill's error, or any other)."""
    ename = getattr(err, "ename", None)
    if ename is not None:  # papermill.PapermillExecutionError
        evalue = str(getattr(err, "evalue", "")).strip()
        where = f"cell [{err.exec_count}]" if getattr(err, "exec_count", None) else "a cell"
        source = (getattr(err, "source", "") or "").strip().splitlines()
        first = next((line for line in source if line.strip() and not line.startswith("#")), "")
        text = f"{where}: {ename}: {evalue}"
        return text + (f"\n    in: {first.strip()[:100]}" if first else "")
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {first_line}"


def write_html(notebook: Path, target: Path) -> Path:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_filename(str(notebook))
    target.write_text(body, encoding="utf-8")
    return target


_OVERWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)  # a line's text up to its last \r


def final_stream_text(text: str) -> str:
    """What a progress bar's stream shows in the end: each line's text after its last carriage return."""
    return _OVERWRITTEN.sub("", text)


def collapse_streams(nb) -> Any:
    """Store each cell's streams in their final state: consecutive stdout (or stderr) outputs
    merged into one, carriage-return updates (progress bars) reduced to what they end showing."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        merged: list = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text = out["text"] if isinstance(out["text"], str) else "".join(out["text"])
                last = merged[-1] if merged else None
                if last is not None and last.get("output_type") == "stream" and last["name"] == out["name"]:
                    last["text"] += text
                    continue
                out["text"] = text
            merged.append(out)
        for out in merged:
            if out.get("output_type") == "stream":
                out["text"] = final_stream_text(out["text"])
        cell["outputs"] = merged
    return nb


@contextlib.contextmanager
def local_kernel_config():
    """Traitlets config for the kernels the runner starts: talk over IPC (Unix sockets), not TCP.

    Over TCP, ipykernel logs "Kernel is running over TCP without encryption ..." for every
    notebook: a warning meant for kernels reachable over a network, which ours never are. IPC
    sockets live in a private temporary folder, removed afterwards. Windows has no IPC
    transport in ZeroMQ, so there the kernel keeps TCP (and its warning).
    """
    from traitlets.config import Config

    if os.name == "nt":
        yield Config()
        return
    with tempfile.TemporaryDirectory(prefix="vae-kernel-") as folder:
        yield Config({"KernelManager": {"transport": "ipc", "ip": os.path.join(folder, "kernel")}})


def run_notebook(
    path: Path,
    out: Path,
    parameters: dict[str, Any],
    *,
    kernel: str | None = DEFAULT_KERNEL,
    timeout: int | None = None,
    html: bool = True,
) -> NotebookResult:
    """Execute one notebook into ``out``; never raises for a failing cell (see ``status``)."""
    import nbformat
    import papermill

    target = out / path.name
    result = NotebookResult(path.name, "ok", parameters=parameters, output=str(target))
    began = time.perf_counter()
    try:
        with local_kernel_config() as config, mock.patch.dict(os.environ, {RUNNER_FLAG: "1"}):
            papermill.execute_notebook(
                str(path), str(target), parameters=parameters, kernel_name=kernel, cwd=str(path.parent),
                progress_bar=False, log_output=False, execution_timeout=timeout, config=config,
                request_save_on_cell_execute=False,  # one write at the end, not one per cell
                shutdown_kernel="immediate",  # the run is over: stop the kernel now, not after a polite 0.5 s wait
            )
    except Exception as err:  # papermill's execution error, a dead kernel, a timeout, ...
        result.status, result.error = "failed", describe_failure(err)
    result.seconds = time.perf_counter() - began
    if target.is_file():
        try:
            executed = nbformat.read(target, as_version=4)
            result.metrics = read_metrics(executed)
            nbformat.write(collapse_streams(executed), target)
        except Exception:  # an unreadable partial notebook: the failure above says why
            pass
        if html and result.status == "ok":
            try:
                result.html = str(write_html(target, target.with_suffix(".html")))
            except Exception as err:  # HTML is a convenience: note it, keep the run going
                print(f"    (no HTML for {path.name}: {type(err).__name__}: {err})", flush=True)
    return result


def format_metrics(metrics: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in metrics.items()) or "-"


def summary_table(results: list[NotebookResult]) -> str:
    """A plain-text table: notebook, status, wall time, key metrics."""
    rows = [("notebook", "status", "time", "metrics")]
    for r in results:
        rows.append((r.notebook, r.status, f"{r.seconds:.1f} s" if r.status != "not run" else "-",
                     format_metrics(r.metrics)))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = []
    for i, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
        if i == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 7)
    total = sum(r.seconds for r in results)
    passed = sum(r.status == "ok" for r in results)
    lines.append(f"{passed}/{len(results)} notebooks ok, {total:.1f} s in all")
    return "\n".join(lines)


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    tmp.replace(path)


def run_series(
    notebooks: list[Path],
    out: str | Path,
    requested: dict[str, Any],
    *,
    kernel: str | None = DEFAULT_KERNEL,
    timeout: int | None = None,
    html: bool = True,
    log=None,
) -> list[NotebookResult]:
    """Run ``notebooks`` in order into ``out``; stop at the first failure. Returns every row."""
    log = log or functools.partial(print, flush=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    declared = {nb: declared_parameters(nb) for nb in notebooks}
    unused = sorted(set(requested) - {name for params in declared.values() for name in params})
    quiet = set(QUICK_PARAMETERS) | set(FLAG_PARAMETERS.values())
    for name in unused:
        if name not in quiet:
            log(f"note: no selected notebook declares {name}; it is not passed anywhere")
    results: list[NotebookResult] = []
    failed = False
    for i, nb in enumerate(notebooks, start=1):
        if failed:
            results.append(NotebookResult(nb.name, "not run"))
            continue
        params = parameters_for(requested, declared[nb])
        shown = " ".join(f"{k}={v!r}" for k, v in params.items())
        log(f"[{i}/{len(notebooks)}] {nb.name}" + (f"  ({shown})" if shown else "") + " ...")
        result = run_notebook(nb, out, params, kernel=kernel, timeout=timeout, html=html)
        results.append(result)
        metrics = format_metrics(result.metrics)
        if result.status == "ok":
            log(f"      ok in {result.seconds:.1f} s" + (f"  {metrics}" if result.metrics else ""))
        else:
            failed = True
            log(f"      FAILED after {result.seconds:.1f} s: {nb.name} {result.error}")
            log(f"      the partly executed notebook is {result.output}")
        _write_json(out / "metrics" / f"{nb.name[:2]}.json", asdict(result))
    _write_json(out / "summary.json", [asdict(r) for r in results])
    return results


# --------------------------------------------------------------------------- command line


def _parse_assignment(text: str) -> tuple[str, str]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    if not name.strip().isidentifier():
        raise argparse.ArgumentTypeError(f"{name!r} is not a parameter name")
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vae_helpers.series",
        description="Execute the notebook series with papermill into an output folder, in order, "
        "with a progress line per notebook and a summary table. A parameter reaches only the notebooks "
        "that declare it in their parameters cell.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--edition", choices=sorted(EDITIONS), default="en",
                        help="en: notebooks/ into build/; zh: the Chinese edition notebooks/zh/ into build/zh/")
    parser.add_argument("--notebooks", help="folder of NN_*.ipynb files (default: the edition's)")
    parser.add_argument("--out", help="output folder (default: the edition's)")
    parser.add_argument("--only", nargs="+", metavar="NN", help="run only these notebooks (numbers or names)")
    parser.add_argument("--quick", action="store_true",
                        help="quick mode: " + ", ".join(f"{k}={v}" for k, v in QUICK_PARAMETERS.items()))
    parser.add_argument("--epochs", type=int, help="EPOCHS for the training notebooks")
    parser.add_argument("--dataset", help="DATASET: mnist or fashion-mnist")
    parser.add_argument("--data-mirror", help="DATA_MIRROR: offline dataset folder (default: $VAE_DATA_MIRROR)")
    parser.add_argument("--data-root", help="DATA_ROOT: dataset root")
    parser.add_argument("--limit", type=int, help="LIMIT: use only the first N training images")
    parser.add_argument("--device", help="DEVICE_NAME: auto, cpu, cuda or mps")
    parser.add_argument("--precision", help="PRECISION: fp32, or bf16 (mixed precision) for the training notebook")
    parser.add_argument("--engine", help="ENGINE: autograd, or manual (hand-written backward pass) for the training notebook")
    parser.add_argument("--compile-adam", action="store_true", default=None,
                        help="COMPILE_ADAM=True: with --engine manual, Adam's update as one compiled pass")
    parser.add_argument("--seed", type=int, help="SEED")
    parser.add_argument("-p", "--param", action="append", default=[], type=_parse_assignment, metavar="NAME=VALUE",
                        help="any other notebook parameter (repeatable), e.g. -p BATCH_SIZE=256")
    parser.add_argument("--kernel", default=DEFAULT_KERNEL, help="Jupyter kernel to run the notebooks with")
    parser.add_argument("--timeout", type=int, default=None, help="seconds allowed per cell (default: no limit)")
    parser.add_argument("--no-html", action="store_true", help="skip the HTML copies")
    parser.add_argument("--list", action="store_true", help="list the notebooks and their parameters, run nothing")
    return parser


def requested_parameters(args: argparse.Namespace) -> dict[str, Any]:
    """Parameters from --quick, then the named flags, then -p (later ones win)."""
    requested: dict[str, Any] = dict(QUICK_PARAMETERS) if args.quick else {}
    for flag, name in FLAG_PARAMETERS.items():
        value = getattr(args, flag)
        if value is not None:
            requested[name] = value
    for name, value in args.param:
        requested[name] = value
    return requested


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    notebooks_dir, out_dir = EDITIONS[args.edition]
    args.notebooks = args.notebooks or str(project_root() / notebooks_dir)
    args.out = args.out or str(project_root() / out_dir)
    try:
        notebooks = select(find_notebooks(args.notebooks), args.only)
        if not notebooks:
            raise SeriesError(f"no notebooks matching {NOTEBOOK_GLOB} in {args.notebooks}")
        if args.list:
            for nb in notebooks:
                params = declared_parameters(nb)
                print(nb.name)
                for p in params.values():
                    print(f"    {p.name}: {p.type_name} = {p.default}" + (f"  # {p.help}" if p.help else ""))
            return 0
        requested = requested_parameters(args)
        print(f"running {len(notebooks)} notebook(s) into {args.out}", flush=True)
        results = run_series(notebooks, args.out, requested, kernel=args.kernel, timeout=args.timeout,
                             html=not args.no_html)
    except SeriesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print()
    print(summary_table(results))
    failed = [r for r in results if r.status == "failed"]
    if failed:
        print(f"\nstopped: {failed[0].notebook} failed in {failed[0].error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
