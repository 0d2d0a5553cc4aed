#!/usr/bin/env bash
# Fuzz smoke test: builds the fuzz targets in fuzz/ and runs each for FUZZ_SECONDS (default 30).
#
# cargo-fuzz needs unstable rustc flags (-Zsanitizer=address, sanitizer coverage); on the stable
# toolchain RUSTC_BOOTSTRAP=1 unlocks them. cargo-fuzz itself comes from PATH or is installed into
# .anchors/cargo (git-ignored). When this machine cannot fuzz at all (no cargo-fuzz, no C++
# compiler for libFuzzer, a rustc that refuses the flags), the script prints
# `fuzz: SKIPPED (<reason>)` and exits 0. A target that fails to build, or finds a crash, a leak
# or a timeout, fails the script (exit 1) after all targets ran; the input that failed is kept
# under fuzz/artifacts/<target>/ and replayed with `cargo fuzz run <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-30}"
targets=(framing envelope correlation_ops config)
logs=fuzz/target/smoke-logs
start=$(date +%s)

skip() {
    printf 'fuzz: SKIPPED (%s)\n' "$*"
    exit 0
}

# Per target: extra seed folders, dictionary, and the largest input worth trying. Framing needs
# lines longer than the 4 KiB oversize prefix; the others stay at libFuzzer's usual sizes.
seeds_for() {
    case "$1" in
        framing | envelope) echo fuzz/seeds/envelope ;;
        config) echo tests/fixtures/config ;;
        *) ;;
    esac
}
dict_for() {
    case "$1" in
        framing | envelope) echo fuzz/dicts/json.dict ;;
        config) echo fuzz/dicts/yaml.dict ;;
        *) ;;
    esac
}
max_len_for() {
    case "$1" in
        framing) echo 16384 ;;
        *) echo 8192 ;;
    esac
}

# 1. cargo-fuzz: on PATH, else in .anchors/cargo, else install it there.
local_root="$PWD/.anchors/cargo"
export PATH="$PATH:$local_root/bin"
if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz into .anchors/cargo"
    mkdir -p "$local_root"
    if ! cargo install --locked --root "$local_root" cargo-fuzz >"$local_root/install.log" 2>&1; then
        tail -n 20 "$local_root/install.log" >&2
        skip "cargo-fuzz could not be installed; see .anchors/cargo/install.log"
    fi
fi

# 2. Can this toolchain build a libFuzzer binary at all?
command -v c++ >/dev/null 2>&1 || skip "no C++ compiler to build libFuzzer"
export RUSTC_BOOTSTRAP=1
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
echo 'fn main() {}' >"$probe_dir/probe.rs"
if ! rustc -Zsanitizer=address -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -o "$probe_dir/probe" "$probe_dir/probe.rs" >"$probe_dir/log" 2>&1; then
    skip "rustc $(rustc --version | cut -d' ' -f2) refuses the sanitizer flags even with RUSTC_BOOTSTRAP=1: $(head -n 1 "$probe_dir/log")"
fi

# 3. Build every target once (debug assertions on: the table's invariants are debug_asserts).
mkdir -p "$logs"
echo "fuzz: building ${#targets[@]} targets"
if ! cargo fuzz build --debug-assertions >"$logs/build.log" 2>&1; then
    tail -n 40 "$logs/build.log" >&2
    echo "fuzz: FAILED (the fuzz targets do not build; full log in $logs/build.log)"
    exit 1
fi
echo "fuzz: built in $(($(date +%s) - start))s"

# 4. Run each target for the time budget.
failed=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus"
    args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$(max_len_for "$target")"
        -print_final_stats=1)
    dict=$(dict_for "$target")
    [[ -n "$dict" ]] && args+=(-dict="$dict")
    # shellcheck disable=SC2046 # seed folders are plain paths without spaces
    if cargo fuzz run --debug-assertions "$target" "$corpus" $(seeds_for "$target") -- "${args[@]}" \
        >"$logs/$target.log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -n 1)
        printf 'fuzz: %-16s ok   %s execs in %ss\n' "$target" "${execs:-?}" "$seconds"
    else
        failed+=("$target")
        printf 'fuzz: %-16s FAIL (log: %s)\n' "$target" "$logs/$target.log"
        grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written' "$logs/$target.log" | head -n 10 >&2 || true
    fi
done

echo "fuzz: finished in $(($(date +%s) - start))s"
if ((${#failed[@]} > 0)); then
    echo "fuzz: FAILED (${failed[*]}); crashing inputs are in fuzz/artifacts/"
    exit 1
fi
