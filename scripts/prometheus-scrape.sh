#!/usr/bin/env bash
# prometheus-scrape.sh: a real Prometheus scrapes 'wfpwatch serve' (issue 16).
#
# Builds wfpwatch, records the built-in example (testdata/security-wfp.xml)
# to a throw-away history database, starts 'wfpwatch serve' and Debian's
# prometheus on loopback with a scrape config for it, waits for a scrape,
# and queries sum(wfpwatch_events_total) back through Prometheus's HTTP API:
# it must equal the number of events in the database. Everything runs in a
# temporary directory and both servers are stopped on every exit.
#
# Without prometheus it says so and exits 0, except under CI=true (where
# .ci/run installs it), when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v prometheus >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "prometheus-scrape.sh: prometheus is missing (apt-get install -y prometheus)" >&2
		exit 1
	fi
	echo "prometheus-scrape.sh: skipped: no prometheus (apt-get install -y prometheus runs it)"
	exit 0
fi
for c in curl python3; do
	command -v "$c" >/dev/null 2>&1 || { echo "prometheus-scrape.sh: needs $c" >&2; exit 1; }
done

tmp=$(mktemp -d)
serve_pid="" prom_pid=""
cleanup() {
	[ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null || true
	[ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# free_port prints a loopback port nobody listens on.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

go build -o "$tmp/wfpwatch" ./cmd/wfpwatch
"$tmp/wfpwatch" analyze -q --packets --permits --db "$tmp/h.db" testdata/security-wfp.xml >/dev/null
want=$("$tmp/wfpwatch" query --db "$tmp/h.db" --format json | wc -l)
echo "prometheus-scrape.sh: $want events in the history database"

sport=$(free_port)
"$tmp/wfpwatch" serve --db "$tmp/h.db" --listen "127.0.0.1:$sport" 2>"$tmp/serve.log" &
serve_pid=$!

pport=$(free_port)
cat >"$tmp/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: wfpwatch
    static_configs:
      - targets: ['127.0.0.1:$sport']
YML
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
prom_pid=$!

# Wait (at most 60 s) for Prometheus to hold the whole count.
got=""
for _ in $(seq 1 120); do
	if ! kill -0 "$serve_pid" 2>/dev/null; then
		echo "prometheus-scrape.sh: wfpwatch serve stopped:" >&2; cat "$tmp/serve.log" >&2; exit 1
	fi
	if ! kill -0 "$prom_pid" 2>/dev/null; then
		echo "prometheus-scrape.sh: prometheus stopped:" >&2; cat "$tmp/prometheus.log" >&2; exit 1
	fi
	answer=$(curl -fsS "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=sum(wfpwatch_events_total)' 2>/dev/null || true)
	got=$(printf '%s' "$answer" | python3 -c 'import json,sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(int(float(r[0]["value"][1])) if r else "")
except Exception:
    print("")')
	if [ -n "$got" ] && [ "$got" = "$want" ]; then
		break
	fi
	sleep 0.5
done
if [ "$got" != "$want" ]; then
	echo "prometheus-scrape.sh: FAIL: Prometheus has sum(wfpwatch_events_total) = '${got}', want $want" >&2
	curl -fsS "http://127.0.0.1:$pport/api/v1/targets" >&2 || true
	exit 1
fi
series=$(curl -fsS "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=count(wfpwatch_events_total)' |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["result"][0]["value"][1])')
echo "prometheus-scrape.sh: ok: Prometheus scraped wfpwatch serve: sum(wfpwatch_events_total) = $got in $series series"
