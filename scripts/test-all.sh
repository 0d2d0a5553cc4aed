#!/usr/bin/env bash
# Every test gatekit has, from a fresh clone: installs the interop peers into .anchors/ (git-ignored),
# checks formatting and lints, runs unit, integration and interop tests, builds the benches, and runs
# the short load test with its gates. Fails on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

step "install interop peers"
bash scripts/setup-anchors.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
CI="${CI:-}" cargo test --workspace --locked

step "loom models of the correlation table"
RUSTFLAGS="--cfg gatekit_loom" CARGO_TARGET_DIR=target/loom LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}" \
  cargo test --locked --test loom_correlation

step "release build (load test, benches)"
cargo build --release --workspace --bins --locked

step "short load test with gates"
bash scripts/load-check.sh

step "cargo bench --no-run"
cargo bench --workspace --no-run --locked

step "fuzz smoke (each target for ${FUZZ_SECONDS:-30}s)"
bash scripts/fuzz-smoke.sh

step "done"
printf 'test-all: finished in %ss\n' "$(( $(date +%s) - start ))"
