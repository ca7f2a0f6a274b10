#!/usr/bin/env bash
# `make fuzz`: every cargo-fuzz target for FUZZ_SECONDS (default 60) each, starting from its seed
# corpus (fuzz/seeds/<target>: inputs taken from the tests). What the fuzzer learns goes to
# target/fuzz/corpus/<target>, crash inputs to target/fuzz/artifacts/<target>/; neither is
# committed: a crash input becomes a regression test where the bug was. Prints executions and
# crashes per target; exits non-zero if any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
# The workspace release profile uses LTO, which drops the coverage counters the fuzzer needs.
targets=${FUZZ_TARGETS:-$(cargo +nightly fuzz list)}
out=target/fuzz
mkdir -p "$out"
failed=0
printf '%-12s %12s %10s %8s\n' target executions exec/s crashes
for target in $targets; do
  mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
  log="$out/$target.log"
  status=0
  CARGO_PROFILE_RELEASE_LTO=false cargo +nightly fuzz run "$target" "$out/corpus/$target" "fuzz/seeds/$target" -- \
    -max_total_time="$seconds" -artifact_prefix="$out/artifacts/$target/" \
    -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(awk '/stat::number_of_executed_units:/ { print $2 }' "$log" | tail -n1)
  rate=$(awk '/stat::average_exec_per_sec:/ { print $2 }' "$log" | tail -n1)
  crashes=$(find "$out/artifacts/$target" -type f | wc -l)
  printf '%-12s %12s %10s %8s\n' "$target" "${runs:-?}" "${rate:-?}" "$crashes"
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    echo "  $target failed (exit $status); log: $log" >&2
    grep -m5 -E 'panicked|ERROR|SUMMARY' "$log" | sed 's/^/  /' >&2 || true
  fi
done
exit "$failed"
