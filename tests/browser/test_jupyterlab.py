"""The series as a reader meets it: JupyterLab in a real (headless) browser.

For each theory notebook (00-04) this opens the notebook in JupyterLab, checks
that no kernel-selection dialog appears and that the stored outputs render (LaTeX, figures,
tables, no errors or warnings, no machine-specific paths), clears the outputs, runs
Run → Run All Cells, waits until every code cell has an execution count, and checks that the
fresh run shows no error and prints the same text as the stored outputs (cells marked
``# NBVAL_IGNORE_OUTPUT`` excepted, after the substitutions of ``tests/nbval_sanitize.cfg``).
A screenshot of each notebook after the run goes to ``build/screenshots/NN_name.png``.

``test_chinese_notebook_in_chinese_jupyterlab`` does the same for ``notebooks/zh/00`` in JupyterLab with
its interface in Simplified Chinese (the settings of ``make lab EDITION=zh``), clicking the menus by their
Chinese labels from the installed language pack.

``test_latent_explorer_in_jupyterlab`` opens a copy of notebook 07 with quick parameters, runs it, moves the explorer's z1
slider and checks that the decoded digit and the mark on the scatter are redrawn.

Run with ``make test-browser``; skipped in a plain ``pytest tests`` (see conftest.py).
"""

from __future__ import annotations

import configparser
import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from lab_paths import REPO, notebook_dir, screenshot_dir

pytestmark = pytest.mark.browser

KERNEL = "vae-notebooks"
SERIES = ["00", "01", "02", "03", "04"]  # the theory notebooks (nbval checks 06's outputs; VAE_BROWSER_NOTEBOOKS=all adds it)
RUN_TIMEOUT = float(os.environ.get("VAE_BROWSER_TIMEOUT", "180"))
OPEN_TIMEOUT = 90.0
STDOUT = "application/vnd.jupyter.stdout"
STDERR = "application/vnd.jupyter.stderr"  # JupyterLab renders stderr streams and errors as this
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:root|home|work|tmp|Users)(?:/|\b)|[A-Za-z]:\\\\?Users")
TROUBLE = re.compile(r"Traceback|\b\w*(Error|Exception|Warning)\b|warnings\.warn|Error displaying widget")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def selected_notebooks() -> list[str]:
    wanted = os.environ.get("VAE_BROWSER_NOTEBOOKS", "").strip()
    if wanted == "all":
        return sorted({p.name[:2] for p in notebook_dir().glob("[0-9][0-9]_*.ipynb")})
    if wanted:
        return [w.strip().zfill(2) for w in wanted.split(",") if w.strip()]
    return SERIES


def find_notebook(number: str) -> Path:
    matches = sorted(notebook_dir().glob(f"{number}_*.ipynb"))
    if len(matches) != 1:
        pytest.fail(f"expected exactly one notebooks/{number}_*.ipynb, found {[m.name for m in matches]}")
    return matches[0]


# --- what the stored notebook says --------------------------------------------------------------


