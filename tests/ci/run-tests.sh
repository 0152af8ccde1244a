#!/usr/bin/env bash
# Run every test stage, time each, and stop at the first failing stage.
# Usage: tests/ci/run-tests.sh [stage ...]   (default: all stages in order; a,b runs a and b at the same time)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections"
export PYTHONPATH="$ROOT/tests/lab${PYTHONPATH:+:$PYTHONPATH}"
# The bytecode cache of the modules Ansible runs here and in the labs' nodes
# (tests/lab/nodeops_lab/bytecode_cache.py): a test-run accelerator; set it empty to run without.
export NODEOPS_LAB_BYTECODE_CACHE="${NODEOPS_LAB_BYTECODE_CACHE-$ROOT/.cache/bytecode}"
# kubectl of the lab's pinned Kubernetes (built by tests/ci/setup.sh)
k8s_version=$(awk '$1 == "k8s.io/kubernetes" {print $2; exit}' tests/lab/k8s/go.mod)
export PATH="${NODEOPS_LAB_CACHE:-$HOME/.cache/nodeops-lab}/k8s-$k8s_version:$PATH"

# tests/faults: the fault-injection proxy of the lab's fault tests, against a local HTTPS server (no lab)
stage_unit() { python -m pytest tests/unit tests/faults -q -p no:cacheprovider; }
stage_lab() {
  # the NodeLocal DNSCache stand-in's flags, Corefile and rules (no root, no lab)
  (cd tests/lab/k8s && CGO_ENABLED=0 go test ./cmd/node-cache-sim/) || return 1
  python -m pytest tests/lab/tests -q -p no:cacheprovider
}
stage_integration() {
  local rc=0
  python -m pytest tests/integration -q -p no:cacheprovider --durations=20 || rc=$?
  # The lab the tests brought up would only take CPU from the Molecule scenarios, which bring
  # up labs of their own; NODEOPS_KEEP_LAB=1 keeps it for a look afterwards.
  if [ "${NODEOPS_KEEP_LAB:-0}" != 1 ]; then python -m nodeops_lab.lab down || true; fi
  return $rc
}
# Copy the collection to $1, an ansible_collections/nodeops/kubernetes path:
# its files tracked or new, not ignored. The lab (tests/lab) is a test tool
# outside the collection (build_ignore) and stays out.
copy_collection() {
  rm -rf "$1" && mkdir -p "$1" || return 1
  git ls-files -co --exclude-standard -z -- . ':!tests/lab' | tar --null -T - -cf - | tar -xf - -C "$1"
}
stage_sanity() {
  local dest=.cache/sanity/ansible_collections/nodeops/kubernetes
  copy_collection "$dest" || return 1
  (cd "$dest" && git init -q && git add -A && ansible-test sanity --local --python 3.11 --requirements --color no 2>&1 \
     | grep -vE '^(Looking in|Collecting|Processing|Downloading|Installing|Successfully|WARNING: Location|  )') || return 1
}
stage_lint() {
  ansible-lint --offline --profile production || return 1
  # antsibull-docs lint-collection-docs --plugin-docs, then the docsite with
  # the extra docs of docs/docsite/extra-docs.yml (tests/ci/docsite.sh)
  copy_collection .cache/docsite/ansible_collections/nodeops/kubernetes || return 1
  tests/ci/docsite.sh .cache/docsite
}
# One scenario: its log goes to .cache/molecule/<scenario>.log and is printed whole when it ends
# (under a lock, so that two scenarios' logs never interleave); its result to <scenario>.result.
run_scenario() {
  local scenario=$1 dir=.cache/molecule start res
  start=$(date +%s)
  if molecule test -s "$scenario" > "$dir/$scenario.log" 2>&1; then res=passed; else res=FAILED; fi
  printf '  %-28s %-7s %5ss\n' "$scenario" "$res" "$(( $(date +%s) - start ))" > "$dir/$scenario.result"
  ( flock 9; echo "=== molecule $scenario: $res ==="; cat "$dir/$scenario.log" ) 9> "$dir/print.lock"
}
# Every scenario under extensions/molecule/, each on a lab of its own (own containers, port and
# directory), NODEOPS_MOLECULE_JOBS (default 3) at a time: most of a scenario's time is spent
# waiting for kubelets, static pods and drains, which a second scenario's work can fill.
MOLECULE_LONGEST_FIRST="containerd_switch nodelocaldns cgroup_driver cgroup_driver_rollback
  containerd_switch_rollback cert_renewal_failure cert_renewal cert_renewal_timer kubelet_serving audit"
