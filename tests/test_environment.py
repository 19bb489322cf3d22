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
