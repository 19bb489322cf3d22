# vae-notebooks: every target sets up what it needs (a local virtualenv in .venv).
#   make run    execute the whole series into build/ (the main job)
#   make test   unit tests, notebook checks (nbval + papermill), real-data check
#   make lab    open the series in JupyterLab

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := vae-notebooks

# Offline data: use the shared MNIST mirror beside the checkout when there is one.
VAE_DATA_MIRROR ?= $(wildcard $(abspath ../shared/data))
export VAE_DATA_MIRROR
export PYTHONDONTWRITEBYTECODE := 1
export MPLBACKEND := Agg

.PHONY: venv test test-unit test-notebooks run lab bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) (first time: about 2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (vae-notebooks)" >/dev/null
	@touch $@

test: $(STAMP)
	$(PY) -m pytest tests

run: $(STAMP)
	$(PY) -m vae_helpers train --out build/runs/seed

lab: $(STAMP)
	$(PY) -m jupyter lab --notebook-dir=notebooks

clean:
	rm -rf build runs .pytest_cache
