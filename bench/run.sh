#!/usr/bin/env bash
# Proxy benchmark: the same load three ways against a fast fake upstream (nginx):
#   direct, through byok-proxy, and through nginx as a plain keep-alive reverse proxy. The
#   upstream, nginx-as-proxy and byok-proxy are three processes; the two proxies get the same
#   number of workers ($WORKERS, default one per core).
# Prints throughput and p50/p99 latency for JSON and SSE, then byok-proxy's memory with 1,000
# open streams. Loopback only. Usage: bench/run.sh (after `cargo build --release -p byok-proxy`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
UPSTREAM_PORT=18081 NGINX_PORT=18082 BYOK_PORT=18083 SLOW_PORT=18084 STREAMS_PORT=18085
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

WORKERS=${WORKERS:-$(nproc)}
template() { sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" \
  -e "s|@NGINX_PORT@|$NGINX_PORT|g" -e "s|@WORKERS@|$WORKERS|g" "$1"; }
template bench/upstream.conf.in > "$dir/upstream.conf"
template bench/nginx-proxy.conf.in > "$dir/nginx-proxy.conf"
nginx -c "$dir/upstream.conf" -p "$dir" & pids+=($!)
nginx -c "$dir/nginx-proxy.conf" -p "$dir" & pids+=($!)
RUST_LOG=warn target/release/byok-proxy --workers "$WORKERS" --listen 127.0.0.1:$BYOK_PORT \
  --upstream-openai "http://127.0.0.1:$UPSTREAM_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 & pids+=($!)
for port in $UPSTREAM_PORT $NGINX_PORT $BYOK_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

# wrk prints "Requests/sec: N" and, with --latency, "50%" and "99%" lines (normalized to ms).
run_wrk() { # url -> "rps p50_ms p99_ms non2xx"
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/post.lua "$1")
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
       /^Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
       /Non-2xx/ { bad = $NF } END { printf "%s %s %s %s\n", rps, p50, p99, bad + 0 }' <<<"$out"
}

# This is a shared 2-core VM: single runs swing by 20%. Each target runs $ROUNDS times,
# interleaved (direct, nginx, byok, direct, ...), and the medians are reported.
report() { # name results...
  python3 - "$@" <<'PY'
import statistics as st, sys
name, runs = sys.argv[1], [list(map(float, r.split())) for r in sys.argv[2:]]
rps, p50, p99, bad = (st.median(col) for col in zip(*runs))
print(f"{name:22} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
      f"(runs: {', '.join(str(round(r[0])) for r in runs)}){'  !! non-2xx' if bad else ''}")
PY
}

echo "== byok-proxy benchmark: $CONNECTIONS connections, $DURATION x $ROUNDS rounds each (medians), 2 wrk threads, $(nproc) cores, $WORKERS proxy workers =="
for kind in "JSON:/v1/chat/completions" "SSE:/v1/sse"; do
  name=${kind%%:*} path=${kind#*:}
  direct=() nginx=() byok=()
  for _ in $(seq "$ROUNDS"); do
    direct+=("$(run_wrk "http://127.0.0.1:$UPSTREAM_PORT$path")")
    nginx+=("$(run_wrk "http://127.0.0.1:$NGINX_PORT$path")")
    byok+=("$(run_wrk "http://127.0.0.1:$BYOK_PORT/openai$path")")
  done
  report "$name direct" "${direct[@]}"
  report "$name via nginx" "${nginx[@]}"
  report "$name via byok-proxy" "${byok[@]}"
done

echo "== byok-proxy memory with open streams =="
RUST_LOG=warn target/release/byok-proxy --workers "$WORKERS" --listen 127.0.0.1:$STREAMS_PORT \
  --upstream-openai "http://127.0.0.1:$SLOW_PORT" \
  --rate-limit-per-ip 0 --rate-limit-per-key 0 & stream_pid=$!; pids+=($stream_pid)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$STREAMS_PORT/healthz" && break; sleep 0.1; done
python3 bench/streams.py $STREAMS_PORT $SLOW_PORT $stream_pid 1000
