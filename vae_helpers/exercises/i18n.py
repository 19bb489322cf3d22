"""The exercises' messages in the reader's language: English in the code, Chinese from catalogs.

Every text a learner reads from an exercise (verdicts, hints, named mistakes and why they are wrong,
a prediction's reveal, the line before a solution) is written in English where it is defined. The
Chinese comes from gettext catalogs, one per module, ``vae_helpers/exercises/po/<module>.po``; the
build compiles the current translations into ``messages_zh.json`` next to this file, so a reader's
kernel needs no gettext library.

    python -m vae_helpers.exercises.i18n extract   # new/changed English → the catalogs (old → fuzzy)
    python -m vae_helpers.exercises.i18n build     # the catalogs → messages_zh.json
    python -m vae_helpers.exercises.i18n status    # what is untranslated or out of date

Which language: ``set_language("zh")`` when called; otherwise Chinese when the kernel runs in
``notebooks/zh/`` or a copy of it (a folder holding po/NN_*.po; JupyterLab starts a notebook's kernel in its folder) or when the environment says
``VAE_NOTEBOOKS_LANG=zh`` (``make lab EDITION=zh`` and ``make run EDITION=zh`` set it); else English.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import re
import string
import sys
from functools import lru_cache
from pathlib import Path

LANGUAGES = ("en", "zh")
ENVIRONMENT = "VAE_NOTEBOOKS_LANG"
HERE = Path(__file__).resolve().parent
CATALOGS = HERE / "po"
COMPILED = HERE / "messages_zh.json"
# The modules whose texts a learner reads: the machinery (templates marked with _ or N_) and the lessons.
MACHINERY = ("core", "diagnose", "default_run")  # default_run: the lessons' check-cell lines
_chosen: str | None = None


def N_(text: str) -> str:
    """Mark ``text`` for translation where it is defined; ``_`` translates it where it is shown."""
    return text


def set_language(language: str | None) -> None:
    """Show exercise messages in ``language`` ("en" or "zh"); None goes back to the automatic choice."""
    global _chosen
    if language is not None and language not in LANGUAGES:
        raise ValueError(f"language {language!r} is not one of {LANGUAGES}: use 'en' (English) or 'zh' (中文)")
    _chosen = language


def _is_chinese_edition(folder: Path) -> bool:
    """A folder of the Chinese edition's notebooks: it holds their catalogs, po/NN_*.po (a copy of notebooks/zh/)."""
    try:
        return any((folder / "po").glob("[0-9][0-9]_*.po"))
    except OSError:
        return False


def language() -> str:
    """The language messages are shown in now (see the module's docstring for how it is chosen)."""
    if _chosen is not None:
        return _chosen
    cwd = Path.cwd()
    if (cwd.name == "zh" and cwd.parent.name == "notebooks") or _is_chinese_edition(cwd):
        return "zh"
    if cwd.name == "notebooks":
        return "en"
    wanted = os.environ.get(ENVIRONMENT, "en").strip().lower()[:2]
    return wanted if wanted in LANGUAGES else "en"


