"""pyproject.toml and environment.yml list the same packages; the Makefile and CI agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def pyproject_requirements() -> set[str]:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    return set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])


def environment_pip_requirements() -> set[str]:
    lines = (PROJECT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    found = set()
    for line in lines[start + 1 :]:
        match = re.match(r"^\s+- (\S.*)$", line)
        if match and not match.group(1).startswith("-e"):
            found.add(match.group(1).strip())
    return found


def test_environment_yml_matches_pyproject():
    assert environment_pip_requirements() == pyproject_requirements()


def test_required_packages_are_declared():
    names = {re.split(r"[<>=!~ ]", r)[0] for r in pyproject_requirements()}
    assert {"torch", "torchvision", "matplotlib", "tqdm", "jupyterlab", "nbval", "papermill", "pytest"} <= names


def test_ci_runs_the_readme_test_command():
    assert "make test" in (PROJECT / ".ci" / "run").read_text()
    assert "make test" in (PROJECT / "README.md").read_text()


def _overrides_made_by_make(tmp_path, folder: str) -> dict:
    """The JupyterLab overrides.json that `make` writes into VENV/share/jupyter/lab/<folder>/."""
    import json
    import shutil
    import subprocess

    import pytest

    if shutil.which("make") is None:
        pytest.skip("no make on this machine")
    target = tmp_path / "venv" / "share" / "jupyter" / "lab" / folder / "overrides.json"
    subprocess.run(["make", "-s", f"VENV={tmp_path / 'venv'}", str(target)], cwd=PROJECT, check=True,
                   capture_output=True, timeout=60)
    return json.loads(target.read_text())


def test_make_writes_a_jupyterlab_override_that_the_installed_schema_knows(tmp_path):
    """`make lab` must not ask about Jupyter news: the override names a real setting with a valid value."""
    import json
    import sys

    overrides = _overrides_made_by_make(tmp_path, "settings")
    schemas = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas"
    assert overrides, "the override file is empty"
    for plugin, values in overrides.items():
        package, name = plugin.split(":")
        schema = json.loads((schemas / package / f"{name}.json").read_text())
        for key, value in values.items():
            assert key in schema["properties"], f"{plugin} has no setting {key!r}"
            prop = schema["properties"][key]
            allowed = [c["const"] for c in prop.get("oneOf", [])]
            assert (value in allowed) if allowed else isinstance(value, {"boolean": bool, "string": str}[prop["type"]])
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"  # "Never", no question


def test_the_venv_step_installs_the_jupyterlab_override():
    makefile = (PROJECT / "Makefile").read_text()
    assert re.search(r"^venv: .*\$\(LAB_OVERRIDES\)", makefile, re.MULTILINE)
    assert re.search(r"^lab: .*\$\(LAB_OVERRIDES\)", makefile, re.MULTILINE)


def test_make_writes_the_chinese_jupyterlab_settings_for_an_installed_language_pack(tmp_path):
    """`make lab EDITION=zh`: its settings folder sets a locale that an installed language pack provides."""
    import json
    import sys

    overrides = _overrides_made_by_make(tmp_path, "settings-zh")
    locale = overrides["@jupyterlab/translation-extension:plugin"]["locale"]
    schema = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / "@jupyterlab" / "translation-extension"
    assert "locale" in json.loads((schema / "plugin.json").read_text())["properties"]
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    from jupyterlab_server.translation_utils import get_language_packs

    packs, _ = get_language_packs()
    assert locale in packs, f"no installed language pack for {locale}: {sorted(packs)} (pip install jupyterlab-language-pack-zh-CN)"
    makefile = (PROJECT / "Makefile").read_text()
    assert re.search(r"^lab: .*\$\(LAB_ZH_OVERRIDES\)", makefile, re.MULTILINE)
    assert "--LabApp.app_settings_dir=$(abspath $(LAB_ZH_DIR))" in makefile
