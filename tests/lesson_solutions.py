"""The reference solutions in solutions/lessonNN.py, loaded as modules for the exercise tests."""

from __future__ import annotations

import functools
import importlib.util
from types import ModuleType

from vae_helpers.data import project_root

SOLUTIONS = project_root() / "solutions"


@functools.cache
def load_solutions(lesson: str) -> ModuleType:
    """solutions/<lesson>.py as a module (e.g. lesson='lesson03')."""
    path = SOLUTIONS / f"{lesson}.py"
    spec = importlib.util.spec_from_file_location(f"solutions_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
