#!/usr/bin/env bash
# Samples where the book benchmark spends its time: perf record (cpu-clock, so it works on
# a VM without hardware counters) around `scripts/bench.sh book --quick`, then the top
# symbols. Output: perf/results/book-profile.txt (the raw perf.data stays in target/).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v perf >/dev/null; then
  echo "perf is not installed (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
cargo build --quiet --profile bench -p crossline-bench --bin book
mkdir -p perf/results target/perf
perf record --quiet -e cpu-clock -g -o target/perf/book.data \
  target/release/book --quick "$@" > /dev/null
perf report -i target/perf/book.data --no-children --percent-limit 1 --stdio 2>/dev/null \
  | grep -E '^ +[0-9]' > perf/results/book-profile.txt
cat perf/results/book-profile.txt
