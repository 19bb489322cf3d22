"""The command line, in real subprocesses: training, clear errors, never overwriting, resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vae_helpers.cli import main

PROJECT = Path(__file__).resolve().parent.parent


def cli(*args, env_extra=None, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAE_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "vae_helpers", *args], capture_output=True, text=True,
                          cwd=PROJECT, env=env, timeout=300, **kwargs)


def tiny_args(tiny_mirror, data_root, *extra):
    return ["--data-mirror", str(tiny_mirror), "--data-root", str(data_root), "--h-dim", "64", "--z-dim", "4",
            "--batch-size", "64", "--device", "cpu", "--no-progress", *extra]


def test_help_documents_every_flag():
    out = cli("train", "--help").stdout
    for flag in ("--dataset", "--epochs", "--batch-size", "--lr", "--h-dim", "--z-dim", "--image-size",
                 "--device", "--precision", "--engine", "--compile-adam", "--kl-weight", "--k", "--seed", "--data-root", "--data-mirror", "--limit", "--out",
                 "--resume"):
        assert flag in out
    assert "default: 15" in out and "default: 0.001" in out


def test_train_writes_a_run_folder(tiny_mirror, data_root, tmp_path):
    result = cli("train", *tiny_args(tiny_mirror, data_root, "--epochs", "2", "--out", str(tmp_path / "run")))
    assert result.returncode == 0, result.stderr
    assert "test ELBO" in result.stdout and "nats/image" in result.stdout
    run = tmp_path / "run"
    assert {p.name for p in (run / "samples").iterdir()} == {
        "sample-01.png", "sample-02.png", "reconstruction-01.png", "reconstruction-02.png"}
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["config"]["epochs"] == 2 and metrics["final"]["test_elbo"] < 0
    assert metrics["config"]["precision"] == "fp32"
    again = cli("train", *tiny_args(tiny_mirror, data_root, "--epochs", "1", "--out", str(run)))
    assert again.returncode == 0 and "already holds results" in again.stdout
    assert (tmp_path / "run-2" / "metrics.json").is_file()
    assert json.loads((run / "metrics.json").read_text()) == metrics, "the first run was overwritten"


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "0"], "epochs=0 is not allowed"),
        (["--batch-size", "-1"], "batch_size=-1 is not allowed"),
        (["--z-dim", "0"], "z_dim=0 is not allowed"),
        (["--lr", "nan"], "lr=nan is not allowed"),
        (["--dataset", "cifar10"], "dataset='cifar10' is not allowed"),
        (["--image-size", "196"], "image_size=196 does not match the data"),
        (["--limit", "100000"], "limit=100000 is larger than the 512 images"),
        (["--precision", "fp16"], "precision='fp16' is not allowed"),
        (["--objective", "iwae", "--k", "5", "--precision", "bf16"], "'fp32' when objective='iwae'"),
        (["--engine", "jit"], "engine='jit' is not allowed"),
        (["--objective", "iwae", "--k", "5", "--engine", "manual"], "'autograd' when objective='iwae'"),
        (["--k", "5", "--engine", "manual"], "engine must be 'autograd' when k=5"),
        (["--kl-weight", "-1"], "kl_weight=-1.0 is not allowed"),
        (["--kl-weight", "2", "--engine", "manual"], "kl_weight must be 1 when engine='manual'"),
    ],
)
def test_bad_flags_give_one_clear_line(tiny_mirror, data_root, tmp_path, capsys, flags, message):
    code = main(["train", *tiny_args(tiny_mirror, data_root, "--out", str(tmp_path / "run"), *flags)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_a_bad_flag_in_a_real_process_exits_2_without_traceback(tmp_path):
    result = cli("train", "--epochs", "-2", "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: epochs=-2 is not allowed: epochs must be a positive whole number (1, 2, 3, ...)."
    )


def test_missing_data_offline(tmp_path):
    result = cli("train", "--data-root", str(tmp_path / "empty"), "--device", "cpu",
                 env_extra={"VAE_DATA_MIRROR": str(tmp_path / "no-mirror")})
    assert result.returncode == 2
    assert "MNIST is not installed" in result.stderr and "--data-mirror" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_command_installs_from_the_mirror(tiny_mirror, data_root):
    result = cli("data", "--data-mirror", str(tiny_mirror), "--data-root", str(data_root), "--no-download")
    assert result.returncode == 0, result.stderr
    assert (data_root / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()


def _final_weights(run: Path) -> dict:
    return torch.load(run / "checkpoint.pt", weights_only=True)["model"]


def test_a_killed_run_resumes_to_the_same_weights(tiny_mirror, data_root, tmp_path):
    epochs = "12"
    args = tiny_args(tiny_mirror, data_root, "--epochs", epochs, "--batch-size", "16", "--seed", "7")
    straight = cli("train", *args, "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr

    run = tmp_path / "killed"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAE_")}
    proc = subprocess.Popen([sys.executable, "-m", "vae_helpers", "train", *args, "--out", str(run)],
                            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run / "samples" / "sample-03.png").exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (run / "metrics.json").exists(), "the run finished before it could be killed"
    done = torch.load(run / "checkpoint.pt", weights_only=True)["epoch"]
    assert 1 <= done < int(epochs)

    resumed = cli("train", *args, "--out", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {run} from epoch {done}" in resumed.stdout
    a, b = _final_weights(tmp_path / "straight"), _final_weights(run)
    assert all(torch.equal(a[k], b[k]) for k in a)
    history = json.loads((run / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, int(epochs) + 1))


def test_resume_with_another_configuration_is_refused(tiny_mirror, data_root, tmp_path):
    run = tmp_path / "run"
    assert cli("train", *tiny_args(tiny_mirror, data_root, "--epochs", "1", "--out", str(run))).returncode == 0
    other = cli("train", *tiny_args(tiny_mirror, data_root, "--epochs", "2", "--out", str(run), "--resume",
                                    "--z-dim", "8"))
    assert other.returncode == 2
    assert "z_dim: checkpoint has 4, this run has 8" in other.stderr


def test_an_out_folder_that_cannot_be_created_is_one_clear_line(tiny_mirror, data_root):
    result = cli("train", *tiny_args(tiny_mirror, data_root, "--epochs", "1", "--out", "/proc/nope"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: could not create the run folder /proc/nope: ")
    assert "--out" in result.stderr


def test_kl_weight_and_k_reach_the_run(tiny_mirror, data_root, tmp_path, capsys):
    code = main(["train", *tiny_args(tiny_mirror, data_root, "--epochs", "1", "--kl-weight", "0.5", "--k", "2",
                                     "--out", str(tmp_path / "run"))])
    assert code == 0, capsys.readouterr().err
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["kl_weight"] == 0.5 and metrics["config"]["k"] == 2
    final = metrics["final"]
    assert final["train_elbo"] == pytest.approx(-(final["train_recon"] + final["train_kl"]), rel=1e-5)
