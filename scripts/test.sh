#!/usr/bin/env bash
# The one test command (npm test). On a fresh Debian machine it installs what the tests need:
# Debian packages when run as root, npm packages with npm ci. Tests start and stop their own
# servers (dockerd, sshd) on loopback ports.
#   npm test            lint, type check, build, every test
#   npm run test:unit   lint, type check, build, unit tests only (under a minute)
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
[ "${1:-}" = "--unit" ] && mode=unit

# Debian packages the end-to-end tests use: a real dockerd and docker client, openssl for
# certificate checks, a real sshd and ssh client, debootstrap to build the Debian test hosts,
# rsync and sshfs for scp --delta and mount.
# script(1) from bsdutils gives the interactive ssh test a terminal.
# genisoimage makes the qemu driver's NoCloud seed ISO (its isoinfo reads one back in tests).
# xfsprogs and btrfs-progs make the loop-mounted file systems of the --docker-disk-size test.
# qemu-system-x86 and qemu-utils run the qemu driver's VMs (TCG); e2fsprogs makes its ext4 base disk.
# zsh, fish and tcsh evaluate env's output in the shell-quoting tests (bash and dash are always there).
# golang-go and golang-github-vmware-govmomi-dev build the vCenter simulator of the vmwarevsphere tests offline.
# qemu-user-static runs the linux-arm64 executable on x86-64, with the arm64 C library (its dynamic
# loader, libc, libm) of libc6-arm64-cross.
apt_packages=(docker.io openssl iproute2 procps openssh-server openssh-client debootstrap busybox-static rsync sshfs bsdutils genisoimage xfsprogs btrfs-progs qemu-system-x86 qemu-utils e2fsprogs zsh fish tcsh golang-go golang-github-vmware-govmomi-dev qemu-user-static libc6-arm64-cross)
if [ "$mode" = all ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x node_modules/.bin/tsx ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

echo "== lint"
npx biome check src test bench scripts
echo "== type check"
npx tsc --noEmit -p .
echo "== build"
node scripts/build.mjs

files=$(find src -name '*.test.ts' | sort)
if [ "$mode" = all ]; then
  files="$files $(find test -name '*.test.ts' | sort)"
fi

echo "== tests"
tap=$(mktemp)
cleanup=(rm -rf "$tap" "$tap.standalone" "$tap.docker" "$tap.arm64")
# CI proves what a new machine meets: the tests start from empty caches (the images and root
# file systems the tests build, the mirrors they download, the CLI's code cache), removed after.
if [ "${CI:-}" = true ] && [ -z "${DM_TEST_CACHE:-}" ]; then
  DM_TEST_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/dm-ci-cache.XXXXXX")
  export DM_TEST_CACHE
  export XDG_CACHE_HOME="$DM_TEST_CACHE/xdg"
  cleanup=(rm -rf "$tap" "$tap.standalone" "$tap.docker" "$tap.arm64" "$DM_TEST_CACHE")
  echo "test caches start empty in $DM_TEST_CACHE"
fi
trap '"${cleanup[@]}"' EXIT
status=0
# shellcheck disable=SC2086
node --import tsx --test --test-concurrency=2 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tap" \
  $files || status=$?

# The single-file executable (npm run build:standalone): the same tests against it, named as
# users install it. The light commands, the none driver in front of a real engine, what only the
# executable can get wrong (standalone.test.ts), certificates that env and config reissue or warn
# about, and one docker-driver machine from create to rm.
if [ "$mode" = all ] && [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
  echo "== standalone executable"
  node scripts/build-standalone.mjs --target linux-x64
  standalone_bin=$(mktemp -d "${TMPDIR:-/tmp}/dm-standalone.XXXXXX")
  # mktemp makes it 0700: the tests that run the CLI as the nobody user need to reach it.
  chmod 755 "$standalone_bin"
  cleanup+=("$standalone_bin")
  cp dist/standalone/docker-machine-linux-x64 "$standalone_bin/docker-machine"
  export DM_TEST_BIN="$standalone_bin/docker-machine"
  standalone_files="test/e2e/standalone.test.ts test/e2e/cli-basics.test.ts test/e2e/env-connection.test.ts
    test/e2e/debug-output.test.ts test/e2e/bad-input-store.test.ts test/e2e/bad-input-create.test.ts
    test/e2e/create-checks.test.ts test/e2e/default-driver.test.ts test/e2e/none-dockerd.test.ts
    test/e2e/cert-heal.test.ts test/e2e/cert-warnings.test.ts"
  # shellcheck disable=SC2086
  node --import tsx --test --test-concurrency=2 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap.standalone" \
    $standalone_files || status=$?
  node --import tsx --test \
    --test-name-pattern='create makes a container|docker run through env|rm removes the container' \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap.docker" \
    test/e2e/docker-driver.test.ts || status=$?
  unset DM_TEST_BIN

  # The linux-arm64 executable, run under qemu-user: its light commands, a none-driver machine
  # from create to rm, and env/config against a real dockerd with TLS, compared with the Node
  # build. Emulated, each command costs about a second of CPU, so only this one file runs.
  echo "== standalone executable, linux-arm64 under qemu-user"
  node scripts/build-standalone.mjs --target linux-arm64
  arm64_bin=$(mktemp -d "${TMPDIR:-/tmp}/dm-standalone-arm64.XXXXXX")
  cleanup+=("$arm64_bin")
  cp dist/standalone/docker-machine-linux-arm64 "$arm64_bin/docker-machine"
  DM_TEST_ARM64_BIN="$arm64_bin/docker-machine" node --import tsx --test \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap.arm64" \
    test/e2e/standalone-arm64.test.ts || status=$?
fi

# The totals of every run above: each TAP file ends with its own passes and failures. Skips are
# counted from the lines themselves: a TAP summary leaves out a skipped describe (one line, its
# tests not listed), which counts here as one. Tests left out by a name pattern are not skipped.
count() {
  for f in "$tap" "$tap.standalone" "$tap.docker" "$tap.arm64"; do
    if [ -f "$f" ]; then grep -E "^# $1 " "$f" | tail -1 || true; fi
  done | awk '{ n += $3 } END { print n + 0 }'
}
skipped=$(cat "$tap" "$tap.standalone" "$tap.docker" "$tap.arm64" 2>/dev/null |
  grep -E '^ *ok [0-9]+ - .*# SKIP' | grep -vc '# SKIP test name does not match pattern' || true)
echo "$(count pass) passed, $(count fail) failed, $skipped skipped, in $((SECONDS / 60)) min $((SECONDS % 60)) s"
exit "$status"
