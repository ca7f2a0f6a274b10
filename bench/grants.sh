#!/usr/bin/env bash
# Grant and shared-store benchmark, against a real redis-server on loopback and the same fast
# nginx upstream as run.sh. Three ways, interleaved rounds, medians:
#   plain/local:  X-BYOK-Key, rate limits in the process (no Redis)
#   plain/redis:  X-BYOK-Key, rate limits in Redis (two scripts per request)
#   grant/redis:  a grant as the bearer token, same route (its record read from Redis, then limits)
# Rate limits are on but set too high to refuse, so they are checked as in production.
# Prints req/s, p50/p99 and CPU per request (proxy + redis), then the two ratios the grants
# issue sets targets for. Usage: bench/grants.sh (after `cargo build --release -p byok-proxy`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
UPSTREAM_PORT=18091 REDIS_PORT=18092 LOCAL_PORT=18093 SHARED_PORT=18094
WORKERS=${WORKERS:-$(nproc)}
LIMIT=4000000000
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" bench/upstream.conf.in > "$dir/upstream.conf"
nginx -c "$dir/upstream.conf" -p "$dir" & pids+=($!)
redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
  >/dev/null & redis_pid=$!; pids+=($redis_pid)
common=(--workers "$WORKERS" --upstream-openai "http://127.0.0.1:$UPSTREAM_PORT"
        --rate-limit-per-ip $LIMIT --rate-limit-per-key $LIMIT)
RUST_LOG=warn target/release/byok-proxy "${common[@]}" --listen 127.0.0.1:$LOCAL_PORT \
  & local_pid=$!; pids+=($local_pid)
export BYOK_SECRET
BYOK_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
RUST_LOG=warn target/release/byok-proxy "${common[@]}" --listen 127.0.0.1:$SHARED_PORT \
  --redis-url "redis://127.0.0.1:$REDIS_PORT" & shared_pid=$!; pids+=($shared_pid)
for port in $UPSTREAM_PORT $LOCAL_PORT $SHARED_PORT; do
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done
BYOK_BENCH_GRANT=$(curl -sf -X POST "http://127.0.0.1:$SHARED_PORT/byok/grants" \
  -H 'X-BYOK-Key: sk-proj-BENCHbenchBENCHbench0000' -H 'Content-Type: application/json' \
  -d '{"provider":"openai","ttl_seconds":3600}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
export BYOK_BENCH_GRANT

# shellcheck source=bench/wrk.sh
source bench/wrk.sh

targets=(
  "plain/local|bench/post.lua|http://127.0.0.1:$LOCAL_PORT/openai/v1/chat/completions|$local_pid"
  "plain/redis|bench/post.lua|http://127.0.0.1:$SHARED_PORT/openai/v1/chat/completions|$shared_pid $redis_pid"
  "grant/redis|bench/grant.lua|http://127.0.0.1:$SHARED_PORT/openai/v1/chat/completions|$shared_pid $redis_pid"
)
echo "== grants benchmark: $CONNECTIONS connections, $DURATION x $ROUNDS rounds each (medians), $WORKERS proxy workers, redis-server $(redis-server --version | awk '{print $3}') =="
declare -A results
for t in "${targets[@]}"; do
  IFS='|' read -r name script url _ <<<"$t"
  wrk -t2 -c"$CONNECTIONS" -d1s -s "$script" "$url" >/dev/null
done
for _ in $(seq "$ROUNDS"); do
  for t in "${targets[@]}"; do
    IFS='|' read -r name script url procs <<<"$t"
    # shellcheck disable=SC2086 # the pid list is meant to split
    results[$name]+="$(run_wrk "$script" "$url" $procs) "
  done
done
python3 - "${results[plain/local]}" "${results[plain/redis]}" "${results[grant/redis]}" <<'PY'
import statistics as st, sys
medians = {}
for name, group in zip(("plain/local", "plain/redis", "grant/redis"), sys.argv[1:]):
    runs = [list(map(float, r.split(","))) for r in group.split()]
    rps, p50, p99, bad, cpu = (st.median(col) for col in zip(*runs))
    medians[name] = (rps, p99, cpu)
    print(f"{name:12} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
          f"CPU {cpu:5.1f} µs/req   (runs: {', '.join(str(round(r[0])) for r in runs)})"
          f"{'  !! non-2xx' if bad else ''}")
(l_rps, l_p99, l_cpu), (r_rps, r_p99, r_cpu), (g_rps, g_p99, g_cpu) = medians.values()
print(f"grant vs plain (both on Redis): {g_rps / r_rps:.2f}x throughput (target >= 0.8), "
      f"added p99 {g_p99 - r_p99:+.2f} ms (target <= 0.5), {g_cpu / r_cpu:.2f}x CPU per request")
print(f"rate limits in Redis vs in-process: {r_rps / l_rps:.2f}x throughput, "
      f"added p99 {r_p99 - l_p99:+.2f} ms, {r_cpu / l_cpu:.2f}x CPU per request (proxy + redis)")
PY
