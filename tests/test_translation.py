"""The Chinese edition (notebooks/zh/) is complete and current, and its machinery works.

One check per English paragraph: it has a current (translated, not fuzzy) entry in its catalog,
notebooks/zh/po/NN_name.po. One check per notebook: notebooks/zh/NN_name.ipynb is what
`make zh` builds (cells left partly English are the paragraph checks' business, so one changed
English sentence fails exactly one check). One per notebook: translations keep the formulas, code,
links, numbers and 00's Chinese terms of their English.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import polib
import pytest

from vae_helpers import translation as tr
from vae_helpers.checkpoint import OutputError

NOTEBOOKS = tr.english_notebooks()
UNITS = [(nb, unit) for nb in NOTEBOOKS for unit in tr.units(nbformat.read(nb, as_version=4), nb.name)]
_CATALOGS: dict[Path, object] = {}


def catalog_for(notebook: Path):
    if notebook not in _CATALOGS:
        _CATALOGS[notebook] = tr.read_catalog(tr.catalog_path(notebook))
    return _CATALOGS[notebook]


def _rel(path: Path) -> str:
    return str(path.relative_to(tr.project_root()))


@pytest.mark.parametrize(
    "notebook,unit", UNITS, ids=[f"{u.notebook[:2]}-cell{u.cell}-p{u.paragraph}" for _, u in UNITS]
)
def test_paragraph_has_a_current_translation(notebook, unit):
    problem = tr.paragraph_problem(unit, catalog_for(notebook), _rel(tr.catalog_path(notebook)))
    assert problem is None, problem


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name[:2] for nb in NOTEBOOKS])
def test_chinese_notebook_is_what_the_build_makes(notebook):
    problems = tr.currency_problems(notebook, tr.chinese_dir() / notebook.name, catalog_for(notebook))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.name[:2] for nb in NOTEBOOKS])
def test_translations_keep_formulas_code_links_numbers_and_terms(notebook):
    catalog = catalog_for(notebook)
    problems = []
    for nb, unit in UNITS:
        if nb == notebook and (done := tr.translation_of(catalog, unit.text)) is not None:
            problems += tr.fidelity_problems(unit, done)
    assert not problems, "\n".join(problems)


def test_no_chinese_notebook_without_an_english_one():
    english = {nb.name for nb in NOTEBOOKS}
    strays = [p.name for p in tr.chinese_dir().glob("*.ipynb") if p.name not in english]
    strays += [p.name for p in tr.catalog_dir().glob("*.po") if p.stem + ".ipynb" not in english]
    assert not strays, f"notebooks/zh has files of no English notebook: {strays} (delete them)"


# --------------------------------------------------------------------------- the machinery

TRICKY = """# Title · 标题

First paragraph,
two lines.

```python
x = 1

y = 2
```

$$
a = b

c = d
$$

<details><summary>Hint</summary>

Inside the hint.