def load_sanitizers() -> list[tuple[re.Pattern, str]]:
    parser = configparser.RawConfigParser()
    parser.read(REPO / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


SANITIZERS = load_sanitizers()


def normalize(text: str) -> str:
    """Text as a reader sees it, sanitized like nbval: no ANSI colours, carriage returns applied."""
    text = ANSI.sub("", text)
    lines = [line.rsplit("\r", 1)[-1].rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    text = "\n".join(lines).strip("\n")
    for pattern, replacement in SANITIZERS:
        text = pattern.sub(replacement, text)
    return text


def ignores_output(cell) -> bool:
    tags = set(cell.get("metadata", {}).get("tags", []))
    markers = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
    return bool(tags & {"nbval-ignore-output", "nbval-skip"}) or any(m in cell.source for m in markers)


MATH = re.compile(r"\$\$.+?\$\$|(?<![\\$])\$[^$\s][^$\n]*?(?<![\\\s])\$|\\begin\{(equation|align)", re.S)
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)
MD_TABLE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*\|", re.M)


@dataclass
class Expected:
    """Per cell index: what the stored notebook should render and what a re-run should print."""

    math_cells: list[int] = field(default_factory=list)
    images: dict[int, int] = field(default_factory=dict)
    tables: list[int] = field(default_factory=list)
    code_cells: list[int] = field(default_factory=list)  # non-empty code cells (they get a count)
    ignored: set[int] = field(default_factory=set)
    folded: set[int] = field(default_factory=set)  # check cells: source collapsed, so JupyterLab shows no prompt
    printed: dict[int, dict] = field(default_factory=dict)  # cell -> {"stdout": str, "text": [str]}


def expected_from(nb) -> Expected:
    exp = Expected()
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            prose = CODE.sub("", cell.source)
            if MATH.search(prose):
                exp.math_cells.append(i)
            if MD_TABLE.search(prose):
                exp.tables.append(i)
            continue
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        exp.code_cells.append(i)
        if cell.get("metadata", {}).get("jupyter", {}).get("source_hidden"):
            exp.folded.add(i)
        if ignores_output(cell):
            exp.ignored.add(i)
        stdout, texts, images = "", [], 0
        for out in cell.get("outputs", []):
            if out.output_type == "stream" and out.name == "stdout":
                stdout += out.text
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                if any(k.startswith("image/") for k in data):
                    images += 1
                if "<table" in str(data.get("text/html", "")):
                    exp.tables.append(i)
                if set(data) == {"text/plain"}:
                    texts.append(normalize(data["text/plain"]))
        if images:
            exp.images[i] = images
        exp.printed[i] = {"stdout": normalize(stdout), "text": texts}
    return exp


# --- what the browser shows ------------------------------------------------------------------------

SNAPSHOT_JS = """
() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')].map(cell => ({
  kind: cell.classList.contains('jp-CodeCell') ? 'code'
      : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
  prompt: (cell.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.trim(),
  math: cell.querySelectorAll('mjx-container, .MathJax').length,
  mathErrors: [...cell.querySelectorAll('mjx-merror')].map(e => e.textContent),
  tables: cell.querySelectorAll('table').length,
  images: [...cell.querySelectorAll('.jp-OutputArea-output img')].map(
      img => img.complete && img.naturalWidth > 0),
  outputs: [...cell.querySelectorAll('.jp-OutputArea-output')].map(o => ({
    mime: o.getAttribute('data-mime-type') || '',
    result: !!o.closest('.jp-OutputArea-executeResult'),
    text: o.textContent,
  })),
}))
"""


def snapshot(page) -> list[dict]:
    return page.evaluate(SNAPSHOT_JS)


def dialog_text(page) -> str | None:
    dialogs = page.locator(".jp-Dialog")
    if dialogs.count():
        return " | ".join(t.strip() for t in dialogs.all_inner_texts())
    return None


def fail_on_dialog(page, when: str) -> None:
    text = dialog_text(page)
    if text is None:
        return
    if "Select Kernel" in text:
        hint = f"is the '{KERNEL}' kernel registered?"
        pytest.fail(f"the kernel-selection dialog appeared {when}: {text!r} ({hint})")
    pytest.fail(f"a dialog appeared {when}: {text!r}")


def output_problems(cells: list[dict], exp: Expected, when: str) -> list[str]:
    """Errors, confusing stderr and machine-specific paths in rendered outputs."""
    problems = []
    for i, cell in enumerate(cells):
        for out in cell["outputs"]:
            text = out["text"]
            short = text.strip()[:300]
            if out["mime"] == STDERR:
                if TROUBLE.search(text) or i not in exp.ignored:
                    problems.append(f"{when}: cell {i} shows error/stderr output: {short!r}")
            elif "Error displaying widget" in text:
                problems.append(f"{when}: cell {i} shows a broken widget: {short!r}")
            if MACHINE_PATH.search(text):
                problems.append(f"{when}: cell {i} prints a machine-specific path: {short!r}")
    return problems


def settled(page, exp: Expected, timeout: float = 30.0) -> list[dict]:
    """A snapshot once MathJax has typeset the math and the figures have decoded (both asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        cells = snapshot(page)
        math_ok = all(cells[i]["math"] for i in exp.math_cells)
        images_ok = all(sum(cells[i]["images"]) >= n for i, n in exp.images.items())
        if (math_ok and images_ok) or time.monotonic() > deadline:
            return cells
        time.sleep(0.5)


def render_problems(cells: list[dict], exp: Expected, when: str) -> list[str]:
    """Math typeset without LaTeX errors, every figure loaded, every table shown."""
    problems = [f"{when}: markdown cell {i}: MathJax did not render its math" for i in exp.math_cells
                if not cells[i]["math"]]
    problems += [f"{when}: cell {i} has a LaTeX error: {c['mathErrors']}" for i, c in enumerate(cells)
                 if c["mathErrors"]]
    for i, n in exp.images.items():
        loaded = sum(cells[i]["images"])
        if loaded < n:
            shown = len(cells[i]["images"])
            problems.append(f"{when}: cell {i} should show {n} figure(s): {loaded} of {shown} loaded")
    problems += [f"{when}: cell {i} should show a table" for i in exp.tables if not cells[i]["tables"]]
    return problems


def printed_by(cell: dict) -> dict:
    stdout = "".join(o["text"] for o in cell["outputs"] if o["mime"] == STDOUT)
    texts = [normalize(o["text"]) for o in cell["outputs"] if o["mime"] == "text/plain"]
    return {"stdout": normalize(stdout), "text": texts}


def click_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-item", has_text=re.compile(rf"^{re.escape(menu)}$")).click()
    entry = page.locator(".lm-Menu-item:visible", has_text=re.compile(rf"^{re.escape(item)}"))
    entry.first.click(timeout=10_000)


def kernel_status(page) -> str | None:
    return page.get_attribute(".jp-NotebookPanel .jp-Notebook-ExecutionIndicator", "data-status", timeout=5_000)


def wait_for_kernel_idle(page, timeout: float, when: str) -> None:
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        fail_on_dialog(page, when)
        status = kernel_status(page)
        if status == "idle":
            return
        time.sleep(0.25)
    pytest.fail(f"kernel not idle {when} after {timeout:.0f} s (status {status!r})")


def wait_for_kernel(page, server, name: str, timeout: float) -> dict:
    """Until the notebook's own kernel is up and idle; fail at once if any dialog shows instead.

    A missing kernelspec shows JupyterLab's "Select Kernel" dialog (and the toolbar says
    "No Kernel"), which the reader should never see.
    """
    deadline = time.monotonic() + timeout
    sessions: list = []
    while time.monotonic() < deadline:
        fail_on_dialog(page, "after opening the notebook")
        sessions = server.api("/api/sessions")
        mine = [s for s in sessions if Path(s.get("path", "")).name == name and s.get("kernel")]
        if len(mine) == 1 and mine[0]["kernel"].get("execution_state") == "idle" and kernel_status(page) == "idle":
            page.wait_for_timeout(1000)  # a dialog would open right after the session starts
            fail_on_dialog(page, "after opening the notebook")
            return mine[0]
        time.sleep(0.25)
    fail_on_dialog(page, "after opening the notebook")
    label = page.locator(".jp-NotebookPanel .jp-KernelName").inner_text().strip()
    pytest.fail(f"no idle kernel for {name} after {timeout:.0f} s (toolbar: {label!r}; sessions: {sessions})")


def screenshot(page, path: Path) -> None:
    """The whole notebook: grow the window to the notebook's height (JupyterLab never scrolls the page)."""
    try:
        height = page.evaluate(
            "() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');"
            " return o ? o.scrollHeight - o.clientHeight : 0; }"
        )
        page.set_viewport_size({"width": 1280, "height": int(min(900 + max(height, 0), 16000))})
        page.wait_for_timeout(300)
        page.evaluate(
            "() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');"
            " if (o) o.scrollTop = 0; }"
        )
        page.wait_for_timeout(300)
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # a screenshot must never hide the real failure
        print(f"screenshot {path.name} failed: {exc}")


