#!/usr/bin/env bash
# The project's test suite: everything CI runs after formatting and lints.
#   scripts/test.sh          unit, integration, doc and stress tests (release mode, so the
#                            ring stress test moves its full 100M messages), then the loom
#                            models of the ring. Installs promtool and QuickFIX (apt) if
#                            they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# `crossline metrics` is checked by Prometheus's own linter (promtool, from Debian's
# `prometheus` package): installed here when missing, so a fresh machine needs nothing
# by hand, and required by the test (CROSSLINE_REQUIRE_PROMTOOL).
# The FIX gateway is tested against QuickFIX C++ (Debian's libquickfix-dev, built with
# g++ by crates/crossline/tests/quickfix.rs). Both are installed here when missing, and
# required by the tests (CROSSLINE_REQUIRE_PROMTOOL, CROSSLINE_REQUIRE_QUICKFIX).
packages=()
command -v promtool > /dev/null || packages+=(prometheus)
[ -e /usr/include/quickfix/Session.h ] || packages+=(libquickfix-dev)
command -v g++ > /dev/null || packages+=(g++)
# The Rule 606 XML reports are validated against the SEC's schema with xmllint.
command -v xmllint > /dev/null || packages+=(libxml2-utils)
if [ ${#packages[@]} -gt 0 ]; then
  echo "== installing ${packages[*]} (Debian packages)"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" > /dev/null
fi
export CROSSLINE_REQUIRE_PROMTOOL=1
export CROSSLINE_REQUIRE_QUICKFIX=1
export CROSSLINE_REQUIRE_XMLLINT=1

echo "== cargo test (release)"
cargo test --workspace --release

# Loom replaces the ring's atomics with its model checker; it needs its own build
# (a cfg flag for every crate), kept apart in target/loom so the two never invalidate
# each other.
echo "== loom models of the ring"
RUSTFLAGS="--cfg loom" cargo test -p crossline-ring --test loom --release --target-dir target/loom
