// Package wfpstate reads the Windows Filtering Platform's own description of
// its state: "netsh wfp show state" (wfpstate.xml), "netsh wfp show filters"
// (filters.xml) and the filters of "netsh wfp capture"'s wfpdiag.xml. It
// streams the XML, bounded on nesting depth, token size and filter count,
// and keeps per filter what is needed to resolve the FilterRTID and
// LayerRTID of events offline, plus the provider, sublayer, layer and
// callout tables.
//
// Real dumps are UTF-8 with a BOM and carry a second root element
// (<firewallState>) after </wfpstate>; Read accepts both and reports the
// extra roots in Dump.ExtraRoots. Display names are whatever language the
// dumping machine used; Read keeps them as they are and never matches on
// them, only on keys and ids.
package wfpstate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/wfpwatch/wfpwatch/internal/xmlguard"
)

// Dump is what Read found in one file. All slices keep the file's order.
type Dump struct {
	// Root is the name of the first root element: "wfpstate" or "wfpdiag";
	// "live" for a state read from the engine (wfp.Engine.State).
	Root string
	// ExtraRoots are the names of root elements after the first, such as
	// "firewallState" in real "netsh wfp show state" dumps.
	ExtraRoots []string
	// Time is the dump's <timeStamp>, zero when it has none.
	Time      time.Time
	Providers []Provider
	SubLayers []SubLayer
	Layers    []Layer
	Callouts  []Callout
	Filters   []Filter
}

// Provider is one FWPM_PROVIDER0.
type Provider struct {
	Key, Name, Description, ServiceName string
	Flags                               []string
}

// SubLayer is one FWPM_SUBLAYER0.
type SubLayer struct {
	Key, Name, ProviderKey string
	Weight                 uint16
	Flags                  []string
}

// Layer is one FWPM_LAYER0; ID is the LayerRTID events carry.
type Layer struct {
	Key, Name, DefaultSubLayer string
	ID                         uint16
	Flags                      []string
}

// Callout is one FWPM_CALLOUT0.
type Callout struct {
	Key, Name, ProviderKey, Layer string
	ID                            uint32
	Flags                         []string
}

// Condition is one FWPM_FILTER_CONDITION0. Value is the condition value in
// text: a number, an address, a blob's string, "low-high" for a range, an
// SDDL string; Type is its FWP data type.
type Condition struct {
	Field, Match, Type, Value string
}

// Filter is one FWPM_FILTER0. ID is the FilterRTID events carry; it is
// valid only for the boot the dump was made in.
type Filter struct {
	ID          uint64
	Key         string
	Name        string
	Description string
	Flags       []string
	ProviderKey string
	LayerKey    string
	SubLayerKey string
	// Action is the FWP_ACTION_* type; CalloutKey the callout it calls,
	// when it is a callout action.
	Action     string
	CalloutKey string
	// Weight is the weight as written (a number, or empty for automatic);
	// EffectiveWeight the engine's computed 64-bit weight.
	Weight          string
	EffectiveWeight uint64
	Conditions      []Condition
}

