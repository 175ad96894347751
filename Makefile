# medius — two commands on a fresh machine:  make demo   and   make test
SHELL := /bin/bash
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
PY := .venv/bin/python
DEMO := demo-output

.PHONY: install demo test test-fast bench redteam lint clean validate validate-quick

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install -q uv==$(UV_VERSION)

.venv/.installed: pyproject.toml uv.lock | $(UV)
	./scripts/install-sysdeps.sh
	$(UV) sync --frozen --compile-bytecode
	touch $@

## install: Debian packages (if missing), the virtualenv with every dependency from uv.lock
install: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv) .venv/.installed

## demo: analyse the bundled samples (video, synthetic, real lab trial), run a clinical assessment, print where everything is
demo: install
	@mkdir -p $(DEMO)
	@echo "== 1/6 real sample video (Sports2D demo clip, shipped in the sports2d wheel)"
	@$(PY) -m medius.cli analyze "$$($(PY) -c 'from medius.io.samples import sample_path; print(sample_path())')" \
		--task single-leg-squat --out $(DEMO)/sports2d-demo --force; rc=$$?; \
		if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi
	@echo "== RENDERED videos (a CC0 human rendered with known joint centres, the validation's clips): single-leg squats from the front, walking from behind"
	@$(PY) -m medius.cli analyze tests/data/validation/quick-sls-front/video.mp4 --task single-leg-squat \
		--out $(DEMO)/rendered-single-leg-squat --force; rc=$$?; if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi
	@$(PY) -m medius.cli analyze tests/data/validation/quick-walk-back/video.mp4 --task walk \
		--out $(DEMO)/rendered-walk --force; rc=$$?; if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi
	@echo "== 2/6 SYNTHETIC single-leg squat (generated keypoints, labelled synthetic in the report)"
	@$(PY) -m medius.cli synth $(DEMO)/synthetic-keypoints --force
	@$(PY) -m medius.cli analyze $(DEMO)/synthetic-keypoints --fps 30 --image-size 1080x1920 --task single-leg-squat \
		--out $(DEMO)/synthetic-single-leg-squat --force
	@echo "== 3/6 real lab walking trial (UQAM Plug-in Gait, Apache-2.0) with its static trial"
	@$(PY) -m medius.cli analyze tests/data/uqam/gait-lower-body.c3d --task walk \
		--static tests/data/uqam/static-100frames.c3d --marker-set tests/data/uqam/plug-in-gait-static-medial.yaml \
		--out $(DEMO)/uqam-walk --force
	@echo "== 4/6 SYNTHETIC walking: the same movement as a lab trial and filmed from behind"
	@$(PY) -m medius.cli synth $(DEMO)/synthetic-walk --task walk --force
	@$(PY) -m medius.cli analyze $(DEMO)/synthetic-walk/trial.c3d --task walk --out $(DEMO)/synthetic-walk-lab --force
	@$(PY) -m medius.cli analyze $(DEMO)/synthetic-walk/video --task walk --fps 30 --image-size 1080x1920 \
		--out $(DEMO)/synthetic-walk-video --force
	@echo "== 5/6 clinical assessment (example visit: weak right hip abductors, knee valgus) -> findings and program"
	@$(PY) -m medius.cli assess examples/assessments/pfp_right_visit1.yaml --out $(DEMO)/assessment --pdf --force
	@echo "== 6/6 clinic web app: demo clinic, admin and patient (two assessed visits, the rendered squat queued for analysis) in $(DEMO)/web-data"
	@MEDIUS_DATA_DIR=$(CURDIR)/$(DEMO)/web-data $(PY) -m medius.cli demo-data
	@echo
	@echo "Reports:"
	@echo "  real video (not judgeable, says why) : $(CURDIR)/$(DEMO)/sports2d-demo/report.html"
	@echo "  RENDERED single-leg squat, walk      : $(CURDIR)/$(DEMO)/rendered-single-leg-squat/report.html"
	@echo "                                         $(CURDIR)/$(DEMO)/rendered-walk/report.html"
	@echo "  synthetic single-leg squat           : $(CURDIR)/$(DEMO)/synthetic-single-leg-squat/report.html"
	@echo "  real lab walking trial               : $(CURDIR)/$(DEMO)/uqam-walk/report.html"
	@echo "  synthetic walking, lab / video       : $(CURDIR)/$(DEMO)/synthetic-walk-lab/report.html"
	@echo "                                         $(CURDIR)/$(DEMO)/synthetic-walk-video/report.html"
	@echo "  assessment, findings, program        : $(CURDIR)/$(DEMO)/assessment/assessment.html"
	@echo "Web app (one command; sign in as printed above):"
	@echo "  MEDIUS_DATA_DIR=$(CURDIR)/$(DEMO)/web-data $(CURDIR)/.venv/bin/medius serve"

## test: the whole test suite (installs first)
test: install
	$(PY) -m pytest -n 2 -q

## bench: speed and memory, as ratios measured side by side in one run (video, lab trial, batch, web app)
bench: install
	$(PY) benchmarks/bench_video.py
	$(PY) benchmarks/bench_lab.py
	$(PY) benchmarks/bench_batch.py
	$(PY) benchmarks/bench_web.py

## validate: render the full validation grid (CC0 humans, known joint centres), analyse, score; ~1 h on 2 cores,
## resumable (renders are cached in .cache/validation). Writes validation-output/ and the measured errors.
validate: install
	$(PY) -m medius.cli validate --out validation-output --write-measured-error --write-docs docs/validation.md

## validate-quick: three short scenarios (under 3 minutes)
validate-quick: install
	$(PY) -m medius.cli validate --quick --out validation-output/quick

## redteam: hostile input and load on loopback (C3D fuzz, sign-in flood, two clinics with one huge upload; SQLite and PostgreSQL)
redteam: install
	$(PY) benchmarks/redteam.py

## lint: ruff over the whole tree and mypy over src (web strict), as CI runs them
lint: install
	.venv/bin/ruff check .
	.venv/bin/mypy src

clean:
	rm -rf .venv .tools $(DEMO) .pytest_cache
