package wfp

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	e, err := Open(OpenOptions{Dynamic: true, Name: "wfpwatch test"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var changes []FilterChange
	r := NewResolver(e, nil, 16)
	sub, err := e.SubscribeFilterChanges(func(c FilterChange) {
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
	id, err := e.AddFilter(Filter{Name: "wfpwatch self-test", LayerKey: plan[1].LayerKey, Action: ActionBlock, Conditions: plan[1].Conditions(appID)})
	if err != nil {
		t.Fatal(err)
	}
	if fi, ok := r.Filter(id); !ok || fi.Name != "wfpwatch self-test" {
		t.Fatalf("new filter: %+v", fi)
	}
	if err := e.DeleteFilter(id); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Filter(id); ok {
		t.Fatal("resolver still knows a deleted filter (change notification not applied)")
	}
	sub.Close()
	mu.Lock()
	if len(changes) != 2 || !changes[0].Added || changes[1].Added || changes[0].FilterID != id {
		t.Errorf("changes %+v", changes)
	}
	mu.Unlock()
	e.Close()
	b, _ := os.ReadFile(rec)
	r2 := strings.ReplaceAll(string(b), "\r", "")
	if !strings.Contains(r2, "open authn=10 session=1 flags=0x1") ||
		!strings.Contains(r2, "filteradd layer=7ac9de24-17dd-4814-b4bd-a9fbc95a321b flags=0x0 action=0x1001 dynamic=1 cond=d9ee00de-c1ef-4617-bfe3-ffd8f5a08957/0/11/00000000000000000000000000000001 cond=0c1ba1af-5765-453f-af22-a8f791ac775b/0/2/50001 cond=d78e1e87-8644-4ea5-9437-d809ecefc971/0/12/blob") {
		t.Errorf("record:\n%s", r2)
	}
	_ = time.Second
}