@lru_cache(maxsize=1)
def _compiled() -> dict[str, str]:
    try:
        return json.loads(COMPILED.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # no Chinese yet: English everywhere, never an error


def _(text: str, /, **values) -> str:
    """``text`` in the reader's language; with ``values``, its {placeholders} filled in."""
    if language() == "zh":
        text = _compiled().get(text, text)
    return text.format(**values) if values else text


# --------------------------------------------------------------------------- what there is to translate


def lesson_modules() -> list[str]:
    return sorted(p.stem for p in HERE.glob("lesson[0-9][0-9].py"))


def _marked_strings(path: Path) -> list[str]:
    """The string literals passed to ``_`` or ``N_`` in the source file ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append(node.args[0].value)
    return found


def _lesson_texts(name: str) -> list[str]:
    """Every text of the exercises defined in ``vae_helpers.exercises.<name>``, in order."""
    from .core import Exercise, Prediction

    module = importlib.import_module(f"{__package__}.{name}")
    texts: list[str] = _marked_strings(HERE / f"{name}.py")  # templates filled in at check time
    for obj in vars(module).values():
        if isinstance(obj, Exercise):
            texts += obj.hints
            for mistake in obj.mistakes:
                texts += [mistake.name, mistake.why]
            texts += [case.label for case in obj.cases() if case.label]
        elif isinstance(obj, Prediction):
            if not isinstance(getattr(type(obj), "explain", None), property):  # a measured one is a template
                texts.append(obj.explain)
            texts += obj.hints
            traps = getattr(obj, "_traps", None) or obj.mistakes  # a measured prediction's traps: all of them
            texts += [why for why in traps.values() if isinstance(why, str)]
    return texts


def _solution_texts() -> list[str]:
    """The docstrings and comments of the reference solutions (solutions/lessonNN.py), which ``.solution()`` prints."""
    from .core import comment_blocks

    found = []
    for path in sorted((HERE.parents[1] / "solutions").glob("lesson[0-9][0-9].py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if ast.get_docstring(node):
                    found.append(ast.get_docstring(node))
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                function = "\n".join(lines[start - 1: node.end_lineno]) + "\n"
                found += [block[-1] for block in comment_blocks(function)]
    return found


def _confirmed_in_notebooks() -> list[str]:
    """The texts the English lessons' check cells pass to ``RUN.confirm`` (printed as ``✓ text``)."""
    found = []
    for path in sorted((HERE.parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            try:
                tree = ast.parse("".join(cell["source"]))
            except SyntaxError:  # IPython magics: such a cell confirms nothing
                continue
            found += [node.args[0].value for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr == "confirm" and node.args and isinstance(node.args[0], ast.Constant)
                      and isinstance(node.args[0].value, str)]
    return found


def texts_of(module: str) -> list[str]:
    """The distinct English texts of ``module`` ("core", "diagnose", "default_run", "solutions" or "lessonNN")."""
    if module == "solutions":
        return list(dict.fromkeys(_solution_texts()))
    raw = _marked_strings(_source(module)) if module in MACHINERY else _lesson_texts(module)
    if module == "default_run":
        raw += _confirmed_in_notebooks()
    return list(dict.fromkeys(t for t in raw if t.strip()))


def _source(module: str) -> Path:
    return HERE.parent / "default_run.py" if module == "default_run" else HERE / f"{module}.py"


def modules() -> list[str]:
    extra = ["solutions"] if (HERE.parents[1] / "solutions").is_dir() else []  # a source checkout has them
    return [*MACHINERY, *lesson_modules(), *extra]


def catalog_path(module: str) -> Path:
    return CATALOGS / f"{module}.po"


def placeholders(text: str) -> list[str]:
    """The {names} a message template fills in (sorted, with repeats)."""
    try:
        return sorted(field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None)
    except ValueError:
        return []


# --------------------------------------------------------------------------- catalogs


def _header(polib, module: str):
    catalog = polib.POFile(wrapwidth=0)
    catalog.metadata = {
        "Project-Id-Version": f"vae-notebooks exercises/{module}",
        "Language": "zh_CN",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    catalog.header = (
        f"Simplified Chinese of the exercise messages in vae_helpers/exercises/{module}.py.\n"
        "Keep every {placeholder} as it is. Update with `make zh-extract`, translate, then `make zh`."
    )
    return catalog


def extract(module: str) -> dict[str, int]:
    """Bring ``module``'s catalog up to date with its English texts; returns the counts."""
    from .. import translation

    polib = translation._polib()
    path = catalog_path(module)
    old = translation.read_catalog(path)
    new = _header(polib, module)
    texts = texts_of(module)
    current = set(texts)
    unused = [e for e in old if e.msgid and e.msgid not in current and e.msgstr.strip()]
    counts = {"kept": 0, "fuzzy": 0, "new": 0, "obsolete": 0}
    for text in texts:
        entry = polib.POEntry(msgid=text, msgstr="")
        if "{" in text and placeholders(text):
            entry.flags = ["python-brace-format"]
        previous = old.find(text, include_obsolete_entries=True)
        if previous is not None and previous.msgid == text:
            entry.msgstr, entry.tcomment = previous.msgstr, previous.tcomment
            if "fuzzy" in previous.flags:
                entry.flags.append("fuzzy")
                entry.previous_msgid = previous.previous_msgid
            counts["fuzzy" if "fuzzy" in entry.flags else "kept"] += 1
        else:
            match = translation._closest(text, unused)
            if match is not None:
                entry.msgstr, entry.previous_msgid, entry.tcomment = match.msgstr, match.msgid, match.tcomment
                entry.flags.append("fuzzy")
                counts["fuzzy"] += 1
            else:
                counts["new"] += 1
        new.append(entry)
    for entry in unused:
        new.append(polib.POEntry(msgid=entry.msgid, msgstr=entry.msgstr, obsolete=True))
        counts["obsolete"] += 1
    CATALOGS.mkdir(exist_ok=True)
    translation.write_text_atomic(path, lambda: translation.catalog_text(new))
    return counts


def compiled_messages() -> dict[str, str]:
    """English → Chinese for every current translation of every module (what ``build`` writes)."""
    from .. import translation

    found: dict[str, str] = {}
    for module in modules():
        catalog = translation.read_catalog(catalog_path(module))
        for text in texts_of(module):
            done = translation.translation_of(catalog, text)
            if done is not None and placeholders(done) == placeholders(text):
                found[text] = done
    return dict(sorted(found.items()))


def compiled_text() -> str:
    return json.dumps(compiled_messages(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def build() -> int:
    """Write ``messages_zh.json``; returns how many messages it holds."""
    from .. import translation

    text = compiled_text()
    translation.write_text_atomic(COMPILED, lambda: text)
    _compiled.cache_clear()
    _templates.cache_clear()
    return len(json.loads(text))


def problems(module: str) -> list[str]:
    """Every text of ``module`` without a current Chinese translation, or whose placeholders differ."""
    from .. import translation

    catalog = translation.read_catalog(catalog_path(module))
    where = f"vae_helpers/exercises/po/{module}.po"
    found = []
    for text in texts_of(module):
        state = translation.state_of(catalog, text)
        short = text if len(text) <= 70 else text[:67] + "..."
        if state != "translated":
            what = {"missing": "is not in the catalog (new or changed English)",
                    "untranslated": "has no translation yet",
                    "fuzzy": "has an out-of-date (fuzzy) translation: the English changed"}[state]
            found.append(f"{module}: {short!r} {what}; run `make zh-extract`, translate it in {where}, then `make zh`")
            continue
        done = translation.translation_of(catalog, text)
        if placeholders(done) != placeholders(text):
            found.append(f"{module}: the translation of {short!r} has placeholders {placeholders(done)}, "
                         f"the English {placeholders(text)}: keep each {{name}} as it is ({where})")
    return found


# --------------------------------------------------------------------------- the Chinese notebooks' outputs

_VERDICT = re.compile(r"^([·✓✗]) (\w+): (.*)$")


@lru_cache(maxsize=1)
def _templates() -> list:
    """(a regex of an English template with placeholders, its Chinese) for every compiled template."""
    found = []
    for english, chinese in _compiled().items():
        names = placeholders(english)
        if not names or len(set(names)) != len(names):
            continue
        pattern = ""
        for literal, field, _spec, _conv in string.Formatter().parse(english):
            pattern += re.escape(literal)
            if field is not None:
                pattern += f"(?P<{field}>.+?)"
        found.append((re.compile(f"^{pattern}$"), chinese))
    return found


def translate_line(line: str) -> str:
    """One English message in Chinese, if it is a known message or an instance of a known template."""
    messages = _compiled()
    if line in messages:
        return messages[line]
    for pattern, chinese in _templates():
        match = pattern.match(line)
        if match:
            return chinese.format(**match.groupdict())
    return line


def translate_output(text: str) -> str:
    """A stored check output (``· name: message``, ``✓ …``) with its messages in Chinese, where known."""
    lines = []
    for line in text.split("\n"):
        match = _VERDICT.match(line)
        if match:
            line = f"{match.group(1)} {match.group(2)}: {translate_line(match.group(3))}"
        elif line[:2] in ("✓ ", "· "):
            line = line[:2] + translate_line(line[2:])
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vae_helpers.exercises.i18n", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["extract", "build", "status"])
    args = parser.parse_args(argv)
    if args.command == "extract":
        for module in modules():
            counts = extract(module)
            print(f"vae_helpers/exercises/po/{module}.po: " + ", ".join(f"{v} {k}" for k, v in counts.items()))
    elif args.command == "build":
        print(f"vae_helpers/exercises/messages_zh.json: {build()} messages")
    else:
        for module in modules():
            left = problems(module)
            print(f"{module}: {len(texts_of(module)) - len(left)}/{len(texts_of(module))} translated")
            for line in left:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
