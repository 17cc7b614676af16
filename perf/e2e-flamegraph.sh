#!/usr/bin/env bash
# A flamegraph of the end-to-end benchmark's quick run: perf/e2e-flamegraph.sh [options]
# Samples every thread with `perf record` (cpu-clock, so it works on a VM without
# hardware counters; DWARF call stacks, since release builds keep no frame pointers),
# folds the stacks and draws them with inferno, which it installs into target/tools the
# first time. Writes perf/results/e2e-flamegraph.svg and the top symbols per thread to
# perf/results/e2e-profile.txt; the raw perf.data stays in target/perf.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v perf >/dev/null 2>&1; then
  echo "perf is not installed (Debian: apt-get install linux-perf)" >&2
  exit 2
fi
tools=target/tools
if [ ! -x "$tools/bin/inferno-flamegraph" ]; then
  cargo install --quiet --locked --root "$tools" inferno
fi
cargo build --quiet --profile bench -p crossline-bench --bin e2e
mkdir -p perf/results target/perf
perf record --quiet -F 499 -e cpu-clock --call-graph dwarf,16384 -o target/perf/e2e.data \
  -- target/release/e2e --quick "$@" > target/perf/e2e-run.txt
perf script -i target/perf/e2e.data 2>/dev/null \
  | "$tools/bin/inferno-collapse-perf" > target/perf/e2e.folded
"$tools/bin/inferno-flamegraph" --title "crossline e2e --quick (cpu-clock)" \
  < target/perf/e2e.folded > perf/results/e2e-flamegraph.svg
perf report -i target/perf/e2e.data --no-children --sort comm,symbol --percent-limit 0.5 \
  --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' > perf/results/e2e-profile.txt
cat perf/results/e2e-profile.txt
echo "wrote perf/results/e2e-flamegraph.svg"
