"""The Chinese edition: English markdown paragraphs ↔ gettext catalogs ↔ ``notebooks/zh/``.

    python -m vae_helpers.translation extract [NN ...]   # new/changed English → notebooks/zh/po/*.po
    python -m vae_helpers.translation build [NN ...]     # English notebooks + catalogs → notebooks/zh/
    python -m vae_helpers.translation status             # what is untranslated or out of date

The unit of translation is one paragraph of a markdown cell (a block between blank lines; a fenced
code block or a ``$$ … $$`` display stays whole), or one comment of a code cell (consecutive
whole-line comments are one unit). A code cell's code and outputs are copied byte for byte; only its
comments are replaced.
``extract`` keeps every translation whose English is unchanged; a changed paragraph gets the old
translation of the most similar old paragraph, marked fuzzy (out of date) with its old English as
``#| msgid``, as GNU msgmerge does. Only translated, non-fuzzy paragraphs count as done.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

LANGUAGE = "zh_CN"
FUZZY_CUTOFF = 0.6  # difflib ratio above which an old paragraph's translation is offered as fuzzy

_FENCE = re.compile(r"^\s*(```|~~~)")
_NOT_PROSE = [
    re.compile(r"```.*?```|~~~.*?~~~", re.S),  # fenced code
    re.compile(r"\$\$.*?\$\$", re.S),  # display math
    re.compile(r"\$[^$\n]+\$"),  # inline math
    re.compile(r"`[^`\n]+`"),  # inline code
    re.compile(r"<[^>\n]+>"),  # HTML tags
    re.compile(r"\]\([^)\s]*\)"),  # link targets
]


def project_root() -> Path:
    return Path(__file__).resolve().parents[1]


def english_dir() -> Path:
    return project_root() / "notebooks"


def chinese_dir() -> Path:
    return english_dir() / "zh"


def catalog_dir() -> Path:
    return chinese_dir() / "po"


def catalog_path(notebook: Path) -> Path:
    return catalog_dir() / f"{notebook.stem}.po"


def english_notebooks() -> list[Path]:
    return sorted(english_dir().glob("[0-9][0-9]_*.ipynb"))


# --------------------------------------------------------------------------- paragraphs


def split_blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph of markdown ``text``; what lies between them is blank lines."""
    blocks, start, end, offset = [], None, 0, 0
    in_fence = in_math = False
    for line in text.splitlines(keepends=True):
        if not (in_fence or in_math) and not line.strip():
            if start is not None:
                blocks.append((start, end))
                start = None
        else:
            if start is None:
                start = offset
            end = offset + len(line.rstrip("\r\n"))
            if _FENCE.match(line):
                in_fence = not in_fence
            elif not in_fence and line.count("$$") % 2:
                in_math = not in_math
        offset += len(line)
    if start is not None:
        blocks.append((start, end))
    return blocks


_TEXT_WORDS = re.compile(r"\\text\{[^{}]*[A-Za-z]{2,}[^{}]*\}")
_COMMENT_WORDS = re.compile(r"#[^\n]*?[A-Za-z]{2,}\s+[A-Za-z]{2,}")


def is_fence(block: str) -> bool:
    """Whether a paragraph is one fenced code block."""
    text = block.strip()
    return bool(_FENCE.match(text)) and text.endswith(("```", "~~~")) and len(text.splitlines()) > 1


def is_prose(block: str) -> bool:
    """Whether a paragraph has words to translate (not only code, formulas, tags or links).

    A fenced code block is translated only for its comments in words (``make lab  # opens …``).
    """
    if is_fence(block):
        return _COMMENT_WORDS.search(block) is not None
    text = block.strip()
    if text.startswith("$$") and text.endswith("$$") and text.count("$$") == 2:  # a display: only its \text labels
        return _TEXT_WORDS.search(text) is not None
    for pattern in _NOT_PROSE:
        block = pattern.sub(" ", block)
    return re.search(r"[A-Za-z]{2,}", block) is not None


