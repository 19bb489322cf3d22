"""One Chinese term per concept: the notebooks use the terms of notebook 00's glossary · 术语表.

The glossary is the table under "Glossary · 术语表" in notebook 00: an English column (a term, with
other English names in parentheses, e.g. "evidence lower bound (ELBO)") and a 中文 column (one term).
For every notebook's markdown, outside headings:

- a pair "English · 中文" or "English (中文)" whose English ends with a glossary term must use that
  term's Chinese (the mismatch names notebook, cell, English and both Chinese terms);
- every other run of Chinese characters must be a glossary term (so a new word is added to the
  glossary, not invented in a lesson).

Headings (and bold labels such as "**What you will learn · 本节内容**") translate phrases, so their
Chinese need not be glossary terms, but a heading whose English *is* a glossary term uses its Chinese.
Notebook titles must carry the Chinese title of the series map in notebook 00.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

PROJECT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
OVERVIEW = PROJECT / "notebooks" / "00_overview_and_setup.ipynb"

CJK = "\u4e00-\u9fff"
#: a Chinese term: an optional acronym written against it (KL散度), then Chinese characters
TERM = re.compile(rf"(?:[A-Z]{{2,}})?[{CJK}](?:[{CJK}α-ω]*[{CJK}])?")
#: words that talk about the two languages themselves
META = {"中文"}
ARTICLES = ("the ", "a ", "an ")


def _cells(path: Path) -> list[tuple[int, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(i, c.source) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def _table_after(heading: str) -> list[list[str]]:
    """The rows (lists of cells) of the first markdown table after a line starting with `heading`."""
    for _, source in _cells(OVERVIEW):
        lines = source.splitlines()
        starts = [k for k, line in enumerate(lines) if line.startswith(heading)]
        if not starts:
            continue
        rows = []
        for line in lines[starts[0] + 1:]:
            if line.startswith("|"):
                rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
            elif rows:
                break
        return [r for r in rows[2:]]  # drop the header and the |---| line
    raise AssertionError(f"notebook 00 has no table after a line starting with {heading!r}")


def _english_names(cell: str) -> list[str]:
    """'evidence lower bound (ELBO)' → ['evidence lower bound', 'elbo']."""
    main = re.sub(r"\(.*?\)", "", cell).strip()
    extra = re.findall(r"\((.*?)\)", cell)
    names = [main] + [n.strip() for group in extra for n in group.split(",")]
    return [_normal(n) for n in names if n.strip()]


def _normal(english: str) -> str:
    english = english.lower().replace("-", " ").replace("’", "'")
    english = re.sub(r"[*`_$]", "", english)
    return re.sub(r"\s+", " ", english).strip()


def glossary() -> dict[str, str]:
    """English name (normalised) → its one Chinese term."""
    terms: dict[str, str] = {}
    for row in _table_after("## Appendix B · Glossary"):
        english, chinese = row[0], row[1]
        for name in _english_names(english):
            assert name not in terms, f"glossary: {name!r} has two rows"
            terms[name] = chinese
    return terms


def series_titles() -> dict[str, str]:
    """Notebook number → the Chinese title in the series map of notebook 00."""
    return {row[0]: row[2] for row in _table_after("## 2 · The map of the series")}


def _glossary_term_of(english: str, terms: dict[str, str]) -> str | None:
    """The glossary name that `english` ends with (longest first), plural forms included."""
    words = _normal(english).split()
    for start in range(len(words)):
        tail = " ".join(words[start:])
        for form in (tail, tail[:-1] if tail.endswith("s") else None, tail[:-2] if tail.endswith("es") else None):
            if form and form in terms:
                return form
    return None


def _is_heading(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith("#") or bool(re.match(rf"\*\*[^*]*·\s*[{CJK}][^*]*\*\*", stripped))


def _english_before(text: str) -> str:
    """The words just before a Chinese term: 'the **decoder** · ' → 'decoder'."""
    text = re.sub(r"[\s·(（*]+$", "", text)
    match = re.search(r"[A-Za-z][A-Za-z0-9'’\- ]*$", text)
    return match.group(0).strip() if match else ""


def problems_in(path: Path, terms: dict[str, str], titles: dict[str, str]) -> list[str]:
    chinese_terms = set(terms.values()) | META
    found = []
    for index, source in _cells(path):
        for line in source.splitlines():
            if line.startswith("|") and path == OVERVIEW:
                continue  # the glossary and the series map define the terms
            line = re.sub(rf"\b([A-Z]{{2,}}) (?=[{CJK}])", r"\1", line)  # "KL 散度" is "KL散度"
            heading = _is_heading(line)
            for match in TERM.finditer(line):
                chinese = match.group(0)
                before = line[max(0, match.start() - 80):match.start()]
                paired = bool(re.search(r"(·|\(|（)\s*\**\s*$", before))
                english = _english_before(before) if paired else ""
                if heading:
                    segment = re.split(r"·|#|\*\*", before)
                    english = segment[-2].strip() if paired and len(segment) >= 2 else ""
                    english = re.sub(r"^\d+(\.\d+)*\s*", "", english)
                    for article in ARTICLES:
                        english = english[len(article):] if english.lower().startswith(article) else english
                    name = _normal(english) if _normal(english) in terms else None
                else:
                    name = _glossary_term_of(english, terms) if english else None
                where = f"{path.stem}, cell {index}"
                if name is not None and terms[name] != chinese:
                    found.append(f"{where}: '{english}' is paired with {chinese}; the glossary says {terms[name]}")
                elif name is None and not heading and chinese not in chinese_terms:
                    found.append(f"{where}: {chinese} is not a glossary term")
    return found


def test_the_glossary_has_one_term_per_concept():
    terms = glossary()
    assert len(terms) > 60
    rows = _table_after("## Appendix B · Glossary")
    chinese = [row[1] for row in rows]
    repeated = sorted({c for c in chinese if chinese.count(c) > 1})
    assert not repeated, f"a Chinese term names two rows of the glossary: {repeated}"
    for row in rows:
        assert TERM.fullmatch(row[1]), f"glossary: {row[1]!r} is not one Chinese term"
    for concept in ("posterior collapse", "aggregate posterior", "amortization gap", "importance weighted bound",
                    "bits per dimension", "mixed precision", "evidence lower bound", "reparameterization trick"):
        assert concept in terms, f"the glossary lacks {concept!r}"


def test_the_checker_catches_a_wrong_pair_and_a_stray_term(tmp_path):
    terms, titles = glossary(), series_titles()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# 99 · A test · 测试\n\nThe **posterior collapse** · 后验坍塌 of a unit, and a 隐变量 without a pair.\n"
        "## 1 · Posterior collapse · 后验坍塌\n\nThe **decoder** · 解码器 and the **latent variables** · 潜变量 are fine.")]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    found = problems_in(path, terms, titles)
    assert len(found) == 3, found
    assert "'posterior collapse' is paired with 后验坍塌; the glossary says 后验坍缩" in found[0]
    assert "隐变量 is not a glossary term" in found[1]


def test_titles_match_the_series_map():
    titles = series_titles()
    missing = []
    for path in NOTEBOOKS:
        number = path.stem[:2]
        first = nbformat.read(path, as_version=4).cells[0].source.splitlines()[0]
        chinese = first.rsplit("·", 1)[-1].strip()
        if titles.get(number) != chinese:
            missing.append(f"{path.stem}: title {chinese!r}, series map {titles.get(number)!r}")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_chinese_terms_are_the_glossarys(path):
    found = problems_in(path, glossary(), series_titles())
    assert not found, f"{len(found)} term(s) in {path.name} disagree with the glossary of notebook 00:\n" + "\n".join(found)
