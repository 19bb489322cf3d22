"""Static checks of every committed notebook (no kernel, no browser): what a reader opens must be clean.

Each check runs once per notebook in notebooks/ so a failure names the notebook and the rule.
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
KERNEL = "vae-notebooks"
MAX_BYTES = 2 * 1024 * 1024
MACHINE_PATH = re.compile(r"(?<![\w.~])/(?:root|home|work|tmp|Users)(?:/|\b)|[A-Za-z]:\\\\?Users")
TROUBLE = re.compile(r"Traceback|\b\w*(Error|Exception|Warning)\b|warnings\.warn")
SIMPLE_TYPES = {"int": (int,), "float": (float, int), "str": (str,), "bool": (bool,)}

by_name = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def ignores_output(cell) -> bool:
    tags = set(cell.get("metadata", {}).get("tags", []))
    markers = ("NBVAL_IGNORE_OUTPUT", "NBVAL_SKIP")
    return bool(tags & {"nbval-ignore-output", "nbval-skip"}) or any(m in cell.source for m in markers)


def output_text(out) -> str:
    if out.output_type == "stream":
        return out.text
    if out.output_type == "error":
        return "\n".join([f"{out.ename}: {out.evalue}", *out.get("traceback", [])])
    data = out.get("data", {})
    return "\n".join(str(v) for k, v in data.items() if k.startswith("text/") or k.endswith("json"))


@by_name
def test_file_name_and_size(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), f"{path.name}: expected NN_snake_case.ipynb"
    size = path.stat().st_size
    assert size < MAX_BYTES, f"{path.name} is {size / 1e6:.2f} MB (limit 2 MB): lower figure dpi/size"


@by_name
def test_kernelspec(path):
    spec = read(path).metadata.get("kernelspec", {})
    assert spec.get("name") == KERNEL, f"{path.name}: kernelspec {spec!r}, expected name '{KERNEL}'"


@by_name
def test_clean_metadata(path):
    nb = read(path)
    extra = set(nb.metadata) - {"kernelspec", "language_info"}
    assert not extra, f"{path.name}: notebook metadata has {sorted(extra)} (run scripts/execute_notebooks.py)"
    folded = {"source_hidden": True}  # a check cell's folded source (lesson-style.md § 3)
    dirty = {i: sorted(set(c.metadata) - {"tags", "jupyter"}) + (["jupyter"] if c.metadata.get("jupyter", folded) != folded else [])
             for i, c in enumerate(nb.cells)}
    dirty = {i: keys for i, keys in dirty.items() if keys}
    assert not dirty, f"{path.name}: cell metadata beyond tags and a folded check: {dirty}"


@by_name
def test_title_cell(path):
    first = read(path).cells[0]
    number = path.name[:2]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith(f"# {number}"), (
        f"{path.name}: the first cell should be the title '# {number} · English title · 中文标题'"
    )


@by_name
def test_parameters_cell(path):
    nb = read(path)
    tagged = [(i, c) for i, c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected one code cell tagged 'parameters', found {len(tagged)}"
    index, cell = tagged[0]
    problems = parameter_problems(cell.source)
    assert not problems, f"{path.name}, parameters cell {index}:\n  " + "\n  ".join(problems)


def parameter_problems(source: str) -> list[str]:
    """Each knob alone on its line as ``NAME: type = literal  # what it means``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"does not parse: {exc}"]
    comments = {
        tok.start[0]
        for tok in tokenize.generate_tokens(io.StringIO(source).readline)
        if tok.type == tokenize.COMMENT
    }
    lines = source.splitlines()
    problems = []
    if not tree.body:
        problems.append("has no parameters")
    for node in tree.body:
        text = lines[node.lineno - 1].strip()
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
            problems.append(f"line {node.lineno} is not 'NAME: type = literal': {text!r}")
            continue
        name = node.target.id
        if name != name.upper():
            problems.append(f"{name}: parameters are UPPER_CASE")
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            problems.append(f"{name}: value is not a literal (derive it in the next cell): {text!r}")
            continue
        kind = ast.unparse(node.annotation)
        if kind in SIMPLE_TYPES and not (
            isinstance(value, SIMPLE_TYPES[kind]) and (kind == "bool" or not isinstance(value, bool))
        ):
            problems.append(f"{name}: annotated {kind} but the value is {value!r}")
        if node.end_lineno != node.lineno:
            problems.append(f"{name}: spans several lines; one parameter per line")
        if node.end_lineno not in comments:
            problems.append(f"{name}: needs a comment saying what it means: {text!r}")
    return problems


