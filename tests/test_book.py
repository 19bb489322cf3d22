"""The book (`make book`): both editions build from the committed notebooks, self-contained, checks folded.

The build writes build/book/ (as `make book` does), so `make test-browser` can open the same site.
"""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
BOOK = PROJECT / "build" / "book"
LESSONS = sorted(p.stem for p in (PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EDITIONS = ("en", "zh")
SOURCES = {"en": PROJECT / "notebooks", "zh": PROJECT / "notebooks" / "zh"}


@pytest.fixture(scope="module")
def book() -> Path:
    subprocess.run([sys.executable, str(PROJECT / "scripts" / "build_book.py"), "--out", str(BOOK)], check=True)
    return BOOK


class Loads(HTMLParser):
    """Every URL a page makes the browser fetch (scripts, styles, images, frames, fonts via <link>)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in ("script", "img", "iframe", "source", "video", "audio") and a.get("src"):
            self.urls.append(a["src"])
        if tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "preload", "icon", "modulepreload", "prefetch", "manifest"}:
            self.urls.append(a["href"])


def loaded_urls(page: Path) -> list[str]:
    parser = Loads()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.urls


@pytest.mark.parametrize("edition", EDITIONS)
def test_one_page_per_notebook_and_a_front_page(book, edition):
    pages = {p.stem for p in (book / edition).glob("[0-9][0-9]_*.html")}
    assert pages == set(LESSONS), f"{edition}: pages {sorted(pages)} but notebooks {LESSONS}"
    front = (book / edition / "index.html").read_text(encoding="utf-8")
    missing = [stem for stem in LESSONS if f'href="{stem}.html"' not in front]
    assert not missing, f"{edition}/index.html does not link to {missing}"
    assert (book / "index.html").exists()


@pytest.mark.parametrize("edition", EDITIONS)
def test_no_page_loads_anything_from_outside_the_site(book, edition):
    outside = {}
    for page in sorted((book / edition).rglob("*.html")):
        bad = [u for u in loaded_urls(page) if re.match(r"^([a-z][a-z0-9+.-]*:)?//", u, re.I)]
        if bad:
            outside[str(page.relative_to(book))] = bad
    assert not outside, f"pages load from other hosts (the book must work from a folder): {outside}"
    css = [p for p in (book / edition / "_static").rglob("*.css")
           if re.search(r"url\(\s*['\"]?(https?:)?//", p.read_text(encoding="utf-8", errors="replace"))]
    assert not css, f"stylesheets that fetch from other hosts (web fonts?): {css}"
    mathjax = book / edition / "_static" / "mathjax" / "tex-chtml.js"
    assert mathjax.exists(), "MathJax is not bundled: math would need a CDN"


@pytest.mark.parametrize("edition", EDITIONS)
def test_check_cells_are_folded_and_lessons_say_how_to_run(book, edition):
    folded = 0
    for stem in LESSONS:
        html = (book / edition / f"{stem}.html").read_text(encoding="utf-8")
        for cell in re.finditer(r'<div class="cell[^"]*\btag_check\b[^"]*"[^>]*>\s*(<[^>]+>)', html):
            assert cell.group(1).startswith("<details") and " open" not in cell.group(1), (
                f"{edition}/{stem}.html: a check cell that is not behind a closed toggle: {cell.group(1)}")
            folded += 1
        text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
        assert f"papermill notebooks/{'zh/' if edition == 'zh' else ''}{stem}.ipynb" in text, (
            f"{edition}/{stem}.html does not give the papermill line for its notebook")
        other = "zh" if edition == "en" else "en"
        assert f'href="../{other}/{stem}.html"' in html, f"{edition}/{stem}.html has no link to the other edition"
    checks_in_notebooks = sum(
        '"check"' in cell for stem in LESSONS
        for cell in re.findall(r'"tags":\s*\[[^\]]*\]', (SOURCES[edition] / f"{stem}.ipynb").read_text()))
    assert folded == checks_in_notebooks, f"{edition}: {folded} folded check cells, {checks_in_notebooks} in the notebooks"


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_figure_is_on_its_page(book, edition):
    """Each stored PNG output appears as an image (07's latent explorer as its still picture), unscaled."""
    import json

    for stem in LESSONS:
        nb = json.loads((SOURCES[edition] / f"{stem}.ipynb").read_text(encoding="utf-8"))
        pngs = sum("image/png" in out.get("data", {}) for cell in nb["cells"] for out in cell.get("outputs", []))
        html = (book / edition / f"{stem}.html").read_text(encoding="utf-8")
        shown = len(re.findall(r'<img [^>]*src="_images/', html))
        assert shown == pngs, f"{edition}/{stem}.html shows {shown} figures, the notebook has {pngs}"