@dataclass(frozen=True)
class Unit:
    """One paragraph (or code comment) to translate: where it is and its text.

    ``paragraph`` counts from 1 within the cell; ``kind`` is "prose" (markdown) or "comment" (code cell).
    """

    notebook: str
    cell: int
    paragraph: int
    text: str
    kind: str = "prose"

    @property
    def where(self) -> str:
        first = self.text.strip().splitlines()[0]
        first = first if len(first) <= 70 else first[:67] + "..."
        what = "comment" if self.kind == "comment" else "paragraph"
        return f"{self.notebook}, cell {self.cell}, {what} {self.paragraph} ({first!r})"


# --------------------------------------------------------------------------- code comments

_MARKER = re.compile(r"^(NBVAL_\w+|noqa\b|type:|pragma\b|fmt:)")


@dataclass(frozen=True)
class Comment:
    """A comment of a code cell: lines ``first``..``last`` (from 0) from column ``column``; its words."""

    first: int
    last: int
    column: int
    text: str
    whole_line: bool


def code_comments(source: str) -> list[Comment]:
    """The comments in words of a code cell, found with Python's tokenizer (never inside a string).

    Consecutive whole-line comments at one indentation are one comment, their lines joined by newlines.
    Markers (``# NBVAL_IGNORE_OUTPUT``, ``# noqa``) and comments without words are left out. A cell
    the tokenizer cannot read (IPython syntax) has none.
    """
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return []
    lines = source.splitlines()
    found: list[Comment] = []
    for token in tokens:
        (row, column), words = token.start, token.string[1:].strip()
        row -= 1
        whole = not lines[row][:column].strip()
        if _MARKER.match(words):
            continue
        last = found[-1] if found else None
        if whole and last is not None and last.whole_line and last.last == row - 1 and last.column == column:
            found[-1] = Comment(last.first, row, column, last.text + "\n" + words, True)
        else:
            found.append(Comment(row, row, column, words, whole))
    return [c for c in found if re.search(r"[A-Za-z]{2,}", c.text)]


def translate_code(source: str, catalog) -> tuple[str, list[str]]:
    """``source`` with each comment replaced by its translation; also the untranslated comments."""
    lines, missing = source.split("\n"), []
    for comment in reversed(code_comments(source)):  # from the end, so earlier line numbers stay valid
        done = translation_of(catalog, comment.text)
        if done is None or (not comment.whole_line and "\n" in done.strip()):
            missing.append(comment.text)
            continue
        if comment.whole_line:
            indent = " " * comment.column
            lines[comment.first:comment.last + 1] = [f"{indent}# {line}".rstrip() for line in done.strip().split("\n")]
        else:
            line = lines[comment.first]
            lines[comment.first] = line[:comment.column] + "# " + done.strip()
    return "\n".join(lines), missing[::-1]


