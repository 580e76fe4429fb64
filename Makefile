# Wild Rydes. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test setup migrate seed lint format lock bench load lockwaits package deploy rollback operator destroy unlock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# uv installs the locks (deploy/package.sh uses it too). It is bootstrapped by pip from its
# own hash-pinned lock, requirements/uv.txt (the same pin as requirements/dev.txt's; `make
# lock` writes both): one wheel, ~1.5 s. uv does not read pip's configuration (pip.conf,
# PIP_*): it installs from PyPI, or from the index in UV_DEFAULT_INDEX / UV_INDEX_URL.
$(VENV)/.uv: requirements/uv.txt | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements/uv.txt
	touch $@

# Reinstall only when the lock file changes; the virtualenv then holds exactly the lock (sync
# removes other packages, the venv's own pip and setuptools aside). Bytecode is compiled at
# install, as pip did (~20 s CPU on both cores): where PYTHONDONTWRITEBYTECODE is set nothing
# else would write it, and every process (the test workers, the checks, the tests'
# subprocesses) would compile what it imports again, which costs more.
$(VENV)/.installed: requirements/dev.txt $(VENV)/.uv
	$(BIN)/uv pip sync --python $(BIN)/python --require-hashes --compile-bytecode --quiet \
		requirements/dev.txt
	touch $@

setup: $(VENV)/.installed

migrate: setup
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v0

seed: migrate
	$(BIN)/python manage.py seed_demo

# The web server, plus the outbox relay (retries of failed event deliveries) and the
# payment lists' recovery pass (imports whose run died, e.g. a server restarted mid-import).
# The receipt e-mail links to the page on this server (unless SITE_URL is set already).
run: export SITE_URL ?= http://$(HOST):$(PORT)
run: seed
	@echo "Wild Rydes on http://$(HOST):$(PORT)/  (demo accounts: see README.md)"
	@trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/python manage.py relay_events --loop --interval 5 & \
	$(BIN)/python manage.py recover_payment_lists --loop --interval 60 & \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: setup
	$(BIN)/python tests/run.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Regenerate the lock files from pyproject.toml: the dev virtualenv's for Python 3.11, the Lambda
# package's (deploy.txt, .venv-lambda) for its runtime, python3.12; then uv.txt, dev.txt's uv
# pin alone (what `make setup` bootstraps uv from).
lock: setup
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -q -o requirements/prod.txt
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -q -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml --extra deploy --python-version 3.12 --generate-hashes -q -o requirements/deploy.txt
	grep -o '^uv==[^ ]*' requirements/dev.txt | \
		$(BIN)/uv pip compile - --python-version 3.11 --generate-hashes -q -o requirements/uv.txt

bench: setup
	$(BIN)/python bench/run.py
	$(BIN)/python bench/lambda_bench.py

# The rider journey under load (50 riders, 60 s, gunicorn on SQLite then PostgreSQL, loopback
# only), then a reconciliation against the database; figures in docs/benchmarks.md.
load: setup
	$(BIN)/python load/run.py

# Lock waits under 48 riders on PostgreSQL, events inline as on Lambda: pg_locks sampled every
# ~10 ms, each blocked statement's wait including chains of short waits (goal: none > 100 ms).
lockwaits: setup
	$(BIN)/python load/lockwaits.py

package: $(VENV)/.uv
	bash deploy/package.sh

# A stage on AWS, with the credentials and region of the environment (as the AWS CLI takes
# them): its stack, package, zappa deploy|update, migrate, collectstatic, the URL.
# CANARY=10 sends 10% of requests to the new version for BAKE minutes (10), watching alarms.
STAGE ?=
CANARY ?= 0
BAKE ?= 10
deploy: setup
	@test -n "$(STAGE)" || { echo "make deploy STAGE=<name> (dev, prod, yours)"; exit 2; }
	$(BIN)/python deploy/stage.py deploy $(STAGE) --canary $(CANARY) --bake-minutes $(BAKE)

rollback: setup
	@test -n "$(STAGE)" || { echo "make rollback STAGE=<name>"; exit 2; }
	$(BIN)/python deploy/stage.py rollback $(STAGE)

# The first operator of a stage (a superuser): asks for the password, sends only its hash.
operator: setup
	@test -n "$(STAGE)" -a -n "$(EMAIL)" || { echo "make operator STAGE=<name> EMAIL=<address>"; exit 2; }
	$(BIN)/python deploy/stage.py operator $(STAGE) --email $(EMAIL)

destroy: setup
	@test -n "$(STAGE)" || { echo "make destroy STAGE=<name>"; exit 2; }
	$(BIN)/python deploy/stage.py destroy $(STAGE) $(if $(filter $(STAGE),$(CONFIRM)),--yes)

# A stage's lock left by a command that stopped without releasing it (killed, its machine
# gone): names who holds it and asks for the stage's name first (or CONFIRM=<stage>). A lock
# unrenewed for 10 minutes is taken over by the next command anyway.
unlock: setup
	@test -n "$(STAGE)" || { echo "make unlock STAGE=<name>"; exit 2; }
	$(BIN)/python deploy/stage.py unlock $(STAGE) $(if $(filter $(STAGE),$(CONFIRM)),--yes)

clean:
	rm -rf $(VENV) .venv-lambda build dist .pytest_cache
