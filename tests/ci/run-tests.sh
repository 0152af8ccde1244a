#!/usr/bin/env bash
# Run every test stage, time each, and stop at the first failing stage.
# Usage: tests/ci/run-tests.sh [stage ...]   (default: all stages in order)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
export PATH="$ROOT/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections"
export PYTHONPATH="$ROOT/tests/lab${PYTHONPATH:+:$PYTHONPATH}"

stage_unit() { python -m pytest tests/unit -q -p no:cacheprovider; }
stage_lab() { python -m pytest tests/lab/tests -q -p no:cacheprovider; }
stage_integration() {
  if [ -d tests/integration ]; then python -m pytest tests/integration -q -p no:cacheprovider; else echo "no integration tests"; fi
}
stage_sanity() {
  local dest=.cache/sanity/ansible_collections/nodeops/kubernetes
  rm -rf "$dest" && mkdir -p "$dest"
  # The lab (tests/lab) is a test tool outside the collection (build_ignore):
  # sanity runs on the collection's own content and its tests.
  git ls-files -co --exclude-standard -z -- . ':!tests/lab' | tar --null -T - -cf - | tar -xf - -C "$dest"
  (cd "$dest" && git init -q && git add -A && ansible-test sanity --local --python 3.11 --requirements --color no 2>&1 \
     | grep -vE '^(Looking in|Collecting|Processing|Downloading|Installing|Successfully|WARNING: Location|  )') || return 1
}
stage_lint() { ansible-lint --offline --profile production; }
stage_molecule() {
  local failed=0 scenario
  for scenario in extensions/molecule/*/; do
    scenario=$(basename "$scenario")
    [ "$scenario" = "shared" ] && continue
    molecule test -s "$scenario" || failed=1
  done
  return $failed
}

all=(unit lab integration sanity lint molecule)
stages=("${@:-${all[@]}}")
[ $# -gt 0 ] && stages=("$@") || stages=("${all[@]}")
declare -a report
passed=0; failed=0
for s in "${stages[@]}"; do
  echo "=== stage $s ==="
  start=$(date +%s)
  if "stage_$s"; then res=passed; passed=$((passed + 1)); else res=FAILED; failed=$((failed + 1)); fi
  report+=("$(printf '%-12s %-7s %5ss' "$s" "$res" "$(( $(date +%s) - start ))")")
  [ "$res" = FAILED ] && break
done
echo "=== summary ==="
printf '%s\n' "${report[@]}"
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
