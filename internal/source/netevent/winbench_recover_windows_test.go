package netevent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// These tests script the fake fwpuclnt.dll (FakeFwpRestartEngine,
// FakeFwpKillSubscriptions, FakeFwpDeliver) to prove that the watcher
// recovers from a BFE restart and from a subscription that dies without
// an error, through the real bindings.

func fakeCall(t *testing.T, name string, args ...uintptr) {
	t.Helper()
	p := windows.NewLazySystemDLL("fwpuclnt.dll").NewProc(name)
	if err := p.Find(); err != nil {
		t.Fatalf("the fake fwpuclnt.dll lacks %s: %v", name, err)
	}
	p.Call(args...)
}

// resetFake empties the fake engine's stored events when the test ends
// (a restart does), so that later tests' history reads see none of them.
func resetFake(t *testing.T) {
	t.Cleanup(func() { fakeCall(t, "FakeFwpRestartEngine", uintptr(wfp.ErrRPCNullContext)) })
}

type liveRun struct {
	w      *Watcher
	events chan event.Event
	gaps   chan Gap
	cancel context.CancelFunc
	done   chan error
	mu     sync.Mutex
	msgs   []string
}

func startLive(t *testing.T) *liveRun {
	t.Helper()
	resetFake(t)
	r := &liveRun{events: make(chan event.Event, 512), gaps: make(chan Gap, 8), done: make(chan error, 1)}
	subscribed := make(chan struct{}, 8)
	cfg := Config{
		Interval: 150 * time.Millisecond, DeliveryLag: 100 * time.Millisecond, Backoff: 50 * time.Millisecond,
		OnGap:        func(g Gap) { r.gaps <- g },
		OnSubscribed: func(Version) { subscribed <- struct{}{} },
		Log: func(f string, a ...any) {
			r.mu.Lock()
			r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
			r.mu.Unlock()
		},
	}
	w, err := NewWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	r.cancel = cancel
	go func() { r.done <- w.Run(ctx, func(e *event.Event) { r.events <- *e }) }()
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Error(err)
		}
	})
	return r
}

// waitFilter waits for the event of filter id (skipping others) and
// fails on a second one.
func (r *liveRun) waitFilter(t *testing.T, id uint64) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-r.events:
			if e.FilterID == id {
				return
			}
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("filter %d never arrived; log %q", id, r.msgs)
		}
	}
}

func (r *liveRun) waitGap(t *testing.T) Gap {
	t.Helper()
	select {
	case g := <-r.gaps:
		return g
	case <-time.After(5 * time.Second):
		r.mu.Lock()
		defer r.mu.Unlock()
		t.Fatalf("no gap reported; log %q", r.msgs)
	}
	return Gap{}
}

// noMore fails if filter id arrives again within a short while.
func (r *liveRun) noMore(t *testing.T, id uint64) {
	t.Helper()
	deadline := time.After(400 * time.Millisecond)
	for {
		select {
		case e := <-r.events:
			if e.FilterID == id {
				t.Fatalf("filter %d handed on twice", id)
			}
		case <-deadline:
			return
		}
	}
}

func TestWinbenchRecoverFromBFERestart(t *testing.T) {
	for _, status := range []uint32{wfp.ErrRPCCallFailed, wfp.ErrRPCCallFailedDNE, wfp.ErrRPCNullContext, wfp.ErrSessionAborted, wfp.ErrRPCServerUnavailable} {
		t.Run(fmt.Sprintf("0x%x", status), func(t *testing.T) {
			_, rec := winbench(t)
			r := startLive(t)
			fakeCall(t, "FakeFwpDeliver", 7001)
			r.waitFilter(t, 7001)
			// BFE restarts: every handle is dead, the subscription gone,
			// the stored events too. An event after the restart waits in
			// the new engine's buffer until wfpwatch reads it back.
			fakeCall(t, "FakeFwpRestartEngine", uintptr(status))
			fakeCall(t, "FakeFwpDeliver", 7002)
			g := r.waitGap(t)
			if g.Replayed != 1 || !strings.Contains(g.Reason, "went away") {
				t.Errorf("gap %+v", g)
			}
			r.waitFilter(t, 7002)
			fakeCall(t, "FakeFwpDeliver", 7003)
			r.waitFilter(t, 7003)
			r.noMore(t, 7002)
			if r.w.Resubscribes.Load() != 1 {
				t.Errorf("%d resubscriptions", r.w.Resubscribes.Load())
			}
			subs := 0
			for _, l := range readRecord(t, rec) {
				if strings.HasPrefix(l, "subscribe ") {
					subs++
				}
			}
			if subs != 2 {
				t.Errorf("%d subscribe calls, want 2", subs)
			}
			t.Logf("gap: %s", g)
		})
	}
}

func TestWinbenchRecoverFromSilentDeath(t *testing.T) {
	winbench(t)
	r := startLive(t)
	fakeCall(t, "FakeFwpDeliver", 7101)
	r.waitFilter(t, 7101)
	fakeCall(t, "FakeFwpKillSubscriptions")
	fakeCall(t, "FakeFwpDeliver", 7102) // stored, never delivered
	g := r.waitGap(t)
	if g.Replayed < 1 || !strings.Contains(g.Reason, "without an error") {
		t.Errorf("gap %+v", g)
	}
	r.waitFilter(t, 7102)
	fakeCall(t, "FakeFwpDeliver", 7103)
	r.waitFilter(t, 7103)
	r.noMore(t, 7102)
	if r.w.SilentDeaths.Load() != 1 || r.w.Resubscribes.Load() != 1 {
		t.Errorf("silent deaths %d, resubscriptions %d", r.w.SilentDeaths.Load(), r.w.Resubscribes.Load())
	}
	t.Logf("gap: %s", g)
}

// TestWinbenchStreamResolverAfterRestart: the names of the live source
// come from a handle that is reopened after a BFE restart.
func TestWinbenchStreamResolverAfterRestart(t *testing.T) {
	winbench(t)
	resetFake(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got := make(chan event.Event, 512)
	var once sync.Once
	subscribed := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Stream(ctx, Config{Interval: 150 * time.Millisecond, DeliveryLag: 100 * time.Millisecond, Backoff: 50 * time.Millisecond,
			OnSubscribed: func(Version) { once.Do(func() { close(subscribed) }) }},
			func(e *event.Event) { got <- *e })
	}()
	<-subscribed
	fakeCall(t, "FakeFwpRestartEngine", uintptr(wfp.ErrRPCNullContext))
	time.Sleep(500 * time.Millisecond) // the watcher reconnects (and the resolver with it)
	fakeCall(t, "FakeFwpDeliver", 3003)
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-got:
			if e.FilterID != 3003 {
				continue
			}
			if e.FilterName != "Fake block filter 3003" {
				t.Errorf("after the restart the filter is not named: %+v", e)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			return
		case <-deadline:
			t.Fatal("no event after the restart")
		}
	}
}
