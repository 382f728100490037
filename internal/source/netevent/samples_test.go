package netevent

import (
	"encoding/hex"
	"encoding/xml"
	"os"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// The netsh <netEvent> file format is read by the inputs reader (issue 7);
// this test only checks that the values such files carry map through this
// package's shared tables (type names, layer ids, the appId blob).
func TestSharedNetshSamples(t *testing.T) {
	for _, f := range []string{"netevents/msdocs-uwp-case2-netevent-classifydrop.xml", "netevents/msdocs-quarantine-netevent-classifydrop.xml"} {
		p := samples.Path(t, f)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var ne struct {
			Type   string `xml:"type"`
			AppID  string `xml:"header>appId>data"`
			Filter struct {
				FilterID uint64 `xml:"filterId"`
				LayerID  uint16 `xml:"layerId"`
				Dir      string `xml:"msFwpDirection"`
			} `xml:"classifyDrop"`
		}
		if err := xml.Unmarshal(b, &ne); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		typ, ok := TypeByName(ne.Type)
		if !ok || TypeName(typ) != event.NetEventClassifyDrop {
			t.Errorf("%s: type %q", f, ne.Type)
		}
		if _, ok := event.Layers[ne.Filter.LayerID]; !ok {
			t.Errorf("%s: layer %d unknown", f, ne.Filter.LayerID)
		}
		if event.ParseDirection(ne.Filter.Dir) == event.DirectionUnknown {
			t.Errorf("%s: direction %q", f, ne.Filter.Dir)
		}
		raw, err := hex.DecodeString(ne.AppID)
		if err != nil {
			t.Fatalf("%s: appId: %v", f, err)
		}
		a := &arena{base: 0x10000, buf: raw}
		app := utf16Blob(a, uint32(len(raw)), 0x10000)
		if len(app) < 10 || app[0] != '\\' {
			t.Errorf("%s: appId decodes to %q", f, app)
		}
		t.Logf("%s: %s filter %d layer %d (%s) app %s", f, TypeName(typ), ne.Filter.FilterID, ne.Filter.LayerID, event.Layers[ne.Filter.LayerID].Name, app)
	}
}
