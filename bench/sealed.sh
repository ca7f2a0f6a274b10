#!/usr/bin/env bash
# Sealed keys against plain ones: the same proxy, the same route and body, the same fast nginx
# upstream as run.sh. Each sealed request carries its own header (a seal is good once, within
# 60 s), sealed just before its run by seal/examples/seal_many.rs; so the replay check runs
# as in production, in the in-process store.
#  1. Instructions per request in user space under callgrind (one worker), plain then sealed.
#  2. wrk: req/s, p50/p99 and CPU per request, interleaved rounds, medians.
# Usage: bench/sealed.sh (after `cargo build --release -p byok-proxy` and
# `cargo build --release -p byok-seal --examples`).
set -euo pipefail
cd "$(dirname "$0")/.."
ulimit -n 65536 2>/dev/null || ulimit -n 4096

DURATION=${BENCH_DURATION:-5s}
ROUNDS=${BENCH_ROUNDS:-5}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WORKERS=${WORKERS:-$(nproc)}
UPSTREAM_PORT=18091 PROXY_PORT=18095 GRIND_PORT=18096
KEY=sk-proj-BENCHbenchBENCHbench0000
BODY='{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Say hello"}]}'
TARGET=/openai/v1/chat/completions
dir=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$dir"; }
trap cleanup EXIT

sed -e "s|@DIR@|$dir|g" -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" bench/upstream.conf.in > "$dir/upstream.conf"
nginx -c "$dir/upstream.conf" -p "$dir" & pids+=($!)
common=(--upstream-openai "http://127.0.0.1:$UPSTREAM_PORT" --rate-limit-per-ip 0 --rate-limit-per-key 0)
wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/healthz" && return; sleep 0.2; done; }

# Seals COUNT headers for the proxy on PORT into FILE.
seal() { target/release/examples/seal_many "127.0.0.1:$1" "$TARGET" "$BODY" "$KEY" "$2" > "$3"; }
export BYOK_BENCH_SEALED="$dir/sealed.txt" BYOK_BENCH_THREADS

# 1. Instructions.
BYOK_BENCH_THREADS=1
(cd "$dir" && RUST_LOG=warn exec valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$OLDPWD/target/release/byok-proxy" --workers 1 --listen 127.0.0.1:$GRIND_PORT "${common[@]}" \
  >/dev/null 2>"$dir/valgrind.log") & grind=$!
pids+=($grind)
wait_for $GRIND_PORT
url="http://127.0.0.1:$GRIND_PORT$TARGET"
count() { # wrk args... -> instructions per request
  callgrind_control --zero "$grind" >/dev/null 2>&1
  local out requests dump
  out=$(wrk -t1 -c8 -d5s "$@" "$url")
  callgrind_control --dump "$grind" >/dev/null 2>&1
  sleep 0.5
  requests=$(awk '/ requests in / { print $1 }' <<<"$out")
  if grep -q Non-2xx <<<"$out"; then echo "non-2xx answers: $out" >&2; exit 1; fi
  dump=$(ls -t "$dir"/callgrind.out* | head -1)
  awk -v n="$requests" '/^(summary|totals):/ { printf "%.0f", $2 / n; exit }' "$dump"
}
wrk -t1 -c8 -d3s -s bench/post.lua "$url" >/dev/null
plain=$(count -s bench/post.lua)
seal $GRIND_PORT 20000 "$BYOK_BENCH_SEALED"
wrk -t1 -c8 -d1s -s bench/sealed.lua "$url" >/dev/null # warms the sealed path; uses its own lines
seal $GRIND_PORT 20000 "$BYOK_BENCH_SEALED"
sealed=$(count -s bench/sealed.lua)
kill "$grind"
python3 -c "p, s = $plain, $sealed; print(f'instructions per request (callgrind, 1 worker): plain {p:,}, sealed {s:,} (+{s - p:,}, {s / p:.2f}x)')"

# 2. Throughput and CPU.
BYOK_BENCH_THREADS=2
RUST_LOG=warn target/release/byok-proxy --workers "$WORKERS" --listen 127.0.0.1:$PROXY_PORT "${common[@]}" \
  & proxy=$!; pids+=($proxy)
wait_for $PROXY_PORT
url="http://127.0.0.1:$PROXY_PORT$TARGET"
# shellcheck source=bench/wrk.sh
source bench/wrk.sh
wrk -t2 -c"$CONNECTIONS" -d1s -s bench/post.lua "$url" >/dev/null
plain_runs="" sealed_runs=""
for _ in $(seq "$ROUNDS"); do
  plain_runs+="$(run_wrk bench/post.lua "$url" "$proxy") "
  seal $PROXY_PORT 150000 "$BYOK_BENCH_SEALED"
  sealed_runs+="$(run_wrk bench/sealed.lua "$url" "$proxy") "
done
echo "== $CONNECTIONS connections, $DURATION x $ROUNDS rounds each, interleaved (medians), $WORKERS proxy workers =="
python3 - "$plain_runs" "$sealed_runs" <<'PY'
import statistics as st, sys
medians = []
for name, group in zip(("plain", "sealed"), sys.argv[1:]):
    runs = [list(map(float, r.split(","))) for r in group.split()]
    rps, p50, p99, bad, cpu = (st.median(col) for col in zip(*runs))
    medians.append((rps, p50, p99, cpu))
    print(f"{name:7} {rps:9.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   "
          f"CPU {cpu:5.1f} µs/req   (runs: {', '.join(str(round(r[0])) for r in runs)})"
          f"{'  !! non-2xx' if bad else ''}")
(p_rps, p_p50, p_p99, p_cpu), (s_rps, s_p50, s_p99, s_cpu) = medians
print(f"sealed vs plain: {s_rps / p_rps:.2f}x throughput, added CPU {s_cpu - p_cpu:+.1f} µs per request, "
      f"added p50 {s_p50 - p_p50:+.2f} ms, p99 {s_p99 - p_p99:+.2f} ms")
PY
