#!/usr/bin/env bash
# Memory per open stream: byok-proxy against nginx as a reverse proxy with buffering off
# (bench/nginx-proxy.conf.in), the same N streams from a slow SSE upstream (bench/streams.py).
# Each round starts both proxies afresh (an allocator keeps what it freed, so a second batch in
# the same process would look free) and alternates which goes first. Prints each round and the
# medians: resident memory per open stream (client connection, upstream connection, buffers,
# the request's task), and per idle client connection for byok-proxy.
# Usage: bench/streams.sh (after `cargo build --release -p byok-proxy`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 8192

ROUNDS=${BENCH_ROUNDS:-3}
STREAMS=${BENCH_STREAMS:-1000}
WORKERS=${WORKERS:-$(nproc)}
SLOW_PORT=18091 NGINX_PORT=18092 BYOK_PORT=18093
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$SLOW_PORT|g" -e "s|@NGINX_PORT@|$NGINX_PORT|g" \
  -e "s|@WORKERS@|$WORKERS|g" bench/nginx-proxy.conf.in > "$dir/nginx-proxy.conf"
# More connections than the throughput runs: each stream holds two.
sed -i 's/worker_connections 4096/worker_connections 8192/' "$dir/nginx-proxy.conf"

wait_port() { for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return; sleep 0.1; done; }

run_byok() { # $@: extra streams.py flags
  RUST_LOG=warn target/release/byok-proxy --workers "$WORKERS" --listen 127.0.0.1:$BYOK_PORT \
    --upstream-openai "http://127.0.0.1:$SLOW_PORT" --max-connections 100000 \
    --rate-limit-per-ip 0 --rate-limit-per-key 0 & local pid=$!; pids+=($pid)
  wait_port $BYOK_PORT
  python3 bench/streams.py byok-proxy $BYOK_PORT $SLOW_PORT $pid "$STREAMS" "$@"
  kill $pid; wait $pid 2>/dev/null || true
}

run_nginx() {
  nginx -c "$dir/nginx-proxy.conf" -p "$dir" & local pid=$!; pids+=($pid)
  wait_port $NGINX_PORT
  local workers; workers=$(pgrep -P $pid | paste -sd,)
  python3 bench/streams.py nginx $NGINX_PORT $SLOW_PORT "$workers" "$STREAMS"
  kill $pid; wait $pid 2>/dev/null || true
}

echo "== memory per open stream: $STREAMS streams, $WORKERS workers, $ROUNDS rounds =="
echo "proxy idle_KiB with_streams_KiB bytes_per_stream"
results=$dir/results
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then run_byok; run_nginx; else run_nginx; run_byok; fi | tee -a "$results"
done
echo "-- byok-proxy, idle client connections (no request) --"
run_byok --idle | sed 's/^byok-proxy/byok-idle-conn/' | tee -a "$results"
echo "-- medians, bytes per stream --"
for name in byok-proxy nginx byok-idle-conn; do
  awk -v n="$name" '$1 == n { print $4 }' "$results" | sort -n \
    | awk -v n="$name" '{ v[NR] = $1 } END { if (NR) printf "%-15s %6d\n", n, v[int((NR + 1) / 2)] }'
done
