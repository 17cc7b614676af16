#!/usr/bin/env bash
# The project's test suite: everything CI runs after formatting and lints.
#   scripts/test.sh          unit, integration, doc and stress tests (release mode, so the
#                            ring stress test moves its full 100M messages), then the loom
#                            models of the ring.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (release)"
cargo test --workspace --release

# Loom replaces the ring's atomics with its model checker; it needs its own build
# (a cfg flag for every crate), kept apart in target/loom so the two never invalidate
# each other.
echo "== loom models of the ring"
RUSTFLAGS="--cfg loom" cargo test -p crossline-ring --test loom --release --target-dir target/loom
