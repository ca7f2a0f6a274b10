#!/usr/bin/env bash
# Instructions byok-proxy executes per proxied request, in user space, under valgrind's
# callgrind: the same number on every run, unlike throughput on a shared machine, so it is the
# yardstick for a change to the request path. One worker, JSON requests from wrk to the fast
# fake upstream (bench/upstream.conf.in); pools are warmed first, then counters are zeroed, and
# the count is divided by the requests wrk completed. nginx as a keep-alive reverse proxy to the
# same upstream is measured the same way in the same run (one process, one worker), and the
# ratio printed.
# Note: valgrind's CPU lacks SHA-NI, so the key fingerprint's SHA-256 counts ~6,000 instructions
# here that real x86 CPUs spend a few hundred on.
# Usage: bench/instructions.sh [path] (after `cargo build --release -p byok-proxy`); with
# BYOK_CALLGRIND_OUT=file the profile is kept there, for callgrind_annotate; BYOK_PROXY_BIN
# measures another build (say, of an earlier commit, for a before-and-after figure).
set -euo pipefail
cd "$(dirname "$0")/.."
UPSTREAM_PORT=18091 PROXY_PORT=18093 NGINX_PORT=18097
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

# Warms `url` up, zeroes `pid`'s counters, runs wrk, and prints instructions per request.
measure() { # pid url callgrind-out-file
  local pid=$1 url=$2 file=$3 out requests dump instructions
  wrk -t1 -c8 -d3s -s bench/post.lua "$url" >/dev/null
  callgrind_control --zero "$pid" >/dev/null 2>&1
  out=$(wrk -t1 -c8 -d5s -s bench/post.lua "$url")
  callgrind_control --dump "$pid" >/dev/null 2>&1
  sleep 0.5
  if grep -q Non-2xx <<<"$out"; then echo "non-2xx answers from $url: $out" >&2; exit 1; fi
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  dump=$(ls -t "$file"* | head -1)
  instructions=$(awk '/^(summary|totals):/ { print $2; exit }' "$dump")
  if [[ -n ${BYOK_CALLGRIND_OUT:-} && $pid == "$proxy" ]]; then cp "$dump" "$BYOK_CALLGRIND_OUT"; fi
  echo $((instructions / requests))
}
ours=$(measure "$proxy" "http://127.0.0.1:$PROXY_PORT/openai$path" "$dir/callgrind.out")
kill "$proxy"

# nginx as a keep-alive reverse proxy to the same upstream, measured the same way: one
# process (master_process off, one worker), access log off, same requests.
sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" -e "s|@WORKERS@|1|g" \
  -e "s|@NGINX_PORT@|$NGINX_PORT|g" -e "s|^daemon off;|daemon off;\nmaster_process off;|" \
  bench/nginx-proxy.conf.in > "$dir/nginx-proxy.conf"
(cd "$dir" && exec valgrind --tool=callgrind --callgrind-out-file="$dir/nginx.callgrind.out" \
  nginx -c "$dir/nginx-proxy.conf" -p "$dir" >/dev/null 2>"$dir/valgrind-nginx.log") & nginx_proxy=$!
pids+=($nginx_proxy)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT$path" && break; sleep 0.2; done
theirs=$(measure "$nginx_proxy" "http://127.0.0.1:$NGINX_PORT$path" "$dir/nginx.callgrind.out")
python3 -c "ours, theirs = $ours, $theirs; print(f'instructions per proxied request (path $path): byok-proxy {ours:,}, nginx {theirs:,}: {ours / theirs:.2f}x nginx')"