def print_failure_context(page, server) -> None:
    """What a failed browser check prints: the page's JavaScript errors and JupyterLab's log tail."""
    if page.page_errors:
        print("JavaScript errors in the page:\n  " + "\n  ".join(page.page_errors[:10]))
    print(f"JupyterLab log (tail):\n{server.log_tail(25)}")


def shut_down_kernels(server) -> None:
    """Delete every JupyterLab session, so the next notebook gets a fresh kernel."""
    try:
        for session in server.api("/api/sessions"):
            server.api(f"/api/sessions/{session['id']}", method="DELETE")
    except Exception as exc:
        print(f"could not shut the kernel down: {exc}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def reported(label: str, page, server, shot: Path, browser_report: list):
    """Run a browser check: on failure print the page's errors and the server log; always take the
    screenshot, add a summary line (``outcome["text"]``, set by the check) and free the kernel."""
    shot.unlink(missing_ok=True)
    outcome = {"text": "FAILED"}
    began = time.monotonic()
    try:
        yield outcome
    except BaseException:
        print_failure_context(page, server)
        raise
    finally:
        screenshot(page, shot)
        browser_report.append(f"{label}: {outcome['text']}; {time.monotonic() - began:.1f} s in all; "
                              f"screenshot {os.path.relpath(shot, REPO)}")
        shut_down_kernels(server)  # free the kernel for the next test


# --- the test ------------------------------------------------------------------------------------


@pytest.mark.parametrize("number", selected_notebooks())
def test_notebook_in_jupyterlab(number, lab_server, page, browser_report):
    source = find_notebook(number)
    name = source.name
    served = lab_server.root / name  # the copy JupyterLab serves, taken when the server started
    assert served.exists(), f"{name} appeared after the server started; rerun"
    before = digest(served)
    stored = nbformat.read(served, as_version=4)
    exp = expected_from(stored)
    with reported(name, page, lab_server, screenshot_dir() / f"{source.stem}.png", browser_report) as outcome:
        run_seconds = _check_notebook(page, lab_server, name, stored, exp)
        outcome["text"] = f"ok, Run All Cells {run_seconds:.1f} s"

    assert digest(served) == before, f"JupyterLab saved {name}: nothing may be saved"


MENUS = ("Edit", "Clear Outputs of All Cells", "Run", "Run All Cells")  # the menu labels the test clicks


def _check_notebook(page, server, name, stored, exp: Expected, menus: dict[str, str] | None = None) -> float:
    """All the reader-facing checks for one notebook; returns the seconds "Run All Cells" took.

    ``menus`` maps the English menu labels to the interface's (default: English).
    """
    menu = {label: label for label in MENUS} | (menus or {})
    # 1. Open it as a reader would, in a fresh workspace (no tabs restored from the last test).
    url = server.url(f"/lab/workspaces/test-{name[:2]}/tree/{name}?reset")
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_TIMEOUT * 1000)
    assert page.locator(".jp-NotebookPanel").count() == 1, "more than one notebook tab is open"
    session = wait_for_kernel(page, server, name, OPEN_TIMEOUT)
    assert session["kernel"]["name"] == KERNEL, f"{name} started kernel {session['kernel']['name']!r}"
    kernel_label = page.locator(".jp-NotebookPanel .jp-KernelName").inner_text().strip()
    assert KERNEL in kernel_label, f"toolbar shows kernel {kernel_label!r}"
    page.keyboard.press("Control+b")  # hide the file browser: a wider notebook in the screenshot

    # 2. The stored outputs render: math, figures, tables; no errors, warnings or local paths.
    cells = snapshot(page)
    assert len(cells) == len(stored.cells), f"JupyterLab shows {len(cells)} cells, the file {len(stored.cells)}"
    cells = settled(page, exp)
    problems = output_problems(cells, exp, "stored") + render_problems(cells, exp, "stored")
    assert not problems, "\n".join(problems)

    # 3. Fresh run: clear the stored outputs, then Run → Run All Cells.
    click_menu(page, menu["Edit"], menu["Clear Outputs of All Cells"])
    cells = snapshot(page)
    leftover = [i for i in exp.code_cells if cells[i]["outputs"] or re.search(r"\d", cells[i]["prompt"])]
    assert not leftover, f"cells {leftover} kept outputs/counts after 'Clear Outputs of All Cells'"
    click_menu(page, menu["Run"], menu["Run All Cells"])
    began = time.monotonic()
    cells = _wait_for_run(page, exp, began)
    seconds = time.monotonic() - began
    wait_for_kernel_idle(page, 30, "after Run All Cells")

    # 4. Every code cell ran once, in order, on the fresh kernel; nothing went wrong.
    # (a folded check cell shows no count; the k-th code cell, counting those too, must show k)
    shown = [(k, i) for k, i in enumerate(exp.code_cells, start=1) if i not in exp.folded]
    counts = [int(re.sub(r"\D", "", cells[i]["prompt"]) or 0) for _, i in shown]
    assert counts == [k for k, _ in shown], f"execution counts {counts}, expected {[k for k, _ in shown]}"
    cells = settled(page, exp)
    problems = output_problems(cells, exp, "after Run All") + render_problems(cells, exp, "after Run All")
    assert not problems, "\n".join(problems)

    # 5. The same printed numbers as the stored outputs.
    mismatches = []
    for i in exp.code_cells:
        if i in exp.ignored:
            continue
        got, want = printed_by(cells[i]), exp.printed[i]
        if got != want:
            mismatches.append(
                f"cell {i} ({stored.cells[i].source.splitlines()[0][:60]!r}):\n"
                f"  stored: {want}\n  re-run: {got}"
            )
    assert not mismatches, "a fresh run in JupyterLab prints other text than the stored outputs:\n" + "\n".join(
        mismatches
    )
    return seconds


