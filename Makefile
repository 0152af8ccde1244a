# Entry points. `make demo` and `make test` install what they need first.
SHELL := /bin/bash
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
LAB := PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python -m nodeops_lab.lab
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
export PATH := $(VENV)/bin:$(PATH)

.PHONY: setup demo test unit lab-tests integration sanity lint molecule lab-up lab-down lab-status bench-drain changelog

setup:
	@tests/ci/setup.sh

demo: setup lab-up
	ansible-playbook -i .lab/inventory.yml playbooks/demo_drain.yml

test: setup
	tests/ci/run-tests.sh

unit: setup
	tests/ci/run-tests.sh unit

lab-tests: setup
	tests/ci/run-tests.sh lab

integration: setup
	tests/ci/run-tests.sh integration

sanity: setup
	tests/ci/run-tests.sh sanity

lint: setup
	tests/ci/run-tests.sh lint

molecule: setup
	tests/ci/run-tests.sh molecule

lab-up: setup
	$(LAB) up

lab-down: setup
	$(LAB) down

lab-status: setup
	$(LAB) status

bench-drain: setup
	PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python tests/bench/bench_drain.py

changelog: setup
	antsibull-changelog release
