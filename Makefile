# Entry points. `make demo` and `make test` install what they need first.
SHELL := /bin/bash
ROOT := $(abspath .)
VENV := $(ROOT)/.venv
LAB := PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python -m nodeops_lab.lab
export ANSIBLE_COLLECTIONS_PATH := $(ROOT)/.cache/collections
# kubectl and the other binaries of the lab's pinned Kubernetes (tests/lab/k8s)
K8S_VERSION := $(shell awk '$$1 == "k8s.io/kubernetes" {print $$2; exit}' $(ROOT)/tests/lab/k8s/go.mod)
K8S_BIN := $(or $(NODEOPS_LAB_CACHE),$(HOME)/.cache/nodeops-lab)/k8s-$(K8S_VERSION)
export PATH := $(VENV)/bin:$(K8S_BIN):$(PATH)

.PHONY: setup demo test unit lab-tests integration sanity lint molecule lab-up lab-down lab-status bench-drain bench-audit bench-rollout-scale bench-rollout-overhead changelog

setup:
	@tests/ci/setup.sh

# Drain lab-worker1 (its pods really move), then wait for Ready and uncordon it.
demo: setup lab-up
	ansible-playbook -i .lab/inventory.yml playbooks/node_maintenance.yml -e node_maintenance_hosts=lab-worker1 \
	  -e node_maintenance_delete_emptydir_data=true -e node_maintenance_force=true

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

# Drain: ours, kubectl and kubernetes.core.k8s_drain on the lab; e.g. BENCH_DRAIN_ARGS="--runs 3 --case pdb".
bench-drain: setup
	PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python tests/bench/bench_drain.py $(BENCH_DRAIN_ARGS)

# The fleet audit on 3 and on 100 API-only nodes (the scale lab, kwok); e.g. BENCH_AUDIT_ARGS="--runs 2 --port 16720".
bench-audit: setup
	PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python tests/bench/bench_audit.py $(BENCH_AUDIT_ARGS)

# node_maintenance (cordon, drain, Ready wait, uncordon) on 10, 50 and 100 API-only nodes, serial 1 and 10%;
# e.g. BENCH_ROLLOUT_SCALE_ARGS="--sizes 10,50 --serials 1 --port 16740".
bench-rollout-scale: setup
	PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python tests/bench/bench_rollout_scale.py $(BENCH_ROLLOUT_SCALE_ARGS)

# Per-node orchestration overhead of the containerd switch on real kubelets, the lab's connection against
# containers.podman.podman, paired; e.g. BENCH_ROLLOUT_OVERHEAD_ARGS="--rounds 5 --port 16750".
bench-rollout-overhead: setup
	PYTHONPATH=$(ROOT)/tests/lab $(VENV)/bin/python tests/bench/bench_rollout_overhead.py $(BENCH_ROLLOUT_OVERHEAD_ARGS)

changelog: setup
	antsibull-changelog release
