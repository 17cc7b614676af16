#!/usr/bin/env bash
# Fuzzes every decoder with libFuzzer (cargo-fuzz, nightly toolchain):
#   scripts/fuzz.sh [seconds-per-target] [target…]
# Default: 600 seconds for each of the targets in crates/protocol/fuzz, two at a time.
# Installs cargo-fuzz if it is missing. Crashes land in crates/protocol/fuzz/artifacts/<target>/
# and fail the script; logs in target/fuzz-logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(client_inbound client_outbound venue admin market_data feed_file journal_record snapshot)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
mkdir -p target/fuzz-logs
cd crates/protocol/fuzz
cargo +nightly fuzz build
status=0
run() {
  local target=$1
  mkdir -p "corpus/$target"
  if cargo +nightly fuzz run "$target" "corpus/$target" -- -max_total_time="$seconds" \
      > "../../../target/fuzz-logs/$target.log" 2>&1; then
    echo "$target: $(grep -E '^Done [0-9]+ runs' "../../../target/fuzz-logs/$target.log" || tail -1 "../../../target/fuzz-logs/$target.log")"
  else
    echo "$target: FAILED (see target/fuzz-logs/$target.log)"
    return 1
  fi
}
# Two at a time: one per core on the two-core development machine.
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for target in "${targets[@]:i:2}"; do run "$target" & pids+=($!); done
  for pid in "${pids[@]}"; do wait "$pid" || status=1; done
done
exit $status
