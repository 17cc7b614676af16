#!/usr/bin/env bash
# Runs every command README.md gives a user (besides the perf/ profiling scripts, which
# need perf and the host's permission), word for word but
# shortened (fewer commands, seconds or trials, --quick benchmarks) and with their paths
# in a temporary directory, so a command the docs show cannot stop working unnoticed.
# CI runs it after the tests. The README's two set-up commands are CI's own steps, and
# `crossline run --config … --journal …` and `crossline stat --journal …` (OPERATIONS.md)
# are driven by crates/crossline/tests/restart.rs.
#   scripts/doc-commands.sh
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

step() { echo "== $*"; "$@"; }

# README, "Journal, recovery and replay".
step cargo run --release -q -p crossline --bin crossline-harness -- run --dir "$dir/j" --commands 100000
step cargo run --release -q -p crossline -- replay "$dir/j" --verify --audit "$dir/j/audit.csv"
test -s "$dir/j/audit.csv" || { echo "replay --audit wrote no audit trail" >&2; exit 1; }
step cargo run --release -q -p crossline -- replay "$dir/j" --until 5000
step scripts/crash-test.sh 3
step scripts/crash-test.sh --engine 10

# README, "Disclosure reports": each report of a short demo's journal, and the screenshot.
step cargo run --release -q -p crossline -- demo --seconds 2 --journal "$dir/day1" > /dev/null
month=$(date -u +%Y-%m)
step cargo run --release -q -p crossline -- report 605 --journal "$dir/day1" --month "$month" --sp500 AAPL,MSFT --out "$dir/reports"
step cargo run --release -q -p crossline -- report 606a --journal "$dir/day1" --quarter "$(date -u +%Y)-Q$(( ($(date -u +%-m) + 2) / 3 ))" --out "$dir/reports"
step cargo run --release -q -p crossline -- report 606b3 --journal "$dir/day1" --client 1 --from "$(date -u +%Y-%m-01)" --to "$(date -u +%Y-%m-%d)" --out "$dir/reports"
step cargo run --release -q -p crossline -- report markouts --journal "$dir/day1" --month "$month" --out "$dir/reports"
test "$(ls "$dir/reports" | wc -l)" -ge 8 || { ls "$dir/reports"; echo "crossline report wrote too few files" >&2; exit 1; }
step scripts/report-screenshot.sh "$dir/report.png"

# README, "Venues and the feed": a short recording, which must hold packets.
step cargo run --release -q -p crossline-venue -- --seconds 2 --record "$dir/feed.cxmd"
test -s "$dir/feed.cxmd" || { echo "crossline-venue --record wrote nothing" >&2; exit 1; }

# README, "Set-up": the demo with a client on FIX and a drop copy.
step cargo run --release -q -p crossline -- demo --fix --seconds 1
# README, "Benchmarks": each one's short run, and the list.
step scripts/bench.sh --list
for name in $(scripts/bench.sh --list); do
  echo "== scripts/bench.sh $name --quick"
  scripts/bench.sh "$name" --quick > "$dir/bench-$name.txt" 2>&1 \
    || { cat "$dir/bench-$name.txt"; echo "scripts/bench.sh $name --quick failed" >&2; exit 1; }
  test -s "target/bench/$name.json" || { echo "no target/bench/$name.json" >&2; exit 1; }
done
echo "every command README.md shows ran (OPERATIONS.md's: crates/crossline/tests/restart.rs)"