def units(nb, name: str) -> list[Unit]:
    """Every prose paragraph of every markdown cell and every comment of every code cell, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            comments = code_comments(cell.source)
            found += [Unit(name, index, n, c.text, "comment") for n, c in enumerate(comments, start=1)]
            continue
        if cell.cell_type != "markdown":
            continue
        prose = [cell.source[a:b] for a, b in split_blocks(cell.source) if is_prose(cell.source[a:b])]
        found += [Unit(name, index, n, text) for n, text in enumerate(prose, start=1)]
    return found


# --------------------------------------------------------------------------- catalogs


def _polib():
    try:
        import polib
    except ImportError as exc:  # pragma: no cover - the dev environment has it
        raise SystemExit("the package 'polib' is missing: pip install polib (make venv installs it)") from exc
    return polib


def read_catalog(path: Path):
    """The catalog at ``path`` (an empty one if there is none yet)."""
    polib = _polib()
    if not path.exists():
        return polib.POFile(wrapwidth=0)
    try:
        return polib.pofile(str(path), wrapwidth=0)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path} is not a readable gettext catalog ({exc}); restore it with `git checkout {path}`")


def translation_of(catalog, text: str):
    """The current (translated, not fuzzy) msgstr for ``text``, or None."""
    entry = catalog.find(text)
    if entry is None or entry.obsolete or not entry.msgstr.strip() or "fuzzy" in entry.flags:
        return None
    return entry.msgstr


def state_of(catalog, text: str) -> str:
    """'translated', 'fuzzy', 'untranslated' (empty msgstr) or 'missing' (no entry: run extract)."""
    entry = catalog.find(text)
    if entry is None or entry.obsolete:
        return "missing"
    if "fuzzy" in entry.flags:
        return "fuzzy"
    return "translated" if entry.msgstr.strip() else "untranslated"


def _header(polib, notebook: Path):
    catalog = polib.POFile(wrapwidth=0)
    catalog.metadata = {
        "Project-Id-Version": f"vae-notebooks {notebook.name}",
        "Language": LANGUAGE,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    catalog.header = (
        f"Simplified Chinese paragraphs of notebooks/{notebook.name}, one entry per paragraph.\n"
        "Update with `make zh-extract`, translate the empty and fuzzy entries, then `make zh`."
    )
    return catalog


def _closest(text: str, pool: list) -> object | None:
    best, best_ratio = None, FUZZY_CUTOFF
    for entry in pool:
        matcher = difflib.SequenceMatcher(None, entry.msgid, text, autojunk=False)
        if matcher.real_quick_ratio() > best_ratio and matcher.quick_ratio() > best_ratio:
            ratio = matcher.ratio()
            if ratio > best_ratio:
                best, best_ratio = entry, ratio
    return best


def merge_catalog(notebook: Path, old) -> tuple[object, dict[str, int]]:
    """The catalog for ``notebook``'s current paragraphs, keeping what ``old`` already translated."""
    import nbformat

    polib = _polib()
    nb = nbformat.read(notebook, as_version=4)
    new = _header(polib, notebook)
    if old.metadata:
        new.metadata = {**old.metadata, "Language": LANGUAGE}
    by_text: dict[str, object] = {}
    for unit in units(nb, notebook.name):
        if unit.text in by_text:
            by_text[unit.text].occurrences.append((notebook.name, str(unit.cell)))
            continue
        entry = polib.POEntry(msgid=unit.text, msgstr="", occurrences=[(notebook.name, str(unit.cell))])
        what = "code comment" if unit.kind == "comment" else "paragraph"
        entry.comment = f"cell {unit.cell}, {what} {unit.paragraph}"
        by_text[unit.text] = entry
        new.append(entry)
    counts = {"kept": 0, "fuzzy": 0, "new": 0, "obsolete": 0}
    old_entries = [e for e in old if e.msgid]
    unused = [e for e in old_entries if e.msgid not in by_text and e.msgstr.strip()]
    for entry in new:
        previous = old.find(entry.msgid, include_obsolete_entries=True)
        if previous is not None and previous.msgid == entry.msgid:
            entry.msgstr = previous.msgstr
            entry.flags = [f for f in previous.flags if f == "fuzzy"]
            entry.previous_msgid = previous.previous_msgid if entry.flags else None
            entry.tcomment = previous.tcomment
            counts["fuzzy" if entry.flags else "kept"] += 1
            continue
        match = _closest(entry.msgid, unused)
        if match is not None:
            entry.msgstr, entry.flags, entry.previous_msgid = match.msgstr, ["fuzzy"], match.msgid
            entry.tcomment = match.tcomment
            counts["fuzzy"] += 1
        else:
            counts["new"] += 1
    for entry in unused:  # kept at the end, commented out, as gettext does
        gone = polib.POEntry(msgid=entry.msgid, msgstr=entry.msgstr, obsolete=True)
        new.append(gone)
        counts["obsolete"] += 1
    return new, counts


def write_text_atomic(path: Path, text: Callable[[], str]) -> None:
    """Write ``text()`` to ``path`` with the package's atomic write (never half a file)."""
    from .checkpoint import atomic_write  # imported here: it brings torch, which only writing needs

    atomic_write(path, lambda tmp: Path(tmp).write_text(text(), encoding="utf-8", newline="\n"))


def catalog_text(catalog) -> str:
    text = str(catalog)
    return text if text.endswith("\n") else text + "\n"


def extract(notebook: Path) -> dict[str, int]:
    """Bring ``notebook``'s catalog up to date with its English paragraphs; returns the counts."""
    path = catalog_path(notebook)
    new, counts = merge_catalog(notebook, read_catalog(path))
    write_text_atomic(path, lambda: catalog_text(new))
    return counts


