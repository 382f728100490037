package netevent

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

type fakeEngine struct {
	mu        *sync.Mutex
	opts      map[uint32]uint32
	log       *[]string
	subErrs   *[]error // errors returned by successive subscribe calls
	optErrs   *[]error // errors returned by successive Option calls
	callbacks *[]func(uintptr)
	history   []uint64
	arena     *arena
}

type closer func() error

func (c closer) Close() error { return c() }

func (f *fakeEngine) Option(o uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(*f.optErrs) > 0 {
		err := (*f.optErrs)[0]
		*f.optErrs = (*f.optErrs)[1:]
		if err != nil {
			return 0, err
		}
	}
	return f.opts[o], nil
}
func (f *fakeEngine) SetOption(o, v uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opts[o] = v
	*f.log = append(*f.log, "set")
	return nil
}
func (f *fakeEngine) SubscribeNetEvents(n int, conds []wfp.Condition, fn func(uintptr)) (io.Closer, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.log = append(*f.log, "subscribe")
	if len(*f.subErrs) > 0 {
		err := (*f.subErrs)[0]
		*f.subErrs = (*f.subErrs)[1:]
		if err != nil {
			return nil, err
		}
	}
	*f.callbacks = append(*f.callbacks, fn)
	return closer(func() error { return nil }), nil
}
func (f *fakeEngine) EnumNetEvents(n int, start, end time.Time, conds []wfp.Condition, fn func(uintptr)) error {
	for _, p := range f.history {
		fn(uintptr(p))
	}
	return nil
}
func (f *fakeEngine) Close() error { return nil }

func TestWatcherFallbackHistoryResubscribeRestore(t *testing.T) {
	a := newArena()
	// Subscribe2 is the newest export: FWPM_NET_EVENT3 structs.
	live := a.build(V3, spec{typ: TypeClassifyDrop, filterID: 42, layerID: 48, msDirection: msFwpDirectionOut})
	hist := a.build(V3, spec{typ: TypeClassifyDrop, filterID: 41, layerID: 44})
	var mu sync.Mutex
	var log []string
	subErrs := []error{&wfp.StatusError{Call: "FwpmNetEventSubscribe2", Status: wfp.ErrAccessDenied}}
	optErrs := []error{}
	var cbs []func(uintptr)
	opts := map[uint32]uint32{wfp.OptionCollectNetEvents: 0}
	mk := func() (Engine, error) {
		return &fakeEngine{mu: &mu, opts: opts, log: &log, subErrs: &subErrs, optErrs: &optErrs, callbacks: &cbs, history: []uint64{hist}, arena: a}, nil
	}
	var msgs []string
	w := &Watcher{Open: mk, HasSubscribe: func(n int) bool { return n <= 2 }, HasEnum: func(n int) bool { return true }, Mem: a,
		Cfg: Config{Since: time.Minute, Interval: 20 * time.Millisecond, Log: func(f string, args ...any) {
			mu.Lock()
			msgs = append(msgs, f)
			mu.Unlock()
		}}}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan event.Event, 10)
	done := make(chan error)
	go func() { done <- w.Run(ctx, func(e *event.Event) { got <- *e }) }()
	if e := <-got; e.FilterID != 41 {
		t.Fatalf("history event %d", e.FilterID)
	}
	waitFor := func(n int) func(uintptr) {
		for i := 0; i < 200; i++ {
			mu.Lock()
			if len(cbs) >= n {
				cb := cbs[n-1]
				mu.Unlock()
				return cb
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("no subscription %d", n)
		return nil
	}
	waitFor(1)(uintptr(live))
	if e := <-got; e.FilterID != 42 || w.Version.Load() != 3 {
		t.Fatalf("live event %d version %d", e.FilterID, w.Version.Load())
	}
	// The engine handle dies: the watchdog resubscribes.
	mu.Lock()
	optErrs = append(optErrs, &wfp.StatusError{Call: "FwpmEngineGetOption0", Status: wfp.ErrInvalidHandle})
	mu.Unlock()
	waitFor(2)(uintptr(live))
	if e := <-got; e.FilterID != 42 || w.Resubscribes.Load() != 1 {
		t.Fatalf("after resubscribe %d, %d", e.FilterID, w.Resubscribes.Load())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if opts[wfp.OptionCollectNetEvents] != 0 || opts[wfp.OptionNetEventMatchAnyKeyword] != 0 {
		t.Errorf("options not restored: %v", opts)
	}
	if _, ok := opts[wfp.OptionMonitorIPsecConnections]; ok {
		t.Error("MONITOR_IPSEC_CONNECTIONS touched")
	}
	t.Logf("log: %v\nmessages: %q", log, msgs)
}

func TestWatcherNoExports(t *testing.T) {
	w := &Watcher{HasSubscribe: func(int) bool { return false }}
	if err := w.Run(context.Background(), nil); err == nil {
		t.Fatal("ran without any subscribe export")
	}
}

func TestFilterConditions(t *testing.T) {
	f := Filter{Protocol: 6, HasProtocol: true, RemotePort: 443, HasRemotePort: true, AppID: []byte{1}}
	f.LocalAddr = mustAddr("10.0.0.1")
	f.RemoteAddr = mustAddr("2001:db8::1")
	c := f.Conditions()
	if len(c) != 5 || c[0].Field != wfp.CondIPProtocol || c[1].U != 0x0a000001 || c[2].Type != wfp.TypeByteArray16 ||
		c[3].Field != wfp.CondIPRemotePort || c[4].Field != wfp.CondALEAppID {
		t.Fatalf("%v", c)
	}
	if len((Filter{}).Conditions()) != 0 {
		t.Error("empty filter has conditions")
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestWatcherGivesUpWhenNotElevated(t *testing.T) {
	denied := &wfp.StatusError{Call: "FwpmEngineOpen0", Status: wfp.ErrAccessDenied}
	opens := 0
	w := &Watcher{Open: func() (Engine, error) { opens++; return nil, denied }, HasSubscribe: func(int) bool { return true },
		Cfg: Config{Backoff: time.Millisecond}}
	start := time.Now()
	err := w.Run(context.Background(), func(*event.Event) {})
	if wfp.Status(err) != wfp.ErrAccessDenied || opens != 4 {
		t.Fatalf("err %v after %d opens", err, opens)
	}
	if !strings.Contains(err.Error(), "administrator") {
		t.Errorf("error does not say what to do: %v", err)
	}
	t.Logf("gave up after %v: %v", time.Since(start).Round(time.Millisecond), err)
}
