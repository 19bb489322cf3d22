"""The exercises' messages in Chinese: every message translated, placeholders kept, chosen by edition."""

from __future__ import annotations

import re

import pytest
import torch

from vae_helpers.exercises import i18n
from vae_helpers.exercises.core import Case, Exercise, Mistake

CHINESE = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh")
    yield
    i18n.set_language(None)


@pytest.mark.parametrize("module", i18n.modules())
def test_every_exercise_message_has_a_current_chinese_translation(module):
    problems = i18n.problems(module)
    assert not problems, "\n".join(problems)


def test_the_compiled_messages_are_current():
    assert i18n.COMPILED.exists(), "vae_helpers/exercises/messages_zh.json is missing: run `make zh`"
    assert i18n.COMPILED.read_text(encoding="utf-8") == i18n.compiled_text(), (
        "vae_helpers/exercises/messages_zh.json is not what the catalogs give: run `make zh`")


def _a_lesson_exercise_with_a_mistake():
    import importlib

    for name in i18n.lesson_modules():
        module = importlib.import_module(f"vae_helpers.exercises.{name}")
        for obj in vars(module).values():
            if isinstance(obj, Exercise) and obj.mistakes:
                return obj
    pytest.skip("no exercise with a catalogued mistake")


def test_a_chinese_check_of_a_known_mistake_names_it_in_chinese(chinese):
    exercise = _a_lesson_exercise_with_a_mistake()
    mistake = exercise.mistakes[0]
    result = exercise.check(mistake.fn, verbose=False)
    assert result.status == "incorrect" and result.mistake == mistake.name
    assert i18n._(mistake.name) != mistake.name, "the mistake's name has no Chinese translation"
    assert i18n._(mistake.name) in result.message and mistake.name not in result.message
    assert CHINESE.search(result.message)


def test_english_stays_english():
    i18n.set_language("en")
    try:
        exercise = _a_lesson_exercise_with_a_mistake()
        result = exercise.check(exercise.mistakes[0].fn, verbose=False)
        assert not CHINESE.search(result.message.replace("·", ""))
    finally:
        i18n.set_language(None)


def test_not_attempted_and_hints_in_chinese(chinese, capsys):
    exercise = _a_lesson_exercise_with_a_mistake()
    assert CHINESE.search(exercise.check(None, verbose=False).message)
    exercise.hint(1)
    exercise.hint(99)
    printed = capsys.readouterr().out
    assert printed.count("\n") >= 2 and CHINESE.search(printed)


def test_a_translated_template_keeps_its_placeholders():
    for module in i18n.MACHINERY:
        for text in i18n.texts_of(module):
            done = i18n._compiled().get(text)
            if done is not None:
                assert i18n.placeholders(done) == i18n.placeholders(text), text


def test_language_follows_the_folder_then_the_environment(tmp_path, monkeypatch):
    zh = tmp_path / "notebooks" / "zh"
    zh.mkdir(parents=True)
    monkeypatch.delenv(i18n.ENVIRONMENT, raising=False)
    monkeypatch.chdir(zh)
    assert i18n.language() == "zh"
    monkeypatch.chdir(zh.parent)
    monkeypatch.setenv(i18n.ENVIRONMENT, "zh")
    assert i18n.language() == "en"  # an English notebook's kernel stays English under EDITION=zh
    monkeypatch.chdir(tmp_path)
    assert i18n.language() == "zh"
    monkeypatch.setenv(i18n.ENVIRONMENT, "fr")
    assert i18n.language() == "en"
    with pytest.raises(ValueError, match="use 'en'"):
        i18n.set_language("fr")


def test_a_copy_of_the_chinese_edition_is_chinese_too(tmp_path, monkeypatch):
    copy = tmp_path / "notebooks"  # e.g. the browser test serves notebooks/zh/ from a folder named notebooks
    (copy / "po").mkdir(parents=True)
    (copy / "po" / "00_overview_and_setup.po").write_text("", encoding="utf-8")
    monkeypatch.delenv(i18n.ENVIRONMENT, raising=False)
    monkeypatch.chdir(copy)
    assert i18n.language() == "zh"


def test_a_stale_translation_fails_and_names_itself(tmp_path, monkeypatch):
    polib = pytest.importorskip("polib")
    monkeypatch.setattr(i18n, "CATALOGS", tmp_path)
    texts = i18n.texts_of("core")
    catalog = polib.POFile(wrapwidth=0)
    for text in texts:
        catalog.append(polib.POEntry(msgid=text, msgstr="译：" + text))
    stale = next(e for e in catalog if "not attempted yet" in e.msgid)
    stale.flags.append("fuzzy")
    broken = next(e for e in catalog if "{" in e.msgid and e is not stale)
    broken.msgstr = "译：没有占位符"
    catalog.save(str(tmp_path / "core.po"))
    problems = i18n.problems("core")
    assert len(problems) == 2
    assert "fuzzy" in problems[0] or "fuzzy" in problems[1]
    assert any("placeholders" in p for p in problems)


def test_a_stored_not_attempted_output_is_translated():
    text = i18n._compiled().get("not attempted yet: write the function above, then run this cell.")
    if text is None:
        pytest.fail("the 'not attempted' message has no Chinese translation: make zh-extract, translate, make zh")
    line = "· kl_exercise: not attempted yet: write the function above, then run this cell.\n"
    assert i18n.translate_output(line) == f"· kl_exercise: {text}\n"
    assert i18n.translate_output("tensor(3.)\n") == "tensor(3.)\n"


