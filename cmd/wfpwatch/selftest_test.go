package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// fakeSelftestEnv "blocks" by sending an event naming the filter on its
// source channel when triggered (unless told to stay silent).
type fakeSelftestEnv struct {
	ch      chan event.Event
	silent  map[string]bool
	removed bool
	keep    bool // a filter is left behind
	ids     map[string]uint64
}

func (f *fakeSelftestEnv) AddFilters(cases []wfp.SelftestCase) ([]uint64, error) {
	ids := make([]uint64, len(cases))
	f.ids = map[string]uint64{}
	for i, c := range cases {
		ids[i] = uint64(70000 + i)
		f.ids[c.Name] = ids[i]
	}
	return ids, nil
}

func (f *fakeSelftestEnv) Trigger(c wfp.SelftestCase) string {
	if !f.silent[c.Name] {
		id := f.ids[c.Name]
		// an unrelated event first: it must not count
		f.ch <- event.Event{HasFilterID: true, FilterID: 1}
		f.ch <- event.Event{HasFilterID: true, FilterID: id}
	}
	return c.Trigger + ": failed (blocked)"
}

func (f *fakeSelftestEnv) RemoveFilters([]uint64) error { f.removed = true; return nil }
func (f *fakeSelftestEnv) Gone(ids []uint64) ([]bool, error) {
	out := make([]bool, len(ids))
	for i := range out {
		out[i] = f.removed && !(f.keep && i == 0)
	}
	return out, nil
}

func TestRunSelftestPass(t *testing.T) {
	plan, _ := wfp.SelftestPlan(50000, true, true)
	env := &fakeSelftestEnv{ch: make(chan event.Event, 16)}
	var buf bytes.Buffer
	ok, err := runSelftest(context.Background(), env, []selftestSource{{name: "netevent", events: env.ch}, {name: "evtlog", err: errors.New("not built")}},
		selftestOptions{cases: plan, timeout: time.Second}, &buf)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v\n%s", ok, err, buf.String())
	}
	out := buf.String()
	if strings.Count(out, "PASS") != 9 || !strings.Contains(out, "skipped") || !strings.Contains(out, "ALE_AUTH_RECV_ACCEPT_V6") {
		t.Errorf("table:\n%s", out)
	}
}

func TestRunSelftestFailures(t *testing.T) {
	plan, _ := wfp.SelftestPlan(50000, true, true)
	env := &fakeSelftestEnv{ch: make(chan event.Event, 16), silent: map[string]bool{"bind-v6": true}, keep: true}
	var buf bytes.Buffer
	ok, _ := runSelftest(context.Background(), env, []selftestSource{{name: "netevent", events: env.ch}}, selftestOptions{cases: plan, timeout: 100 * time.Millisecond}, &buf)
	out := buf.String()
	if ok || !strings.Contains(out, "NOT SEEN") || strings.Count(out, "FAIL") != 3 {
		t.Errorf("want 2 failing cases (left behind, not seen):\n%s", out)
	}
	// No source at all proves nothing.
	buf.Reset()
	ok, _ = runSelftest(context.Background(), &fakeSelftestEnv{ch: make(chan event.Event, 16)}, []selftestSource{{name: "netevent", err: errors.New("x")}},
		selftestOptions{cases: plan[:1], timeout: 10 * time.Millisecond}, &buf)
	if ok {
		t.Errorf("passed with no source:\n%s", buf.String())
	}
}
