package forward

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// otelcolRE finds the event.id attribute in the OTLP/JSON lines the
// collector's file exporter writes.
var otelcolRE = regexp.MustCompile(`"key":"event.id","value":\{"stringValue":"([0-9a-f]{32})"\}`)

// otelcol returns the OpenTelemetry Collector built from tools/otelcol
// (official collector modules: OTLP receiver, file exporter), started with
// its own config on a free loopback port. Each start writes to a new file
// (out-N.json), so a restart never truncates what was received before.
// WFPWATCH_OTELCOL names the binary; scripts/otelcol-test.sh (a step of
// .ci/run) builds it and runs this test with it set.
func otelcol(t *testing.T) (start, stop func(), port int, glob string) {
	bin := os.Getenv("WFPWATCH_OTELCOL")
	if bin == "" {
		t.Skip("the OpenTelemetry Collector test needs WFPWATCH_OTELCOL (run scripts/otelcol-test.sh, which builds it from tools/otelcol)")
	}
	dir := t.TempDir()
	port = freePort(t)
	cfg := filepath.Join(dir, "config.yaml")
	r := &receiver{t: t, name: "otelcol", dir: dir, port: port, argv: []string{bin, "--config", cfg}}
	n := 0
	start = func() {
		n++
		conf := fmt.Sprintf(`receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
exporters:
  file:
    path: %s
    flush_interval: 100ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [otlp]
      exporters: [file]
`, port, filepath.Join(dir, fmt.Sprintf("out-%d.json", n)))
		if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		r.start()
	}
	return start, r.stop, port, filepath.Join(dir, "out-*.json")
}

// TestOTelCollector sends events to a real OpenTelemetry Collector over
// OTLP/HTTP (protobuf), stops the collector for a while mid-stream, and
// counts the distinct event.ids in its file output: every event arrives.
func TestOTelCollector(t *testing.T) {
	start, stop, port, glob := otelcol(t)
	start()
	defer stop()
	var warns []string
	fw, err := Open([]string{fmt.Sprintf("otlp+http://127.0.0.1:%d", port)}, Options{StateDir: t.TempDir(), Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	n := eventCount(t)
	for i := range n {
		if i == n/2 {
			stop()
			go func() {
				time.Sleep(2 * time.Second)
				start()
			}()
		}
		if err := fw.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the exporter's flush interval
	stop()
	distinct, lines := countMatches(t, glob, otelcolRE)
	files, _ := filepath.Glob(glob)
	t.Logf("otelcol: %d distinct event.ids in %d log records over %d files (%d duplicates from at-least-once); warnings: %q", distinct, lines, len(files), lines-distinct, warns)
	if distinct != n {
		t.Fatalf("the collector received %d distinct events of %d", distinct, n)
	}
}