def _wait_for_run(page, exp: Expected, began: float) -> list[dict]:
    """Poll until every code cell shows an execution count; fail early on an error or a dialog."""
    stalled_since = None
    while True:
        fail_on_dialog(page, "while running")
        cells = snapshot(page)
        prompts = {i: cells[i]["prompt"] for i in exp.code_cells if i not in exp.folded}
        pending = [i for i, p in prompts.items() if not re.fullmatch(r"\[\d+\]:", p)]
        # a folded check cell shows no prompt: it has run once its output is there
        pending += [i for i in exp.folded if exp.printed[i]["stdout"] and not cells[i]["outputs"]]
        running = [i for i, p in prompts.items() if "*" in p]
        if not pending:
            return cells
        elapsed = time.monotonic() - began
        if not running:  # nothing queued, yet cells without a count: the run stopped (an error)
            stalled_since = stalled_since or time.monotonic()
            if time.monotonic() - stalled_since > 5:
                problems = output_problems(cells, exp, "run stopped")
                pytest.fail(
                    f"Run All Cells stopped after {elapsed:.0f} s; cells {pending} never ran.\n"
                    + "\n".join(problems)
                )
        else:
            stalled_since = None
        if elapsed > RUN_TIMEOUT:
            pytest.fail(
                f"Run All Cells not finished after {RUN_TIMEOUT:.0f} s: cells {pending} still pending "
                f"(prompts {[prompts.get(i, 'folded, no output yet') for i in pending][:10]})"
            )
        time.sleep(0.5)


