#!/usr/bin/env bash
# Kill -9 under load, then recover, N times (default 1000): every acknowledged order must
# be in the journal and every recovered state must equal a clean replay of the journal.
# Usage: scripts/crash-test.sh [TRIALS]
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-1000}
CROSSLINE_CRASH_TRIALS=$trials cargo test --release -q -p crossline --test crash -- --nocapture 2>&1 \
  | grep -E "kills in|test result|panicked|acknowledged order|differs"
