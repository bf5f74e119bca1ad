# Entry points of the project. `make demo` and `make test` run `make setup` first when needed.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.stamp-setup
export QT_QPA_PLATFORM ?= offscreen
export PYTHONDONTWRITEBYTECODE := 1

CONFIG ?= lite
# A task that runs in stages trains one stage at a time: make train-derain_fuse STAGE=derain (then fuse).
STAGE ?=
TASKS := dehaze desand decloud derain_fuse fill_gaps

.PHONY: setup test lint demo gui-check bench package install clean $(addprefix train-,$(TASKS)) $(addprefix eval-,$(TASKS))

setup: $(SETUP_STAMP)

$(SETUP_STAMP): requirements.txt qgis_restore_plugin/requirements.txt scripts/setup_system.sh
	bash scripts/setup_system.sh
	test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	$(PY) -c "from osgeo import gdal_array; import onnxruntime, torch"
	touch $@

test: setup
	$(PY) -m pytest -q tests

lint: setup
	$(PY) -m ruff check .

demo: setup
	bash scripts/demo.sh

# The dialog run in a real (offscreen) QGIS GUI, and the installer dialog; refreshes the README's
# screenshots in docs/images/ (make test runs the same checks without saving them).
gui-check: setup
	RESTORE_SAVE_SCREENSHOTS=1 $(PY) -m pytest -q tests/plugin/test_gui_dialog.py tests/plugin/test_install_gui.py

bench: setup
	$(PY) -m benchmarks
	$(PY) -m benchmarks.model_throughput

package: setup
	$(PY) scripts/package_plugin.py --out dist

install: package
	bash scripts/install_plugin.sh dist/qgis_restore_plugin.zip

$(addprefix train-,$(TASKS)): train-%: setup
	$(PY) -m training train --task $* --config $(CONFIG) $(if $(STAGE),--stage $(STAGE))

$(addprefix eval-,$(TASKS)): eval-%: setup
	$(PY) -m training evaluate --task $*

clean:
	rm -rf dist build out .pytest_cache
