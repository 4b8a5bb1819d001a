#!/usr/bin/env bash
# Runs every test of the workspace. Installs what the tests need when it is missing:
# Debian's redis-server and redis-tools (the reference Redis 7, redis-cli, redis-benchmark),
# redis-py and ioredis for the client-library tests,
# then builds every binary and runs the whole suite with cargo-nextest (cargo test if
# nextest is absent). Usage: tests/run.sh [extra nextest/cargo-test args]
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian_packages() {
  local missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v redis-cli >/dev/null || missing+=(redis-tools)
  command -v promtool >/dev/null || missing+=(prometheus)
  [ ${#missing[@]} -eq 0 ] && return
  echo "tests/run.sh: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  # The package starts a system-wide redis-server on 6379; the tests start their own.
  as_root service redis-server stop >/dev/null 2>&1 || true
}

# The client-library tests (tests/tests/clients_*.rs) drive redis-py (>= 5, for protocol=3)
# and ioredis (tests/clients/node/package-lock.json).
install_client_libraries() {
  if ! python3 -c 'import redis, sys; sys.exit(int(redis.__version__.split(".")[0]) < 5)' 2>/dev/null; then
    echo "tests/run.sh: installing redis-py"
    python3 -m pip install --quiet --upgrade 'redis>=5' 2>/dev/null ||
      python3 -m pip install --quiet --upgrade --break-system-packages 'redis>=5'
  fi
  if [ ! -d tests/clients/node/node_modules/ioredis ]; then
    echo "tests/run.sh: installing ioredis"
    (cd tests/clients/node && npm ci --silent --no-audit --no-fund)
  fi
}

install_debian_packages
install_client_libraries

# Every binary (slotgate, slotgate-node) must exist next to the test binaries: the end-to-end
# tests start them as real processes.
cargo build --workspace --bins --quiet

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
