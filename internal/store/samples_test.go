package store

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// TestSamplesRoundTrip records every event of the real samples (.evtx,
// JSON exports, firewall logs, netsh XML) through the pipeline into a
// database and reads them back: each event must come back exactly as it
// went in (compared as ECS JSON), and the rollups must count them all.
func TestSamplesRoundTrip(t *testing.T) {
	dir := samples.Dir(t)
	db, _ := openTemp(t, Options{MaxAge: -1, MaxBytes: -1})
	w := db.NewWriter(WriterOptions{PruneInterval: -1})
	p := pipeline.New(pipeline.Config{})
	p.Events(w)
	p.Flows(w)
	var in []string
	// Some samples hold the same records (a JSON export and the archive
	// it was cut from): the store keeps one of each, by Security-log
	// record id or, for records without one, by fingerprint.
	seen := map[string]bool{}
	dups := 0
	_, err := ingest.Walk(context.Background(), []string{dir}, true, func(e *event.Event) error {
		id := identityKey(e)
		if seen[id] {
			dups++
			return p.Process(e)
		}
		seen[id] = true
		in = append(in, string(e.AppendJSON(nil)))
		return p.Process(e)
	}, func(*ingest.Problem) {})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if len(in) == 0 {
		t.Skip("the samples hold no events")
	}
	var out []string
	if err := db.Events(context.Background(), Filter{}, 0, func(e *event.Event) error {
		out = append(out, string(e.AppendJSON(nil)))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(in)
	slices.Sort(out)
	if len(in) != len(out) {
		t.Fatalf("stored %d distinct events, read back %d", len(in), len(out))
	}
	if int64(dups) != w.Skipped() {
		t.Errorf("the samples repeat %d records, the writer skipped %d", dups, w.Skipped())
	}
	diff := 0
	for i := range in {
		if in[i] != out[i] {
			if diff < 3 {
				t.Errorf("event differs after the round trip:\n in  %s\n out %s", in[i], out[i])
			}
			diff++
		}
	}
	res, err := db.Top(context.Background(), Filter{}, DimApp, 5)
	if err != nil || res.Total != int64(len(in)) {
		t.Errorf("top app counts %d events, %d were stored (%v)", res.Total, len(in), err)
	}
	st := p.Stats()
	var flows int64
	db.SQL().QueryRow("SELECT count(*) FROM flows").Scan(&flows)
	if flows != int64(st.FlowsOpened) {
		t.Errorf("%d flows recorded, the pipeline opened %d", flows, st.FlowsOpened)
	}
	var lines []string
	for _, r := range res.Rows {
		lines = append(lines, filepath.Base(strings.ReplaceAll(r.Value, `\`, "/"))+"="+strconv.FormatInt(r.Count, 10))
	}
	t.Logf("%d sample events (%d flows, %d repeated records skipped) stored and read back; %d differ; top apps: %s", len(in), flows, dups, diff, strings.Join(lines, " "))
}
