#!/usr/bin/env bash
# Proxy benchmark: the same load three ways against a fast fake upstream (nginx):
#   direct, through byok-proxy, and through nginx as a plain keep-alive reverse proxy.
# Prints throughput and p50/p99 latency for JSON and SSE, then byok-proxy's memory with 1,000
# open streams. Loopback only. Usage: bench/run.sh (after `cargo build --release -p byok-proxy`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096

DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
UPSTREAM_PORT=18081 NGINX_PORT=18082 BYOK_PORT=18083 SLOW_PORT=18084 STREAMS_PORT=18085
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
  bench/nginx.conf.in > "$dir/nginx.conf"
nginx -c "$dir/nginx.conf" -p "$dir" & pids+=($!)
RUST_LOG=warn TOKIO_WORKER_THREADS=${BYOK_WORKERS:-2} target/release/byok-proxy --listen 127.0.0.1:$BYOK_PORT \
  --upstream-openai "http://127.0.0.1:$UPSTREAM_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 & pids+=($!)
for port in $UPSTREAM_PORT $NGINX_PORT $BYOK_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

# wrk prints "Requests/sec: N" and, with --latency, a "50%" and "99%" line.
measure() { # name url
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/post.lua "$2")
  printf "%-28s %12s req/s   p50 %9s   p99 %9s\n" "$1" \
    "$(awk '/^Requests\/sec/ {print $2}' <<<"$out")" \
    "$(awk '$1 == "50%" {print $2}' <<<"$out")" \
    "$(awk '$1 == "99%" {print $2}' <<<"$out")"
  if grep -q "Non-2xx" <<<"$out"; then echo "  !! $(grep Non-2xx <<<"$out")"; fi
}

echo "== byok-proxy benchmark: $CONNECTIONS connections, $DURATION each, 2 wrk threads, $(nproc) cores =="
for kind in "JSON:/v1/chat/completions" "SSE:/v1/sse"; do
  name=${kind%%:*} path=${kind#*:}
  measure "$name direct" "http://127.0.0.1:$UPSTREAM_PORT$path"
  measure "$name via nginx" "http://127.0.0.1:$NGINX_PORT$path"
  measure "$name via byok-proxy" "http://127.0.0.1:$BYOK_PORT/openai$path"
done

echo "== byok-proxy memory with open streams =="
RUST_LOG=warn target/release/byok-proxy --listen 127.0.0.1:$STREAMS_PORT \
  --upstream-openai "http://127.0.0.1:$SLOW_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 & stream_pid=$!; pids+=($stream_pid)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$STREAMS_PORT/healthz" && break; sleep 0.1; done
python3 bench/streams.py $STREAMS_PORT $SLOW_PORT $stream_pid 1000
