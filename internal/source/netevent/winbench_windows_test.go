package netevent

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/audit"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// These tests run under Wine against the fake fwpuclnt.dll
// (internal/winbench/fakes/fwpuclnt, scripts/netevent-winbench.sh). They
// call the real bindings: the DLL builds each FWPM_NET_EVENTn with the C
// layouts and calls the Go callback from its own thread.

// winbench skips unless under the bench, and points the fake's record
// (WFPWATCH_FAKE_RECORD) at a fresh file. WFPWATCH_FAKE_VARIANT=old says
// the "older Windows" DLL is installed (scripts/netevent-winbench.sh).
func winbench(t *testing.T) (variant, record string) {
	t.Helper()
	wbtest.Need(t)
	record = filepath.Join(wbtest.TempDir(t), "fake-record.txt")
	t.Setenv("WFPWATCH_FAKE_RECORD", record)
	return os.Getenv("WFPWATCH_FAKE_VARIANT"), record
}

func readRecord(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("fake record: %v", err)
	}
	return strings.Split(strings.TrimSpace(strings.ReplaceAll(string(b), "\r", "")), "\n")
}

func maxSubscribe(variant string) int {
	if variant == "old" {
		return 1
	}
	return 4
}

func TestWinbenchSubscribeEachVersion(t *testing.T) {
	variant, _ := winbench(t)
	eng, err := wfp.Open(wfp.OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for n := 0; n <= 4; n++ {
		if got, want := wfp.HasNetEventSubscribe(n), n <= maxSubscribe(variant); got != want {
			t.Fatalf("HasNetEventSubscribe(%d) = %v with the %s DLL", n, got, variant)
		}
		if !wfp.HasNetEventSubscribe(n) {
			continue
		}
		v := SubscribeVersion(n)
		var mu sync.Mutex
		var got []event.Event
		var errs []error
		sub, err := eng.SubscribeNetEvents(n, nil, func(p uintptr) {
			var e event.Event
			err := Decode(v, LiveMemory, uint64(p), &e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got = append(got, e)
		})
		if err != nil {
			t.Fatalf("subscribe %d: %v", n, err)
		}
		want := 2 // CLASSIFY_DROP, IPSEC_KERNEL_DROP
		if v >= V2 {
			want = 5 // + CLASSIFY_ALLOW, CAPABILITY_DROP, CLASSIFY_DROP_MAC
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			k := len(got) + len(errs)
			mu.Unlock()
			if k >= want || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(errs) > 0 || len(got) != want {
			t.Fatalf("FWPM_NET_EVENT%d: %d events, errors %v", v, len(got), errs)
		}
		for _, e := range got {
			checkFakeEvent(t, v, &e)
		}
		mu.Unlock()
		t.Logf("FwpmNetEventSubscribe%d → FWPM_NET_EVENT%d: %d events decoded through the bindings", n, v, len(got))
	}
}

// checkFakeEvent checks an event the fake built (fwpuclnt.c build_event).
func checkFakeEvent(t *testing.T, v Version, e *event.Event) {
	t.Helper()
	typ, _ := TypeByName(e.NetEventType)
	if e.FilterID != uint64(1000*int(v))+uint64(typ) || !e.HasFilterID {
		t.Errorf("v%d %s: filter id %d", v, e.NetEventType, e.FilterID)
	}
	if e.Time.UnixNano() != FileTime(0x01DD5E9B3C1D2E00).UnixNano() || e.Protocol != 6 || e.LocalPort != 49999 || e.RemotePort != 443 {
		t.Errorf("v%d %s: header %v %d %d %d", v, e.NetEventType, e.Time, e.Protocol, e.LocalPort, e.RemotePort)
	}
	if e.Executable != `\device\harddiskvolume3\windows\system32\curl.exe` || e.UserID != "S-1-5-18" {
		t.Errorf("v%d %s: app %q user %q", v, e.NetEventType, e.Executable, e.UserID)
	}
	if (v >= V2) != (e.PackageSID == "S-1-15-2-7") {
		t.Errorf("v%d: package SID %q", v, e.PackageSID)
	}
	switch e.NetEventType {
	case event.NetEventClassifyDrop:
		if e.LocalIP.String() != "10.1.2.3" || e.RemoteIP.String() != "203.0.113.9" || e.LayerID != 48 || e.Kind != event.KindConnection || e.Verdict != event.VerdictBlock {
			t.Errorf("v%d classify drop: %+v", v, e)
		}
		if v >= V1 && e.Direction != event.DirectionOutbound {
			t.Errorf("v%d: direction %q", v, e.Direction)
		}
	case event.NetEventIPsecKernelDrop:
		if e.LocalIP.String() != "fe80::1" || e.RemoteIP.String() != "2001:db8::7" || e.Reason != event.ReasonIPsec || e.Direction != event.DirectionInbound {
			t.Errorf("v%d ipsec: %+v", v, e)
		}
	case event.NetEventClassifyAllow:
		if e.Verdict != event.VerdictPermit || e.LayerID != 40 || e.Info != "loopback" {
			t.Errorf("v%d allow: %+v", v, e)
		}
	case event.NetEventCapabilityDrop:
		if e.Reason != "default:uwp" || !strings.Contains(e.Info, "internetClientServer") {
			t.Errorf("v%d capability: %+v", v, e)
		}
	case event.NetEventClassifyDropMAC:
		if e.LayerID != 60 || !strings.Contains(e.Info, "ethertype=0x0806") {
			t.Errorf("v%d mac: %+v", v, e)
		}
	}
}

// runWatcher runs a live Watcher until it has seen n events or 5 s pass.
func runWatcher(t *testing.T, cfg Config, n int) (*Watcher, []event.Event, []string) {
	t.Helper()
	var mu sync.Mutex
	var msgs []string
	cfg.Log = func(f string, a ...any) {
		mu.Lock()
		msgs = append(msgs, strings.TrimSpace(sprintf(f, a...)))
		mu.Unlock()
	}
	w, err := NewWatcher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []event.Event
	done := make(chan error, 1)
	go func() {
		done <- w.Run(ctx, func(e *event.Event) {
			got = append(got, *e)
			if len(got) == n {
				cancel()
			}
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	return w, got, msgs
}

func TestWinbenchWatcherFallbackAndHistory(t *testing.T) {
	variant, rec := winbench(t)
	wantV := Version(maxSubscribe(variant) + 1)
	// history (1 event from FwpmNetEventEnum<v>) + live (2 or 5 events)
	live := 2
	if wantV >= V2 {
		live = 5
	}
	f := Filter{Protocol: 6, HasProtocol: true, RemotePort: 443, HasRemotePort: true}
	w, got, msgs := runWatcher(t, Config{Since: time.Hour, Permits: true, Filter: f}, 1+live)
	if Version(w.Version.Load()) != wantV {
		t.Fatalf("watcher chose FWPM_NET_EVENT%d with the %s DLL, want %d", w.Version.Load(), variant, wantV)
	}
	if len(got) < 1+live || got[0].FilterID != 500+uint64(wantV) {
		t.Fatalf("got %d events, first filter %d", len(got), got[0].FilterID)
	}
	for _, e := range got[1:] {
		checkFakeEvent(t, wantV, &e)
	}
	r := strings.Join(readRecord(t, rec), "\n")
	// The user's filters reach the engine as template conditions, for the
	// history and for the subscription.
	if !strings.Contains(r, sprintf("subscribe %d call=", wantV-1)) || !strings.Contains(r, "conditions=2") ||
		!strings.Contains(r, "enumhandle conditions=2") || !strings.Contains(r, sprintf("enum %d", wantV)) {
		t.Errorf("record:\n%s", r)
	}
	t.Logf("%s DLL: FWPM_NET_EVENT%d; messages %q", variant, wantV, msgs)
}

func TestWinbenchOptionRestore(t *testing.T) {
	_, rec := winbench(t)
	os.Setenv("WFPWATCH_FAKE_COLLECT", "0")
	os.Setenv("WFPWATCH_FAKE_KEYWORDS", "1")
	w, _, msgs := runWatcher(t, Config{Permits: true}, 2)
	if w.Guard == nil || !w.Guard.CollectionWasOff {
		t.Fatal("collection off was not noticed")
	}
	lines := readRecord(t, rec)
	var sets []string
	for _, l := range lines {
		if strings.HasPrefix(l, "setoption") {
			sets = append(sets, l)
		}
	}
	want := []string{"setoption 0 1", "setoption 1 29", "setoption 1 1", "setoption 0 0"}
	if strings.Join(sets, ";") != strings.Join(want, ";") {
		t.Fatalf("engine options set %q, want %q", sets, want)
	}
	found := false
	for _, m := range msgs {
		found = found || strings.Contains(m, "collection was OFF")
	}
	if !found {
		t.Errorf("no warning that collection was off: %q", msgs)
	}
}

func TestWinbenchResubscribeAfterAccessDenied(t *testing.T) {
	_, rec := winbench(t)
	os.Setenv("WFPWATCH_FAKE_SUBSCRIBE_FAIL", "5")
	_, got, msgs := runWatcher(t, Config{}, 2)
	if len(got) < 2 {
		t.Fatalf("%d events after ACCESS_DENIED", len(got))
	}
	n := 0
	for _, l := range readRecord(t, rec) {
		if strings.HasPrefix(l, "subscribe ") {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d subscribe calls, want 2 (denied, then retried)", n)
	}
	t.Logf("messages %q", msgs)
}

// TestWinbenchStream: the live source as watch uses it resolves filter
// and provider names through the real lookups and maps nothing it cannot.
func TestWinbenchStream(t *testing.T) {
	winbench(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var got []event.Event
	err := Stream(ctx, Config{}, func(e *event.Event) {
		got = append(got, *e)
		if len(got) == 2 {
			cancel()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 2 {
		t.Fatalf("%d events", len(got))
	}
	for _, e := range got {
		if e.FilterName == "" || e.FilterProvider != "Microsoft Windows WSH" {
			t.Errorf("not resolved: %+v", e)
		}
	}
	t.Logf("first: filter %d %q by %q, app %s", got[0].FilterID, got[0].FilterName, got[0].FilterProvider, got[0].Executable)
}

// TestWinbenchOptionCrashRepair: through the real FwpmEngineGetOption0 /
// FwpmEngineSetOption0 bindings, a snapshot left by a killed wfpwatch (its
// pid no longer runs) is put back at the next start, before that start
// changes the options itself; on exit the options are as they were
// before the killed one, and the snapshot is gone.
func TestWinbenchOptionCrashRepair(t *testing.T) {
	_, rec := winbench(t)
	path := filepath.Join(wbtest.TempDir(t), "engine-options.json")
	dead := audit.Owner{Command: "watch", PID: 0x7ffffff0, Started: time.Now().Add(-time.Hour).UTC()}
	snap := `{"version":1,"owner":` + ownerJSON(dead) + `,"holders":[` + ownerJSON(dead) + `],"changes":[{"Option":0,"Old":0,"New":1},{"Option":1,"Old":1,"New":29}]}`
	if err := os.WriteFile(path, []byte(snap), 0o600); err != nil {
		t.Fatal(err)
	}
	// What the killed watch left: collection on, keywords 29.
	os.Setenv("WFPWATCH_FAKE_COLLECT", "1")
	os.Setenv("WFPWATCH_FAKE_KEYWORDS", "29")
	sh := &SharedOptions{Path: path, Self: audit.Self("watch"), Alive: audit.Alive}
	w, _, msgs := runWatcher(t, Config{Permits: true, Options: sh}, 2)
	if w.Guard == nil || len(w.Guard.Repaired) != 2 {
		t.Fatalf("not repaired: %+v; messages %q", w.Guard, msgs)
	}
	var sets []string
	for _, l := range readRecord(t, rec) {
		if strings.HasPrefix(l, "setoption") {
			sets = append(sets, l)
		}
	}
	want := []string{"setoption 1 1", "setoption 0 0", "setoption 0 1", "setoption 1 29", "setoption 1 1", "setoption 0 0"}
	if strings.Join(sets, ";") != strings.Join(want, ";") {
		t.Fatalf("engine options set %q, want %q", sets, want)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("snapshot left after the exit")
	}
	found := false
	for _, m := range msgs {
		found = found || strings.Contains(m, "ended without putting the engine options back")
	}
	if !found {
		t.Errorf("the repair was not reported: %q", msgs)
	}
}

func ownerJSON(o audit.Owner) string {
	b, _ := json.Marshal(o)
	return string(b)
}
