package wfp

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

func TestKeyName(t *testing.T) {
	for _, tc := range []struct {
		g    GUID
		want string
	}{
		{LayerALEAuthConnectV4, "FWPM_LAYER_ALE_AUTH_CONNECT_V4"},
		{ProviderMpssvcWF, "FWPM_PROVIDER_MPSSVC_WF"},
		{CondIPRemotePort, "FWPM_CONDITION_IP_REMOTE_PORT"},
		{MustGUID("b3cdd441-af90-41ba-a745-7c6008ff2301"), "FWPM_SUBLAYER_MPSSVC_WF"},
		{MustGUID("8e44982a-f477-11df-85ce-78e7d1810190"), "{8e44982a-f477-11df-85ce-78e7d1810190}"},
		{GUID{}, ""},
	} {
		if got := KeyName(tc.g); got != tc.want {
			t.Errorf("KeyName(%s) = %q, want %q", tc.g, got, tc.want)
		}
	}
}

// TestWellKnownKeysCoverRealDump checks that every symbol netsh wrote in
// a real dump (layers, sublayers, providers, callouts, condition fields)
// is in the table, so a live read names them the same way.
func TestWellKnownKeysCoverRealDump(t *testing.T) {
	d, err := wfpstate.ReadFile(context.Background(), samples.Path(t, "wfpstate/joemarshall-python_pi_burner_wfpstate.xml"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, n := range wellKnownKeys {
		known[n] = true
	}
	var keys []string
	for _, p := range d.Providers {
		keys = append(keys, p.Key)
	}
	for _, s := range d.SubLayers {
		keys = append(keys, s.Key, s.ProviderKey)
	}
	for _, l := range d.Layers {
		keys = append(keys, l.Key, l.DefaultSubLayer)
	}
	for _, c := range d.Callouts {
		keys = append(keys, c.Key, c.Layer)
	}
	for _, fl := range d.Filters {
		keys = append(keys, fl.ProviderKey, fl.LayerKey, fl.SubLayerKey, fl.CalloutKey)
		for _, c := range fl.Conditions {
			keys = append(keys, c.Field)
		}
	}
	n := 0
	for _, k := range keys {
		if !strings.HasPrefix(k, "FWPM_") {
			continue
		}
		n++
		if !known[k] {
			t.Errorf("%s is not in wellKnownKeys", k)
			known[k] = true
		}
	}
	if n < 1000 {
		t.Fatalf("only %d symbolic keys in the dump", n)
	}
}

func TestValueString(t *testing.T) {
	appID := []byte{}
	for _, r := range `\device\harddiskvolume3\windows\system32\svchost.exe` {
		appID = append(appID, byte(r), 0)
	}
	appID = append(appID, 0, 0)
	lo, hi := Value{Type: TypeUint16, Uint: 0}, Value{Type: TypeUint16, Uint: 1024}
	for _, tc := range []struct {
		name string
		v    Value
		want string
	}{
		{"empty", Value{}, ""},
		{"uint8", Value{Type: TypeUint8, Uint: 17}, "17"},
		{"uint64", Value{Type: TypeUint64, Uint: 18446744073709551613}, "18446744073709551613"},
		{"int8", Value{Type: TypeInt8, Uint: 0xff}, "-1"},
		{"int32", Value{Type: TypeInt32, Uint: 0xfffffffe}, "-2"},
		{"ipv6", Value{Type: TypeByteArray16, Bytes: []byte{0xfe, 0x80, 15: 1}}, "fe80::1"},
		{"mac", Value{Type: TypeByteArray6, Bytes: []byte{0, 0x15, 0x5d, 1, 2, 3}}, "00-15-5d-01-02-03"},
		{"app id", Value{Type: TypeByteBlob, Bytes: appID}, `\device\harddiskvolume3\windows\system32\svchost.exe`},
		{"binary blob", Value{Type: TypeByteBlob, Bytes: []byte{1, 2, 0xff}}, "0102ff"},
		{"odd blob", Value{Type: TypeByteBlob, Bytes: []byte{'a', 0, 0}}, "610000"},
		{"sid", Value{Type: TypeSID, Text: "S-1-5-18"}, "S-1-5-18"},
		{"v4 prefix", Value{Type: TypeV4AddrMask, Uint: 0x0a000000, Mask: 0xff000000}, "10.0.0.0/8"},
		{"v4 host", Value{Type: TypeV4AddrMask, Uint: 0xc0a80101, Mask: 0xffffffff}, "192.168.1.1/32"},
		{"v4 odd mask", Value{Type: TypeV4AddrMask, Uint: 0x0a000000, Mask: 0xff00ff00}, "10.0.0.0/255.0.255.0"},
		{"v6 prefix", Value{Type: TypeV6AddrMask, Bytes: []byte{0xfe, 0x80, 15: 0}, Mask: 10}, "fe80::/10"},
		{"range", Value{Type: TypeRange, Low: &lo, High: &hi}, "0-1024"},
		{"range without ends", Value{Type: TypeRange}, ""},
		{"token", Value{Type: TypeTokenInformation}, "(token information)"},
		{"short array16", Value{Type: TypeByteArray16, Bytes: []byte{1}}, "01"},
	} {
		if got := tc.v.String(); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestStateNames(t *testing.T) {
	if got := DataTypeName(TypeRange); got != "FWP_RANGE_TYPE" {
		t.Error(got)
	}
	if got := DataTypeName(99); got != "FWP_DATA_TYPE_99" {
		t.Error(got)
	}
	if got := MatchTypeName(10); got != "FWP_MATCH_NOT_EQUAL" {
		t.Error(got)
	}
	if got := MatchTypeName(40); got != "FWP_MATCH_TYPE_40" {
		t.Error(got)
	}
	if got := ActionName(ActionCalloutTerminating); got != "FWP_ACTION_CALLOUT_TERMINATING" || !IsCalloutAction(ActionCalloutTerminating) || IsCalloutAction(ActionBlock) {
		t.Error(got)
	}
	if got := ActionName(0x9999); got != "FWP_ACTION_0x9999" {
		t.Error(got)
	}
	want := []string{"FWPM_FILTER_FLAG_PERSISTENT", "FWPM_FILTER_FLAG_INDEXED", "FWPM_FILTER_FLAG_0x00001000"}
	if got := FilterFlags(0x1041); !reflect.DeepEqual(got, want) {
		t.Errorf("%q", got)
	}
	if got := CalloutFlags(0x40000); !reflect.DeepEqual(got, []string{"FWPM_CALLOUT_FLAG_REGISTERED"}) {
		t.Errorf("%q", got)
	}
	if FilterFlags(0) != nil {
		t.Error("flags of 0")
	}
}
