# vae-notebooks: every target sets up what it needs (a local virtualenv in .venv).
#   make run    execute the whole series into build/ (the main job)
#   make test   unit tests, notebook checks (nbval + papermill), real-data check
#   make lab    open the series in JupyterLab
#   make zh     rebuild the Chinese edition (notebooks/zh/) from the lessons + notebooks/zh/po/*.po
#   make zh-extract   new or changed English paragraphs into the catalogs (old translations → fuzzy)
#   EDITION=zh  make run / make lab with the Chinese edition (JupyterLab's interface in Chinese too)
#   make book   the book: both editions of the committed notebooks as a static website in build/book/

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNEL := vae-notebooks

# Offline data: use the shared MNIST mirror beside the checkout when there is one.
VAE_DATA_MIRROR ?= $(wildcard $(abspath ../shared/data))
export VAE_DATA_MIRROR
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test run lab test-browser bench clean zh zh-extract book

# Which edition `make run` and `make lab` use: en (notebooks/), or zh (notebooks/zh/, 中文版).
EDITION ?= en
ifeq ($(filter en zh,$(EDITION)),)
$(error EDITION=$(EDITION) is not an edition: use EDITION=en (English) or EDITION=zh (中文))
endif

# JupyterLab settings installed with the environment: never ask about (or fetch) Jupyter news
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
LAB_SETTINGS  := {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}

# The Chinese edition's JupyterLab: the same, with the interface in Simplified Chinese (the language
# pack jupyterlab-language-pack-zh-CN). A settings folder of its own, so `make lab` stays English.
LAB_ZH_DIR       := $(VENV)/share/jupyter/lab/settings-zh
LAB_ZH_OVERRIDES := $(LAB_ZH_DIR)/overrides.json
LAB_ZH_SETTINGS  := {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}, "@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}

venv: $(STAMP) $(LAB_OVERRIDES) $(LAB_ZH_OVERRIDES)

# file targets of their own, so an existing .venv gets them too
$(LAB_OVERRIDES): Makefile
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(LAB_SETTINGS)' > $@

$(LAB_ZH_OVERRIDES): Makefile
	@mkdir -p $(dir $@)
	@printf '%s\n' '$(LAB_ZH_SETTINGS)' > $@

$(STAMP): pyproject.toml
	@echo ">> creating $(VENV) (first time: about 2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (vae-notebooks)" >/dev/null
	@touch $@

# nbval re-runs the deterministic lessons and compares their printed numbers with the stored outputs
NBVAL_NOTEBOOKS := $(wildcard notebooks/0[0-4]_*.ipynb notebooks/06_*.ipynb)

test: $(STAMP)
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval $(NBVAL_NOTEBOOKS) --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600

# make run [QUICK=1] [EPOCHS=3] [DATASET=fashion-mnist] [LIMIT=N] [DEVICE=cuda] [ONLY="05 06"]
RUN_FLAGS = $(if $(filter 1 true yes,$(QUICK)),--quick) $(if $(EPOCHS),--epochs $(EPOCHS)) \
	$(if $(DATASET),--dataset $(DATASET)) $(if $(LIMIT),--limit $(LIMIT)) \
	$(if $(DEVICE),--device $(DEVICE)) $(if $(SEED),--seed $(SEED)) $(if $(ONLY),--only $(ONLY)) \
	$(if $(PRECISION),--precision $(PRECISION)) $(if $(ENGINE),--engine $(ENGINE)) \
	$(if $(filter 1 true yes,$(COMPILE_ADAM)),--compile-adam)

run: $(STAMP)
	$(PY) -m vae_helpers.series --edition $(EDITION) $(RUN_FLAGS)

# JupyterLab from the project's environment, opened at the first lesson. Kernels talk to it over
# IPC (Unix sockets in Jupyter's runtime folder), not TCP: a local kernel needs no network port, and
# ipykernel then has no "Kernel is running over TCP without encryption" warning to print.
lab: $(STAMP) $(LAB_OVERRIDES) $(LAB_ZH_OVERRIDES)
	env -u MPLBACKEND $(if $(filter zh,$(EDITION)),VAE_NOTEBOOKS_LANG=zh) $(PY) -m jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) \
		--ServerApp.root_dir=notebooks --KernelManager.transport=ipc \
		$(if $(filter zh,$(EDITION)),--LabApp.app_settings_dir=$(abspath $(LAB_ZH_DIR)) \
		--LabApp.default_url=/lab/tree/zh/00_overview_and_setup.ipynb,--LabApp.default_url=/lab/tree/00_overview_and_setup.ipynb)

# The Chinese edition: the commands for translators (docs/translating.md)
zh: $(STAMP)
	$(PY) -m vae_helpers.exercises.i18n build
	$(PY) -m vae_helpers.translation build

zh-extract: $(STAMP)
	$(PY) -m vae_helpers.translation extract
	$(PY) -m vae_helpers.exercises.i18n extract

# The book: the committed notebooks of both editions as a static website (never re-executed), offline
# (Sphinx + MyST-NB + the book theme, MathJax bundled). Read it: python -m http.server -d build/book
book: $(STAMP)
	$(PY) scripts/build_book.py --out build/book

# The reader's view: JupyterLab in headless Chromium runs the lessons, and the book is opened in it
# (installs chromium + playwright).
test-browser: $(STAMP) $(LAB_OVERRIDES) $(LAB_ZH_OVERRIDES) book
	VAE_BROWSER_TIMEOUT=$${VAE_BROWSER_TIMEOUT:-600} bash scripts/test_browser.sh

bench: $(STAMP)
	$(PY) benchmarks/speed.py --epochs 3

clean:
	rm -rf build runs .pytest_cache
