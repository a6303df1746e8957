# Two entry points (see README): `make course` and `make test`.
# Both create .venv and install requirements.txt (and requirements-nodeps.txt) on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: course test install clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

# Run every notebook in the mode $TLTF_MODE names (lesson by default; quick or study) and build the
# course site from the executed copies in build/site/ (open build/site/index.html; see README).
course: install
	$(BIN)/python -m tltf.assets fetch
	$(BIN)/python -m tltf.site build

# Style (ruff reads the notebooks too), then unit tests plus every notebook under nbval in quick mode, and the site in a browser.
LINTED := tltf tests notebooks docs conftest.py
test: install
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/python -m pytest

clean:
	rm -rf build .pytest_cache