@by_name
def test_no_errors_or_warnings_in_outputs(path):
    problems = []
    for i, cell in code_cells(read(path)):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: stored error {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                if TROUBLE.search(out.text) or not ignores_output(cell):
                    problems.append(f"cell {i}: stderr output {out.text.strip()[:200]!r}")
            elif "Traceback (most recent call last)" in output_text(out):
                problems.append(f"cell {i}: a traceback in the output")
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@by_name
def test_no_machine_specific_paths(path):
    problems = []
    for i, cell in enumerate(read(path).cells):
        if MACHINE_PATH.search(cell.source):
            problems.append(f"cell {i} source: {MACHINE_PATH.search(cell.source).group(0)!r}")
        for out in cell.get("outputs", []):
            found = MACHINE_PATH.search(output_text(out))
            if found:
                text = output_text(out)
                problems.append(f"cell {i} output: ...{text[max(0, found.start() - 40):found.end() + 40]!r}...")
    assert not problems, f"{path.name} shows machine-specific paths:\n  " + "\n  ".join(problems)


FORBIDDEN = [
    (re.compile(r"^\s*[!%]\s*(pip|conda|mamba)\b", re.M), "installs packages (use the project's environment)"),
    (re.compile(r"^\s*from\s+[\w.]+\s+import\s+\*", re.M), "uses a star import"),
    (re.compile(r"\bsys\.path\b"), "touches sys.path (the kernel has the package installed)"),
]


@by_name
def test_code_is_clean(path):
    problems = [
        f"cell {i} {why}"
        for i, cell in code_cells(read(path))
        for pattern, why in FORBIDDEN
        if pattern.search(cell.source)
    ]
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


#: notebooks that train on real data: committed executed, or without any outputs
TRAINING_NOTEBOOKS = {"05_training_the_vae", "07_latent_space", "08_likelihood_evaluation"}


@by_name
def test_executed_top_to_bottom(path):
    cells = [c for _, c in code_cells(read(path)) if c.source.strip()]
    counts = [c.execution_count for c in cells]
    if path.stem in TRAINING_NOTEBOOKS and all(n is None and not c.outputs for n, c in zip(counts, cells)):
        return  # a training notebook may be committed without outputs (make run writes executed copies)
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts}; store outputs of one fresh top-to-bottom run "
        "(scripts/execute_notebooks.py)"
    )


SOLUTIONS = REPO / "solutions"


def solution_lines(lesson: str) -> list[str]:
    """The code lines of solutions/<lesson>.py that would give an answer away if a notebook printed them."""
    path = SOLUTIONS / f"{lesson}.py"
    if not path.exists():
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for stmt in node.body:
                if isinstance(stmt, ast.Expr) and isinstance(getattr(stmt, "value", None), ast.Constant):
                    continue  # the docstring
                text = ast.unparse(stmt).splitlines()[0].strip()
                if len(text) >= 20 and not text.startswith(("def ", "import ", "from ")):
                    lines.append(text)
    return lines


@by_name
def test_exercises_are_committed_unattempted_and_answer_free(path):
    """Every exercise check shows 'not attempted' and no solution line; no solution() or hint() was run."""
    nb = read(path)
    answers = solution_lines(f"lesson{path.name[:2]}")
    problems = []
    for i, cell in code_cells(nb):
        text = "\n".join(output_text(out) for out in cell.get("outputs", []))
        if "Try it yourself first" in text or re.search(r"^Hint \d+ of \d+", text, re.M):
            problems.append(f"cell {i}: a stored solution() or hint() output")
        if not re.search(r"\.check\(", cell.source) or not cell.outputs or is_check_cell(cell):
            continue  # (a check cell's RUN.check guards the lesson's sentences; it is no exercise)
        if "not attempted" not in text:
            problems.append(f"cell {i}: an exercise check whose stored output is not 'not attempted'")
        problems += [f"cell {i}: the output shows a solution line: {line!r}" for line in answers if line in text]
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


