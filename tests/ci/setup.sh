#!/usr/bin/env bash
# Install everything `make test` and `make demo` need on a fresh Debian machine:
# system packages, the pinned Python tools in .venv, the collection path link,
# the offline pip bootstrap ansible-test expects, and the lab's Kubernetes
# binaries built from the pinned Go modules (tests/lab/k8s/build.sh; only what
# is missing is built). Safe to run repeatedly.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

missing=()
while read -r pkg; do
  case "$pkg" in ''|'#'*) continue ;; esac
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done < tests/ci/system-packages.txt
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
  echo "setup: Go is not installed; the lab builds Kubernetes from its Go modules (Go 1.24 or newer)" >&2
  exit 1
fi

# .venv is a link to a virtual environment cached outside the checkout, keyed by the pinned
# requirements and the Python version (NODEOPS_VENV_CACHE, default ~/.cache/nodeops-lab/venv/<key>),
# so that a fresh clone of the same pins does not install them again. The stamp inside it is
# written last: a build cut short is built again. A lock keeps two set-ups from building it at once.
stamp=.venv/.requirements.sha256
want=$( (cat tests/requirements-dev.txt; python3 -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  cache_root=${NODEOPS_VENV_CACHE:-$HOME/.cache/nodeops-lab/venv}
  venv="$cache_root/$want"
  mkdir -p "$cache_root"
  (
    flock 9
    if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
      echo "setup: creating the virtual environment $venv from tests/requirements-dev.txt"
      rm -rf "$venv"
      python3 -m venv "$venv"
      "$venv/bin/pip" install -q --upgrade pip
      "$venv/bin/pip" install -q -r tests/requirements-dev.txt
      echo "$want" > "$venv/.requirements.sha256"
    fi
  ) 9>"$cache_root/.lock"
  rm -rf .venv
  ln -sfn "$venv" .venv
  echo "setup: .venv -> $venv"
fi

# The test stages' bytecode cache for the modules Ansible runs on this machine
# (tests/lab/nodeops_lab/bytecode_cache.py): inert unless NODEOPS_LAB_BYTECODE_CACHE is set,
# which tests/ci/run-tests.sh does and the benchmarks do not.
site_packages=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
printf '%s\n' 'import os; os.environ.get("NODEOPS_LAB_BYTECODE_CACHE") and __import__("nodeops_lab.bytecode_cache").bytecode_cache.install()' \
  > "$site_packages/nodeops-lab-bytecode-cache.pth"

# The repository root is the collection root: give it the ansible_collections path.
mkdir -p .cache/collections/ansible_collections/nodeops
ln -sfn "$ROOT" .cache/collections/ansible_collections/nodeops/kubernetes
# The lab's own plugins (its pipelined nsenter connection), a test tool beside the collection.
mkdir -p .cache/collections/ansible_collections/nodeops_lab
ln -sfn "$ROOT/tests/lab/collection" .cache/collections/ansible_collections/nodeops_lab/lab

# ansible-test fetches a pip bootstrap script from the internet for each sanity
# venv; ensurepip does the same job offline.
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
[ -f "$cache/get_pip_24_2.py" ] || printf 'import ensurepip\nensurepip.bootstrap(upgrade=True)\n' > "$cache/get_pip_24_2.py"
# The lab's Kubernetes (kube-apiserver ... kubectl, etcd, cri-dockerd): built
# once per pinned version into ~/.cache/nodeops-lab/k8s-<version>/.
tests/lab/k8s/build.sh
echo "setup: ready"
