package netevent

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

var ownerStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type procs map[int]bool

func (p procs) alive(o audit.Owner) bool { return p[o.PID] }

func shared(path string, pid int, p procs) *SharedOptions {
	return &SharedOptions{Path: path, Self: audit.Owner{Command: "watch", PID: pid, Started: ownerStart}, Alive: p.alive}
}

// hookOpts checks, at each SetOption, that the snapshot is on disk.
type hookOpts struct {
	*fakeOpts
	path string
	t    *testing.T
}

func (h hookOpts) SetOption(o, v uint32) error {
	if _, err := os.Stat(h.path); err != nil {
		h.t.Errorf("option %d set to %d before the snapshot was on disk", o, v)
	}
	return h.fakeOpts.SetOption(o, v)
}

func TestSharedOptionsSnapshotFirstAndRestore(t *testing.T) {
	path := filepath.Join(wbtest.TempDir(t), "engine-options.json")
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 0, wfp.OptionNetEventMatchAnyKeyword: wfp.KeywordInboundMcast}}
	g, err := enableShared(hookOpts{f, path, t}, KeywordsFor(false, false), shared(path, 100, procs{100: true}))
	if err != nil || !g.CollectionWasOff || len(g.Changes) != 2 {
		t.Fatalf("%+v %v", g, err)
	}
	snap, err := ReadOptionSnapshot(path)
	if err != nil || snap == nil || len(snap.Changes) != 2 || snap.Changes[1].Old != wfp.KeywordInboundMcast || len(snap.Holders) != 1 {
		t.Fatalf("snapshot %+v %v", snap, err)
	}
	if err := g.Restore(); err != nil {
		t.Fatal(err)
	}
	if f.v[wfp.OptionCollectNetEvents] != 0 || f.v[wfp.OptionNetEventMatchAnyKeyword] != wfp.KeywordInboundMcast {
		t.Fatalf("after restore %v", f.v)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("snapshot left after the last holder restored")
	}
	// Nothing to change: nothing written, nothing held.
	f.v[wfp.OptionCollectNetEvents] = 1
	f.set = nil
	g, err = enableShared(f, 0, shared(path, 100, procs{100: true}))
	if err != nil || len(f.set) != 0 || g.pending() {
		t.Fatalf("changed what was on: %v %v", f.set, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("snapshot written with nothing changed")
	}
}

// TestSharedOptionsCrashRepair: a wfpwatch killed while it held the
// change leaves the snapshot; the next start puts the options back before
// making its own change (and its exit puts back that one).
func TestSharedOptionsCrashRepair(t *testing.T) {
	path := filepath.Join(wbtest.TempDir(t), "engine-options.json")
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 0, wfp.OptionNetEventMatchAnyKeyword: 0}}
	p := procs{100: true}
	if _, err := enableShared(f, KeywordsFor(true, false), shared(path, 100, p)); err != nil {
		t.Fatal(err)
	}
	delete(p, 100) // killed: no Restore
	// Another tool adds a keyword meanwhile: it is kept.
	f.v[wfp.OptionNetEventMatchAnyKeyword] |= wfp.KeywordInboundBcast
	p[200] = true
	g, err := enableShared(f, KeywordsFor(false, false), shared(path, 200, p))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Repaired) != 2 || g.RepairedFrom.PID != 100 {
		t.Fatalf("not repaired: %+v", g)
	}
	if len(g.SharedWith) != 0 || len(g.Changes) != 2 {
		t.Fatalf("second start: %+v", g)
	}
	if err := g.Restore(); err != nil {
		t.Fatal(err)
	}
	if f.v[wfp.OptionCollectNetEvents] != 0 || f.v[wfp.OptionNetEventMatchAnyKeyword] != wfp.KeywordInboundBcast {
		t.Fatalf("final %v", f.v)
	}
}

// TestSharedOptionsTwoProcesses: the first wfpwatch to exit does not put
// the options back under the second; the last one does, to what was there
// before the first.
func TestSharedOptionsTwoProcesses(t *testing.T) {
	path := filepath.Join(wbtest.TempDir(t), "engine-options.json")
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 0, wfp.OptionNetEventMatchAnyKeyword: 0}}
	p := procs{100: true, 200: true}
	a, err := enableShared(f, KeywordsFor(false, false), shared(path, 100, p))
	if err != nil {
		t.Fatal(err)
	}
	b, err := enableShared(f, KeywordsFor(true, false), shared(path, 200, p))
	if err != nil {
		t.Fatal(err)
	}
	if len(b.SharedWith) != 1 || len(b.Changes) != 1 || b.CollectionWasOff {
		t.Fatalf("second: %+v", b)
	}
	if err := a.Restore(); err != nil {
		t.Fatal(err)
	}
	if len(a.StillHeld) != 1 || f.v[wfp.OptionCollectNetEvents] != 1 || f.v[wfp.OptionNetEventMatchAnyKeyword] != KeywordsFor(true, false) {
		t.Fatalf("the first put the options back under the second: %+v %v", a.StillHeld, f.v)
	}
	if err := b.Restore(); err != nil {
		t.Fatal(err)
	}
	if f.v[wfp.OptionCollectNetEvents] != 0 || f.v[wfp.OptionNetEventMatchAnyKeyword] != 0 {
		t.Fatalf("not back to before the first: %v", f.v)
	}
	// A holder that dies does not keep the change alive.
	a, _ = enableShared(f, KeywordsFor(false, false), shared(path, 100, p))
	b, _ = enableShared(f, KeywordsFor(false, false), shared(path, 200, p))
	delete(p, 200)
	if err := a.Restore(); err != nil || len(a.StillHeld) != 0 || f.v[wfp.OptionCollectNetEvents] != 0 {
		t.Fatalf("with a dead co-holder: %+v %v %v", a.StillHeld, err, f.v)
	}
	for _, s := range f.set {
		if s.Option == wfp.OptionMonitorIPsecConnections {
			t.Fatal("MONITOR_IPSEC_CONNECTIONS set")
		}
	}
}

