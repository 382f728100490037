#!/usr/bin/env bash
# Whole-process throughput of wfpwatch's .evtx reader, side by side with the
# other parsers available on the machine. See bench/README.md.
#
# Usage: bench/run.sh [FILE.evtx ...]
#   Default files: the two large Security.evtx samples of shared/samples
#   ($WFPWATCH_SAMPLES, else ../shared/samples beside the checkout), and a
#   synthetic 21 MB file where every record is a 5157 block with varied
#   values (written by internal/evtx's TestWriteWFPBenchFile; WFP=0 leaves
#   it out).
#   RUNS=n      runs per measurement (default 10; means are reported)
#   EVTXEXPORT_RUNS=n  runs of the much slower libevtx evtxexport (default 3)
#   EVTX_DUMP=/path/to/evtx_dump      also time the Rust evtx crate's tool
#   VELOCIDEX_DUMP=/path/to/dumpevtx  also time Velocidex's Go parser
#   REPEAT=n    also measure, for each file, a file built in a temporary
#               directory from its header and n copies of its chunks (chunks
#               are independent), so that process start-up stops dominating
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
samples=${WFPWATCH_SAMPLES:-../shared/samples}
if [ $# -eq 0 ]; then
  set -- "$samples/evtx/omerbenamram-evtx_security.evtx" \
         "$samples/evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Static, as wfpwatch ships: a cgo build starts ~3.5 ms later (dynamic loader, glibc).
CGO_ENABLED=0 go build -o "$tmp/wfpwatch" ./cmd/wfpwatch
# Start-up floors: any Go program, and a Go program linking modernc.org/sqlite.
CGO_ENABLED=0 go build -o "$tmp/empty" ./bench/startup/empty
CGO_ENABLED=0 go build -o "$tmp/sqliteonly" ./bench/startup/sqliteonly
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time (apt-get install time)" >&2; exit 1; }
command -v bc > /dev/null || { echo "needs bc (apt-get install bc)" >&2; exit 1; }

# measure LABEL THREADS CMD...: runs CMD $RUNS times and reports the mean
# wall time and the mean CPU time (user+sys) per run. With hyperfine
# (Debian package) each run is started directly, without a shell (-N),
# after 2 warm-up runs; without it, the runs go back to back under one GNU
# time in a bash loop, which adds the loop's own ~5 ms per run on a VM
# where a fork costs that much, so small files look slower than they are.
# The CPU figure is what matters on a shared machine: it does not grow
# with other people's load the way wall time does. Environment for CMD
# (GOMAXPROCS=1) is given as a prefix of the measure call.
measure() {
  local label=$1 threads=$2; shift 2
  local wall user sys
  # hyperfine -N splits the command at spaces: use it only when no argument has one.
  if [ -n "$HYPERFINE" ] && ! printf '%s\n' "$@" | grep -q ' '; then
    if ! "$HYPERFINE" -N -w 2 -r "$RUNS" --export-json "$tmp/h.json" --output=null -- "$*" > "$tmp/err" 2>&1; then
      echo "| $label | $threads | failed: $(grep -v '^ *$' "$tmp/err" | tail -3 | head -c 200 | tr '\n' ' ') | | |"
      return
    fi
    read -r wall user sys < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["user"], r["system"])' "$tmp/h.json")
  else
    if ! $TIME -f '%e %U %S' -o "$tmp/t" bash -c \
        'for _ in $(seq "$0"); do "$@" > /dev/null 2> "'"$tmp"'/err" || exit 1; done' "$RUNS" "$@"; then
      echo "| $label | $threads | failed: $(head -c 200 "$tmp/err" | tr '\n' ' ') | | |"
      return
    fi
    read -r wall user sys < <(tail -1 "$tmp/t")
    wall=$(echo "$wall / $RUNS" | bc -l); user=$(echo "$user / $RUNS" | bc -l); sys=$(echo "$sys / $RUNS" | bc -l)
  fi
  local mb; mb=$(echo "$size / 1000000" | bc -l)
  local w=$wall c
  c=$(echo "$user + $sys" | bc -l)
  if [ "$size" = 0 ]; then
    printf '| %s | %s | %.1f ms | — | %.1f ms | — |\n' "$label" "$threads" \
      "$(echo "$w * 1000" | bc -l)" "$(echo "$c * 1000" | bc -l)"
    return
  fi
  printf '| %s | %s | %.1f ms | %.1f MB/s | %.1f ms | %.1f MB/s |\n' "$label" "$threads" \
    "$(echo "$w * 1000" | bc -l)" "$(echo "$mb / ($w + 0.00001)" | bc -l)" \
    "$(echo "$c * 1000" | bc -l)" "$(echo "$mb / ($c + 0.00001)" | bc -l)"
}
HYPERFINE=$(command -v hyperfine || true)

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ); mean of $RUNS runs; timed with ${HYPERFINE:-GNU time in a bash loop}"
inputs=("$@")
if [ "${WFP:-1}" != 0 ]; then
  WFPWATCH_WFP_EVTX="$tmp/synthetic-all-5157.evtx" go test -count=1 -run TestWriteWFPBenchFile ./internal/evtx > /dev/null
  inputs+=("$tmp/synthetic-all-5157.evtx")
