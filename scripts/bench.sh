#!/usr/bin/env bash
# Runs one benchmark program: scripts/bench.sh <name> [--quick] [options…]
# Builds with the `bench` profile (release code, debug symbols for perf) and writes
# target/bench/<name>.json. `scripts/bench.sh --list` names the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."

benchmarks=(ring book risk journal net e2e admin)

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

# The bench profile inherits release, so Cargo puts its binaries in target/release.
cargo build --quiet --profile bench -p crossline-bench --bin "$name"
# The JSON records the command a person would type to reproduce the run.
CROSSLINE_BENCH_COMMAND="scripts/bench.sh $name${*:+ $*}" exec "target/release/$name" "$@"
