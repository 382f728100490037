package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// countSum runs analyze with args and returns the sum of event.count over
// its NDJSON and the number of lines.
func countSum(t *testing.T, args ...string) (sum uint64, lines int) {
	t.Helper()
	var out, errOut bytes.Buffer
	if err := runAnalyze(context.Background(), append([]string{"--format", "json", "-q"}, args...), &out, &errOut); err != nil {
		if _, ok := err.(exitError); !ok {
			t.Fatalf("analyze %v: %v\n%s", args, err, errOut.String())
		}
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m struct {
			Event struct {
				Count *uint64 `json:"count"`
			} `json:"event"`
		}
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		if m.Event.Count == nil || *m.Event.Count == 0 {
			t.Fatalf("line without a positive event.count: %s", l)
		}
		sum += *m.Event.Count
		lines++
	}
	return sum, lines
}

// checkCountsAddUp says that flows lose no event: the sum of event.count
// over 'analyze --format json' is the number of events read, which is the
// number of lines with --no-aggregate, whatever the view and the window.
func checkCountsAddUp(t *testing.T, path string) {
	for _, view := range [][]string{nil, {"--packets"}, {"--packets", "--permits"}, {"--packets", "--permits", "--window", "1h"}, {"--packets", "--permits", "--max-flows", "2"}} {
		args := append(append([]string{}, view...), path)
		sum, flows := countSum(t, args...)
		events, _ := countSum(t, append([]string{"--no-aggregate"}, args...)...)
		if sum != events {
			t.Errorf("%s %v: event.count sums to %d over %d flows; %d events were read", filepath.Base(path), view, sum, flows, events)
		}
		if uint64(flows) > events {
			t.Errorf("%s %v: %d flows for %d events", filepath.Base(path), view, flows, events)
		}
	}
}

func TestCountsAddUpTestdata(t *testing.T) {
	checkCountsAddUp(t, fixture)
}

// TestCountsAddUpSamples checks the count sum on every real sample.
func TestCountsAddUpSamples(t *testing.T) {
	dir := samples.Dir(t)
	n := 0
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".md") {
			return nil
		}
		n++
		t.Run(strings.TrimPrefix(path, dir+string(filepath.Separator)), func(t *testing.T) { checkCountsAddUp(t, path) })
		return nil
	})
	if n == 0 {
		t.Skip("no sample files")
	}
}
