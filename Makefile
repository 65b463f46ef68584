# Two commands: `make run` (embedded SQLite, demo data, http://127.0.0.1:8000) and `make test` (PostgreSQL + Redis).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: install system run test lint messages bench

# Debian packages the documents need: LibreOffice (DOCX → PDF/A, kept warm through unoserver and python3-uno),
# metric-compatible fonts, poppler (pdfsig, pdffonts), SoftHSM2 and OpenSC (a PKCS#11 token), zbar (QR codes),
# NSS tools (certutil: the trust store pdfsig checks signatures against).
DEBIAN_PACKAGES := libreoffice-writer-nogui python3-uno fonts-liberation poppler-utils softhsm2 opensc zbar-tools libnss3-tools

system:
	@missing="$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null || \
	      (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null); \
	  else echo "Install these Debian packages (as root): apt-get install $$missing"; fi; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

install: system $(VENV)/.installed

# Quiet until the demo logins: migrations and the demo's tasks say nothing unless something fails.
run: install
	@env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --noinput -v 0
	@env -u DATABASE_URL -u REDIS_URL $(PY) manage.py load_demo
	@echo "Service: http://127.0.0.1:8000/  (API docs /api/docs/, admin /admin/)"
	@env -u DATABASE_URL -u REDIS_URL $(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(VENV)/bin/pytest

# Benchmarks (docs/PERFORMANCE.md): a 1,000,000-case database sttt_bench is generated on the first run;
# `make bench BENCH_ARGS=--regenerate` builds it again.
bench: install
	@command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
	$(PY) -m bench.all $(BENCH_ARGS)

lint: install
	$(VENV)/bin/ruff check .

messages: install
	$(PY) manage.py makemessages -l vi --no-obsolete --ignore=.venv --ignore=tests
	$(PY) manage.py compilemessages --ignore=.venv