# --- the Chinese edition in the Chinese interface ----------------------------------------------------

ZH_NOTEBOOK = os.environ.get("VAE_BROWSER_ZH_NOTEBOOK", "00")


def chinese_menus() -> dict[str, str]:
    """The interface's Chinese for MENUS, read from the installed language pack (jupyterlab-language-pack-zh-CN)."""
    import importlib.util
    import json

    spec = importlib.util.find_spec("jupyterlab_language_pack_zh_CN")
    if spec is None:
        pytest.fail("the language pack jupyterlab-language-pack-zh-CN is not installed: run `make venv`", pytrace=False)
    catalog = Path(spec.origin).parent / "locale" / "zh_CN" / "LC_MESSAGES" / "jupyterlab.json"
    strings = json.loads(catalog.read_text(encoding="utf-8"))
    return {label: strings[label][0] for label in MENUS}


def test_chinese_notebook_in_chinese_jupyterlab(lab_server_zh, page, browser_report):
    """notebooks/zh/00 in JupyterLab with its interface in Chinese: renders, runs, prints what it stored."""
    server = lab_server_zh
    matches = sorted(server.root.glob(f"{ZH_NOTEBOOK}_*.ipynb"))
    assert len(matches) == 1, f"expected one notebooks/zh/{ZH_NOTEBOOK}_*.ipynb, found {[m.name for m in matches]}"
    served = matches[0]
    name, before = served.name, digest(served)
    stored = nbformat.read(served, as_version=4)
    exp = expected_from(stored)
    menus = chinese_menus()
    shot = screenshot_dir() / f"zh_{served.stem}.png"
    with reported(f"zh/{name} (Chinese interface)", page, server, shot, browser_report) as outcome:
        run_seconds = _check_notebook(page, server, name, stored, exp, menus)
        bar = [t.strip() for t in page.locator(".lm-MenuBar-item").all_inner_texts()]
        assert menus["Edit"] in bar and "Edit" not in bar, f"the menu bar is not in Chinese: {bar}"
        first = page.locator(".jp-NotebookPanel .jp-MarkdownCell").first.inner_text()
        assert re.search(r"[\u4e00-\u9fff]{4}", first), f"the first markdown cell is not Chinese: {first[:200]!r}"
        outcome["text"] = f"ok, {menus['Run']} → {menus['Run All Cells']} {run_seconds:.1f} s"
    assert digest(served) == before, f"JupyterLab saved zh/{name}: nothing may be saved"


