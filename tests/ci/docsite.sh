#!/usr/bin/env bash
# Lint the collection's docs and build its antsibull-docs docsite (lint stage).
# Usage: tests/ci/docsite.sh DIR
#   DIR/ansible_collections/nodeops/kubernetes holds a copy of the collection
#   (tests/ci/run-tests.sh makes it); the site is generated in DIR/site and
#   its HTML lands in DIR/site/build/html.
# Fails on any lint message, on any Sphinx warning (sphinx-build -W), and when
# a document listed in docs/docsite/extra-docs.yml is missing from the HTML.
# Needs the tools of tests/requirements-dev.txt (antsibull-docs, Sphinx,
# sphinx-ansible-theme, ansible-core, and the `ansible` package for
# kubernetes.core, which the docs link to). No network: the links to the
# Ansible docsite resolve through a local inventory (tests/ci/docsite.py).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(cd "$1" && pwd)
collection="$dir/ansible_collections/nodeops/kubernetes"
site="$dir/site"
[ -f "$collection/galaxy.yml" ] || { echo "docsite: no collection in $collection" >&2; exit 1; }
# Only this copy of nodeops.kubernetes; kubernetes.core comes from the `ansible` package.
export ANSIBLE_COLLECTIONS_PATH="$dir"

start=$SECONDS
echo "docsite: antsibull-docs lint-collection-docs --plugin-docs"
# The lint sees this collection and the dependencies galaxy.yml names, nothing else: every
# reference to them is checked, a reference to any other collection fails, and the lint does
# not load the docs of the hundred collections of the `ansible` package (minutes instead of seconds).
lint_paths="$dir/lint-collections"
rm -rf "$lint_paths" && mkdir -p "$lint_paths/ansible_collections/nodeops"
ln -s "$collection" "$lint_paths/ansible_collections/nodeops/kubernetes"
python - "$collection/galaxy.yml" "$lint_paths/ansible_collections" <<'PY'
import importlib, os, sys, yaml
with open(sys.argv[1]) as fh:
    dependencies = yaml.safe_load(fh).get("dependencies") or {}
for fqcn in dependencies:
    namespace, name = fqcn.split(".")
    source = os.path.dirname(importlib.import_module("ansible_collections.%s.%s" % (namespace, name)).__file__ or "")
    if not source:
        source = list(importlib.import_module("ansible_collections.%s.%s" % (namespace, name)).__path__)[0]
    os.makedirs(os.path.join(sys.argv[2], namespace), exist_ok=True)
    os.symlink(source, os.path.join(sys.argv[2], namespace, name))
    print("docsite: the lint checks references to %s (%s)" % (fqcn, source))
PY
(cd "$collection" && ANSIBLE_COLLECTIONS_PATH="$lint_paths" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
   antsibull-docs lint-collection-docs --plugin-docs --check-extra-docs-refs \
   --validate-collection-refs all --disallow-unknown-collection-refs .)
lint_time=$((SECONDS - start))

start=$SECONDS
# sphinx-init wants an existing directory that only its owner can write to.
rm -rf "$site" && mkdir -m 755 "$site"
if ! out=$(antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$site" \
             --project nodeops.kubernetes --title nodeops.kubernetes nodeops.kubernetes 2>&1); then
  echo "$out" >&2
  exit 1
fi
python "$ROOT/tests/ci/docsite.py" inventory "$site/ansible_devel.inv"
cat >> "$site/conf.py" <<EOF

# Added by tests/ci/docsite.sh: no internet in CI, so the links to the Ansible
# docsite resolve through a local inventory of the labels the docs use.
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '$site/ansible_devel.inv'),
}
EOF
if ! "$site/build.sh" > "$site/build.log" 2>&1; then
  grep -E 'WARNING|ERROR|Error|error' "$site/build.log" >&2 || tail -n 40 "$site/build.log" >&2
  echo "docsite: the build failed (full log: $site/build.log). An 'undefined label' of the" \
       "Ansible docsite, not of this collection, belongs in EXTERNAL_LABELS of tests/ci/docsite.py" >&2
  exit 1
fi
python "$ROOT/tests/ci/docsite.py" check "$collection" "$site/build/html"
echo "docsite: lint ${lint_time}s, site built in $((SECONDS - start))s: $site/build/html/index.html"
