#!/usr/bin/env bash
# The short CI load test: gatekit-mock direct vs behind gatekit-gateway, interleaved in one run,
# gated on zero errors and conservative gateway/direct ratios. Needs release binaries in
# target/release (scripts/test-all.sh builds them).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mock="$PWD/$bin/gatekit-mock"
gateway_config() { # $1 = file, rest = mock flags
  local file=$1; shift
  local args=""
  for a in "$mock" "$@"; do args+="\"$a\", "; done
  printf 'proxy:\n  transport: stdio\n  upstreams:\n    - name: mock\n      command: [%s]\nlogging:\n  level: WARNING\n' "${args%, }" >"$file"
}

echo "load-check: concurrency proof (20 ms upstream, 16 in flight)"
gateway_config "$tmp/slow.yaml" --service-time fixed:20ms
"$bin/gatekit-loadgen" compare \
  --target "direct=stdio:$mock --service-time fixed:20ms" \
  --target "gateway=stdio:$PWD/$bin/gatekit-gateway --config $tmp/slow.yaml" \
  --concurrency 16 --duration 3s --warmup 1s --rounds 2 \
  --check errors=0 --check 'ratio.throughput>=0.8'

echo "load-check: saturation (fast upstream, 64 in flight)"
gateway_config "$tmp/fast.yaml"
"$bin/gatekit-loadgen" compare \
  --target "direct=stdio:$mock" \
  --target "gateway=stdio:$PWD/$bin/gatekit-gateway --config $tmp/fast.yaml" \
  --concurrency 64 --duration 3s --warmup 1s --rounds 2 \
  --check errors=0 --check 'ratio.throughput>=0.1'

echo "load-check: open loop 5000/s, mixed methods"
"$bin/gatekit-loadgen" compare \
  --target "direct=stdio:$mock" \
  --target "gateway=stdio:$PWD/$bin/gatekit-gateway --config $tmp/fast.yaml" \
  --rate 5000 --duration 3s --warmup 1s --rounds 2 --mix 'tools/call:echo=80,tools/list=10,ping=10' \
  --check errors=0 --check 'ratio.throughput>=0.95'