def test_lesson_defaults_are_current():
    """The package's record of every lesson's defaults (the default-run guard reads it) matches the notebooks."""
    from vae_helpers import default_run

    recorded = json.loads(default_run.DEFAULTS_FILE.read_text(encoding="utf-8"))
    assert recorded == default_run.read_defaults(REPO / "notebooks"), (
        "vae_helpers/lesson_defaults.json is out of date with the notebooks' parameters cells: "
        "run `.venv/bin/python -m vae_helpers.default_run`")


@by_name
def test_no_notebook_restates_its_defaults(path):
    """The default run is told apart by vae_helpers.default_run, never by a DEFAULTS dict in the notebook."""
    found = [i for i, c in code_cells(read(path)) if re.search(r"^\s*(DEFAULTS|FULL_RUN|DEFAULT_RUN)\s*=", c.source, re.M)]
    assert not found, f"{path.name}, cells {found}: use `default_run.of(<lesson>, globals())` instead"


def is_check_cell(cell) -> bool:
    return "check" in cell.get("metadata", {}).get("tags", [])


@by_name
def test_check_cells_are_collapsed(path):
    """A guarding check lives in a cell tagged `check` whose source JupyterLab shows folded."""
    open_checks = [i for i, c in code_cells(read(path))
                   if is_check_cell(c) and not c.metadata.get("jupyter", {}).get("source_hidden")]
    assert not open_checks, (f"{path.name}, cells {open_checks}: tagged `check` but not collapsed; set "
                             '"metadata": {"jupyter": {"source_hidden": true}}')


@by_name
def test_a_reader_meets_at_most_two_asserts(path):
    """Outside collapsed check cells a lesson has at most two teaching asserts (lesson-style.md § 3)."""
    visible = [(i, n) for i, c in code_cells(read(path)) if not is_check_cell(c)
               for n in [len(re.findall(r"^\s*assert\b", c.source, re.M))] if n]
    assert sum(n for _, n in visible) <= 2, (
        f"{path.name}: {sum(n for _, n in visible)} visible assert lines (cells {[i for i, _ in visible]}); "
        "move guards into collapsed `check` cells")


POINTERS = re.compile(r"(?i)read the printed|says whether|tells (you )?whether|the line (above|below|under)|"
                      r"the printed (list|lines?|verdicts?|numbers|ratios?|values?|table)|read (off )?your own numbers")


@by_name
def test_no_sentence_sends_the_reader_to_the_printed_numbers(path):
    """The prose states the default run's results; it never sends the reader to dig them out of outputs."""
    found = [(i, m.group(0)) for i, c in enumerate(read(path).cells) if c.cell_type == "markdown"
             for m in POINTERS.finditer(c.source)]
    assert not found, f"{path.name}: say the result instead of pointing at it: {found}"


@by_name
def test_lesson_ends_with_where_to_go_next(path):
    """Every lesson ends with 'Where to go next · 延伸阅读' (two to four works, one line each on why)."""
    headings = [c.source.splitlines()[0] for c in read(path).cells if c.cell_type == "markdown" and c.source]
    assert any(h.startswith("#") and "Where to go next · 延伸阅读" in h for h in headings), (
        f"{path.name}: no '## Where to go next · 延伸阅读' section")


@by_name
def test_papermill_reads_every_parameter(path, capsys):
    """papermill (--help-notebook, -p NAME VALUE) parses each knob of the parameters cell, with its help."""
    import papermill

    nb = read(path)
    cell = [c for _, c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])][0]
    names = [node.target.id for node in ast.parse(cell.source).body if isinstance(node, ast.AnnAssign)]
    found = papermill.inspect_notebook(str(path))
    printed = capsys.readouterr()
    missing = [name for name in names if name not in found or not found[name]["help"]]
    assert not missing and "Unable to parse" not in printed.out + printed.err, (
        f"{path.name}: papermill cannot read {missing} (write the comment without '<=', '>=' or '='):\n"
        f"{printed.out}{printed.err}")
