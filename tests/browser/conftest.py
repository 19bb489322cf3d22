"""Fixtures for the JupyterLab browser test: a private JupyterLab server and headless Chromium.

The tests in this folder are skipped in a plain ``pytest tests`` run. ``make test-browser``
(``scripts/test_browser.sh``) installs Chromium and Playwright and sets ``VAE_BROWSER_TESTS=1``;
then a missing browser or a server that does not start is a failure, never a skip.

Environment knobs (all optional):

- ``VAE_BROWSER_TESTS=1``      run these tests at all
- ``VAE_CHROMIUM``             the browser binary (default ``/usr/bin/chromium``, Debian's package)
- ``VAE_BROWSER_NOTEBOOK_DIR`` folder of notebooks to test (default: the repo's ``notebooks/``)
- ``VAE_BROWSER_NOTEBOOKS``    which notebooks: comma-separated numbers (``00,03``) or ``all``
- ``VAE_BROWSER_TIMEOUT``      seconds allowed for "Run All Cells" per notebook (default 180)
- ``VAE_BROWSER_ZH_NOTEBOOK``  which notebook of the Chinese edition to run in the Chinese interface (default ``00``)
- ``VAE_SCREENSHOT_DIR``       where screenshots go (default ``build/screenshots``)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab_paths import notebook_dir, screenshot_dir

ENABLE_ENV = "VAE_BROWSER_TESTS"
HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("VAE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KERNEL = "vae-notebooks"

# JupyterLab user settings for the test server (a temporary folder, never the reader's):
# no news/update pop-ups, no autosave (we open notebooks but never save them), and every
# cell attached to the DOM so outputs can be read and the screenshot shows the whole notebook.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}


def browser_tests_enabled() -> bool:
    return os.environ.get(ENABLE_ENV) == "1"


def pytest_collection_modifyitems(config, items):
    if browser_tests_enabled():
        return
    skip = pytest.mark.skip(reason=f"browser test: run `make test-browser` (or set {ENABLE_ENV}=1)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(skip)


def pytest_configure(config):
    config._browser_report = []


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = getattr(config, "_browser_report", [])
    if lines:
        terminalreporter.section("JupyterLab browser test")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def browser_report(request):
    """Lines for the summary at the end of the run (timings per notebook)."""
    return request.config._browser_report


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    base_url: str
    token: str
    root: Path  # temporary copy of the notebooks that JupyterLab serves
    source: Path  # the notebooks folder it was copied from
    log: Path
    process: subprocess.Popen

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path}{sep}token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.base_url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _write_settings(folder: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def _lab_command(port: int, token: str, root: Path, tmp: Path) -> list[str]:
    # Option names checked against jupyter_server 2.x / JupyterLab 4.x (`jupyter lab --help-all`).
    return [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--allow-root",  # CI runs as root; harmless otherwise
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]  # fmt: skip


def _server_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Keep JupyterLab and IPython away from the reader's/CI user's folders and from the repo:
    # config, runtime files, user kernels (only the venv's sys-prefix kernels are found, as in
    # a fresh checkout) and IPython history all live in the temporary folder.
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTER_DATA_DIR", "data"),
        ("IPYTHONDIR", "ipython"),
    ]:
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    # The Makefile exports MPLBACKEND=Agg for scripts; in a kernel that would hide every figure
    # (ipykernel only selects the inline backend when MPLBACKEND is unset).
    env.pop("MPLBACKEND", None)
    return env


def _wait_until_up(server: LabServer, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            server.api("/api/status")
            specs = server.api("/api/kernelspecs")
            if KERNEL not in specs.get("kernelspecs", {}):
                raise RuntimeError(
                    f"kernel '{KERNEL}' is not registered for {sys.executable}; found "
                    f"{sorted(specs.get('kernelspecs', {}))}. Register it with: {sys.executable} -m "
                    f'ipykernel install --sys-prefix --name {KERNEL} --display-name "Python 3 ({KERNEL})"'
                )
            return
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = exc
            time.sleep(0.3)
    raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s ({last}):\n{server.log_tail()}")


# The Chinese edition's JupyterLab settings, as `make lab EDITION=zh` uses them (the Makefile writes them)
ZH_SETTINGS_DIR = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings-zh"


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """JupyterLab on a free loopback port with a random token, serving a temporary copy of notebooks/."""
    server = _start_lab(tmp_path_factory.mktemp("jupyterlab"), notebook_dir(), "jupyterlab-server.log", [])
    yield server
    _stop(server.process)


@pytest.fixture(scope="session")
def lab_server_zh(tmp_path_factory):
    """The same for the Chinese edition: notebooks/zh/, the interface in Chinese as `make lab EDITION=zh` has it."""
    if not (ZH_SETTINGS_DIR / "overrides.json").is_file():
        pytest.fail(f"{ZH_SETTINGS_DIR}/overrides.json is missing: run `make venv` (it writes the Chinese "
                    "JupyterLab settings)", pytrace=False)
    server = _start_lab(tmp_path_factory.mktemp("jupyterlab-zh"), notebook_dir() / "zh",
                        "jupyterlab-server-zh.log", [f"--LabApp.app_settings_dir={ZH_SETTINGS_DIR}"])
    yield server
    _stop(server.process)


def _start_lab(tmp: Path, source: Path, log_name: str, extra: list[str]) -> LabServer:
    root = tmp / "notebooks"
    shutil.copytree(source, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    _write_settings(tmp / "user-settings")
    log = screenshot_dir() / log_name
    token = secrets.token_hex(24)
    env = _server_env(tmp)
    server = None
    for _attempt in range(3):  # a free port can be taken between choosing and binding it
        port = free_port()
        with open(log, "w") as log_file:
            process = subprocess.Popen(
                _lab_command(port, token, root, tmp) + extra,
                cwd=tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = LabServer(f"http://127.0.0.1:{port}", token, root, source, log, process)
        try:
            _wait_until_up(server)
            break
        except RuntimeError as exc:
            _stop(process)
            if "Address already in use" not in server.log_tail():
                pytest.fail(f"JupyterLab did not start: {exc}", pytrace=False)
    else:
        pytest.fail(f"JupyterLab did not start (ports taken):\n{server.log_tail()}", pytrace=False)
    return server


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM: jupyter_server shuts its kernels down and exits
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (which never downloads a browser here)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
            "(scripts/test_browser.sh does) or point VAE_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "the Python package 'playwright' is missing: "
            f"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 {sys.executable} -m pip install playwright",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    tab = context.new_page()
    tab.page_errors = []  # uncaught JavaScript errors, reported when a test fails
    tab.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    yield tab
    context.close()  # closes without "beforeunload": nothing is saved
