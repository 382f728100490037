package main

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// TestInterruptSignalsIncludeTerm: every command's context ends on SIGTERM,
// which is how Go reports console close, logoff and shutdown on Windows.
// Without it, Windows ends the process as soon as its handler returns, in
// the middle of 'audit enable', 'fwlog enable' or a self-test, with the
// host changed.
func TestInterruptSignalsIncludeTerm(t *testing.T) {
	if !slices.Contains(interruptSignals(), os.Signal(syscall.SIGTERM)) {
		t.Fatalf("interruptSignals() = %v: SIGTERM (console close, logoff, shutdown) is not handled", interruptSignals())
	}
}

// countingEnv counts the cases triggered.
type countingEnv struct {
	fakeSelftestEnv
	triggered int
	cancel    context.CancelFunc
}

func (c *countingEnv) Trigger(cs wfp.SelftestCase) string {
	c.triggered++
	c.cancel() // the console is closed during the first case
	return c.fakeSelftestEnv.Trigger(cs)
}

// TestSelftestStopsOnSignal: once the context ends, no further case is
// triggered and the filters are removed right away.
func TestSelftestStopsOnSignal(t *testing.T) {
	plan, _ := wfp.SelftestPlan(50000, true, true)
	ctx, cancel := context.WithCancel(context.Background())
	env := &countingEnv{fakeSelftestEnv: fakeSelftestEnv{ch: make(chan event.Event, 64)}, cancel: cancel}
	var buf bytes.Buffer
	start := time.Now()
	ok, err := runSelftest(ctx, env, []selftestSource{{name: "netevent", events: env.ch}}, selftestOptions{cases: plan, timeout: 5 * time.Second}, &buf)
	if err != nil || ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if env.triggered != 1 || !env.removed {
		t.Fatalf("triggered %d cases after the signal (want 1), removed=%v", env.triggered, env.removed)
	}
	if !strings.Contains(buf.String(), "interrupted") {
		t.Errorf("output does not say it was interrupted:\n%s", buf.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v after the signal", d)
	}
}
