# Shared by bench/run.sh and bench/grants.sh (sourced): CPU accounting and one wrk run.

# CPU time (user + system, in clock ticks) the given processes have used so far.
cpu_ticks() {
  local total=0 pid utime stime
  for pid in "$@"; do
    read -r utime stime < <(awk '{print $14, $15}' "/proc/$pid/stat")
    total=$((total + utime + stime))
  done
  echo "$total"
}

# wrk prints "N requests in", "Requests/sec: N" and, with --latency, "50%" and "99%" lines
# (normalized to ms). The CPU the serving processes used per request is steadier than
# throughput on a shared machine: throughput is what is left of 2 cores after wrk and the
# upstream, so it moves with them.
run_wrk() { # script url pids... -> "rps,p50_ms,p99_ms,non2xx,cpu_us_per_request"
  local script=$1 url=$2 out before after
  shift 2
  before=$(cpu_ticks "$@")
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$script" "$url")
  after=$(cpu_ticks "$@")
  awk -v ticks=$((after - before)) -v hz="$(getconf CLK_TCK)" '
       function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
       / requests in / { n = $1 } /^Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
       /Non-2xx/ { bad = $NF } END { printf "%s,%s,%s,%s,%.1f\n", rps, p50, p99, bad + 0, n ? ticks / hz / n * 1e6 : 0 }' <<<"$out"
}
