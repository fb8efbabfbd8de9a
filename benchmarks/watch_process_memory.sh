#!/usr/bin/env bash
# Samples the memory of every process whose command line matches a pattern, for runs too long
# to wrap in a profiler: one line per process every INTERVAL seconds (default 15) with its
# RSS, the anonymous part of it (what the process itself allocated; the rest is mapped files
# such as a teacher cache, shared and reclaimable) and the peak RSS so far (VmHWM), in MB.
# Usage: bash benchmarks/watch_process_memory.sh "bin/tfcompress distill" > runs/logs/mem.log &
set -euo pipefail
pattern=${1:?"usage: watch_process_memory.sh <pgrep -f pattern> [interval_s]"}
interval=${2:-15}
field() {  # $1 = pid, $2 = /proc/<pid>/status key: its value in MB
  awk -v key="$2:" '$1 == key { print int($2 / 1024) }' "/proc/$1/status" 2>/dev/null || true
}
while true; do
  for pid in $(pgrep -f -- "$pattern" || true); do
    command=$(tr '\0' ' ' 2>/dev/null < "/proc/$pid/cmdline") || continue  # gone already
    # The pattern is in this script's own command line, and in its subshells'.
    [[ "$command" == *watch_process_memory* ]] && continue
    echo "$(date -u +%H:%M:%S) pid=$pid rss=$(field "$pid" VmRSS) anon=$(field "$pid" RssAnon)" \
      "hwm=$(field "$pid" VmHWM) ${command:0:160}"
  done
  sleep "$interval"
done
