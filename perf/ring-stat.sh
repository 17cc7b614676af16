#!/usr/bin/env bash
# Hardware counters for the ring benchmark's quick run: perf/ring-stat.sh [bench options]
# Writes perf/results/ring-stat.txt. Needs `perf` (Debian: linux-perf); on machines whose
# hypervisor hides the counters perf reports them as <not supported>, and says so here.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v perf >/dev/null 2>&1; then
  echo "perf is not installed (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
cargo build --quiet --profile bench -p crossline-bench --bin ring
mkdir -p perf/results
events=task-clock,context-switches,cpu-migrations,cycles,instructions,cache-references,cache-misses,L1-dcache-load-misses
perf stat -e "$events" -o perf/results/ring-stat.txt -- target/release/ring --quick "$@"
cat perf/results/ring-stat.txt
if grep -q "not supported" perf/results/ring-stat.txt; then
  echo "note: some hardware counters are not exposed on this machine" >&2
fi
