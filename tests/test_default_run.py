"""The default-run guard: which runs it checks, and what it says when it does not."""

from __future__ import annotations

import pytest
import torch

from vae_helpers.default_run import DefaultRun
from vae_helpers.exercises import i18n


def test_a_run_on_another_device_is_not_the_default_run(capsys):
    """The text quotes a CPU run: on a GPU the guard says it did not check, instead of failing."""
    run = DefaultRun("05_x", {}, {"DEVICE": torch.device("cuda")})
    assert not run.is_default and run.differences == {"DEVICE": "cuda"}
    run.check(elbo_matches=False)  # would raise in the default run
    assert "DEVICE='cuda'" in capsys.readouterr().out


def test_on_a_cpu_the_guard_still_fails_loudly():
    run = DefaultRun("05_x", {}, {"DEVICE": torch.device("cpu")})
    assert run.is_default
    with pytest.raises(AssertionError, match="elbo_matches"):
        run.check(elbo_matches=False)


def test_the_failure_is_said_in_the_readers_language(monkeypatch):
    monkeypatch.setattr(i18n, "_compiled", lambda: {
        "in the default run the text no longer holds: {names} — update the sentence, or find what changed the "
        "numbers (another PyTorch version or CPU can move a trained number)": "正文不再成立：{names}"})
    i18n.set_language("zh")
    try:
        with pytest.raises(AssertionError, match="正文不再成立：elbo_matches"):
            DefaultRun("05_x", {}).check(elbo_matches=False)
    finally:
        i18n.set_language(None)
