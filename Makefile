# dpgan_nb — the README's commands. Everything runs inside .venv, created on first use.
SHELL := /bin/bash
PY    ?= python3
VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-nb test-stress export clean readme docs docs-check studies help

help:
	@echo "make demo   - set up .venv if missing (pinned by constraints.txt), then train the demo DP-GAN on the embedded mnist-5k"
	@echo "make test   - set up .venv if missing, export + check the package, pytest tests/ (every notebook's tests in a Jupyter kernel too)"
	@echo "make test-nb - nbdev_test: the notebooks' tests in-process (the quick loop while editing)"
	@echo "make test-stress - every notebook's tests under the numerics stress (float32 kernels that differ per shape, as on some CPUs)"
	@echo "make readme - README.md from nbs/index.ipynb (tools/make_readme.py; no Quarto needed)"
	@echo "make docs   - executed notebooks -> nbdev's processed notebooks -> offline Sphinx site in _site/ (nbdev_docs too if Quarto exists)"
	@echo "make docs-check - make docs, then open every page in headless Chromium, offline (search, maths, widgets; screenshots in _site/_screenshots/)"

# (Re)install when the dependencies change. settings.ini declares ranges (what a user's pip may choose from);
# constraints.txt pins the exact versions that make and CI use.
$(STAMP): settings.ini setup.py constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dpgan demo

test: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/python -c "from dpgan_nb.cli import write_help_specs; write_help_specs()"   # dpgan_nb/cli_help.json: every --help without torch
	@git diff --quiet -- dpgan_nb || { echo "The package is out of step with nbs/: run make export and commit dpgan_nb/"; git diff --stat -- dpgan_nb; exit 1; }
	@test -z "$$(git ls-files --others --exclude-standard dpgan_nb)" || { echo "Untracked exported modules:"; git ls-files --others --exclude-standard dpgan_nb; exit 1; }
	$(BIN)/pytest -q --durations=15 tests/   # the 15 slowest tests, to keep make test within 20 minutes on 2 cores

# The notebooks' test cells are run once by make test, in real Jupyter kernels (tests/test_notebooks_kernel.py: the
# cells nbdev_test runs, skipped by the same rule, two notebooks at a time). nbdev_test runs the same cells in-process:
# the quicker loop while editing a notebook (make test-nb, or nbdev_test --path nbs/04_train.ipynb).
test-nb: $(STAMP)
	OMP_NUM_THREADS=1 $(BIN)/nbdev_test --n_workers 2 --timing   # two notebooks at a time, one thread each: no oversubscription of 2 cores

# The numerics stress (tools/numerics_stress/sitecustomize.py): every float32 convolution and matrix product is
# multiplied by a fixed pattern 1 ± STRESS per (op, shape), as oneDNN's kernels differ per CPU and batch size. Every
# notebook runs as nbdev_test runs it, and every failing cell is listed (not only a notebook's first). A developer's
# check of the cross-checks' tolerances, not part of `make test`; add PYTEST=1 to run tests/ under it too.
STRESS ?= 1e-3
test-stress: $(STAMP)
	ls nbs/*.ipynb | OMP_NUM_THREADS=1 PYTHONPATH=$(CURDIR)/tools/numerics_stress DPGAN_NUMERICS_STRESS=$(STRESS) xargs -P 2 -n 6 $(BIN)/python tools/numerics_stress/all_errors.py
	@if [ -n "$(PYTEST)" ]; then OMP_NUM_THREADS=1 PYTHONPATH=$(CURDIR)/tools/numerics_stress DPGAN_NUMERICS_STRESS=$(STRESS) $(BIN)/pytest -q tests/; fi

export: $(STAMP)
	$(BIN)/nbdev_export
	$(BIN)/python -c "from dpgan_nb.cli import write_help_specs; write_help_specs()"

clean: $(STAMP)
	$(BIN)/nbdev_clean

readme: $(STAMP)
	$(BIN)/python tools/make_readme.py

# The site: tools/build_docs.py executes nbs/ (one kernel per notebook), runs nbdev's processing into _sphinx/, then
# sphinx-build (docs/conf.py: myst-nb, sphinx-book-theme, sphinx-mathjax-offline) into _site/. Widgets are drawn from
# their saved state by the ipywidgets HTML manager, which --fetch-widgets takes from the npm registry (pinned, SHA-256
# checked); without npm the widgets are drawn static. Where Quarto exists, nbdev_docs builds nbdev's own site too.
WIDGETS_JS := $(VENV)/share/dpgan-docs-widgets/widgets/embed.js
$(WIDGETS_JS): | $(STAMP)
	-$(BIN)/python tools/build_docs.py --fetch-widgets

docs: readme $(STAMP) $(WIDGETS_JS)
	OMP_NUM_THREADS=1 $(BIN)/python tools/build_docs.py
	@if command -v quarto >/dev/null 2>&1; then $(BIN)/nbdev_docs; else echo "(Quarto not found: built the Sphinx site only; nbdev_docs needs Quarto)"; fi

docs-check: docs
	$(BIN)/python tools/check_docs.py

# The study figures (nbs/08_studies): SIZE=tiny|small|full; figures go to output_plots/
SIZE ?= small
studies: $(STAMP)
	DPGAN_NO_PROGRESS=1 $(BIN)/dpgan studies --size $(SIZE)
