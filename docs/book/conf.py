# Sphinx configuration of the book (`make book`): the committed notebooks of both editions as a static
# website, never re-executed. Built offline from packages alone: MyST-NB reads the notebooks, the book
# theme is bundled with sphinx-book-theme, MathJax is bundled by sphinx-mathjax-offline, and Chinese
# search segments words with jieba. scripts/build_book.py stages the sources and calls sphinx-build.
import os

EDITION = os.environ.get("VAE_BOOK_EDITION", "en")

project = "vae-notebooks" if EDITION == "en" else "vae-notebooks · 变分自编码器"
author = "the vae-notebooks authors"
copyright = "2026, the vae-notebooks authors (prose CC BY-SA 4.0, code MIT)"
language = "zh_CN" if EDITION == "zh" else "en"

extensions = ["myst_nb", "sphinx-mathjax-offline"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
nb_execution_mode = "off"  # the committed outputs are the book's outputs
# the latent explorer's still picture, not a widget that needs a live kernel
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header"]

exclude_patterns = ["_build", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = "VAE notebooks" if EDITION == "en" else "变分自编码器笔记本"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
}
html_show_sourcelink = False
html_copy_source = False
html_search_language = "zh" if EDITION == "zh" else "en"

# the committed notebooks carry no cell ids (scripts/execute_notebooks.py strips them): not a problem here
import warnings  # noqa: E402

warnings.filterwarnings("ignore", message="Cell is missing an id field")

# check cells (lesson-style.md § 3) are the only cells the book folds: say what the toggle opens
nb_code_prompt_show = "显示检查代码" if EDITION == "zh" else "Show the check"
nb_code_prompt_hide = "隐藏检查代码" if EDITION == "zh" else "Hide the check"

# Chinese search: jieba learns the series' terms (every "**term** · 中文" of the lessons, written by
# scripts/build_book.py), so that 重参数化 is one searchable word, not 重 + 参数 + 化.
if EDITION == "zh" and os.environ.get("VAE_BOOK_TERMS"):
    html_search_options = {"dict": os.environ["VAE_BOOK_TERMS"]}


def setup(app):
    # Sphinx 9.0's Chinese search names a JavaScript stemmer "ChineseStemmer" that it never ships (it
    # uses the English one for Latin words): point the name at the English stemmer it does ship.
    from sphinx.search.zh import SearchChinese

    if SearchChinese.js_stemmer_rawcode == "english-stemmer.js":
        SearchChinese.language_name = "English"