# --------------------------------------------------------------------------- the Chinese notebooks


def _relink(markdown: str) -> str:
    """Links out of notebooks/ (``../README.md``) need one more ``../`` from notebooks/zh/."""
    markdown = re.sub(r"\]\(\.\./", "](../../", markdown)
    return re.sub(r'((?:href|src)=")\.\./', r"\1../../", markdown)


def banner(notebook: Path) -> str:
    """The maintainers' note at the end of each Chinese notebook (a learner edits freely before it)."""
    return (
        f"> 维护者注：中文版由英文版 [`{notebook.name}`](../{notebook.name}) 和译文目录 "
        f"`po/{notebook.stem}.po` 生成（`make zh`）。修改译文请编辑译文目录再重新生成，"
        "而不是直接修改本文件。代码与英文版相同（注释译成了中文）；练习的反馈以中文显示。"
    )


def figure_note(notebook: Path) -> str:
    """The line under each Chinese lesson's introduction: its figures and tables speak English."""
    where = "本课附录 C" if notebook.name.startswith("00_") else "第 00 课附录 C"
    return f"> 本课图中的标签和打印的表格保留英文，常见标签的中文见{where}。"


def translate_markdown(source: str, catalog) -> tuple[str, list[str]]:
    """``source`` with each prose paragraph replaced by its translation; also the untranslated ones."""
    pieces, missing, pos = [], [], 0
    for a, b in split_blocks(source):
        block = source[a:b]
        pieces.append(source[pos:a])
        if is_prose(block):
            done = translation_of(catalog, block)
            if done is None:
                missing.append(block)
            pieces.append(block if done is None else done)
        else:
            pieces.append(block)
        pos = b
    pieces.append(source[pos:])
    return _relink("".join(pieces)), missing


def build_notebook(notebook: Path, catalog=None):
    """The Chinese notebook for English ``notebook``, and the cell indices with untranslated text."""
    import nbformat

    catalog = read_catalog(catalog_path(notebook)) if catalog is None else catalog
    from .exercises.i18n import translate_output

    nb = copy.deepcopy(nbformat.read(notebook, as_version=4))
    incomplete: list[int] = []
    markdown = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"]
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "stream":
                    output["text"] = translate_output(output["text"])
            cell.source, missing = translate_code(cell.source, catalog)
            if missing:
                incomplete.append(index)
            continue
        if cell.cell_type != "markdown":
            continue
        text, missing = translate_markdown(cell.source, catalog)
        if index == markdown[0]:
            text = text.rstrip("\n") + "\n\n" + figure_note(notebook)
        if index == markdown[-1]:
            text = text.rstrip("\n") + "\n\n" + banner(notebook)
        cell.source = text
        if missing:
            incomplete.append(index)
    nb.metadata["vae_notebooks"] = {
        "edition": "zh-CN",
        "generated_from": f"../{notebook.name}",
        "catalog": f"po/{notebook.stem}.po",
    }
    return nb, incomplete


def notebook_text(nb) -> str:
    import nbformat

    return nbformat.writes(nb) + "\n"


def build(notebook: Path) -> list[int]:
    """Write ``notebooks/zh/<name>``; returns the cells left (partly) in English."""
    nb, incomplete = build_notebook(notebook)
    write_text_atomic(chinese_dir() / notebook.name, lambda: notebook_text(nb))
    return incomplete


# --------------------------------------------------------------------------- checks (the tests call these)

HOW_TO_FIX = "run `make zh-extract`, translate the entry in {catalog} (remove its fuzzy flag), then `make zh`"

_KEPT = {
    "formula": re.compile(r"\$\$.*?\$\$|\$[^$]+?\$", re.S),  # inline math may run over a line break
    "code": re.compile(r"`[^`]+`"),
    "link": re.compile(r"\]\(([^)\s]+)\)"),
    "number": re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*"),
}
_CHINESE = re.compile(r"[\u3400-\u9fff]+")


