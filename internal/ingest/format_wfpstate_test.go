package ingest

import (
	"context"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

func TestWFPStateDetectedByContent(t *testing.T) {
	path := samples.Path(t, "wfpstate/joemarshall-python_pi_burner_wfpstate.xml")
	var got *wfpstate.Dump
	ctx := WithStateSink(context.Background(), func(_ string, d *wfpstate.Dump) { got = d })
	f, err := ReadFile(ctx, path, func(*event.Event) error {
		t.Error("a state dump emitted an event")
		return nil
	}, func(p *Problem) { t.Errorf("warning: %v", p) })
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "wfpstate" || got == nil || len(got.Filters) != 1050 {
		t.Errorf("format %q, dump read: %v", f.Name, got != nil)
	}
	// Without a sink the dump is read and contributes nothing.
	if _, err := ReadFile(context.Background(), path, func(*event.Event) error { return nil }, func(*Problem) {}); err != nil {
		t.Fatal(err)
	}
}
