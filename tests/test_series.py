"""The series runner (vae_helpers.series) on tiny throwaway notebooks: summary, failure, parameters."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from vae_helpers import series
from vae_helpers.data import project_root

KERNEL = "vae-notebooks"


def make_notebook(folder: Path, name: str, body: str, parameters: str | None = None) -> Path:
    """Write ``folder/name`` with an optional ``parameters`` cell followed by ``body``."""
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(textwrap.dedent(parameters).strip())
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(nbformat.v4.new_code_cell(textwrap.dedent(body).strip()))
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3 (vae-notebooks)", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def book(tmp_path) -> Path:
    """Three notebooks: one training-like (declares parameters), one plain, one not in the series."""
    folder = tmp_path / "notebooks"
    make_notebook(
        folder, "01_train.ipynb",
        """
        from vae_helpers.series import report_metric
        print(f"types {type(EPOCHS).__name__} {type(LIMIT).__name__} {type(LR).__name__} {type(DATASET).__name__}")
        report_metric("epochs", EPOCHS)
        report_metric("test_elbo", -100.0 - EPOCHS, "nats/image")
        """,
        parameters="""
        EPOCHS: int = 15  # passes over the data
        LIMIT: int = 0  # 0: all images
        LR: float = 1e-3  # learning rate
        DATASET: str = "mnist"  # dataset name
        """,
    )
    make_notebook(folder, "02_plain.ipynb", "print('no parameters here')")
    make_notebook(folder, "notes.ipynb", "raise RuntimeError('not part of the series')")
    return folder


def run_main(argv: list[str], capsys) -> tuple[int, str, str]:
    code = series.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_finds_numbered_notebooks_in_order(book):
    make_notebook(book, "10_last.ipynb", "pass")
    assert [p.name for p in series.find_notebooks(book)] == ["01_train.ipynb", "02_plain.ipynb", "10_last.ipynb"]


def test_only_selects_by_number_or_name_and_refuses_unknown(book):
    notebooks = series.find_notebooks(book)
    assert [p.name for p in series.select(notebooks, ["2"])] == ["02_plain.ipynb"]
    assert [p.name for p in series.select(notebooks, ["02_plain", "01"])] == ["01_train.ipynb", "02_plain.ipynb"]
    assert [p.name for p in series.select(notebooks, ["01,02"])] == ["01_train.ipynb", "02_plain.ipynb"]
    with pytest.raises(series.SeriesError, match="--only 07.*have: 01, 02"):
        series.select(notebooks, ["07"])


def test_runs_the_series_with_summary_metrics_and_files(book, tmp_path, capsys):
    out_dir = tmp_path / "build"
    code, out, err = run_main(["--notebooks", str(book), "--out", str(out_dir), "--epochs", "3"], capsys)
    assert code == 0, out + err
    # a progress line per notebook, then the summary table
    assert "[1/2] 01_train.ipynb  (EPOCHS=3) ..." in out
    assert "[2/2] 02_plain.ipynb ..." in out
    table = out.split("notebook", 1)[1]
    assert "01_train.ipynb" in table and "02_plain.ipynb" in table
    assert "epochs=3, test_elbo=-103" in table
    assert "2/2 notebooks ok" in out
    assert "notes.ipynb" not in out
    # executed notebooks, HTML, per-notebook metrics, summary.json
    assert (out_dir / "01_train.ipynb").is_file() and (out_dir / "02_plain.ipynb").is_file()
    assert (out_dir / "01_train.html").is_file()
    metrics = json.loads((out_dir / "metrics" / "01.json").read_text())
    assert metrics["status"] == "ok" and metrics["metrics"] == {"epochs": "3", "test_elbo": "-103"}
    assert metrics["parameters"] == {"EPOCHS": 3}
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [row["notebook"] for row in summary] == ["01_train.ipynb", "02_plain.ipynb"]


def test_parameters_reach_only_the_notebooks_that_declare_them_with_their_types(book, tmp_path, capsys):
    out_dir = tmp_path / "build"
    code, out, err = run_main(
        ["--notebooks", str(book), "--out", str(out_dir), "--no-html", "--quick", "--dataset", "fashion-mnist",
         "-p", "LR=0.01", "-p", "UNKNOWN=1"], capsys,
    )
    assert code == 0, out + err
    executed = nbformat.read(out_dir / "01_train.ipynb", as_version=4)
    injected = [c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    source = injected[0].source
    assert "EPOCHS = 2" in source and "LIMIT = 2048" in source and "LR = 0.01" in source
    assert 'DATASET = "fashion-mnist"' in source
    assert "QUICK" not in source and "UNKNOWN" not in source  # not declared by this notebook
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "types int int float str" in outputs
    plain = nbformat.read(out_dir / "02_plain.ipynb", as_version=4)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in plain.cells)
    assert "no selected notebook declares UNKNOWN" in out
    assert not (out_dir / "01_train.html").exists()


def test_a_failing_notebook_stops_the_run_with_its_name_and_error(tmp_path, capsys):
    folder = tmp_path / "notebooks"
    make_notebook(folder, "01_ok.ipynb", "print('fine')")
    make_notebook(folder, "02_broken.ipynb", "x = 1\nraise ValueError(f'boom {x + 41}')")
    make_notebook(folder, "03_after.ipynb", "print('should not run')")
    out_dir = tmp_path / "build"
    code, out, err = run_main(["--notebooks", str(folder), "--out", str(out_dir), "--no-html"], capsys)
    assert code == 1
    assert "FAILED" in out and "02_broken.ipynb" in out and "ValueError: boom 42" in out
    assert "stopped: 02_broken.ipynb failed in cell [1]: ValueError: boom 42" in err
    assert "03_after.ipynb" in out and "not run" in out
    assert "1/3 notebooks ok" in out
    assert not (out_dir / "03_after.ipynb").exists()
    assert (out_dir / "02_broken.ipynb").is_file()  # the partly executed notebook, for reading the traceback
    summary = json.loads((out_dir / "summary.json").read_text())
    assert [row["status"] for row in summary] == ["ok", "failed", "not run"]


def test_declared_parameters_also_reads_what_papermill_skips(tmp_path):
    path = make_notebook(
        tmp_path, "01_x.ipynb", "pass",
        parameters="""
        LIMIT: int | None = None  # papermill's parser skips this annotation
        NAME: str = ""  # a comment with = in it (papermill skips the line)
        SIDES: list = [14, 32]  # sides
        FLAG: bool = False  # a switch
        """,
    )
    declared = series.declared_parameters(path)
    assert set(declared) == {"LIMIT", "NAME", "SIDES", "FLAG"}
    assert series.coerce("none", declared["LIMIT"]) is None
    assert series.coerce("256", declared["LIMIT"]) == 256
    assert series.coerce("abc", declared["NAME"]) == "abc"
    assert series.coerce("[28]", declared["SIDES"]) == [28]
    assert series.coerce("(7, 14)", declared["SIDES"]) == [7, 14]
    assert series.coerce("7, 14", declared["SIDES"]) == [7, 14]
    assert series.coerce("28", declared["SIDES"]) == [28]
    assert series.coerce("true", declared["FLAG"]) is True
    assert series.coerce(3, declared["LIMIT"]) == 3  # non-strings (from --epochs etc.) pass as they are
    with pytest.raises(series.SeriesError, match="LIMIT='many'"):
        series.coerce("many", declared["LIMIT"])


def test_quick_mode_and_explicit_flags():
    parser = series.build_parser()
    quick = series.requested_parameters(parser.parse_args(["--quick"]))
    assert quick == {"QUICK": True, "EPOCHS": 2, "LIMIT": 2048}
    mixed = series.requested_parameters(parser.parse_args(["--quick", "--epochs", "5", "-p", "LIMIT=10"]))
    assert mixed["EPOCHS"] == 5 and mixed["LIMIT"] == "10"
    flags = series.requested_parameters(parser.parse_args(
        ["--dataset", "mnist", "--data-mirror", "/m", "--data-root", "/r", "--device", "cpu", "--seed", "1"]))
    assert flags == {"DATASET": "mnist", "DATA_MIRROR": "/m", "DATA_ROOT": "/r", "DEVICE_NAME": "cpu", "SEED": 1}


def test_report_metric_prints_a_tagged_line_the_runner_reads(capsys, monkeypatch):
    monkeypatch.delenv(series.RUNNER_FLAG, raising=False)
    series.report_metric("test_elbo", -104.93217, "nats/image")
    assert capsys.readouterr().out == ""  # a reader running the notebook sees no runner line
    monkeypatch.setenv(series.RUNNER_FLAG, "1")
    series.report_metric("test_elbo", -104.93217, "nats/image")
    line = capsys.readouterr().out.strip()
    assert line == "[metric] test_elbo = -104.9 nats/image"
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("", outputs=[nbformat.v4.new_output("stream", text=line + "\nother\n")]))
    assert series.read_metrics(nb) == {"test_elbo": "-104.9"}
    with pytest.raises(ValueError):
        series.report_metric("two words", 1.0)


def test_no_notebooks_is_an_error(tmp_path, capsys):
    code, out, err = run_main(["--notebooks", str(tmp_path)], capsys)
    assert code == 2 and "no notebooks" in err


def test_list_shows_the_declared_parameters(book, capsys):
    code, out, err = run_main(["--notebooks", str(book), "--list"], capsys)
    assert code == 0
    assert "01_train.ipynb" in out and "EPOCHS: int = 15  # passes over the data" in out


def test_module_help_runs():
    result = subprocess.run([sys.executable, "-m", "vae_helpers.series", "--help"], capture_output=True, text=True,
                            cwd=project_root(), check=False)
    assert result.returncode == 0
    for flag in ("--quick", "--epochs", "--dataset", "--data-mirror", "--data-root", "--out", "--only"):
        assert flag in result.stdout


def test_the_runner_starts_kernels_over_ipc_without_the_tcp_warning(tmp_path, capfd):
    folder = tmp_path / "notebooks"
    path = make_notebook(folder, "01_where.ipynb", """
        import json, pathlib, sys
        from ipykernel.kernelapp import IPKernelApp
        app = IPKernelApp.instance()
        print(app.transport, json.loads(pathlib.Path(app.connection_file).read_text())["transport"])
        """)
    out = tmp_path / "build"
    out.mkdir()
    result = series.run_notebook(path, out, {}, html=False)
    assert result.status == "ok", result.error
    text = "".join(o["text"] for o in nbformat.read(out / path.name, as_version=4).cells[-1].outputs)
    assert text.split() == ["ipc", "ipc"]
    assert "without encryption" not in "".join(capfd.readouterr())


def test_streams_are_stored_in_their_final_state():
    nb = nbformat.v4.new_notebook()
    chunks = [f"\rtraining: {p:3d}%|" + "#" * (p // 10) for p in range(0, 101, 10)]
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=c) for c in chunks]
    cell.outputs += [nbformat.v4.new_output("stream", name="stderr", text="\n"),
                     nbformat.v4.new_output("stream", name="stdout", text="line one\nstep 1\rstep 2\r\n"),
                     nbformat.v4.new_output("stream", name="stdout", text=["done\n"]),
                     nbformat.v4.new_output("display_data", data={"text/plain": "<Figure>"}),
                     nbformat.v4.new_output("stream", name="stdout", text="after\rthe figure\n")]
    nb.cells = [cell, nbformat.v4.new_markdown_cell("text\rkept")]
    series.collapse_streams(nb)
    outs = nb.cells[0].outputs
    assert [(o.output_type, o.get("name")) for o in outs] == [
        ("stream", "stderr"), ("stream", "stdout"), ("display_data", None), ("stream", "stdout")]
    assert outs[0].text == "training: 100%|##########\n"
    assert outs[1].text == "line one\nstep 2\r\ndone\n"  # "\r\n" is a line end, as nbval reads it
    assert outs[3].text == "the figure\n"
    assert nb.cells[1].source == "text\rkept"  # markdown untouched
    assert series.final_stream_text(outs[1].text) == outs[1].text  # collapsing twice changes nothing


def test_execute_notebooks_stores_a_progress_bar_as_its_last_state(tmp_path):
    path = make_notebook(tmp_path, "01_bar.ipynb", "print('x')")
    nb = nbformat.read(path, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stderr", text=f"\r{i}/3") for i in range(4)]
    nbformat.write(nb, path)
    script = project_root() / "scripts" / "execute_notebooks.py"
    subprocess.run([sys.executable, str(script), "--clean-only", str(path)], check=True, capture_output=True)
    outputs = nbformat.read(path, as_version=4).cells[-1].outputs
    assert [o["text"] for o in outputs] == ["3/3"]


def test_the_chinese_edition_runs_notebooks_zh_into_build_zh(monkeypatch, capsys):
    seen = {}

    def fake_run_series(notebooks, out, requested, **_kwargs):
        seen.update(notebooks=notebooks, out=Path(out))
        return []

    monkeypatch.setattr(series, "run_series", fake_run_series)
    assert series.main(["--edition", "zh", "--only", "00", "03"]) == 0
    root = series.project_root()
    assert [p.relative_to(root).as_posix() for p in seen["notebooks"]] == [
        "notebooks/zh/00_overview_and_setup.ipynb", "notebooks/zh/03_reparameterization_trick.ipynb"]
    assert seen["out"] == root / "build" / "zh"
    assert series.main(["--only", "00"]) == 0
    assert seen["notebooks"] == [root / "notebooks" / "00_overview_and_setup.ipynb"]
    assert seen["out"] == root / "build"
