#!/usr/bin/env bash
# Builds the tests' vCenter simulator (test/fakes/vsphere/vcsim) offline: Debian's golang-go and
# golang-github-vmware-govmomi-dev only, no module proxy, no network (GOPATH mode, as Debian
# lays out Go sources). Tests call it through test/helpers/vcsim.ts, which caches the result;
# by hand:   scripts/build-vcsim.sh OUTPUT
# GOCACHE, when set, keeps Go's compiled packages between builds.
set -euo pipefail
out=${1:?usage: scripts/build-vcsim.sh OUTPUT}
out=$(realpath -m "$out")
src="$(cd "$(dirname "$0")/.." && pwd)/test/fakes/vsphere/vcsim"

command -v go >/dev/null || { echo "build-vcsim: go not found: apt-get install golang-go" >&2; exit 1; }
simulator=$(dpkg -L golang-github-vmware-govmomi-dev 2>/dev/null | grep -m1 '/src/github.com/vmware/govmomi/simulator$' || true)
[ -n "$simulator" ] || {
  echo "build-vcsim: govmomi's simulator not found: apt-get install golang-github-vmware-govmomi-dev" >&2
  exit 1
}
gocode=${simulator%/src/github.com/vmware/govmomi/simulator}

scratch=$(mktemp -d "${TMPDIR:-/tmp}/dm-vcsim-build.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
cd "$src"
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$scratch/gopath:$gocode" GOCACHE="${GOCACHE:-$scratch/cache}" \
  go build -trimpath -o "$out" .
