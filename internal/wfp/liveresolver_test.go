package wfp

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

// bfe is a fake Base Filtering Engine: Restart makes every handle opened
// before fail with a lost-engine status, as a real BFE restart does.
type bfe struct {
	mu      sync.Mutex
	gen     int
	status  uint32
	names   map[uint64]string
	opens   int
	subs    int
	lookups int
}

type bfeHandle struct {
	b   *bfe
	gen int
}

func (b *bfe) open() (LiveEngine, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opens++
	return &bfeHandle{b, b.gen}, nil
}

func (b *bfe) restart(status uint32, names map[uint64]string) {
	b.mu.Lock()
	b.gen++
	b.status = status
	b.names = names
	b.mu.Unlock()
}

func (h *bfeHandle) check(call string) error {
	if h.gen != h.b.gen {
		return &StatusError{Call: call, Status: h.b.status}
	}
	return nil
}

func (h *bfeHandle) FilterByID(id uint64) (FilterInfo, error) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.b.lookups++
	if err := h.check("FwpmFilterGetById0"); err != nil {
		return FilterInfo{}, err
	}
	n, ok := h.b.names[id]
	if !ok {
		return FilterInfo{}, &StatusError{Call: "FwpmFilterGetById0", Status: ErrFilterNotFound}
	}
	return FilterInfo{ID: id, Name: n}, nil
}

func (h *bfeHandle) LayerByID(id uint16) (LayerInfo, error) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	if err := h.check("FwpmLayerGetById0"); err != nil {
		return LayerInfo{}, err
	}
	return LayerInfo{ID: id, Name: fmt.Sprintf("layer %d", id)}, nil
}

func (h *bfeHandle) ProviderName(GUID) (string, error) { return "", errors.New("none") }

func (h *bfeHandle) Option(uint32) (uint32, error) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	return 1, h.check("FwpmEngineGetOption0")
}

func (h *bfeHandle) SubscribeFilterChanges(func(FilterChange)) (io.Closer, error) {
	h.b.mu.Lock()
	defer h.b.mu.Unlock()
	h.b.subs++
	return io.NopCloser(nil), nil
}

func (h *bfeHandle) Close() error { return nil }

func TestLostEngine(t *testing.T) {
	for _, c := range []struct {
		status uint32
		lost   bool
	}{
		{1722, true}, {1726, true}, {1727, true}, {1775, true}, {6, true}, {0x80320010, true},
		{5, false}, {1753, false}, {ErrFilterNotFound, false}, {0, false},
	} {
		var err error
		if c.status != 0 {
			err = fmt.Errorf("wrapped: %w", &StatusError{Call: "X", Status: c.status})
		}
		if got := LostEngine(err); got != c.lost {
			t.Errorf("LostEngine(0x%x) = %v", c.status, got)
		}
	}
}

// TestLiveResolverReopensAfterRestart: after a BFE restart the cached name
// of a filter id is stale (ids are reused) and the handle is dead; the
// first lookup reopens, resubscribes and flushes the cache.
func TestLiveResolverReopensAfterRestart(t *testing.T) {
	for _, status := range []uint32{ErrRPCCallFailed, ErrRPCCallFailedDNE, ErrRPCNullContext, ErrSessionAborted, ErrInvalidHandle} {
		t.Run(fmt.Sprintf("0x%x", status), func(t *testing.T) {
			b := &bfe{names: map[uint64]string{7: "before"}}
			var logs []string
			l, err := NewLiveResolver(b.open, nil, 0, func(f string, a ...any) { logs = append(logs, fmt.Sprintf(f, a...)) })
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if fi, ok := l.Filter(7); !ok || fi.Name != "before" {
				t.Fatalf("%+v", fi)
			}
			b.restart(status, map[uint64]string{7: "after", 8: "new"})
			// A cached name is served until something notices the restart.
			if err := l.Reopen(errors.New("the net-event subscription found the engine restarted")); err != nil {
				t.Fatal(err)
			}
			if fi, ok := l.Filter(7); !ok || fi.Name != "after" {
				t.Fatalf("after Reopen: %+v", fi)
			}
			b.restart(status, map[uint64]string{8: "newer"})
			if fi, ok := l.Filter(8); !ok || fi.Name != "newer" {
				t.Fatalf("lookup on a dead handle was not retried on a new one: %+v", fi)
			}
			if l.Reopens.Load() != 2 || b.opens != 3 || b.subs != 3 {
				t.Errorf("reopens %d, opens %d, subscriptions %d", l.Reopens.Load(), b.opens, b.subs)
			}
			if len(logs) != 2 || !strings.Contains(logs[1], "reopened") {
				t.Errorf("logs %q", logs)
			}
		})
	}
}
