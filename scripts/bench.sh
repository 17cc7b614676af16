#!/usr/bin/env bash
# Runs one benchmark program: scripts/bench.sh <name> [--quick] [options…]
# Builds with the `bench` profile (release code, debug symbols for perf) and writes
# target/bench/<name>.json. `scripts/bench.sh --list` names the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

benchmarks=(ring book risk journal net e2e admin fix report)

usage() {
  echo "usage: scripts/bench.sh <name> [--quick] [--rounds N] [--cores A,B] [--rate N]" >&2
  echo "benchmarks: ${benchmarks[*]}" >&2
}

if [ $# -lt 1 ]; then usage; exit 2; fi
name=$1; shift
if [ "$name" = "--list" ]; then printf '%s\n' "${benchmarks[@]}"; exit 0; fi
found=0
for known in "${benchmarks[@]}"; do [ "$known" = "$name" ] && found=1; done
if [ $found -eq 0 ]; then echo "unknown benchmark: $name" >&2; usage; exit 2; fi

# The FIX benchmark's peer: QuickFIX C++ (Debian's libquickfix-dev; scripts/test.sh
# installs it), timed in its own process.
if [ "$name" = "fix" ]; then
  if [ ! -e /usr/include/quickfix/Message.h ] || ! command -v g++ > /dev/null; then
    echo "scripts/bench.sh fix needs QuickFIX C++ and g++: apt-get install libquickfix-dev g++" >&2
    exit 2
  fi
  mkdir -p target/bench
  if [ ! -x target/bench/fixbench ] || [ bench/quickfix/fixbench.cpp -nt target/bench/fixbench ]; then
    g++ -std=c++14 -O2 -Wno-deprecated -o target/bench/fixbench bench/quickfix/fixbench.cpp -lquickfix
  fi
  export CROSSLINE_QUICKFIX_BENCH="$PWD/target/bench/fixbench"
fi

# The bench profile inherits release, so Cargo puts its binaries in target/release.
cargo build --quiet --profile bench -p crossline-bench --bin "$name"
# The JSON records the command a person would type to reproduce the run.
CROSSLINE_BENCH_COMMAND="scripts/bench.sh $name${*:+ $*}" exec "target/release/$name" "$@"
