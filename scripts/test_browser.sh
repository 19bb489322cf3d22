#!/usr/bin/env bash
# Browser test of the series: JupyterLab driven by Playwright in Debian's headless Chromium.
#
#   bash scripts/test_browser.sh [pytest args]      (what `make test-browser` runs)
#
# Installs what it needs when missing: the Debian package `chromium` (apt-get, sudo when not
# root) and the pip package `playwright` in .venv (never `playwright install`: no browser
# download). If Chromium cannot be installed it says so loudly and fails.
# Screenshots: build/screenshots/NN_name.png; JupyterLab's log: build/screenshots/jupyterlab-server.log.
# Knobs: VAE_BROWSER_NOTEBOOKS=00,03|all, VAE_BROWSER_ZH_NOTEBOOK=00, VAE_BROWSER_TIMEOUT=180 (s per notebook), VAE_CHROMIUM.
set -euo pipefail
cd "$(dirname "$0")/.."
began=$(date +%s)

PY=.venv/bin/python
CHROMIUM=${VAE_CHROMIUM:-/usr/bin/chromium}
KERNEL=vae-notebooks

die() {
    echo >&2
    echo "########################################################################" >&2
    echo "!! test-browser FAILED: $*" >&2
    echo "########################################################################" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        return 1
    fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq && as_root apt-get install -y -qq "$@"
}

[ -x "$PY" ] || die "$PY not found: run \`make venv\` first"

# 1. The browser: Debian's Chromium.
if [ ! -x "$CHROMIUM" ]; then
    echo ">> Chromium not found at $CHROMIUM: installing the Debian package 'chromium'"
    apt_install chromium || die "could not install Chromium (apt-get install chromium). The browser test needs it."
fi
[ -x "$CHROMIUM" ] || die "Chromium is still missing at $CHROMIUM after installing"
version=$("$CHROMIUM" --version 2>/dev/null) || die "$CHROMIUM does not run"
echo ">> browser: $version"

# Chinese glyphs in the screenshots (not needed for the test itself, so only a warning).
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh 2>/dev/null)" ]; then
    echo ">> no CJK font: installing fonts-wqy-microhei so screenshots show 中文"
    apt_install fonts-wqy-microhei >/dev/null 2>&1 || echo "!! warning: could not install a CJK font; Chinese shows as boxes in screenshots" >&2
fi

# 2. Playwright's Python package (driver only; the browser is Debian's).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! "$PY" -c "import playwright.sync_api" 2>/dev/null; then
    echo ">> installing the Python package playwright into .venv"
    "$PY" -m pip install --quiet --disable-pip-version-check "playwright>=1.40" \
        || die "could not pip install playwright"
fi
echo ">> playwright $("$PY" -c 'from importlib.metadata import version; print(version("playwright"))')"

# 3. The project's kernel (the Makefile's venv target registers it; a bare venv may lack it).
if [ ! -f ".venv/share/jupyter/kernels/$KERNEL/kernel.json" ]; then
    echo ">> registering the Jupyter kernel $KERNEL"
    "$PY" -m ipykernel install --sys-prefix --name "$KERNEL" --display-name "Python 3 ($KERNEL)" >/dev/null
fi

# Offline MNIST mirror beside the checkout, as the Makefile sets it (for the training notebook).
if [ -z "${VAE_DATA_MIRROR:-}" ] && [ -d ../shared/data ]; then
    VAE_DATA_MIRROR=$(cd ../shared/data && pwd)
    export VAE_DATA_MIRROR
fi

mkdir -p build/screenshots
status=0
VAE_BROWSER_TESTS=1 "$PY" -m pytest tests/browser -m browser -p no:cacheprovider -v --tb=short "$@" || status=$?
echo ">> test-browser took $(( $(date +%s) - began )) s; screenshots in ${VAE_SCREENSHOT_DIR:-build/screenshots}/"
if [ "$status" != 0 ]; then
    die "browser test exited with status $status (see the failures above and ${VAE_SCREENSHOT_DIR:-build/screenshots}/)"
fi