fi
echo
echo "### Process start-up (no input)"
echo
echo "| command | threads | wall per run | MB/s (wall) | CPU per run | MB per CPU-second |"
echo "|---|---|---|---|---|---|"
size=0
GOMAXPROCS=1 measure "empty Go program" 1 "$tmp/empty"
GOMAXPROCS=1 measure "Go program linking modernc.org/sqlite" 1 "$tmp/sqliteonly"
GOMAXPROCS=1 measure "wfpwatch version" 1 "$tmp/wfpwatch" version
if [ -n "${REPEAT:-}" ]; then
  for f in "$@"; do
    big="$tmp/$(basename "$f" .evtx)-x$REPEAT.evtx"
    head -c 4096 "$f" > "$big"
    for _ in $(seq "$REPEAT"); do tail -c +4097 "$f" >> "$big"; done
    inputs+=("$big")
  done
fi
for f in "${inputs[@]}"; do
  size=$(stat -c %s "$f")
  echo
  echo "### $(basename "$f") ($size bytes)"
  echo
  echo "| command | threads | wall per run | MB/s (wall) | CPU per run | MB per CPU-second |"
  echo "|---|---|---|---|---|---|"
  GOMAXPROCS=1 measure "wfpwatch evtx dump (XML, every record)" 1 "$tmp/wfpwatch" evtx dump "$f"
  measure "wfpwatch evtx dump (XML, every record)" "$(nproc)" "$tmp/wfpwatch" evtx dump "$f"
  measure "wfpwatch evtx dump --format json" "$(nproc)" "$tmp/wfpwatch" evtx dump --format json "$f"
  if "$tmp/wfpwatch" analyze --help > /dev/null 2>&1; then
    GOMAXPROCS=1 measure "wfpwatch analyze --format json (WFP only)" 1 "$tmp/wfpwatch" analyze -q --packets --permits --format json "$f"
    measure "wfpwatch analyze --format json (WFP only)" "$(nproc)" "$tmp/wfpwatch" analyze -q --packets --permits --format json "$f"
  fi
  if command -v evtxexport > /dev/null; then
    # About 100x slower than the rest: fewer runs (EVTXEXPORT_RUNS, default 3).
    RUNS=${EVTXEXPORT_RUNS:-3} measure "libevtx evtxexport -f xml" 1 evtxexport -f xml "$f"
  fi
  if [ -n "${EVTX_DUMP:-}" ]; then
    measure "Rust evtx_dump (XML)" 1 "$EVTX_DUMP" -t 1 -o xml "$f"
    measure "Rust evtx_dump (XML)" "$(nproc)" "$EVTX_DUMP" -o xml "$f"
  fi
  if [ -n "${VELOCIDEX_DUMP:-}" ]; then
    measure "Velocidex dumpevtx" "$(nproc)" "$VELOCIDEX_DUMP" parse "$f"
  fi
done
