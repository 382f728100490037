package wfpstate

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/samples"
)

const realDump = "wfpstate/joemarshall-python_pi_burner_wfpstate.xml"

func readFile(t testing.TB, path string) *Dump {
	t.Helper()
	d, err := ReadFile(context.Background(), path)
	if err != nil {
		t.Fatalf("ReadFile(%s): %v", path, err)
	}
	return d
}

// numItems returns the numItems attribute of the first <tag numItems="N">.
func numItems(t *testing.T, b []byte, tag string) int {
	t.Helper()
	m := regexp.MustCompile(`<` + tag + ` numItems="(\d+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no <%s numItems> in the sample", tag)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestRealDump checks the reader against counts made by a plain text scan
// of the same file.
func TestRealDump(t *testing.T) {
	path := samples.Path(t, realDump)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := readFile(t, path)

	wantFilters := bytes.Count(raw, []byte("<filterId>"))
	wantLayers := bytes.Count(raw, []byte("<layerId>"))
	wantCallouts := bytes.Count(raw, []byte("<calloutId>"))
	if len(d.Filters) != wantFilters || len(d.Layers) != wantLayers || len(d.Callouts) != wantCallouts {
		t.Errorf("filters/layers/callouts = %d/%d/%d, text scan %d/%d/%d",
			len(d.Filters), len(d.Layers), len(d.Callouts), wantFilters, wantLayers, wantCallouts)
	}
	if n := numItems(t, raw, "layers"); len(d.Layers) != n {
		t.Errorf("layers = %d, numItems %d", len(d.Layers), n)
	}
	if n := numItems(t, raw, "providers"); len(d.Providers) != n {
		t.Errorf("providers = %d, numItems %d", len(d.Providers), n)
	}
	if n := numItems(t, raw, "subLayers"); len(d.SubLayers) != n {
		t.Errorf("sublayers = %d, numItems %d", len(d.SubLayers), n)
	}
	// Per-action counts, scanned independently.
	actions := map[string]int{}
	for _, m := range regexp.MustCompile(`<type>(FWP_ACTION_[A-Z_]+)</type>`).FindAllSubmatch(raw, -1) {
		actions[string(m[1])]++
	}
	got := map[string]int{}
	for _, f := range d.Filters {
		got[f.Action]++
	}
	for a, n := range actions {
		if got[a] != n {
			t.Errorf("%s filters = %d, text scan %d", a, got[a], n)
		}
	}
	// The quirk: a second root after </wfpstate>.
	if d.Root != "wfpstate" || len(d.ExtraRoots) != 1 || d.ExtraRoots[0] != "firewallState" {
		t.Errorf("roots = %q + %q, want wfpstate + [firewallState]", d.Root, d.ExtraRoots)
	}
	if want := time.Date(2026, 1, 8, 16, 50, 48, 73e6, time.UTC); !d.Time.Equal(want) {
		t.Errorf("time = %v, want %v", d.Time, want)
	}
	// Every filter's layer is in the layer table, and ids are unique.
	layers := map[string]bool{}
	for _, l := range d.Layers {
		layers[l.Key] = true
	}
	ids := map[uint64]bool{}
	for _, f := range d.Filters {
		if !layers[f.LayerKey] {
			t.Errorf("filter %d: layer %q not in the layer table", f.ID, f.LayerKey)
		}
		if ids[f.ID] {
			t.Errorf("filter id %d twice", f.ID)
		}
		ids[f.ID] = true
	}
	// The NAT filter shown in the dump's first layer, field by field.
	var nat *Filter
	for i := range d.Filters {
		if d.Filters[i].ID == 129021 {
			nat = &d.Filters[i]
		}
	}
	if nat == nil || nat.Name != "NatLocalInFilter" || nat.LayerKey != "FWPM_LAYER_INBOUND_IPPACKET_V4" ||
		nat.Action != "FWP_ACTION_CALLOUT_TERMINATING" || nat.CalloutKey != "{7b89f2c3-5bb3-4ad1-8121-2c8db2f0faac}" ||
		nat.EffectiveWeight != 18446744073709551613 || len(nat.Conditions) != 1 ||
		nat.Conditions[0] != (Condition{"FWPM_CONDITION_FLAGS", "FWP_MATCH_FLAGS_NONE_SET", "FWP_UINT32", "32"}) {
		t.Errorf("filter 129021 = %+v", nat)
	}
	var sophos bool
	for _, p := range d.Providers {
		sophos = sophos || strings.Contains(p.Name, "Sophos")
	}
	if !sophos {
		t.Error("no Sophos provider read")
	}
}

func TestSmallState(t *testing.T) {
	d := readFile(t, "testdata/small_state.xml")
	if d.Root != "wfpstate" || len(d.ExtraRoots) != 1 || d.ExtraRoots[0] != "firewallState" {
		t.Errorf("roots = %q %q", d.Root, d.ExtraRoots)
	}
	if len(d.Layers) != 1 || !reflect.DeepEqual(d.Layers[0], Layer{Key: "FWPM_LAYER_ALE_AUTH_CONNECT_V4", Name: "Verbindung autorisieren v4",
		DefaultSubLayer: "FWPM_SUBLAYER_UNIVERSAL", ID: 48, Flags: []string{"FWPM_LAYER_FLAG_KERNEL"}}) {
		t.Errorf("layers = %+v", d.Layers)
	}
	if len(d.Providers) != 1 || d.Providers[0].Name != "Beispiel VPN" || d.Providers[0].ServiceName != "examplevpn" {
		t.Errorf("providers = %+v", d.Providers)
	}
	if len(d.SubLayers) != 1 || d.SubLayers[0].Weight != 65535 {
		t.Errorf("sublayers = %+v", d.SubLayers)
	}
	if len(d.Callouts) != 1 || d.Callouts[0].ID != 300 || d.Callouts[0].ProviderKey != "{aaaaaaaa-0000-0000-0000-000000000001}" {
		t.Errorf("callouts = %+v", d.Callouts)
	}
	if len(d.Filters) != 2 {
		t.Fatalf("filters = %d, want 2", len(d.Filters))
	}
	f := d.Filters[0]
	want := []Condition{
		{"FWPM_CONDITION_IP_REMOTE_PORT", "FWP_MATCH_RANGE", "FWP_RANGE_TYPE", "1-1024"},
		{"FWPM_CONDITION_ALE_APP_ID", "FWP_MATCH_EQUAL", "FWP_BYTE_BLOB_TYPE", `\device\harddiskvolume3\app.exe`},
	}
	if f.ID != 70001 || f.Name != "VPN blockiert IPv4" || f.Description != "Kill switch" || f.Weight != "3" ||
		f.Action != "FWP_ACTION_BLOCK" || f.CalloutKey != "" || len(f.Conditions) != 2 ||
		f.Conditions[0] != want[0] || f.Conditions[1] != want[1] || f.Flags[0] != "FWPM_FILTER_FLAG_PERSISTENT" {
		t.Errorf("filter 0 = %+v", f)
	}
	if g := d.Filters[1]; g.Weight != "" || g.CalloutKey != "{11111111-2222-3333-4444-555555555555}" || g.ProviderKey != "" {
		t.Errorf("filter 1 = %+v", g)
	}
}

func TestSmallFilters(t *testing.T) {
	d := readFile(t, "testdata/small_filters.xml")
	if d.Root != "wfpdiag" || len(d.Filters) != 1 || d.Filters[0].ID != 66000 || d.Filters[0].Conditions[0].Value != "445" {
		t.Errorf("dump = %+v", d)
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		head string
		want bool
	}{
		{`<?xml version="1.0"?>` + "\n<wfpstate>\n", true},
		{"<!-- x -->\r\n<wfpstate>", true},
		{"<wfpstateX>", false},
		{"<wfpdiag>", false},
		{"<Events>", false},
		{"", false},
	} {
		if got := Detect([]byte(c.head)); got != c.want {
			t.Errorf("Detect(%q) = %v, want %v", c.head, got, c.want)
		}
	}
}

func TestBounds(t *testing.T) {
	deep := strings.Repeat("<a>", MaxDepth+1) + strings.Repeat("</a>", MaxDepth+1)
	if _, err := Read(context.Background(), strings.NewReader(deep)); !errors.Is(err, errTooDeep) {
		t.Errorf("deep: err = %v, want errTooDeep", err)
	}
	long := "<wfpstate><timeStamp>" + strings.Repeat("x", MaxToken+1) + "</timeStamp></wfpstate>"
	if _, err := Read(context.Background(), strings.NewReader(long)); !errors.Is(err, errTokenLarge) {
		t.Errorf("long text: err = %v, want errTokenLarge", err)
	}
	// Depth returns to zero across elements, so many shallow siblings pass.
	wide := "<wfpstate>" + strings.Repeat("<a><b/></a>", 10000) + "</wfpstate>"
	if _, err := Read(context.Background(), strings.NewReader(wide)); err != nil {
		t.Errorf("wide: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Read(ctx, strings.NewReader("<wfpstate/>")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

func FuzzRead(f *testing.F) {
	for _, p := range []string{"testdata/small_state.xml", "testdata/small_filters.xml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("<wfpstate><layers><item><layer><layerId>1</layerId></layer></item></layers></wfpstate><x/>"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := Read(context.Background(), bytes.NewReader(b))
		if d == nil {
			t.Fatal("nil dump")
		}
		if len(d.Filters) > MaxFilters {
			t.Fatal("too many filters")
		}
	})
}

// BenchmarkReadReal reads the real 3.4 MB dump and its contents repeated
// to 4 MB (the bound is 100 ms).
func BenchmarkReadReal(b *testing.B) {
	raw, err := os.ReadFile(samples.Path(b, realDump))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(context.Background(), bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(raw))*float64(b.N)/1e6/b.Elapsed().Seconds(), "MB/s")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N)*4e6/float64(len(raw)), "ms/4MB")
}