def paragraph_problem(unit: Unit, catalog, catalog_name: str) -> str | None:
    """Why ``unit`` has no current translation, or None when it has one."""
    state = state_of(catalog, unit.text)
    if state == "translated":
        return None
    what = {
        "missing": "is not in the catalog (new or changed English)",
        "untranslated": "has no translation yet",
        "fuzzy": "has an out-of-date (fuzzy) translation: the English changed",
    }[state]
    return f"{unit.where} {what}; " + HOW_TO_FIX.format(catalog=catalog_name)


_TEXT_LABEL = re.compile(r"\\text\{[^{}]*\}")


def kept_spans(text: str) -> dict[str, list[str]]:
    """Formulas, code, link targets and numbers of a paragraph, which a translation keeps as they are.

    The words of a formula's ``\\text{…}`` labels may be translated; the rest of the formula may not.
    """
    found = {}
    rest = _TEXT_LABEL.sub(r"\\text{}", text)
    for kind, pattern in _KEPT.items():
        spans = (m.group(1) if pattern.groups else m.group(0) for m in pattern.finditer(rest))
        found[kind] = sorted(" ".join(span.split()) for span in spans)  # a line break counts as a space
        rest = pattern.sub(" ", rest)
    return found


def _edition_neutral(code: str) -> str:
    """Code as the English edition writes it: the Chinese may add EDITION=zh and notebooks/zh/ paths."""
    code = re.sub(r"\s*EDITION=zh\b", "", code).replace("notebooks/zh/", "notebooks/")
    return code.replace("/lab/tree/zh/", "/lab/tree/")


def _fence_code(block: str, chinese: bool) -> list[str]:
    """A fenced block's lines without their comments (the Chinese may add EDITION=zh and notebooks/zh/)."""
    lines = []
    for line in block.strip().splitlines():
        code = line.split("#", 1)[0].rstrip() if "#" in line and not line.lstrip().startswith("#!") else line.rstrip()
        if chinese:
            code = _edition_neutral(code)
        lines.append(" ".join(code.split()))
    return lines


