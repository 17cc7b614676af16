#!/usr/bin/env bash
# The disclosure report's HTML page of a demo run, opened in headless Chromium (Debian's
# `chromium` package, installed here when missing) and saved as a screenshot:
#   scripts/report-screenshot.sh [OUT.png]      default docs/report-screenshot.png
# Runs a 10-second demo into a fresh journal, `crossline report 605` for the month it
# traded in, then Chromium on the page. Fails when the page has no chart or Chromium
# writes no image.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/report-screenshot.png}"

if ! command -v chromium > /dev/null; then
  echo "== installing chromium (Debian package)"
  if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium > /dev/null
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q -p crossline
./target/release/crossline demo --seconds 10 --journal "$work/journal" > "$work/demo.txt"
month="$(date -u +%Y-%m)"
./target/release/crossline report 605 --journal "$work/journal" --month "$month" \
  --sp500 AAPL,MSFT --out "$work/reports"
page="$(ls "$work"/reports/*.html)"
charts="$(grep -o '<svg' "$page" | wc -l)"
if [ "$charts" -lt 4 ]; then
  echo "report-screenshot: $page has $charts charts, expected 4" >&2
  exit 1
fi
rm -f "$out"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
  --window-size=1200,2600 --screenshot="$out" "file://$page" 2> "$work/chromium.log" || {
  cat "$work/chromium.log" >&2
  exit 1
}
if [ ! -s "$out" ]; then
  echo "report-screenshot: chromium wrote no image" >&2
  cat "$work/chromium.log" >&2
  exit 1
fi
echo "report-screenshot: $page ($charts charts) -> $out"
