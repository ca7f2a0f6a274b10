#!/usr/bin/env bash
# Instructions byok-proxy executes per proxied request, in user space, under valgrind's
# callgrind: the same number on every run, unlike throughput on a shared machine, so it is the
# yardstick for a change to the request path. One worker, JSON requests from wrk to the fast
# fake upstream (bench/upstream.conf.in); pools are warmed first, then counters are zeroed, and
# the count is divided by the requests wrk completed.
# Note: valgrind's CPU lacks SHA-NI, so the key fingerprint's SHA-256 counts ~6,000 instructions
# here that real x86 CPUs spend a few hundred on.
# Usage: bench/instructions.sh [path] (after `cargo build --release -p byok-proxy`); with
# BYOK_CALLGRIND_OUT=file the profile is kept there, for callgrind_annotate; BYOK_PROXY_BIN
# measures another build (say, of an earlier commit, for a before-and-after figure).
set -euo pipefail
cd "$(dirname "$0")/.."
UPSTREAM_PORT=18091 PROXY_PORT=18093
path=${1:-/v1/chat/completions}
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" bench/upstream.conf.in > "$dir/upstream.conf"
nginx -c "$dir/upstream.conf" -p "$dir" & pids+=($!)
bin=${BYOK_PROXY_BIN:-$(pwd)/target/release/byok-proxy}
(cd "$dir" && RUST_LOG=warn exec valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$bin" --workers 1 --listen 127.0.0.1:$PROXY_PORT \
  --upstream-openai "http://127.0.0.1:$UPSTREAM_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 >/dev/null 2>"$dir/valgrind.log") & proxy=$!
pids+=($proxy)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PROXY_PORT/healthz" && break; sleep 0.2; done

url="http://127.0.0.1:$PROXY_PORT/openai$path"
wrk -t1 -c8 -d3s -s bench/post.lua "$url" >/dev/null
callgrind_control --zero "$proxy" >/dev/null 2>&1
out=$(wrk -t1 -c8 -d5s -s bench/post.lua "$url")
callgrind_control --dump "$proxy" >/dev/null 2>&1
sleep 0.5
requests=$(awk '/ requests in / { print $1 }' <<<"$out")
dump=$(ls -t "$dir"/callgrind.out* | head -1)
instructions=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
if [[ -n ${BYOK_CALLGRIND_OUT:-} ]]; then cp "$dump" "$BYOK_CALLGRIND_OUT"; fi
python3 -c "print(f'byok-proxy: {$instructions / $requests:,.0f} instructions per proxied request ($requests requests, path $path)')"
