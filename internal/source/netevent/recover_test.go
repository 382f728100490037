package netevent

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// storeEngine is an engine whose stored events (for EnumNetEvents) are
// kept apart from what its subscriptions deliver, so that a subscription
// can die silently while the store fills.
type storeEngine struct {
	s *engineState
}

type engineState struct {
	mu      sync.Mutex
	stored  []storedEvent
	cbs     []func(uintptr)
	optErrs []error
	opens   int
}

type storedEvent struct {
	t    time.Time
	addr uint64
}

func (e storeEngine) Option(uint32) (uint32, error) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	if len(e.s.optErrs) > 0 {
		err := e.s.optErrs[0]
		e.s.optErrs = e.s.optErrs[1:]
		return 0, err
	}
	return 1, nil
}
func (e storeEngine) SetOption(uint32, uint32) error { return nil }
func (e storeEngine) SubscribeNetEvents(n int, conds []wfp.Condition, fn func(uintptr)) (io.Closer, error) {
	e.s.mu.Lock()
	defer e.s.mu.Unlock()
	e.s.cbs = append(e.s.cbs, fn)
	return closer(func() error { return nil }), nil
}
func (e storeEngine) EnumNetEvents(n int, start, end time.Time, conds []wfp.Condition, fn func(uintptr)) error {
	e.s.mu.Lock()
	var out []uint64
	for _, s := range e.s.stored {
		if !s.t.Before(start) && !s.t.After(end) {
			out = append(out, s.addr)
		}
	}
	e.s.mu.Unlock()
	for _, p := range out {
		fn(uintptr(p))
	}
	return nil
}
func (e storeEngine) Close() error { return nil }

// TestWatcherRecovers: a subscription that stops delivering without an
// error is found by comparing with the engine's store, its missed event is
// handed on and it is replaced; a lost engine (RPC_X_SS_IN_NULL_CONTEXT
// after a BFE restart) is reopened. Each is reported as a gap.
func TestWatcherRecovers(t *testing.T) {
	a := newArena()
	st := &engineState{}
	gaps := make(chan Gap, 4)
	w := &Watcher{
		Open:         func() (Engine, error) { st.mu.Lock(); st.opens++; st.mu.Unlock(); return storeEngine{st}, nil },
		HasSubscribe: func(n int) bool { return n <= 2 },
		HasEnum:      func(n int) bool { return true },
		Mem:          a,
		Cfg:          Config{Interval: 20 * time.Millisecond, DeliveryLag: 10 * time.Millisecond, Backoff: time.Millisecond, OnGap: func(g Gap) { gaps <- g }},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan event.Event, 16)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(e *event.Event) { got <- *e }) }()
	sub := func(n int) func(uintptr) {
		t.Helper()
		for i := 0; i < 500; i++ {
			st.mu.Lock()
			if len(st.cbs) >= n {
				cb := st.cbs[n-1]
				st.mu.Unlock()
				return cb
			}
			st.mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("no subscription %d", n)
		return nil
	}
	// store stores an event of filter id now, and hands it to cb when given.
	store := func(id uint64, cb func(uintptr)) {
		now := time.Now()
		p := a.build(V3, spec{time: now, typ: TypeClassifyDrop, filterID: id, layerID: 48})
		st.mu.Lock()
		st.stored = append(st.stored, storedEvent{now, p})
		st.mu.Unlock()
		if cb != nil {
			cb(uintptr(p))
		}
	}
	wait := func(id uint64) {
		t.Helper()
		for {
			select {
			case e := <-got:
				if e.FilterID == id {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("event %d never came", id)
			}
		}
	}
	waitGap := func(want string) Gap {
		t.Helper()
		select {
		case g := <-gaps:
			if !strings.Contains(g.Reason, want) {
				t.Errorf("gap %q, want %q", g.Reason, want)
			}
			return g
		case <-time.After(10 * time.Second):
			t.Fatalf("no gap (%s)", want)
		}
		return Gap{}
	}

	store(1, sub(1))
	wait(1)
	// Silent death: the engine stores event 2, the subscription never
	// delivers it. The watcher finds it by its time, newer than the newest
	// delivered; Windows' clock may tick only every 15.6 ms (it does under
	// Wine), so let it tick first.
	time.Sleep(40 * time.Millisecond)
	store(2, nil)
	wait(2)
	if g := waitGap("without an error"); g.Replayed < 1 {
		t.Errorf("gap %+v", g)
	}
	time.Sleep(40 * time.Millisecond)
	store(3, sub(2))
	wait(3)
	// The engine restarts: the next check fails with a lost-engine status.
	st.mu.Lock()
	st.optErrs = append(st.optErrs, &wfp.StatusError{Call: "FwpmEngineGetOption0", Status: wfp.ErrRPCNullContext})
	st.mu.Unlock()
	waitGap("went away")
	time.Sleep(40 * time.Millisecond)
	store(4, sub(3))
	wait(4)
	if w.SilentDeaths.Load() != 1 || w.Resubscribes.Load() != 2 {
		t.Errorf("silent deaths %d, resubscriptions %d", w.SilentDeaths.Load(), w.Resubscribes.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