// Read reads one dump from r. A UTF-8 BOM is skipped; other encodings
// must have been transcoded to UTF-8 by the caller. Read returns an error
// when the input is not XML, exceeds a bound, or ctx is cancelled; the
// Dump read so far is returned with it.
func Read(ctx context.Context, r io.Reader) (*Dump, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	d := xml.NewDecoder(xmlguard.NewReader(br, guardLimits))
	// Input is UTF-8 by now, whatever the declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	dump := &Dump{}
	var stack []string
	for {
		if err := ctx.Err(); err != nil {
			return dump, err
		}
		tok, err := d.RawToken()
		if err == io.EOF {
			if dump.Root == "" {
				return dump, errors.New("no XML element: not a WFP state dump")
			}
			return dump, nil
		}
		if err != nil {
			return dump, fmt.Errorf("reading WFP state XML at byte %d: %w", d.InputOffset(), err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if len(stack) == 0 {
				if dump.Root == "" {
					dump.Root = name
				} else {
					dump.ExtraRoots = append(dump.ExtraRoots, name)
				}
			}
			if err := dump.element(d, t, parent, len(stack)); err != nil {
				if errors.Is(err, errConsumed) {
					continue
				}
				return dump, err
			}
			stack = append(stack, name)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
}

// errConsumed tells Read that element decoded the whole element.
var errConsumed = errors.New("consumed")

// element decodes the elements Read keeps; it returns errConsumed when it
// read the element to its end, nil when Read should descend into it.
func (dump *Dump) element(d *xml.Decoder, t xml.StartElement, parent string, depth int) error {
	name := t.Name.Local
	var kind int
	switch {
	case name == "timeStamp" && depth == 1:
		kind = 1
	case name == "item" && parent == "filters":
		if len(dump.Filters) >= MaxFilters {
			return errTooMany
		}
		kind = 2
	case name == "item" && parent == "providers":
		kind = 3
	case name == "item" && parent == "subLayers":
		kind = 4
	case name == "item" && parent == "callouts":
		kind = 5
	case name == "layer" && parent == "item":
		kind = 6
	default:
		return nil
	}
	n, err := readTree(d, t)
	if err != nil {
		return fmt.Errorf("reading <%s> at byte %d: %w", name, d.InputOffset(), err)
	}
	switch kind {
	case 1:
		if ts, err := time.Parse(time.RFC3339Nano, n.text); err == nil {
			dump.Time = ts
		}
	case 2:
		dump.Filters = append(dump.Filters, filterOf(n))
	case 3:
		dump.Providers = append(dump.Providers, Provider{Key: n.get("providerKey"), Name: n.get("displayData", "name"),
			Description: n.get("displayData", "description"), ServiceName: n.get("serviceName"), Flags: n.items("flags")})
	case 4:
		dump.SubLayers = append(dump.SubLayers, SubLayer{Key: n.get("subLayerKey"), Name: n.get("displayData", "name"),
			ProviderKey: n.get("providerKey"), Weight: uint16(parseUint(n.get("weight"), 16)), Flags: n.items("flags")})
	case 5:
		dump.Callouts = append(dump.Callouts, Callout{Key: n.get("calloutKey"), Name: n.get("displayData", "name"),
			ProviderKey: n.get("providerKey"), Layer: n.get("applicableLayer"), ID: uint32(parseUint(n.get("calloutId"), 32)), Flags: n.items("flags")})
	case 6:
		dump.Layers = append(dump.Layers, Layer{Key: n.get("layerKey"), Name: n.get("displayData", "name"),
			DefaultSubLayer: n.get("defaultSubLayerKey"), ID: uint16(parseUint(n.get("layerId"), 16)), Flags: n.items("flags")})
	}
	return errConsumed
}

func parseUint(s string, bits int) uint64 {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 10, bits)
	return v
}

func filterOf(n *node) Filter {
	f := Filter{
		ID: parseUint(n.get("filterId"), 64), Key: n.get("filterKey"),
		Name: n.get("displayData", "name"), Description: n.get("displayData", "description"),
		Flags: n.items("flags"), ProviderKey: n.get("providerKey"), LayerKey: n.get("layerKey"),
		SubLayerKey: n.get("subLayerKey"), Action: n.get("action", "type"),
		Weight: n.child("weight").value(), EffectiveWeight: parseUint(n.child("effectiveWeight").value(), 64),
	}
	if strings.Contains(f.Action, "CALLOUT") {
		f.CalloutKey = n.get("action", "calloutKey")
		if f.CalloutKey == "" {
			f.CalloutKey = n.get("action", "filterType")
		}
	}
	for _, c := range n.child("filterCondition").kids {
		if c.name != "item" {
			continue
		}
		v := c.child("conditionValue")
		f.Conditions = append(f.Conditions, Condition{Field: c.get("fieldKey"), Match: c.get("matchType"),
			Type: v.get("type"), Value: v.value()})
	}
	return f
}

// ReadFile reads the dump in the file at path. A dump saved as UTF-16
// (PowerShell's > of older versions, an editor's "Unicode"), marked by its
// BOM, is decoded to UTF-8 as it is read.
func ReadFile(ctx context.Context, path string) (*Dump, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	if b, _ := br.Peek(2); len(b) == 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		return Read(ctx, bufio.NewReader(transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder())))
	}
	return Read(ctx, br)
}

// Detect reports whether head, the first bytes of an input already
// transcoded to UTF-8 (BOM dropped), starts with a <wfpstate> root:
// "netsh wfp show state" output. filters.xml and wfpdiag.xml share their
// <wfpdiag> root with net-event captures, so they are read as state only
// when asked for (analyze --state), never by detection.
func Detect(head []byte) bool {
	b := head
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")), bytes.HasPrefix(b, []byte("<!--")):
			end := []byte("?>")
			if b[1] == '!' {
				end = []byte("-->")
			}
			i := bytes.Index(b, end)
			if i < 0 {
				return false
			}
			b = b[i+len(end):]
		default:
			return bytes.HasPrefix(b, []byte("<wfpstate")) && len(b) > 9 && strings.IndexByte(" \t\r\n>/", b[9]) >= 0
		}
	}
}
