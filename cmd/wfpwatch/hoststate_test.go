package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// orderWriter records, at each write of the output, whether the audit
// policy was already put back.
type orderWriter struct {
	h        *hostPolicy
	restored []bool
}

func (w *orderWriter) Write(p []byte) (int, error) {
	w.restored = append(w.restored, w.h.m[audit.Connection] == 0)
	return len(p), nil
}

// TestWatchRestoresHostBeforeOutputs: on Ctrl+C or console close, watch
// puts the audit policy back before it drains the flows still open and
// closes its outputs (Windows gives a closing console about 5 s).
func TestWatchRestoresHostBeforeOutputs(t *testing.T) {
	h := fakeHost(t, 0, 0, map[int]bool{7000: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feedFixture(t, h, nil)
	feed := evtSubscribe
	evtSubscribe = func(c context.Context, opt evtlog.Options, fn evtlog.Handler) (evtlog.Stats, error) {
		st, err := feed(c, opt, fn)
		cancel() // the console is closed
		return st, err
	}
	state := filepath.Join(wbtest.TempDir(t), "snap.json")
	w := &orderWriter{h: h}
	var errb bytes.Buffer
	// Flows (the default) hold events until the end: they are written
	// while watch drains.
	if err := runWatch(ctx, []string{"--state", state, "--format", "json", "--no-db"}, w, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if len(w.restored) == 0 {
		t.Fatalf("nothing written:\n%s", errb.String())
	}
	if !w.restored[len(w.restored)-1] {
		t.Errorf("the outputs were drained before the audit policy was put back (%d writes, restored at each: %v)\n%s", len(w.restored), w.restored, errb.String())
	}
	if h.m[audit.Connection] != 0 {
		t.Errorf("policy not restored: %v", h.m)
	}
}
