package wfp

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// winbench skips unless under the bench and points the fake's record at a
// fresh file.
func winbench(t *testing.T) string {
	t.Helper()
	wbtest.Need(t)
	rec := filepath.Join(wbtest.TempDir(t), "fake-record.txt")
	t.Setenv("WFPWATCH_FAKE_RECORD", rec)
	return rec
}

func TestWinbenchLookups(t *testing.T) {
	winbench(t)
	e, err := Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fi, err := e.FilterByID(1003)
	if err != nil || fi.ID != 1003 || fi.Name != "Fake block filter 1003" || fi.LayerKey != LayerALEAuthConnectV4 ||
		fi.Weight != 0x0123456789 || fi.Action != ActionBlock || fi.ProviderKey.IsZero() {
		t.Fatalf("%+v %v", fi, err)
	}
	if _, err := e.FilterByID(424242); Status(err) != ErrFilterNotFound {
		t.Fatalf("missing filter: %v", err)
	}
	if li, err := e.LayerByID(48); err != nil || li.Name != "ALE Connect v4 Layer" || li.Key != LayerALEAuthConnectV4 {
		t.Fatalf("%+v %v", li, err)
	}
	if _, err := e.LayerByID(7); Status(err) != ErrLayerNotFound {
		t.Fatalf("missing layer: %v", err)
	}
	if n, err := e.ProviderName(fi.ProviderKey); err != nil || n != "Microsoft Windows WSH" {
		t.Fatalf("%q %v", n, err)
	}
	if err := e.SetOption(OptionMonitorIPsecConnections, 1); err == nil {
		t.Fatal("MONITOR_IPSEC_CONNECTIONS was set")
	}
	// The resolver over the real bindings: the unresolved filter keeps its id.
	r := NewResolver(e, nil, 16)
	ev := event.Event{HasFilterID: true, FilterID: 1003, HasLayerID: true, LayerID: 48, Kind: event.KindConnection}
	r.Resolve(&ev)
	if ev.FilterName != "Fake block filter 1003" || ev.FilterProvider != "Microsoft Windows WSH" {
		t.Errorf("%+v", ev)
	}
	ev = event.Event{HasFilterID: true, FilterID: 424242}
	r.Resolve(&ev)
	if ev.FilterID != 424242 || ev.Reason != event.ReasonUnresolved {
		t.Errorf("%+v", ev)
	}
}

func TestWinbenchDynamicSessionFilterChanges(t *testing.T) {
	rec := winbench(t)
	// The resolver reads through its own handle; the changes come through
	// another (the engine does not report a handle's own changes to it).
	watch, err := Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	e, err := Open(OpenOptions{Dynamic: true, Name: "wfpwatch test"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var changes []FilterChange
	r := NewResolver(watch, nil, 16)
	sub, err := watch.SubscribeFilterChanges(func(c FilterChange) {
		r.Invalidate(c)
		mu.Lock()
		changes = append(changes, c)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	appID, err := AppIDFromFileName(`C:\Tools\WFPWatch.exe`)
	if err != nil || !strings.Contains(string(appID), "w\x00f\x00p\x00w\x00a\x00t\x00c\x00h\x00") {
		t.Fatalf("app id %q %v", appID, err)
	}
	plan, _ := SelftestPlan(50000, true, true)
	add := func(name string) uint64 {
		t.Helper()
		id, err := e.AddFilter(Filter{Name: name, LayerKey: plan[1].LayerKey, Action: ActionBlock, Conditions: plan[1].Conditions(appID)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	id := add("wfpwatch self-test")
	if fi, ok := r.Filter(id); !ok || fi.Name != "wfpwatch self-test" {
		t.Fatalf("new filter: %+v", fi)
	}
	if err := e.DeleteFilter(id); err != nil {
		t.Fatal(err)
	}
	// The name was cached: only a delete notification makes it go.
	if fi, ok := r.Filter(id); ok {
		t.Fatalf("resolver still names deleted filter %d %q: no delete notification (FWPM_FILTER_SUBSCRIPTION0.flags?)", id, fi.Name)
	}
	// The next id is unknown now (a negative entry is cached for 30 s):
	// only an add notification makes the new filter's name appear.
	if _, ok := r.Filter(id + 1); ok {
		t.Fatal("filter known before it was added")
	}
	id2 := add("wfpwatch second filter")
	if id2 != id+1 {
		t.Fatalf("fake gave id %d, want %d", id2, id+1)
	}
	if fi, ok := r.Filter(id2); !ok || fi.Name != "wfpwatch second filter" {
		t.Fatalf("resolver does not name added filter %d (%+v): no add notification", id2, fi)
	}
	sub.Close()
	mu.Lock()
	if len(changes) != 3 || !changes[0].Added || changes[1].Added || !changes[2].Added || changes[0].FilterID != id || changes[2].FilterID != id2 {
		t.Errorf("changes %+v", changes)
	}
	mu.Unlock()
	e.Close()
	b, _ := os.ReadFile(rec)
	r2 := strings.ReplaceAll(string(b), "\r", "")
	if !strings.Contains(r2, "open authn=10 session=1 flags=0x1") || !strings.Contains(r2, "filtersubscribe flags=0x3") ||
		!strings.Contains(r2, "filteradd layer=7ac9de24-17dd-4814-b4bd-a9fbc95a321b flags=0x0 action=0x1001 dynamic=1 cond=d9ee00de-c1ef-4617-bfe3-ffd8f5a08957/0/11/00000000000000000000000000000001 cond=0c1ba1af-5765-453f-af22-a8f791ac775b/0/2/50001 cond=d78e1e87-8644-4ea5-9437-d809ecefc971/0/12/blob") {
		t.Errorf("record:\n%s", r2)
	}
}

// TestWinbenchOwnChangesNotReported: the fake, like the engine, does not
// tell a handle about its own changes, so a resolver must not share its
// handle with the code that adds filters.
func TestWinbenchOwnChangesNotReported(t *testing.T) {
	winbench(t)
	e, err := Open(OpenOptions{Dynamic: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var n atomic.Int32
	sub, err := e.SubscribeFilterChanges(func(FilterChange) { n.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	id, err := e.AddFilter(Filter{Name: "own", LayerKey: LayerALEAuthConnectV4, Action: ActionBlock})
	if err != nil {
		t.Fatal(err)
	}
	e.DeleteFilter(id)
	if n.Load() != 0 {
		t.Fatalf("%d notifications for the handle's own changes", n.Load())
	}
}
