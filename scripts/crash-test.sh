#!/usr/bin/env bash
# Kill -9 under load, then recover, N times, and check that nothing acknowledged is lost.
# Usage:
#   scripts/crash-test.sh [TRIALS]           the harness (gate, journal and matcher in one
#       process, crates/crossline/tests/crash.rs), default 1000 trials, 25 to a journal:
#       every acknowledged order must be in the journal and every recovered state must
#       equal a clean replay.
#   scripts/crash-test.sh --engine [TRIALS]  `crossline run` itself under two clients'
#       load (crates/crossline/tests/crash_engine.rs), default 200 trials, all on one
#       journal: after every kill every acknowledged order and cancel must be in the
#       journal and `crossline replay --verify` must pass; after every restart each client
#       reconnects and resends, and its reply numbers must run on with no gap or changed
#       reply, and a new order must be accepted. The seed it prints
#       (CROSSLINE_CRASH_ENGINE_SEED=… scripts/crash-test.sh --engine N) repeats its
#       orders and kill moments.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${1:-} == --engine ]]; then
  trials=${2:-200}
  # The summary lines, and each panic with the message on the line after it.
  CROSSLINE_CRASH_ENGINE_TRIALS=$trials \
    cargo test --release -q -p crossline --test crash_engine -- --nocapture 2>&1 \
    | awk '/panicked/ { print; getline; print; fflush(); next }
           /^error|crash_engine: seed|kills of crossline run|test result/ { print; fflush() }'
  exit
fi
trials=${1:-1000}
CROSSLINE_CRASH_TRIALS=$trials cargo test --release -q -p crossline --test crash -- --nocapture 2>&1 \
  | grep -E "kills in|test result|panicked|acknowledged order|differs"
