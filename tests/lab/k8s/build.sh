#!/usr/bin/env bash
# Build the lab's binaries from pinned Go modules into
# ${NODEOPS_LAB_CACHE:-~/.cache/nodeops-lab}/k8s-<version>/, where <version> is
# the k8s.io/kubernetes pin of go.mod here. Kubernetes itself and etcd come
# from this module; CoreDNS, cri-dockerd and kwok from the modules of
# ../coredns, ../cri-dockerd and ../kwok, each with its version written beside the binary
# (<binary>.version) so that a changed pin rebuilds it. The lab's own
# node-cache-sim (cmd/node-cache-sim, the stand-in for NodeLocal DNSCache's
# node-cache) is versioned by a hash of its sources, so an edit rebuilds it.
# A binary already built at its version is kept. Prints the build time of each binary.
# Usage: build.sh [binary ...]   (default: all but kwok)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
LAB=$(dirname "$HERE")
export CGO_ENABLED=0 GOFLAGS=-mod=mod

module_version() { (cd "$1" && go list -m -f "{{.Version}}" "$2"); }

version=$(module_version "$HERE" k8s.io/kubernetes)
[ -n "$version" ] || { echo "build.sh: k8s.io/kubernetes is not required by $HERE/go.mod" >&2; exit 1; }
cache=${NODEOPS_LAB_CACHE:-$HOME/.cache/nodeops-lab}
out="$cache/k8s-$version"
mkdir -p "$out"

all=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm kubectl kubelet etcd pause coredns cri-dockerd kwok
     node-cache-sim)
# kwok serves only the scale lab (`lab scale`), which builds it when it starts:
# the default build leaves it out.
default=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubeadm kubectl kubelet etcd pause coredns cri-dockerd
         node-cache-sim)
[ $# -gt 0 ] && wanted=("$@") || wanted=("${default[@]}")

# The version flags the upstream build sets, on both version packages.
major=${version#v}; major=${major%%.*}
minor=${version#v*.}; minor=${minor%%.*}
k8s_ldflags="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=$major -X $p.gitMinor=$minor"
  k8s_ldflags+=" -X $p.gitCommit=0000000000000000000000000000000000000000 -X $p.gitTreeState=clean"
  k8s_ldflags+=" -X $p.buildDate=1970-01-01T00:00:00Z"
done

built=0
for bin in "${wanted[@]}"; do
  # module directory, package, version, ldflags and tags of each binary
  dir=$HERE; tags="selinux,notest"; ldflags=$k8s_ldflags; v=$version
  case "$bin" in
    etcd) pkg=go.etcd.io/etcd/server/v3; v=$(module_version "$dir" "$pkg") ;;   # the version k8s.io/kubernetes requires
    pause) pkg=./cmd/pause ;;                 # the lab's own pod sandbox process
    node-cache-sim)                           # the lab's stand-in for node-cache (k8s.io/dns is not served)
      pkg=./cmd/node-cache-sim; tags=""; ldflags="-s -w"
      v=src-$(cd "$dir/cmd/node-cache-sim" && find . -maxdepth 1 -name '*.go' ! -name '*_test.go' | LC_ALL=C sort \
                | xargs cat | sha256sum | cut -c1-16) ;;
    cri-dockerd)
      dir=$LAB/cri-dockerd; pkg=github.com/Mirantis/cri-dockerd; tags=""
      v=$(module_version "$dir" "$pkg")
      ldflags="-s -w -X $pkg/cmd/version.Version=${v#v}" ;;
    coredns)                                  # CoreDNS with the lab's plugins only (../coredns/main.go)
      dir=$LAB/coredns; pkg=.; tags=""
      v=$(module_version "$dir" github.com/coredns/coredns)-$(sha256sum "$dir/main.go" | cut -c1-12)
      ldflags="-s -w" ;;
    kwok)
      dir=$LAB/kwok; pkg=sigs.k8s.io/kwok/cmd/kwok; tags=""
      v=$(module_version "$dir" sigs.k8s.io/kwok)
      ldflags="-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=$v" ;;
    kube-*|kubelet|kubeadm|kubectl) pkg=k8s.io/kubernetes/cmd/$bin ;;
    *) echo "build.sh: unknown binary $bin (one of: ${all[*]})" >&2; exit 2 ;;
  esac
  if [ -x "$out/$bin" ] && { [ "$v" = "$version" ] || [ "$(cat "$out/$bin.version" 2>/dev/null)" = "$v" ]; }; then
    echo "build: $bin $v cached ($out/$bin)"
    continue
  fi
  start=$(date +%s)
  (cd "$dir" && go build -trimpath ${tags:+-tags "$tags"} -ldflags "$ldflags" -o "$out/$bin.tmp.$$" "$pkg")
  mv "$out/$bin.tmp.$$" "$out/$bin"
  [ "$v" = "$version" ] || echo "$v" > "$out/$bin.version"
  echo "build: $bin $v built in $(( $(date +%s) - start ))s"
  built=$((built + 1))
done
echo "build: binaries in $out ($built built)"
