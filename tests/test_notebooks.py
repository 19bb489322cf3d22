"""Every notebook runs under papermill with non-default parameters, from a foreign working directory.

Notebooks that declare DATA_MIRROR / DATA_ROOT get the tiny generated dataset (real IDX files);
a short real-data run of the training notebook runs when the MNIST mirror exists. The stored
outputs of the deterministic notebooks are checked separately by nbval (see the Makefile).
"""

from __future__ import annotations

from pathlib import Path

import papermill
import pytest
from real_mirror import real_mirror

PROJECT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((PROJECT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KERNEL = "vae-notebooks"

#: non-default parameters per notebook: small, quick, and different from the defaults
QUICK_PARAMETERS: dict[str, dict] = {
    "00_overview_and_setup": {"SEED": 3, "TRAIN_STEPS": 20},
    "01_latent_variable_models": {"SEED": 1, "N_PRIOR_SAMPLES": 5000, "N_CONVERGENCE_REPEATS": 5, "MAX_LATENT_DIM": 4,
                                  "N_DATA_POINTS": 50, "N_FIT_IMAGES": 500, "DIGIT_LATENT_DIM": 3,
                                  "N_DIGIT_SAMPLES": 1000},
    "02_encoder_and_elbo": {"SEED": 1, "N_ELBO_SAMPLES": 2000, "ENCODER_STEPS": 50, "N_IMAGES": 256,
                            "VAE_STEPS": 20, "FREE_Q_STEPS": 20},
    "03_reparameterization_trick": {"SEED": 7, "MU": -0.6, "SIGMA": 0.5,
                                    "N_VARIANCE": 20000, "MU_MAX": 2.0, "N_IMAGES": 256, "H_DIM": 8, "Z_DIM": 3,
                                    "BATCH": 16, "COMPARE_BATCH": 16, "STEPS": 20, "N_COMPARE": 2, "N_DRAWS": 200},
    "04_kl_closed_form": {"SEED": 5, "MU": -1.2, "LOG_VAR": 0.7, "MC_SAMPLES": 20000, "Z_DIM": 5,
                          "N_IMAGES": 256, "H_DIM": 8, "VAE_STEPS": 20, "BATCH": 16, "DRAWS": 20,
                          "TRAIN_LR": 0.2, "TRAIN_STEPS": 60, "CHAINS": 20},
    "05_training_the_vae": {"EPOCHS": 1, "LIMIT": 256, "DEMO_IMAGES": 256, "TRAIN_PROBE": 128, "NOISE_REPEATS": 4,
                            "AE_EPOCHS": 1, "PRECISION": "bf16", "ENGINE": "manual", "COMPILE_ADAM": True},
    "06_shape_experiments": {"EPOCHS": 1, "LIMIT": 256, "CONV_CHANNELS": 4, "SIDES": [14, 32]},
    "07_latent_space": {"EPOCHS": 1, "LIMIT": 256},
    "08_likelihood_evaluation": {"EPOCHS": 1, "LIMIT": 256, "N_TEST": 64, "K_MAX": 200, "CHUNK": 100,
                                 "REUSE_RUNS": False},
    "09_making_training_fast": {"STEPS": 5, "REPEATS": 1, "MIN_RUN_TIME": 0.02, "PROFILE_STEPS": 2, "COMPILE": False,
                                "SEED": 1},
}


def quick_parameters(notebook: Path, mirror: Path, root: Path) -> dict:
    declared = papermill.inspect_notebook(str(notebook))
    wanted = dict(QUICK_PARAMETERS.get(notebook.stem, {}))
    if "DATA_MIRROR" in declared:
        wanted["DATA_MIRROR"] = str(mirror)
    if "DATA_ROOT" in declared:
        wanted["DATA_ROOT"] = str(root)
    unknown = sorted(set(wanted) - set(declared))
    assert not unknown, f"{notebook.name} does not declare parameters {unknown}; declared: {sorted(declared)}"
    return wanted


def run_notebook(notebook: Path, parameters: dict, tmp_path: Path) -> Path:
    out = tmp_path / notebook.name
    papermill.execute_notebook(
        str(notebook), str(out), parameters=parameters, kernel_name=KERNEL, cwd=str(tmp_path),
        progress_bar=False, execution_timeout=600,
    )
    return out


def test_every_notebook_has_quick_parameters():
    assert NOTEBOOKS, "no notebooks found"
    missing = [nb.stem for nb in NOTEBOOKS if nb.stem not in QUICK_PARAMETERS]
    assert not missing, f"add papermill parameters for {missing} to QUICK_PARAMETERS"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_with_other_parameters(notebook, tiny_mirror, tmp_path):
    parameters = quick_parameters(notebook, tiny_mirror, tmp_path / "data-root")
    run_notebook(notebook, parameters, tmp_path)


@pytest.mark.realdata
def test_training_notebook_on_real_mnist(tmp_path):
    mirror = real_mirror()
    if mirror is None:
        pytest.skip("REAL-DATA CHECK SKIPPED: no MNIST mirror ($VAE_DATA_MIRROR or ../shared/data)")
    notebook = PROJECT / "notebooks" / "05_training_the_vae.ipynb"
    if not notebook.exists():
        pytest.skip("notebook 05 is not written yet")
    parameters = quick_parameters(notebook, mirror, tmp_path / "data-root")
    parameters.update(EPOCHS=1, LIMIT=10000, PRECISION="fp32")
    run_notebook(notebook, parameters, tmp_path)