// plantedOptionChanges are change lists wfpwatch never writes.
var plantedOptionChanges = []string{
	`[{"Option":2,"Old":0,"New":1}]`,                              // MONITOR_IPSEC_CONNECTIONS
	`[{"Option":0,"Old":1,"New":0}]`,                              // collection turned off
	`[{"Option":1,"Old":0,"New":3}]`,                              // bits wfpwatch never adds
	`[{"Option":0,"Old":0,"New":1},{"Option":0,"Old":0,"New":1}]`, // twice
	`[{"Option":7,"Old":0,"New":1}]`,
}

// TestOptionSnapshotRefusesPlanted: a snapshot may record only what
// wfpwatch changes; anything else is refused and nothing is written.
func TestOptionSnapshotRefusesPlanted(t *testing.T) {
	path := filepath.Join(wbtest.TempDir(t), "engine-options.json")
	f := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 1, wfp.OptionNetEventMatchAnyKeyword: 0x3}}
	for _, changes := range plantedOptionChanges {
		os.WriteFile(path, []byte(`{"version":1,"owner":{"command":"watch","pid":7},"holders":[{"command":"watch","pid":7}],"changes":`+changes+`}`), 0o600)
		_, err := enableShared(f, 0, shared(path, 100, procs{100: true}))
		if !errors.Is(err, statedir.ErrUntrusted) {
			t.Errorf("%s: %v, want ErrUntrusted", changes, err)
		}
		if len(f.set) != 0 {
			t.Fatalf("options written: %v", f.set)
		}
	}
}

// TestWatcherPutsOptionsBackBeforeDraining: on stop, the engine options
// are put back before the events still queued go to a (slow) output.
func TestWatcherPutsOptionsBackBeforeDraining(t *testing.T) {
	a := newArena()
	ev := a.build(V3, spec{typ: TypeClassifyDrop, filterID: 42, layerID: 48})
	var mu sync.Mutex
	var log []string
	var subErrs, optErrs []error
	var cbs []func(uintptr)
	opts := map[uint32]uint32{wfp.OptionCollectNetEvents: 0}
	mk := func() (Engine, error) {
		return &fakeEngine{mu: &mu, opts: opts, log: &log, subErrs: &subErrs, optErrs: &optErrs, callbacks: &cbs, arena: a}, nil
	}
	w := &Watcher{Open: mk, HasSubscribe: func(n int) bool { return n <= 2 }, Mem: a, Cfg: Config{Interval: time.Hour}}
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	var restoredAt []bool
	done := make(chan error)
	go func() {
		done <- w.Run(ctx, func(e *event.Event) {
			mu.Lock()
			restoredAt = append(restoredAt, opts[wfp.OptionCollectNetEvents] == 0)
			n := len(restoredAt)
			mu.Unlock()
			if n == 1 {
				<-release // the output is slow
			}
		})
	}()
	var cb func(uintptr)
	for i := 0; i < 200 && cb == nil; i++ {
		mu.Lock()
		if len(cbs) > 0 {
			cb = cbs[0]
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	if cb == nil {
		t.Fatal("no subscription")
	}
	for i := 0; i < 4; i++ {
		cb(uintptr(ev))
	}
	for i := 0; i < 200; i++ { // the first event is in the output
		mu.Lock()
		n := len(restoredAt)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(restoredAt) != 4 {
		t.Fatalf("%d events emitted, want 4", len(restoredAt))
	}
	if !restoredAt[1] || !restoredAt[3] {
		t.Errorf("events were drained before the options were put back: %v", restoredAt)
	}
	if !strings.Contains(strings.Join(log, " "), "set") || opts[wfp.OptionCollectNetEvents] != 0 {
		t.Errorf("options %v, log %v", opts, log)
	}
}

// FuzzReadOptionSnapshot: whatever the file says, a snapshot that reads
// never makes putBack touch another option or add a bit.
func FuzzReadOptionSnapshot(f *testing.F) {
	for _, c := range append(plantedOptionChanges, `[{"option":0,"old":0,"new":1},{"option":1,"old":1,"new":29}]`) {
		f.Add([]byte(`{"version":1,"owner":{"command":"watch","pid":7},"holders":[{"command":"watch","pid":7}],"changes":` + c + `}`))
	}
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(wbtest.TempDir(t), "engine-options.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := ReadOptionSnapshot(p)
		if err != nil || s == nil {
			return
		}
		st := &fakeOpts{v: map[uint32]uint32{wfp.OptionCollectNetEvents: 1, wfp.OptionNetEventMatchAnyKeyword: 0xff}}
		if _, err := putBack(st, s); err != nil {
			t.Fatal(err)
		}
		for _, c := range st.set {
			if c.Option != wfp.OptionCollectNetEvents && c.Option != wfp.OptionNetEventMatchAnyKeyword {
				t.Fatalf("option %d written", c.Option)
			}
			if c.Option == wfp.OptionNetEventMatchAnyKeyword && c.New&^c.Old != 0 {
				t.Fatalf("keywords %#x → %#x adds bits", c.Old, c.New)
			}
			if c.Option == wfp.OptionCollectNetEvents && c.New != 0 {
				t.Fatalf("collection turned on by a restore")
			}
		}
	})
}