stage_molecule() {
  local jobs=${NODEOPS_MOLECULE_JOBS:-3} scenario scenarios=() failed=0
  mkdir -p .cache/molecule && rm -f .cache/molecule/*.result .cache/molecule/*.log
  # The longest scenarios start first, so that the stage does not end on one of them alone.
  for scenario in $MOLECULE_LONGEST_FIRST extensions/molecule/*/; do
    scenario=$(basename "$scenario")
    [ -f "extensions/molecule/$scenario/molecule.yml" ] || continue
    [[ " ${scenarios[*]} " == *" $scenario "* ]] || scenarios+=("$scenario")
  done
  for scenario in "${scenarios[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
    run_scenario "$scenario" &
  done
  wait
  printf 'molecule scenarios (%s at a time):\n' "$jobs"
  for scenario in "${scenarios[@]}"; do
    if [ -f ".cache/molecule/$scenario.result" ]; then cat ".cache/molecule/$scenario.result"
    else printf '  %-28s %-7s\n' "$scenario" "no result"; fi
    grep -q ' passed ' ".cache/molecule/$scenario.result" 2>/dev/null || failed=1
  done
  return $failed
}

# Stages joined by a comma run at the same time, each one's output to .cache/stages/<stage>.log,
# printed whole when it ends. Sanity and lint only need the CPU, which the lab stage leaves mostly
# idle while kubeadm and the kubelets start; the integration tests and the Molecule scenarios each
# work on labs of their own and spend most of their time waiting for kubelets, static pods and drains.
all=(unit "lab,sanity,lint" "integration,molecule")
[ $# -gt 0 ] && stages=("$@") || stages=("${all[@]}")
declare -a report
passed=0; failed=0
run_stage() {
  local s=$1 start res
  start=$(date +%s)
  if "stage_$s"; then res=passed; else res=FAILED; fi
  printf '%-12s %-7s %5ss\n' "$s" "$res" "$(( $(date +%s) - start ))" > ".cache/stages/$s.result"
}
mkdir -p .cache/stages
for group in "${stages[@]}"; do
  IFS=, read -r -a members <<< "$group"
  rm -f .cache/stages/*.result .cache/stages/*.log
  if [ "${#members[@]}" -eq 1 ]; then
    echo "=== stage ${members[0]} ==="
    run_stage "${members[0]}"
  else
    echo "=== stages ${members[*]}, at the same time ==="
    for s in "${members[@]}"; do
      ( run_stage "$s" > ".cache/stages/$s.log" 2>&1
        ( flock 9; echo "=== stage $s (ended) ==="; cat ".cache/stages/$s.log" ) 9> .cache/stages/print.lock ) &
    done
    wait
  fi
  group_failed=0
  for s in "${members[@]}"; do
    line=$(cat ".cache/stages/$s.result" 2>/dev/null || printf '%-12s %-7s' "$s" "no result")
    report+=("$line")
    if [[ $line == *" passed "* ]]; then passed=$((passed + 1)); else failed=$((failed + 1)); group_failed=1; fi
  done
  [ "$group_failed" -eq 1 ] && break
done
echo "=== summary ==="
printf '%s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
# A CI log is often read from its end: the first lines that say why each failed stage and Molecule
# scenario failed come last (their whole logs are printed above).
why_failed() {
  sed 's/\x1b\[[0-9;]*m//g; s/^ *│ *//' "$1" \
    | grep -E 'fatal: \[|FAILED! =>|^FAILED |^E +[A-Za-z]|^ERROR|CRITICAL|Traceback|stage .* failed' \
    | cut -c1-400 | head -n "${2:-6}" | sed 's/^/    /'
}
if [ "$failed" -gt 0 ]; then
  echo "=== why it failed (first lines) ==="
  for line in "${report[@]}"; do
    [[ $line == *" passed "* ]] && continue
    s=${line%% *}
    if [ "$s" = molecule ]; then
      for result in .cache/molecule/*.result; do
        grep -q ' passed ' "$result" && continue
        echo "  molecule $(basename "$result" .result):"; why_failed "${result%.result}.log" 4
      done
    elif [ -f ".cache/stages/$s.log" ]; then
      echo "  $s:"; why_failed ".cache/stages/$s.log"
    fi
  done
fi
[ "$failed" -eq 0 ]
