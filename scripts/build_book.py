"""Build the book: both editions of the committed notebooks as one static website (`make book`).

    .venv/bin/python scripts/build_book.py [--out build/book] [--edition en zh]

For each edition the committed notebooks are staged into build/book-src/<edition>/ (never executed):
check cells (tag `check`) get MyST-NB's `hide-cell` tag, so they sit behind a toggle, and every
lesson gets a "Run this lesson" box with the edition switch. A front page per edition maps the
series. Sphinx (docs/book/conf.py) then writes build/book/en/ and build/book/zh/; build/book/index.html
lets the reader choose. Everything the pages load is inside build/book/ (no CDN, no web fonts).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CONF = PROJECT / "docs" / "book"
SOURCES = {"en": PROJECT / "notebooks", "zh": PROJECT / "notebooks" / "zh"}
OTHER = {"en": "zh", "zh": "en"}
OTHER_EDITION_LINK = re.compile(r"\[([^\]]+)\]\((?:\.\./|zh/)(\d\d_\w+)\.ipynb\)")

TEXT = {
    "en": {
        "switch": "中文版",
        "run_title": "Run this lesson",
        "run": (
            "Read it here, or run it yourself from a clone of the repository (Python ≥ 3.10; offline needs "
            "only the package registries):\n\n"
            "- `make run` executes the whole series into `build/`; `make test` runs the tests. Both set "
            "themselves up from nothing.\n"
            "- `make lab` opens the series in JupyterLab (`make lab EDITION=zh`: the Chinese edition, with "
            "JupyterLab's interface in Chinese).\n"
            "- This lesson alone, with other parameters (`--help-notebook` lists them all):\n"
            "  `.venv/bin/papermill {path} build/{name}.ipynb -p {knob} {value}`"
        ),
        "front": "front_en.md",
    },
    "zh": {
        "switch": "English",
        "run_title": "运行本课",
        "run": (
            "可以在这里阅读，也可以从仓库的克隆中自己运行（Python ≥ 3.10；离线时只需访问软件包仓库）：\n\n"
            "- `make run` 把整个系列执行到 `build/` 中；`make test` 运行测试。两者都会从零开始自行配置环境。\n"
            "- `make lab EDITION=zh` 在 JupyterLab 中打开中文版（界面也是中文）；`make lab` 打开英文版。\n"
            "- 单独运行本课并改变参数（`--help-notebook` 列出全部参数）：\n"
            "  `.venv/bin/papermill {path} build/{name}.ipynb -p {knob} {value}`"
        ),
        "front": "front_zh.md",
    },
}


def first_knob(nb: dict) -> tuple[str, str]:
    """The first knob of the parameters cell and a value different from its default, for the example line."""
    for cell in nb["cells"]:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    value = ast.literal_eval(node.value)
                    if isinstance(value, bool):
                        other = str(not value)
                    elif isinstance(value, int):
                        other = str(value + 1)
                    elif isinstance(value, float):
                        other = repr(value * 2)
                    else:
                        other = repr(value)
                    return node.target.id, other
    return "SEED", "1"


def title_of(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise ValueError("a notebook without a '# ' title")


def stage_notebook(src: Path, dst: Path, edition: str) -> str:
    """Copy one notebook with check cells folded and the run box added; return its title."""
    nb = json.loads(src.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":  # a link to the other edition's notebook: to its page
            cell["source"] = OTHER_EDITION_LINK.sub(
                lambda m: f'<a href="../{OTHER[edition]}/{m.group(2)}.html">{m.group(1)}</a>', "".join(cell["source"]))
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "check" in tags and "hide-cell" not in tags:
            tags.append("hide-cell")
    knob, value = first_knob(nb)
    path = f"notebooks/{'zh/' if edition == 'zh' else ''}{src.name}"
    text = TEXT[edition]
    box = (f'<a class="edition-switch" href="../{OTHER[edition]}/{src.stem}.html">{text["switch"]}</a>\n\n'
           f":::{{admonition}} {text['run_title']}\n:class: tip\n\n"
           + text["run"].format(path=path, name=src.stem, knob=knob, value=value) + "\n:::\n")
    title_at = next(i for i, c in enumerate(nb["cells"])
                    if c["cell_type"] == "markdown" and re.search(r"^# ", "".join(c["source"]), re.M))
    nb["cells"].insert(title_at + 1, {"cell_type": "markdown", "metadata": {}, "source": box})
    write_if_changed(dst, json.dumps(nb, ensure_ascii=False))
    return title_of(nb)


def write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged source untouched, so that Sphinx rebuilds only what changed."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def stage(edition: str, staging: Path) -> list[tuple[str, str]]:
    (staging / "_static").mkdir(parents=True, exist_ok=True)
    write_if_changed(staging / "_static" / "book.css", (CONF / "_static" / "book.css").read_text(encoding="utf-8"))
    sources = sorted(SOURCES[edition].glob("[0-9][0-9]_*.ipynb"))
    for stale in set(staging.glob("*.ipynb")) - {staging / src.name for src in sources}:
        stale.unlink()
    lessons = []
    for src in sources:
        lessons.append((src.stem, stage_notebook(src, staging / src.name, edition)))
    front = (CONF / TEXT[edition]["front"]).read_text(encoding="utf-8")
    table = "\n".join(f"| [{title}]({stem}.ipynb) |" for stem, title in lessons)
    toc = "\n".join(stem for stem, _ in lessons)
    write_if_changed(staging / "index.md", front.replace("{{LESSONS}}", table).replace("{{TOC}}", toc))
    return lessons


def glossary_terms(staging: Path) -> Path:
    """The Chinese terms the lessons pair with their English key terms, as a jieba user dictionary."""
    pattern = re.compile(r"\*\*[^*\n]+\*\*\s*·\s*([\u4e00-\u9fff][\u4e00-\u9fffA-Za-z0-9]*)")
    terms = set()
    for notebook in SOURCES["en"].glob("[0-9][0-9]_*.ipynb"):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                terms.update(pattern.findall("".join(cell["source"])))
    path = staging.parent / "zh-terms.txt"
    write_if_changed(path, "".join(f"{term} 100000\n" for term in sorted(terms)))
    return path


LANDING = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>VAE notebooks · 变分自编码器笔记本</title>
<style>body{font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5}a{font-size:1.3em}</style>
</head><body><h1>VAE notebooks · 变分自编码器笔记本</h1>
<p>Variational autoencoders on MNIST with PyTorch, in ten lessons. · 用 PyTorch 在 MNIST 上学习变分自编码器，共十课。</p>
<p><a href="en/index.html">English</a> · <a href="zh/index.html">中文版</a></p></body></html>
"""


def build(out: Path, editions: list[str]) -> None:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    out.mkdir(parents=True, exist_ok=True)
    for edition in editions:
        staging = PROJECT / "build" / "book-src" / edition
        lessons = stage(edition, staging)
        target = out / edition
        started = time.perf_counter()
        terms = str(glossary_terms(staging)) if edition == "zh" else ""
        subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF), "-d",
                        str(staging.parent / f".doctrees-{edition}"), str(staging), str(target)],
                       check=True, env=dict(env, VAE_BOOK_EDITION=edition, VAE_BOOK_TERMS=terms))
        print(f"book: {edition} edition, {len(lessons)} lessons -> {target} ({time.perf_counter() - started:.1f} s)")
    (out / "index.html").write_text(LANDING, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "build" / "book")
    parser.add_argument("--edition", nargs="+", choices=["en", "zh"], default=["en", "zh"])
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.edition)
    print(f"open {args.out / 'index.html'}, or serve it: python -m http.server -d {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
