# medius — two commands on a fresh machine:  make demo   and   make test
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python
DEMO := demo-output

.PHONY: install demo test test-fast bench lint clean

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install -q uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock | $(UV)
	./scripts/install-sysdeps.sh
	$(UV) sync --frozen --compile-bytecode
	touch $@

## install: Debian packages (if missing), the virtualenv with every dependency from uv.lock
install: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) .venv/.installed

## demo: analyse the bundled real sample video and a synthetic single-leg squat; print where the reports are
demo: install
	@mkdir -p $(DEMO)
	@echo "== 1/2 real sample video (Sports2D demo clip, shipped in the sports2d wheel)"
	@$(PY) -m medius.cli analyze "$$($(PY) -c 'from medius.io.samples import sample_path; print(sample_path())')" \
		--task single-leg-squat --out $(DEMO)/sports2d-demo --force; rc=$$?; \
		if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi
	@echo "== 2/2 SYNTHETIC single-leg squat (generated keypoints, labelled synthetic in the report)"
	@$(PY) -m medius.cli synth $(DEMO)/synthetic-keypoints --force
	@$(PY) -m medius.cli analyze $(DEMO)/synthetic-keypoints --fps 30 --image-size 1080x1920 --task single-leg-squat \
		--out $(DEMO)/synthetic-single-leg-squat --force
	@echo
	@echo "Reports:"
	@echo "  real video : $(CURDIR)/$(DEMO)/sports2d-demo/report.html"
	@echo "  synthetic  : $(CURDIR)/$(DEMO)/synthetic-single-leg-squat/report.html"

## test: the whole test suite (installs first)
test: install
	$(PY) -m pytest -n 2 -q

## bench: speed and memory, as ratios measured side by side in one run
bench: install
	$(PY) benchmarks/bench_video.py

lint: install
	.venv/bin/ruff check src tests benchmarks

clean:
	rm -rf .venv .tools $(DEMO) .pytest_cache
