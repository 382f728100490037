package wfp

import (
	"context"
	"os"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// outstanding asks the fake fwpuclnt.dll how many state enumeration
// handles are still open and how many pages were not freed.
func outstanding(t *testing.T) (handles, pages uint32) {
	t.Helper()
	p := windows.NewLazySystemDLL("fwpuclnt.dll").NewProc("FakeFwpOutstanding")
	if err := p.Find(); err != nil {
		t.Fatalf("the fake fwpuclnt.dll lacks FakeFwpOutstanding: %v", err)
	}
	p.Call(uintptr(unsafe.Pointer(&handles)), uintptr(unsafe.Pointer(&pages)))
	return handles, pages
}

// stateBench opens the fake engine with its 600 made-up filters; the
// engine is closed when the test ends. It returns the fake's record file.
func stateBench(t *testing.T) (string, *Engine) {
	rec := winbench(t)
	t.Setenv("WFPWATCH_FAKE_STATE_FILTERS", "600")
	e, err := Open(OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return rec, e
}

// TestWinbenchState reads the fake engine's state through the real
// bindings: 600 made-up filters in three pages plus a filter the test adds,
// every condition type the fake writes, one read-only transaction, and no
// handle or page left behind.
func TestWinbenchState(t *testing.T) {
	rec, e := stateBench(t)
	added, err := e.AddFilter(Filter{Name: "wfpwatch state test", LayerKey: LayerALEAuthConnectV4, Action: ActionBlock})
	if err != nil {
		t.Fatal(err)
	}
	defer e.DeleteFilter(added)

	d, err := e.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h, p := outstanding(t); h != 0 || p != 0 {
		t.Errorf("after State: %d enumeration handles open, %d pages not freed", h, p)
	}
	if d.Root != "live" || d.Time.IsZero() || len(d.Providers) != 2 || len(d.SubLayers) != 2 || len(d.Layers) != 8 || len(d.Callouts) != 1 {
		t.Fatalf("tables: root %q time %v, %d providers, %d sublayers, %d layers, %d callouts",
			d.Root, d.Time, len(d.Providers), len(d.SubLayers), len(d.Layers), len(d.Callouts))
	}
	if len(d.Filters) != 601 {
		t.Fatalf("%d filters, want 600 made up and the one added", len(d.Filters))
	}
	if last := d.Filters[600]; last.ID != added || last.Name != "wfpwatch state test" || last.LayerKey != "FWPM_LAYER_ALE_AUTH_CONNECT_V4" {
		t.Errorf("the added filter: %+v", last)
	}

	p := d.Providers[1]
	if d.Providers[0].Key != "FWPM_PROVIDER_MPSSVC_WF" || p.Name != "Beispiel VPN" || p.ServiceName != "BeispielVpnSvc" ||
		p.Key != "{5a1e0001-0bad-4bee-9001-000000000001}" || strings.Join(d.Providers[0].Flags, ",") != "FWPM_PROVIDER_FLAG_PERSISTENT" {
		t.Errorf("providers: %+v", d.Providers)
	}
	if s := d.SubLayers[1]; s.Weight != 0xFFF0 || s.ProviderKey != p.Key || d.SubLayers[0].Key != "FWPM_SUBLAYER_MPSSVC_WF" {
		t.Errorf("sublayers: %+v", d.SubLayers)
	}
	if l := d.Layers[4]; l.ID != 48 || l.Key != "FWPM_LAYER_ALE_AUTH_CONNECT_V4" || l.Name != "ALE Connect v4 Layer" ||
		strings.Join(l.Flags, ",") != "FWPM_LAYER_FLAG_KERNEL,FWPM_LAYER_FLAG_BUILTIN" {
		t.Errorf("layer: %+v", l)
	}
	if c := d.Callouts[0]; c.ID != 321 || c.ProviderKey != p.Key || c.Layer != "FWPM_LAYER_ALE_AUTH_CONNECT_V4" ||
		strings.Join(c.Flags, ",") != "FWPM_CALLOUT_FLAG_REGISTERED" {
		t.Errorf("callout: %+v", c)
	}

	want := []wfpstate.Filter{
		{ID: 70000, Name: "Remote Desktop - User Mode (TCP-In) #0", ProviderKey: "FWPM_PROVIDER_MPSSVC_WF",
			LayerKey: "FWPM_LAYER_ALE_AUTH_RECV_ACCEPT_V4", SubLayerKey: "FWPM_SUBLAYER_MPSSVC_WF", Action: "FWP_ACTION_PERMIT",
			Flags: []string{"FWPM_FILTER_FLAG_PERSISTENT", "FWPM_FILTER_FLAG_INDEXED"}, EffectiveWeight: 0x8000000000000000,
			Conditions: []wfpstate.Condition{
				cond("FWPM_CONDITION_IP_LOCAL_PORT", "FWP_MATCH_EQUAL", "FWP_UINT16", "3389"),
				cond("FWPM_CONDITION_IP_PROTOCOL", "FWP_MATCH_EQUAL", "FWP_UINT8", "6"),
				cond("FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", "FWP_BYTE_BLOB_TYPE", `\device\harddiskvolume3\windows\system32\svchost.exe`),
				cond("FWPM_CONDITION_ALE_USER_ID", "FWP_MATCH_EQUAL", "FWP_SECURITY_DESCRIPTOR_TYPE",
					"O:SYG:SYD:(A;;CCRC;;;S-1-5-80-3055155277-3816794035-3994065555-2874236192-2193176987)"),
			}},
		{ID: 70001, Name: "Block outbound to 10/8 #1", Description: "a firewall rule of the fake", ProviderKey: "FWPM_PROVIDER_MPSSVC_WF",
			LayerKey: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", SubLayerKey: "FWPM_SUBLAYER_MPSSVC_WF", Action: "FWP_ACTION_BLOCK",
			EffectiveWeight: 0x8000000000000001,
			Conditions: []wfpstate.Condition{
				cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", "FWP_V4_ADDR_MASK", "10.0.0.0/8"),
				cond("FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", "FWP_RANGE_TYPE", "0-1024"),
				cond("FWPM_CONDITION_ALE_USER_ID", "FWP_MATCH_EQUAL", "FWP_SID", "S-1-5-18"),
			}},
		{ID: 70002, Name: "Beispiel VPN block IPv6 #2", ProviderKey: p.Key, LayerKey: "FWPM_LAYER_ALE_AUTH_CONNECT_V6",
			SubLayerKey: "{5a1e0002-0bad-4bee-9001-000000000002}", Action: "FWP_ACTION_BLOCK", Weight: "15",
			EffectiveWeight: 0x8000000000000002,
			Conditions: []wfpstate.Condition{
				cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_NOT_EQUAL", "FWP_BYTE_ARRAY16_TYPE", "fe80::1"),
				cond("FWPM_CONDITION_IP_REMOTE_ADDRESS", "FWP_MATCH_EQUAL", "FWP_V6_ADDR_MASK", "fe80::/10"),
			}},
		{ID: 70003, Name: "Beispiel VPN inspect #3", ProviderKey: p.Key, LayerKey: "FWPM_LAYER_ALE_AUTH_CONNECT_V4",
			SubLayerKey: "{5a1e0002-0bad-4bee-9001-000000000002}", Action: "FWP_ACTION_CALLOUT_INSPECTION",
			CalloutKey: "{5a1e0003-0bad-4bee-9001-000000000003}", EffectiveWeight: 0x8000000000000003},
	}
	for i, w := range want {
		got := d.Filters[i]
		w.Key = got.Key // made up by the fake; checked below
		if !equalFilter(got, w) {
			t.Errorf("filter %d:\n got %+v\nwant %+v", i, got, w)
		}
	}
	if d.Filters[0].Key != "{f1170000-fa4e-0000-0000-000000000000}" {
		t.Errorf("filter key %q", d.Filters[0].Key)
	}

	raw, _ := os.ReadFile(rec)
	log := string(raw)
	if !strings.Contains(log, "txn begin 0x1") || !strings.Contains(log, "txn commit") {
		t.Errorf("no read-only transaction around the reads:\n%s", log)
	}
	if n := strings.Count(log, "stateenum kind=4 want=256"); n != 3 {
		t.Errorf("%d filter pages, want 3 (601 filters, 256 a page):\n%s", n, log)
	}
}

// TestWinbenchStateErrors: a failing page still destroys the handle and
// frees the pages, aborts the transaction, and says which call failed; a
// cancelled context stops between pages; the filter bound holds.
func TestWinbenchStateErrors(t *testing.T) {
	rec, e := stateBench(t)

	t.Setenv("WFPWATCH_FAKE_ENUM_FAIL", "5")
	d, err := e.State(context.Background())
	if Status(err) != ErrAccessDenied || !strings.Contains(err.Error(), "FwpmFilterEnum0") || !strings.Contains(err.Error(), "run as administrator") {
		t.Fatalf("State with a failing page: %v", err)
	}
	if len(d.Filters) != 256 {
		t.Errorf("%d filters kept from the first page, want 256", len(d.Filters))
	}
	if h, p := outstanding(t); h != 0 || p != 0 {
		t.Errorf("after a failed page: %d handles open, %d pages not freed", h, p)
	}
	raw, _ := os.ReadFile(rec)
	if !strings.Contains(string(raw), "txn abort") {
		t.Errorf("the transaction was not aborted:\n%s", raw)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.State(ctx); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
	if h, p := outstanding(t); h != 0 || p != 0 {
		t.Errorf("after cancel: %d handles open, %d pages not freed", h, p)
	}

	t.Setenv("WFPWATCH_FAKE_STATE_FILTERS", "300")
	if d, err := e.State(context.Background()); err != nil || len(d.Filters) != 300 {
		t.Fatalf("300 filters: %d %v", len(d.Filters), err)
	}
}

func equalFilter(a, b wfpstate.Filter) bool {
	if len(a.Conditions) != len(b.Conditions) || strings.Join(a.Flags, ",") != strings.Join(b.Flags, ",") {
		return false
	}
	for i := range a.Conditions {
		if a.Conditions[i] != b.Conditions[i] {
			return false
		}
	}
	a.Conditions, b.Conditions, a.Flags, b.Flags = nil, nil, nil, nil
	return a.ID == b.ID && a.Key == b.Key && a.Name == b.Name && a.Description == b.Description && a.ProviderKey == b.ProviderKey &&
		a.LayerKey == b.LayerKey && a.SubLayerKey == b.SubLayerKey && a.Action == b.Action && a.CalloutKey == b.CalloutKey &&
		a.Weight == b.Weight && a.EffectiveWeight == b.EffectiveWeight
}

func cond(field, match, typ, value string) wfpstate.Condition {
	return wfpstate.Condition{Field: field, Match: match, Type: typ, Value: value}
}
