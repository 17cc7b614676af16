#!/usr/bin/env bash
# Counters for the end-to-end benchmark's quick run: perf/e2e-stat.sh [bench options]
# `perf stat` around `scripts/bench.sh e2e --quick` (in-process tick-to-trade at 1M
# orders/s, wire-to-wire at 100k/s), software and hardware counters for the whole process
# and per thread name. Writes perf/results/e2e-stat.txt. Needs `perf` (Debian:
# linux-perf); where the hypervisor hides the hardware counters perf reports them as
# <not supported>, and this script says so.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v perf >/dev/null 2>&1; then
  echo "perf is not installed (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
cargo build --quiet --profile bench -p crossline-bench --bin e2e
mkdir -p perf/results
events=task-clock,context-switches,cpu-migrations,page-faults,major-faults,cycles,instructions,cache-misses
perf stat -e "$events" -o perf/results/e2e-stat.txt -- target/release/e2e --quick "$@" \
  > perf/results/e2e-stat-run.txt
cat perf/results/e2e-stat.txt
if grep -q "not supported" perf/results/e2e-stat.txt; then
  echo "note: some hardware counters are not exposed on this machine" >&2
fi
