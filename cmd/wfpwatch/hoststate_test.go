package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
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

type mapOptions map[uint32]uint32

func (m mapOptions) Option(o uint32) (uint32, error) { return m[o], nil }
func (m mapOptions) SetOption(o, v uint32) error     { m[o] = v; return nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// TestAuditRestorePutsBackEngineOptions: 'audit restore' also puts back
// the engine options a killed watch left changed, and leaves those of a
// running one (unless --force).
func TestAuditRestorePutsBackEngineOptions(t *testing.T) {
	fakeHost(t, 0, 0, map[int]bool{7000: true, 4242: true})
	opts := mapOptions{wfp.OptionCollectNetEvents: 1, wfp.OptionNetEventMatchAnyKeyword: 0x1c}
	old := optionEngine
	optionEngine = func() (netevent.OptionStore, io.Closer, error) { return opts, nopCloser{}, nil }
	t.Cleanup(func() { optionEngine = old })
	dir := wbtest.TempDir(t)
	state := filepath.Join(dir, "audit-snapshot.json")
	snap := filepath.Join(dir, "engine-options.json")
	write := func(pid int) {
		s := fmt.Sprintf(`{"version":1,"owner":{"command":"watch","pid":%d},"holders":[{"command":"watch","pid":%d}],"changes":[{"Option":0,"Old":0,"New":1},{"Option":1,"Old":0,"New":28}]}`, pid, pid)
		if err := os.WriteFile(snap, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(4242) // still running
	var out, errb bytes.Buffer
	if err := runAudit(context.Background(), []string{"restore", "--state", state}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "still runs") || opts[wfp.OptionCollectNetEvents] != 1 {
		t.Fatalf("a running holder's options: %v\n%s", opts, out.String())
	}
	write(999) // killed
	out.Reset()
	if err := runAudit(context.Background(), []string{"restore", "--state", state}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if opts[wfp.OptionCollectNetEvents] != 0 || opts[wfp.OptionNetEventMatchAnyKeyword] != 0 || !strings.Contains(out.String(), "put back") {
		t.Fatalf("options %v\n%s", opts, out.String())
	}
	if _, err := os.Stat(snap); err == nil {
		t.Error("engine-option snapshot left")
	}
}