def test_a_mistake_pointer_names_the_hint_in_both_languages(chinese):
    exercise = Exercise("double", lambda x: 2 * x, [Case((1.0,)), Case((3.0,))], ["h1", "h2"], lesson="lesson00",
                        mistakes=[Mistake("tripled", "3 is not 2", lambda x: 3 * x, hint=2)])
    result = exercise.check(lambda x: 3 * x, verbose=False)
    assert ".hint(2)" in result.message and result.mistake == "tripled"


def test_a_solution_is_printed_with_its_docstring_translated(monkeypatch):
    from vae_helpers.exercises.core import _translated_source

    source = 'def f(x):\n    """Twice x.\n\n    Because two."""\n    return 2 * x  # double\n'
    monkeypatch.setattr(i18n, "_compiled", lambda: {"Twice x.\n\nBecause two.": "x 的两倍。\n\n因为是二。"})
    i18n.set_language("zh")
    try:
        shown = _translated_source(source)
    finally:
        i18n.set_language(None)
    assert "x 的两倍。" in shown and "因为是二。" in shown and "Twice" not in shown
    assert "return 2 * x  # double" in shown  # the code stays as written
    compile(shown, "<solution>", "exec")


def test_a_solution_is_printed_with_its_comments_translated(monkeypatch):
    from vae_helpers.exercises.core import _translated_source

    source = ("def f(x):\n    # the first half\n    # of one sentence\n    y = 2 * x  # double\n"
              "    s = '# not a comment'\n    return y  # untranslated\n")
    monkeypatch.setattr(i18n, "_compiled", lambda: {"the first half of one sentence": "一句话\n分两行", "double": "加倍"})
    i18n.set_language("zh")
    try:
        shown = _translated_source(source)
    finally:
        i18n.set_language(None)
    assert shown.splitlines()[1:4] == ["    # 一句话", "    # 分两行", "    y = 2 * x  # 加倍"]
    assert "s = '# not a comment'" in shown and "return y  # untranslated" in shown
    compile(shown, "<solution>", "exec")
    i18n.set_language("en")
    try:
        assert _translated_source(source) == source  # English: exactly as written
    finally:
        i18n.set_language(None)


def test_every_comment_a_chinese_solution_prints_is_chinese(capsys):
    """Each solution's comments come out in Chinese (or are maths the catalog keeps as is)."""
    import importlib

    i18n.set_language("zh")
    try:
        for name in i18n.lesson_modules():
            module = importlib.import_module(f"vae_helpers.exercises.{name}")
            for exercise in {id(o): o for o in vars(module).values() if hasattr(o, "solution_name")}.values():
                exercise.solution()
    finally:
        i18n.set_language(None)
    printed = capsys.readouterr().out.splitlines()
    comments = [line.split("# ", 1)[1] for line in printed if "# " in line]
    identifier = r"[A-Za-z_][A-Za-z0-9_]*"
    names = set(re.findall(identifier, "\n".join(line.split("#")[0] for line in printed)))  # the code's own names
    english = [c for c in comments if not re.search(r"[\u4e00-\u9fff]", c)
               and any(re.search("[A-Za-z]{4,}", w) and w not in names for w in re.findall(identifier, c))]
    assert comments and not english, f"solution comments still in English in the Chinese edition: {english[:5]}"


def test_a_confirmed_check_is_said_in_the_readers_language(capsys, monkeypatch):
    from vae_helpers.default_run import DefaultRun

    monkeypatch.setattr(i18n, "_compiled", lambda: {"the sums agree": "两个和一致"})
    for language, expected in (("en", "✓ the sums agree\n"), ("zh", "✓ 两个和一致\n")):
        i18n.set_language(language)
        try:
            DefaultRun("00_x").confirm("the sums agree")
        finally:
            i18n.set_language(None)
        assert capsys.readouterr().out == expected


def test_check_cells_say_a_passed_check_through_run_confirm():
    """A check cell's own ✓ line goes through RUN.confirm, so the Chinese edition shows it in Chinese."""
    import json
    from pathlib import Path

    found = []
    for path in sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] == "code" and re.search(r"print\(f?[\"']✓", "".join(cell["source"])):
                found.append(f"{path.name} cell {index}")
    assert not found, f"print('✓ …') in {found}: write RUN.confirm('…') (its text goes to default_run.po)"
    assert i18n._confirmed_in_notebooks(), "no RUN.confirm text found in the lessons"


def test_a_wrong_item_of_a_returned_tuple_is_named_by_its_position(chinese):
    from vae_helpers.exercises.core import difference

    message = difference((1.0, torch.tensor([0.7, 2.0])), (1.0, torch.tensor([0.5, 2.0])), 1e-6, 1e-6, None, False)
    assert message == "结果的第 2 项在下标 [0] 处是 0.7，偏大", message
    i18n.set_language("en")
    message = difference((1.0, torch.tensor([0.7, 2.0])), (1.0, torch.tensor([0.5, 2.0])), 1e-6, 1e-6, None, False)
    assert message.startswith("item 2 of the result at index [0] is 0.7"), message
