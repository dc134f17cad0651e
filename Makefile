# Sausage Cloud: the two commands of the README, and the tools around them.
SHELL := /bin/bash
VENV ?= .venv
STATE_DIR ?= /var/lib/sausage
PORT ?= 8000
FUZZ_REQUESTS ?= 100000

.PHONY: install up test fuzz tempest bench clean

install:            ## apt packages and the virtualenv at .venv
	tools/install

up: install         ## install, build the test guest, then run the all-in-one cloud
	tools/testimage/build --out .cache/testimage
	$(VENV)/bin/sausage up --state-dir $(STATE_DIR) --port $(PORT) \
	  --test-image .cache/testimage/disk.qcow2

test: install       ## the whole test suite (static checks, unit, API on SQLite and PostgreSQL, e2e)
	tools/run-tests

fuzz: install       ## the fuzz tier with a bigger budget: make fuzz [FUZZ_REQUESTS=100000] [FUZZ_SEED=n]
	FUZZ_REQUESTS=$(FUZZ_REQUESTS) FUZZ_SEED=$(FUZZ_SEED) $(VENV)/bin/pytest -s tests/fuzz

tempest: install    ## Tempest against the running cloud: make tempest [TEMPEST_ARGS="--regex ..."]
	tools/tempest/run --state-dir $(STATE_DIR) $(TEMPEST_ARGS)

bench: install      ## benchmarks that print figures
	for b in bench/*; do $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .tempest-venv .mypy_cache .pytest_cache
