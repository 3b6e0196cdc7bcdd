# Two commands do all the set-up on a fresh machine (Python 3.10+ with venv):
#   make demo   creates .venv, installs edgematte, exports the embedded default network and verifies it
#   make test   creates .venv (if needed) and runs the test suite
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0

.PHONY: demo test test-all clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/edgematte export --to onnx --out out/demo-onnx --force
	$(VENV)/bin/edgematte verify out/demo-onnx

test: $(VENV)/.installed
	$(PY) -m pytest -q

test-all: $(VENV)/.installed
	$(PY) -m pytest -q -m ''

clean:
	rm -rf $(VENV) out .pytest_cache