</details>
- item one
- item two
"""


def test_paragraphs_split_at_blank_lines_but_never_inside_code_or_display_math():
    blocks = [TRICKY[a:b] for a, b in tr.split_blocks(TRICKY)]
    assert blocks[0] == "# Title · 标题"
    assert blocks[1] == "First paragraph,\ntwo lines."
    assert blocks[2].startswith("```python") and blocks[2].endswith("```") and "y = 2" in blocks[2]
    assert blocks[3].startswith("$$") and "c = d" in blocks[3]
    assert blocks[5] == "Inside the hint."
    assert blocks[6] == "</details>\n- item one\n- item two"
    prose = [b for b in blocks if tr.is_prose(b)]
    assert blocks[2] not in prose and blocks[3] not in prose  # code and formulas are not translated
    assert "<details><summary>Hint</summary>" in prose  # the word Hint is


def test_markdown_with_no_catalog_entries_comes_back_unchanged():
    text, missing = tr.translate_markdown(TRICKY, polib.POFile())
    assert text == TRICKY
    assert missing == [b for b in (TRICKY[a:b] for a, b in tr.split_blocks(TRICKY)) if tr.is_prose(b)]


def test_links_out_of_notebooks_get_one_more_level():
    catalog = polib.POFile()
    catalog.append(polib.POEntry(msgid="See [the README](../README.md).", msgstr="见 [README](../README.md)。"))
    text, missing = tr.translate_markdown("See [the README](../README.md).\n\n[05](05_x.ipynb)", catalog)
    assert text == "见 [README](../../README.md)。\n\n[05](05_x.ipynb)"
    assert missing == []


def _project(tmp_path, monkeypatch, source: str) -> Path:
    """A copy of one notebook in a temporary project laid out as the real one."""
    (tmp_path / "notebooks").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(source), nbformat.v4.new_code_cell("print(1)")]
    path = tmp_path / "notebooks" / "00_demo.ipynb"
    nbformat.write(nb, path)
    monkeypatch.setattr(tr, "project_root", lambda: tmp_path)
    return path


def _translate_all(path: Path, prefix: str = "译：") -> None:
    catalog = polib.pofile(str(tr.catalog_path(path)))
    for entry in catalog:
        if not entry.obsolete:
            entry.msgstr, entry.flags = prefix + entry.msgid, []
    catalog.save()


def _failing_checks(path: Path) -> list[str]:
    """What the three kinds of test above would report for the one notebook at ``path``."""
    catalog = tr.read_catalog(tr.catalog_path(path))
    nb = nbformat.read(path, as_version=4)
    found = [p for u in tr.units(nb, path.name) if (p := tr.paragraph_problem(u, catalog, "cat.po"))]
    found += tr.currency_problems(path, tr.chinese_dir() / path.name, catalog)
    return found


def test_changing_one_english_sentence_fails_exactly_one_check_naming_it(tmp_path, monkeypatch):
    path = _project(tmp_path, monkeypatch, "# Demo\n\nThe first paragraph.\n\nThe second one says two things.")
    tr.extract(path)
    _translate_all(path)
    tr.build(path)
    assert _failing_checks(path) == []

    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = nb.cells[0].source.replace("says two things", "says three things")
    nbformat.write(nb, path)
    found = _failing_checks(path)
    assert len(found) == 1, found
    assert "00_demo.ipynb, cell 0, paragraph 3" in found[0] and "not in the catalog" in found[0]

    counts = tr.extract(path)  # the old translation comes back, marked fuzzy, with the old English
    assert counts == {"kept": 2, "fuzzy": 1, "new": 0, "obsolete": 1}
    entry = polib.pofile(str(tr.catalog_path(path))).find("The second one says three things.")
    assert entry.flags == ["fuzzy"] and entry.msgstr == "译：The second one says two things."
    assert entry.previous_msgid == "The second one says two things."
    found = _failing_checks(path)
    assert len(found) == 1 and "paragraph 3" in found[0] and "fuzzy" in found[0], found

    _translate_all(path, "新译：")
    assert [p for p in _failing_checks(path) if "paragraph" in p] == []
    assert any("is not what the build makes" in p for p in _failing_checks(path))  # not rebuilt yet
    tr.build(path)
    assert _failing_checks(path) == []


def test_a_code_change_in_english_makes_the_chinese_notebook_stale(tmp_path, monkeypatch):
    path = _project(tmp_path, monkeypatch, "# Demo\n\nWords.")
    tr.extract(path)
    _translate_all(path)
    tr.build(path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = "print(2)"
    nbformat.write(nb, path)
    assert _failing_checks(path) == ["notebooks/zh/00_demo.ipynb, cell 1 (code cell or its outputs) "
                                     "is not what the build makes: run `make zh`"]


def test_built_notebook_has_english_code_and_chinese_markdown(tmp_path, monkeypatch):
    path = _project(tmp_path, monkeypatch, "# Demo\n\nWords.")
    tr.extract(path)
    _translate_all(path)
    assert tr.build(path) == []
    zh = nbformat.read(tr.chinese_dir() / path.name, as_version=4)
    assert zh.cells[1].source == "print(1)"
    assert zh.cells[0].source.startswith("译：# Demo\n\n译：Words.\n\n> 本课图中的标签")  # the figures speak English
    assert "\n\n> 维护者注" in zh.cells[0].source  # the maintainers' note closes the last markdown cell
    assert zh.metadata["vae_notebooks"]["generated_from"] == "../00_demo.ipynb"


def test_an_unreadable_catalog_names_itself_and_the_fix(tmp_path):
    bad = tmp_path / "00_demo.po"
    bad.write_text('msgid "a"\nmsgstr "b"\nbogus line\n')
    with pytest.raises(SystemExit, match="00_demo.po is not a readable gettext catalog"):
        tr.read_catalog(bad)


def test_extract_writes_atomically_and_keeps_the_old_catalog_on_failure(tmp_path, monkeypatch):
    path = _project(tmp_path, monkeypatch, "# Demo\n\nWords.")
    tr.extract(path)
    before = tr.catalog_path(path).read_text()

    def disk_full(_catalog):  # fails while the temporary file is open, after it was created
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tr, "catalog_text", disk_full)
    with pytest.raises(OutputError, match="could not write .*00_demo.po: No space left on device"):
        tr.extract(path)
    assert tr.catalog_path(path).read_text() == before
    assert [p.name for p in tr.catalog_dir().iterdir()] == ["00_demo.po"]


def test_fidelity_check_names_what_a_translation_lost():
    unit = tr.Unit("00_demo.ipynb", 3, 1, "The **KL** · 散度 of $q$ is `kl(q)`: 4.57 nats ([05](05_x.ipynb)).")
    assert tr.fidelity_problems(unit, "$q$ 的 **KL 散度**是 `kl(q)`：4.57 奈特（[05](05_x.ipynb)）。") == []
    problems = tr.fidelity_problems(unit, "$p$ 的 KL 是 `kl(q)`：4.6 奈特（[05](05_x.ipynb)）。")
    joined = "\n".join(problems)
    assert "formulas differ (English only: ['$q$'], Chinese only: ['$p$'])" in joined
    assert "numbers differ (English only: ['4.57'], Chinese only: ['4.6'])" in joined
    assert "['散度']" in joined


def test_the_catalogs_are_gettext_files():
    for path in sorted(tr.catalog_dir().glob("*.po")):
        catalog = polib.pofile(str(path))
        assert catalog.metadata.get("Language") == tr.LANGUAGE, f"{_rel(path)}: Language is not {tr.LANGUAGE}"
        assert "charset=UTF-8" in catalog.metadata.get("Content-Type", ""), f"{_rel(path)}: not UTF-8"
    if shutil.which("msgfmt"):
        import subprocess

        for path in sorted(tr.catalog_dir().glob("*.po")):
            done = subprocess.run(["msgfmt", "--check-format", "-o", "/dev/null", str(path)],
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"msgfmt rejects {_rel(path)}:\n{done.stderr}"


def test_a_code_block_translates_its_comments_and_may_name_the_chinese_edition():
    block = "```bash\nmake lab   # opens JupyterLab on the lessons\nmake run   # runs every lesson\n```"
    assert tr.is_prose(block) and not tr.is_prose("```python\nx = 1  # vae_helpers/toy.py\n```")
    unit = tr.Unit("00_demo.ipynb", 3, 1, block)
    good = "```bash\nmake lab EDITION=zh   # 打开中文版课程\nmake run EDITION=zh   # 运行每一课\n```"
    assert tr.fidelity_problems(unit, good) == []
    bad = "```bash\nmake lab --port 1   # 打开课程\nmake run   # 运行每一课\n```"
    assert "may change only its comments" in tr.fidelity_problems(unit, bad)[0]


def test_text_labels_inside_formulas_may_be_translated_and_nothing_else():
    unit = tr.Unit("00_demo.ipynb", 3, 1, r"The bound is $\text{ELBO} = \log p(x) - \text{gap}$ here.")
    assert tr.fidelity_problems(unit, r"下界是 $\text{证据下界} = \log p(x) - \text{间隙}$。") == []
    assert tr.fidelity_problems(unit, r"下界是 $\text{证据下界} = \log q(x) - \text{间隙}$。") != []


def test_inline_code_may_point_to_the_chinese_edition():
    unit = tr.Unit("00_demo.ipynb", 3, 1, "Open `notebooks/04_kl.ipynb` with `make lab`.")
    assert tr.fidelity_problems(unit, "用 `make lab EDITION=zh` 打开 `notebooks/zh/04_kl.ipynb`。") == []
    assert tr.fidelity_problems(unit, "用 `make lab` 打开 `notebooks/05_x.ipynb`。") != []


def test_a_display_formula_is_translated_only_for_its_text_labels():
    assert tr.is_prose("$$\\mathrm{ELBO} = \\underbrace{a}_{\\text{reconstruction term}} - b$$")
    assert not tr.is_prose("$$\\log p(x) = \\log \\int p(x\\mid z)\\,p(z)\\,dz$$")
    unit = tr.Unit("00_demo.ipynb", 3, 1, "$$a = \\underbrace{b}_{\\text{approximation gap}} + 1$$")
    assert tr.fidelity_problems(unit, "$$a = \\underbrace{b}_{\\text{近似差距}} + 1$$") == []
    assert tr.fidelity_problems(unit, "$$a = \\underbrace{b}_{\\text{近似差距}} + 2$$") != []


def test_a_code_cells_comments_are_units_and_only_they_change(tmp_path, monkeypatch):
    code = ('x = 1  # the first value, [N, 784]\n# a block comment\n# over two lines\nif x:\n'
            '    y = "# not a comment"  # NBVAL_IGNORE_OUTPUT\n    # call ex.hint(2) next')
    assert [c.text for c in tr.code_comments(code)] == [
        "the first value, [N, 784]", "a block comment\nover two lines", "call ex.hint(2) next"]
    path = _project(tmp_path, monkeypatch, "# Demo\n\nWords.")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = code
    nbformat.write(nb, path)
    tr.extract(path)
    _translate_all(path)
    assert tr.build(path) == []
    zh = nbformat.read(tr.chinese_dir() / path.name, as_version=4).cells[1].source
    assert zh == ('x = 1  # 译：the first value, [N, 784]\n# 译：a block comment\n# over two lines\nif x:\n'
                  '    y = "# not a comment"  # NBVAL_IGNORE_OUTPUT\n    # 译：call ex.hint(2) next')


def test_a_comments_translation_keeps_its_code_and_numbers():
    unit = tr.Unit("00_demo.ipynb", 3, 1, "pass post_cov[None] as cov, 3 times", "comment")
    assert tr.fidelity_problems(unit, "把 post_cov[None] 作为 cov 传入，共 3 次") == []
    problems = "\n".join(tr.fidelity_problems(unit, "把 post_cov 作为 cov 传入，共 4 次\n两行"))
    assert "post_cov[None]" in problems and "['3']" in problems and "must be one line" in problems


def test_a_cell_the_tokenizer_cannot_read_keeps_its_comments():
    assert tr.code_comments('s = """unclosed  # not a comment') == []