# --- notebook 07's latent explorer -------------------------------------------------------------------

EXPLORER = "07"
# The explorer test is about the widget, not 07's numbers (make run and the papermill test run 07):
# it runs a copy of 07 with these parameters injected, as papermill does, so it takes seconds, not minutes.
EXPLORER_PARAMETERS = {"EPOCHS": 1, "LIMIT": 256}


def _image_sources(page, css_class: str) -> list[str]:
    return page.eval_on_selector_all(f".{css_class} img, img.{css_class}", "els => els.map(e => e.src)")


def _wait_for_change(page, css_class: str, before: list[str], timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    now = before
    while time.monotonic() < deadline:
        now = _image_sources(page, css_class)
        if now and now != before:
            return now
        time.sleep(0.25)
    return now


def test_latent_explorer_in_jupyterlab(lab_server, page, browser_report):
    """Notebook 07 (quick parameters) in JupyterLab: Run All Cells, move the z1 slider, the digit and the mark change."""
    from vae_helpers.explorer import CSS

    if EXPLORER not in selected_notebooks() and os.environ.get("VAE_BROWSER_NOTEBOOKS", "").strip():
        pytest.skip(f"VAE_BROWSER_NOTEBOOKS does not include {EXPLORER}")
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    stored = load_notebook_node(str(lab_server.root / find_notebook(EXPLORER).name))  # as papermill reads it
    quick = parameterize_notebook(stored, EXPLORER_PARAMETERS)
    name = f"{find_notebook(EXPLORER).stem}_quick.ipynb"
    nbformat.write(quick, lab_server.root / name)
    exp = expected_from(quick)
    shot = screenshot_dir() / "07_explorer.png"
    with reported(f"{name} explorer", page, lab_server, shot, browser_report) as outcome:
        page.goto(lab_server.url(f"/lab/workspaces/test-explorer/tree/{name}?reset"), wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=OPEN_TIMEOUT * 1000)
        wait_for_kernel(page, lab_server, name, OPEN_TIMEOUT)
        click_menu(page, "Edit", "Clear Outputs of All Cells")
        click_menu(page, "Run", "Run All Cells")
        cells = _wait_for_run(page, exp, time.monotonic())
        wait_for_kernel_idle(page, 30, "after Run All Cells")
        problems = output_problems(cells, exp, "after Run All")
        assert not problems, "\n".join(problems)

        digit = page.locator(f".{CSS['digit']}").first
        digit.scroll_into_view_if_needed(timeout=10_000)
        page.wait_for_function(f"() => [...document.querySelectorAll('img.{CSS['digit']}')]"
                               ".some(i => i.complete && i.naturalWidth > 0)", timeout=20_000)
        digit_before, map_before = _image_sources(page, CSS["digit"]), _image_sources(page, CSS["map"])
        assert len(digit_before) == 1 and len(map_before) == 1, (digit_before[:1], map_before[:1])

        handle = page.locator(f".{CSS['z1']} .noUi-handle").first
        handle.focus()
        for _ in range(15):  # one slider step per key press
            page.keyboard.press("ArrowRight")
        digit_after = _wait_for_change(page, CSS["digit"], digit_before, timeout=10)
        if digit_after == digit_before:  # no keyboard support: drag the handle instead
            box = handle.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(box["x"] + 80, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            digit_after = _wait_for_change(page, CSS["digit"], digit_before)
        assert digit_after != digit_before, "moving the z1 slider did not change the decoded digit"
        assert _wait_for_change(page, CSS["map"], map_before) != map_before, "the mark on the scatter did not move"
        readout = page.locator(f".{CSS['z1']} .widget-readout").first.inner_text().strip()
        outcome["text"] = f"ok, the z1 slider moved to {readout} and redrew the digit"
