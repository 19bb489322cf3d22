"""Is this a lesson's default run? Its prose quotes the default run's numbers; check cells guard them.

The defaults of every lesson are read from the committed notebooks' ``parameters`` cells into
``lesson_defaults.json`` beside this file (``python -m vae_helpers.default_run`` refreshes it; a test
keeps it current), so no notebook restates them and a reader who edits a parameters cell is not
mistaken for the default run. In a lesson::

    RUN = default_run.of("05_training_the_vae", globals())   # after the parameters cell
    ...
    RUN.check(elbo_near_minus_105=abs(elbo + 104.5) < 1)      # in a collapsed check cell
    RUN.confirm("the loss written out equals losses.vae_loss")  # after asserts that hold in any run
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .checkpoint import atomic_write

from .exercises.i18n import _

DEFAULTS_FILE = Path(__file__).with_name("lesson_defaults.json")
#: knobs that say where files are, not what is computed: they never make a run "not the default"
WHERE_KNOBS = frozenset({"DATA_ROOT", "DATA_MIRROR", "RUNS_DIR", "REUSE_RUNS"})


@dataclass(frozen=True)
class DefaultRun:
    """Which knobs of a lesson differ from its defaults, and the guard for statements about its numbers."""

    lesson: str
    changed: dict[str, object] = field(default_factory=dict)
    namespace: Mapping[str, object] | None = field(default=None, repr=False, compare=False)

    @property
    def differences(self) -> dict[str, object]:
        """The changed knobs, and the device when it is not a CPU: the text quotes a CPU run."""
        device = getattr((self.namespace or {}).get("DEVICE"), "type", None)  # set by the lesson's setup cell
        return {**self.changed, "DEVICE": device} if device not in (None, "cpu") else dict(self.changed)

    @property
    def is_default(self) -> bool:
        return not self.differences

    def check(self, **claims: bool) -> None:
        """Assert each named claim in the default run; elsewhere say in one line that they were not checked."""
        if not self.is_default:
            knobs = ", ".join(f"{k}={v!r}" for k, v in self.differences.items())
            print("· " + _("other parameters ({knobs}): the sentences about the default run are not checked",
                           knobs=knobs))
            return
        failed = [name for name, holds in claims.items() if not bool(holds)]
        if failed:
            raise AssertionError(self.lesson + ": " + _(
                "in the default run the text no longer holds: {names} — update the sentence, or find what "
                "changed the numbers (another PyTorch version or CPU can move a trained number)",
                names=", ".join(failed)))
        n = len(claims)
        print("✓ " + (_("the text above matches this run: 1 statement checked") if n == 1
                      else _("the text above matches this run: {n} statements checked", n=n)))

    @staticmethod
    def confirm(what: str) -> None:
        """Say, in the reader's language, that a check which holds in any run passed: ``✓ what``."""
        print("✓ " + _(what))


def parameters_of(notebook: Path) -> dict[str, object]:
    """The literal knobs (``NAME: type = value``) of a notebook's ``parameters``-tagged cell."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise ValueError(f"{notebook.name} has no cell tagged 'parameters'")
    source = "".join(tagged[0]["source"])
    return {node.target.id: ast.literal_eval(node.value) for node in ast.parse(source).body
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None}


def read_defaults(notebooks: Path) -> dict[str, dict[str, object]]:
    """Every lesson's defaults, from the notebooks in a folder (``NN_name.ipynb``)."""
    return {nb.stem: parameters_of(nb) for nb in sorted(notebooks.glob("[0-9][0-9]_*.ipynb"))}


def of(lesson: str, namespace: Mapping[str, object]) -> DefaultRun:
    """Compare a notebook's current knobs (its ``globals()``) with the lesson's committed defaults."""
    defaults = json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    if lesson not in defaults:
        raise KeyError(f"no defaults recorded for lesson {lesson!r}; known: {sorted(defaults)}. "
                       f"Run `python -m vae_helpers.default_run` after adding a lesson")
    changed = {name: namespace.get(name) for name, value in defaults[lesson].items()
               if name not in WHERE_KNOBS and namespace.get(name) != value}
    return DefaultRun(lesson, changed, namespace)


def main() -> int:
    from .data import project_root

    text = json.dumps(read_defaults(project_root() / "notebooks"), indent=1, ensure_ascii=False) + "\n"
    atomic_write(DEFAULTS_FILE, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    print(f"wrote {DEFAULTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
