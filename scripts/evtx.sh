#!/usr/bin/env bash
# Second opinion for the .evtx reader: renders every record of the sample
# .evtx files with 'wfpwatch evtx dump' and compares them field by field with
# libevtx's evtxexport (bench/diff_evtxexport.py). The Go tests do not need
# libevtx; this script is the extra cross-check. It skips cleanly when the
# shared samples are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
samples=${WFPWATCH_SAMPLES:-../shared/samples}
if [ ! -d "$samples/evtx" ]; then
  echo "evtx.sh: no samples at $samples/evtx; skipping the evtxexport cross-check"
  exit 0
fi
if ! command -v evtxexport > /dev/null || ! command -v python3 > /dev/null; then
  if [ "${CI:-}" = true ] && [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq libevtx-utils python3 > /dev/null
  else
    echo "evtx.sh: needs evtxexport and python3 (apt-get install libevtx-utils python3)" >&2
    exit 1
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/wfpwatch" ./cmd/wfpwatch
python3 bench/diff_evtxexport.py "$tmp/wfpwatch" "$samples"/evtx/*.evtx
