#!/usr/bin/env bash
# Proxy benchmark: the same load three ways against a fast fake upstream (nginx):
#   direct, through byok-proxy, and through nginx as a plain keep-alive reverse proxy. The
#   upstream, nginx-as-proxy and byok-proxy are three processes; the two proxies get the same
#   number of workers ($WORKERS, default one per core).
# Prints throughput, CPU per request and p50/p99 latency for JSON and SSE at 16 and 64
# connections, and the latency each proxy adds over going direct (the gateway benchmark
# convention: through the proxy minus straight to the same upstream). Memory per open stream is
# bench/streams.sh. Loopback only. Usage: bench/run.sh (after `cargo build --release -p byok-proxy`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-16 64}
UPSTREAM_PORT=18081 NGINX_PORT=18082 BYOK_PORT=18083
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

WORKERS=${WORKERS:-$(nproc)}
template() { sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
  -e "s|@NGINX_PORT@|$NGINX_PORT|g" -e "s|@WORKERS@|$WORKERS|g" "$1"; }
template bench/upstream.conf.in > "$dir/upstream.conf"
template bench/nginx-proxy.conf.in > "$dir/nginx-proxy.conf"
nginx -c "$dir/upstream.conf" -p "$dir" & upstream_pid=$!; pids+=($upstream_pid)
nginx -c "$dir/nginx-proxy.conf" -p "$dir" & nginx_pid=$!; pids+=($nginx_pid)
RUST_LOG=warn target/release/byok-proxy --workers "$WORKERS" --listen 127.0.0.1:$BYOK_PORT \
  --upstream-openai "http://127.0.0.1:$UPSTREAM_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 & byok_pid=$!; pids+=($byok_pid)
for port in $UPSTREAM_PORT $NGINX_PORT $BYOK_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
# nginx serves from its worker processes; byok-proxy's workers are threads of one process.
mapfile -t upstream_workers < <(pgrep -P "$upstream_pid")
mapfile -t nginx_workers < <(pgrep -P "$nginx_pid")

# shellcheck source=bench/wrk.sh
source bench/wrk.sh

# This is a shared 2-core VM: single runs swing by 20%. Each target runs $ROUNDS times,
# interleaved (direct, nginx, byok, direct, ...), and the medians are reported. CPU is the
# upstream's for "direct" and the proxy's (not the upstream's) for the other two.
report() { # kind direct-results... -- nginx-results... -- byok-results...
  python3 - "$@" <<'PY'
import statistics as st, sys
kind, rest = sys.argv[1], " ".join(sys.argv[2:]).split(" -- ")
medians = {}
for name, group in zip(("direct", "via nginx", "via byok-proxy"), rest):
    runs = [list(map(float, r.split(","))) for r in group.split()]
    rps, p50, p99, bad, cpu = (st.median(col) for col in zip(*runs))
    medians[name] = (rps, p50, p99, cpu)
    print(f"{kind + ' ' + name:22} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
          f"CPU {cpu:5.1f} µs/req   (runs: {', '.join(str(round(r[0])) for r in runs)})"
          f"{'  !! non-2xx' if bad else ''}")
(d_rps, d_p50, d_p99, _), (n_rps, n_p50, n_p99, n_cpu), (b_rps, b_p50, b_p99, b_cpu) = medians.values()
print(f"{kind}: byok-proxy at {b_rps / n_rps:.2f}x nginx's throughput (target >= 0.9), "
      f"{b_cpu / n_cpu:.2f}x its CPU per request; added over direct: p50 {b_p50 - d_p50:+.2f} ms, "
      f"p99 {b_p99 - d_p99:+.2f} ms (nginx: p50 {n_p50 - d_p50:+.2f} ms, p99 {n_p99 - d_p99:+.2f} ms)")
PY
}

for connections in $CONNECTIONS; do
echo "== byok-proxy benchmark: $connections connections, $DURATION x $ROUNDS rounds each (medians), 2 wrk threads, $(nproc) cores, $WORKERS proxy workers =="
for kind in "JSON:/v1/chat/completions" "SSE:/v1/sse"; do
  name=${kind%%:*} path=${kind#*:}
  direct=() nginx=() byok=()
  # One unmeasured second each first: connections, pools and allocator arenas warm up.
  for url in "http://127.0.0.1:$UPSTREAM_PORT$path" "http://127.0.0.1:$NGINX_PORT$path" \
      "http://127.0.0.1:$BYOK_PORT/openai$path"; do
    wrk -t2 -c"$connections" -d1s -s bench/post.lua "$url" >/dev/null
  done
  for _ in $(seq "$ROUNDS"); do
    direct+=("$(CONNECTIONS=$connections run_wrk bench/post.lua "http://127.0.0.1:$UPSTREAM_PORT$path" "${upstream_workers[@]}")")
    nginx+=("$(CONNECTIONS=$connections run_wrk bench/post.lua "http://127.0.0.1:$NGINX_PORT$path" "${nginx_workers[@]}")")
    byok+=("$(CONNECTIONS=$connections run_wrk bench/post.lua "http://127.0.0.1:$BYOK_PORT/openai$path" "$byok_pid")")
  done
  report "$name ($connections)" "${direct[@]}" -- "${nginx[@]}" -- "${byok[@]}"
done
done