_CODE_LIKE = re.compile(r"`[^`\n]+`|[\w.]*[A-Za-z_]\w*(?:\([^()\n]*\)|\[[^\[\]\n]*\])|\b\w*_\w+\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def _comment_problems(unit: Unit, translation: str) -> list[str]:
    """A code comment's translation keeps its numbers and code (calls, indexing, snake_case names)."""
    problems = []
    english, chinese = unit.text, translation
    for kind, pattern in (("code", _CODE_LIKE), ("number", _NUMBER)):
        found_en = sorted(pattern.findall(english))
        found_zh = sorted(pattern.findall(chinese))
        lost, added = _multiset_minus(found_en, found_zh), _multiset_minus(found_zh, found_en)
        if lost or added:
            problems.append(f"{unit.where}: {kind}s differ (English only: {lost}, Chinese only: {added})")
        english, chinese = pattern.sub(" ", english), pattern.sub(" ", chinese)
    if "\n" not in unit.text and "\n" in translation.strip():
        problems.append(f"{unit.where}: a one-line comment's translation must be one line")
    return problems


def fidelity_problems(unit: Unit, translation: str) -> list[str]:
    """What a translation changed that it must keep: formulas, code, links, numbers, 00's Chinese terms."""
    if unit.kind == "comment":
        return _comment_problems(unit, translation)
    if is_fence(unit.text):
        if _fence_code(unit.text, False) != _fence_code(translation, True):
            return [f"{unit.where}: a code block's translation may change only its comments (and add EDITION=zh "
                    "or notebooks/zh/ paths)"]
        return []
    problems = []
    english, chinese = kept_spans(unit.text), kept_spans(translation)
    chinese["code"] = sorted(_edition_neutral(span) for span in chinese["code"])  # `make lab EDITION=zh` is `make lab`
    for kind in _KEPT:
        lost = _multiset_minus(english[kind], chinese[kind])
        added = _multiset_minus(chinese[kind], english[kind])
        if lost or added:
            problems.append(f"{unit.where}: {kind}s differ (English only: {lost}, Chinese only: {added})")
    terms = [t for t in _CHINESE.findall(unit.text) if t not in translation]
    if terms:
        problems.append(f"{unit.where}: the English pairs it with {terms}, the translation does not use them")
    return problems


def _multiset_minus(a: list[str], b: list[str]) -> list[str]:
    rest = list(b)
    out = []
    for item in a:
        if item in rest:
            rest.remove(item)
        else:
            out.append(item)
    return out


def currency_problems(notebook: Path, committed: Path, catalog=None) -> list[str]:
    """How ``committed`` (notebooks/zh/NAME) differs from what the build makes now.

    Cells whose text has no current translation are left out: each such paragraph is reported by
    its own check (``paragraph_problem``), so one changed English sentence fails one check.
    """
    import json

    import nbformat

    if not committed.exists():
        return [f"notebooks/zh/{notebook.name} is missing: run `make zh`"]
    built, incomplete = build_notebook(notebook, catalog)
    try:
        stored = nbformat.reads(committed.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same problem
        return [f"notebooks/zh/{notebook.name} is not a readable notebook ({exc}): run `make zh`"]
    problems = []
    if len(stored.cells) != len(built.cells):
        return [f"notebooks/zh/{notebook.name} has {len(stored.cells)} cells, the build {len(built.cells)}: run `make zh`"]
    for index, (mine, theirs) in enumerate(zip(stored.cells, built.cells)):
        if index in incomplete:
            continue
        if json.dumps(mine, sort_keys=True) != json.dumps(theirs, sort_keys=True):
            kind = "code cell or its outputs" if theirs.cell_type == "code" else "markdown"
            problems.append(f"notebooks/zh/{notebook.name}, cell {index} ({kind}) is not what the build makes: run `make zh`")
    if json.dumps(stored.metadata, sort_keys=True) != json.dumps(built.metadata, sort_keys=True):
        problems.append(f"notebooks/zh/{notebook.name}: metadata differ from the build: run `make zh`")
    if not problems and not incomplete and committed.read_text(encoding="utf-8") != notebook_text(built):
        problems.append(f"notebooks/zh/{notebook.name} is formatted differently from the build: run `make zh`")
    return problems


# --------------------------------------------------------------------------- command line


def _selected(keys: list[str]) -> list[Path]:
    notebooks = english_notebooks()
    if not keys:
        return notebooks
    chosen = [nb for nb in notebooks if nb.name[:2] in {k.zfill(2) for k in keys} or nb.name in keys]
    unknown = [k for k in keys if not any(nb.name[:2] == k.zfill(2) or nb.name == k for nb in notebooks)]
    if unknown:
        raise SystemExit(f"no notebook {', '.join(unknown)} in {english_dir()}; known: "
                         + " ".join(nb.name[:2] for nb in notebooks))
    return chosen


def status_lines(notebooks: list[Path]) -> list[str]:
    import nbformat

    lines = []
    for notebook in notebooks:
        catalog = read_catalog(catalog_path(notebook))
        states: dict[str, list[Unit]] = {}
        for unit in units(nbformat.read(notebook, as_version=4), notebook.name):
            states.setdefault(state_of(catalog, unit.text), []).append(unit)
        total = sum(map(len, states.values()))
        done = len(states.get("translated", []))
        lines.append(f"{notebook.name}: {done}/{total} paragraphs translated")
        for state in ("missing", "untranslated", "fuzzy"):
            for unit in states.get(state, []):
                lines.append(f"  {state}: {unit.where}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_helpers.translation", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["extract", "build", "status"])
    parser.add_argument("notebooks", nargs="*", metavar="NN", help="notebook numbers (default: all)")
    args = parser.parse_args(argv)
    notebooks = _selected(args.notebooks)
    if args.command == "extract":
        for notebook in notebooks:
            counts = extract(notebook)
            print(f"{catalog_path(notebook).relative_to(project_root())}: "
                  + ", ".join(f"{v} {k}" for k, v in counts.items()))
        return 0
    if args.command == "build":
        left = 0
        for notebook in notebooks:
            incomplete = build(notebook)
            left += len(incomplete)
            note = f" (cells {incomplete} still partly English: translate them in the catalog)" if incomplete else ""
            print(f"notebooks/zh/{notebook.name}{note}")
        if left:
            print("some paragraphs have no current translation: `python -m vae_helpers.translation status`",
                  file=sys.stderr)
        return 0
    print("\n".join(status_lines(notebooks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
