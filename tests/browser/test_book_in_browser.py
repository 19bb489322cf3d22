"""The book (`make book`) as a reader meets it: served from 127.0.0.1, opened in headless Chromium.

Front page, one lesson per edition: math rendered (no raw `$…$`), every image loaded, the table of
contents navigates, search finds "reparameterization" (English) and 重参数化 (Chinese), and the edition
switch lands on the same lesson. `make test-browser` builds the book first; a screenshot of each page
checked goes to build/screenshots/book_*.png (kept on failure, for a look).
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import threading
from pathlib import Path

import pytest

from lab_paths import REPO, screenshot_dir

pytestmark = pytest.mark.browser
BOOK = REPO / "build" / "book"
LESSON = "03_reparameterization_trick"
MATH_DELIMITER = re.compile(r"\$[^$\s][^$]*\$")


@pytest.fixture(scope="module")
def book_url():
    if not (BOOK / "en" / "index.html").exists() or not (BOOK / "zh" / "index.html").exists():
        pytest.fail(f"no book in {BOOK}: run `make book` first (`make test-browser` does)", pytrace=False)
    handler = functools.partial(QuietHandler, directory=str(BOOK))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the test reports what matters
        pass


@contextlib.contextmanager
def shot_on_failure(page, name: str):
    """Keep a screenshot of the page whether the check passes or fails (path printed on failure)."""
    path = screenshot_dir() / f"book_{name}.png"
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}; JavaScript errors: {page.page_errors[:5]}")
        raise
    with contextlib.suppress(Exception):
        page.screenshot(path=str(path))


def outside_requests(page, base: str) -> list[str]:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.outside = lambda: [u for u in requests if not u.startswith(base) and not u.startswith("data:")]
    return requests


def wait_for_math(page) -> int:
    """MathJax has typeset the page: its containers exist and no raw $…$ is left in the prose."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    count = page.locator("mjx-container").count()
    prose = page.evaluate(
        "() => Array.from(document.querySelectorAll('article p, article li, article td'))"
        ".filter(e => !e.closest('pre, code, .cell_output')).map(e => e.innerText).join('\\n')")
    raw = MATH_DELIMITER.findall(prose)
    assert not raw, f"raw math left on the page: {raw[:5]}"
    return count


def images_loaded(page) -> tuple[int, list[str]]:
    page.evaluate("() => Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)))")
    broken = page.evaluate(
        "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    return page.locator("img").count(), broken


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_lesson_page_renders(edition, book_url, page, browser_report):
    outside_requests(page, book_url)
    page.goto(f"{book_url}/{edition}/{LESSON}.html")
    with shot_on_failure(page, f"{edition}_{LESSON}"):
        formulas = wait_for_math(page)
        assert formulas > 20, f"only {formulas} typeset formulas on {edition}/{LESSON}"
        images, broken = images_loaded(page)
        assert images >= 1 and not broken, f"{edition}/{LESSON}: images that did not load: {broken}"
        assert not page.outside(), f"requests to other hosts: {page.outside()[:5]}"
        assert not page.page_errors, f"JavaScript errors: {page.page_errors[:5]}"
    browser_report.append(f"book {edition}/{LESSON}: {formulas} formulas typeset, {images} images loaded")


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_front_page_and_table_of_contents_navigate(edition, book_url, page, browser_report):
    outside_requests(page, book_url)
    page.goto(f"{book_url}/{edition}/index.html")
    with shot_on_failure(page, f"{edition}_index"):
        wait_for_math(page)
        links = page.locator(f"nav.bd-links a[href='{LESSON}.html']")
        assert links.count() >= 1, "the left-hand table of contents does not list lesson 03"
        links.first.click()
        page.wait_for_url(f"**/{edition}/{LESSON}.html")
        nxt = page.locator("a.right-next")
        assert nxt.count() == 1, "no link to the next lesson"
        nxt.click()
        page.wait_for_url(f"**/{edition}/04_*.html")
        assert not page.outside(), f"requests to other hosts: {page.outside()[:5]}"
    browser_report.append(f"book {edition}: front page → table of contents → lesson 03 → next → lesson 04")


@pytest.mark.parametrize(("edition", "query"), [("en", "reparameterization"), ("zh", "重参数化")])
def test_search_finds_the_term(edition, query, book_url, page, browser_report):
    page.goto(f"{book_url}/{edition}/search.html?q={query}")
    with shot_on_failure(page, f"{edition}_search"):
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        hrefs = [a.get_attribute("href") or "" for a in results.all()]
        assert any(LESSON in h for h in hrefs), f"search for {query!r} did not find lesson 03: {hrefs[:10]}"
    browser_report.append(f"book {edition}: search {query!r} → {len(hrefs)} pages, lesson 03 among them")


def test_edition_switch_lands_on_the_same_lesson(book_url, page, browser_report):
    page.goto(f"{book_url}/en/{LESSON}.html")
    with shot_on_failure(page, "switch"):
        page.locator("a.edition-switch").first.click()
        page.wait_for_url(f"**/zh/{LESSON}.html")
        assert re.search(r"[\u4e00-\u9fff]", page.locator("article").inner_text()[:2000]), "no Chinese on the page"
        page.locator("a.edition-switch").first.click()
        page.wait_for_url(f"**/en/{LESSON}.html")
    browser_report.append("book: en → 中文版 → English, the same lesson each time")


def test_check_cells_are_folded(book_url, page):
    page.goto(f"{book_url}/en/{LESSON}.html")
    with shot_on_failure(page, "checks"):
        checks = page.locator(".tag_check")
        for i in range(checks.count()):
            assert not checks.nth(i).locator(".cell_input").is_visible(), f"check cell {i} shows its code"
