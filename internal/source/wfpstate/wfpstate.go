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
	"strconv"
	"strings"
	"time"
)

// Dump is what Read found in one file. All slices keep the file's order.
type Dump struct {
	// Root is the name of the first root element: "wfpstate" or "wfpdiag".
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
	d := xml.NewDecoder(&limitReader{r: br})
	// Input is UTF-8 by now, whatever the declaration says.
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }
	dump := &Dump{}
	var stack []string
	for {
		if err := ctx.Err(); err != nil {
			return dump, err
		}
		tok, err := d.Token()
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
	var err error
	switch {
	case name == "timeStamp" && depth == 1 && dump.Root != "":
		var s string
		if err = d.DecodeElement(&s, &t); err == nil {
			if ts, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); perr == nil {
				dump.Time = ts
			}
		}
	case name == "item" && parent == "filters":
		if len(dump.Filters) >= MaxFilters {
			return errTooMany
		}
		var x xmlFilter
		if err = d.DecodeElement(&x, &t); err == nil {
			dump.Filters = append(dump.Filters, x.filter())
		}
	case name == "item" && parent == "providers":
		var x xmlProvider
		if err = d.DecodeElement(&x, &t); err == nil {
			dump.Providers = append(dump.Providers, Provider{Key: x.Key, Name: x.Display.Name,
				Description: x.Display.Description, ServiceName: x.ServiceName, Flags: x.Flags.Items})
		}
	case name == "item" && parent == "subLayers":
		var x xmlSubLayer
		if err = d.DecodeElement(&x, &t); err == nil {
			dump.SubLayers = append(dump.SubLayers, SubLayer{Key: x.Key, Name: x.Display.Name,
				ProviderKey: x.ProviderKey, Weight: uint16(parseUint(x.Weight, 16)), Flags: x.Flags.Items})
		}
	case name == "item" && parent == "callouts":
		var x xmlCallout
		if err = d.DecodeElement(&x, &t); err == nil {
			dump.Callouts = append(dump.Callouts, Callout{Key: x.Key, Name: x.Display.Name,
				ProviderKey: x.ProviderKey, Layer: x.Layer, ID: uint32(parseUint(x.ID, 32)), Flags: x.Flags.Items})
		}
	case name == "layer" && parent == "item":
		var x xmlLayer
		if err = d.DecodeElement(&x, &t); err == nil {
			dump.Layers = append(dump.Layers, Layer{Key: x.Key, Name: x.Display.Name,
				DefaultSubLayer: x.DefaultSubLayer, ID: uint16(parseUint(x.ID, 16)), Flags: x.Flags.Items})
		}
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading <%s> at byte %d: %w", name, d.InputOffset(), err)
	}
	return errConsumed
}

func parseUint(s string, bits int) uint64 {
	v, _ := strconv.ParseUint(strings.TrimSpace(s), 10, bits)
	return v
}

type xmlDisplay struct {
	Name        string `xml:"name"`
	Description string `xml:"description"`
}

type xmlItems struct {
	Items []string `xml:"item"`
}

type xmlProvider struct {
	Key         string     `xml:"providerKey"`
	Display     xmlDisplay `xml:"displayData"`
	Flags       xmlItems   `xml:"flags"`
	ServiceName string     `xml:"serviceName"`
}

type xmlSubLayer struct {
	Key         string     `xml:"subLayerKey"`
	Display     xmlDisplay `xml:"displayData"`
	Flags       xmlItems   `xml:"flags"`
	ProviderKey string     `xml:"providerKey"`
	Weight      string     `xml:"weight"`
}

type xmlLayer struct {
	Key             string     `xml:"layerKey"`
	Display         xmlDisplay `xml:"displayData"`
	Flags           xmlItems   `xml:"flags"`
	DefaultSubLayer string     `xml:"defaultSubLayerKey"`
	ID              string     `xml:"layerId"`
}

type xmlCallout struct {
	Key         string     `xml:"calloutKey"`
	Display     xmlDisplay `xml:"displayData"`
	Flags       xmlItems   `xml:"flags"`
	ProviderKey string     `xml:"providerKey"`
	Layer       string     `xml:"applicableLayer"`
	ID          string     `xml:"calloutId"`
}

// xmlValue is an FWP_VALUE0 or FWP_CONDITION_VALUE0: a <type> and one
// element holding the value, whose shape depends on the type.
type xmlValue struct {
	Type  string    `xml:"type"`
	Nodes []xmlNode `xml:",any"`
}

type xmlNode struct {
	XMLName xml.Name
	Text    string    `xml:",chardata"`
	Nodes   []xmlNode `xml:",any"`
}

type xmlFilter struct {
	Key         string     `xml:"filterKey"`
	Display     xmlDisplay `xml:"displayData"`
	Flags       xmlItems   `xml:"flags"`
	ProviderKey string     `xml:"providerKey"`
	LayerKey    string     `xml:"layerKey"`
	SubLayerKey string     `xml:"subLayerKey"`
	Weight      xmlValue   `xml:"weight"`
	Conditions  []struct {
		Field string   `xml:"fieldKey"`
		Match string   `xml:"matchType"`
		Value xmlValue `xml:"conditionValue"`
	} `xml:"filterCondition>item"`
	Action struct {
		Type       string `xml:"type"`
		FilterType string `xml:"filterType"`
		CalloutKey string `xml:"calloutKey"`
	} `xml:"action"`
	ID              string   `xml:"filterId"`
	EffectiveWeight xmlValue `xml:"effectiveWeight"`
}

func (x *xmlFilter) filter() Filter {
	f := Filter{
		ID: parseUint(x.ID, 64), Key: x.Key, Name: x.Display.Name, Description: x.Display.Description,
		Flags: x.Flags.Items, ProviderKey: x.ProviderKey, LayerKey: x.LayerKey, SubLayerKey: x.SubLayerKey,
		Action: x.Action.Type, Weight: x.Weight.text(),
		EffectiveWeight: parseUint(x.EffectiveWeight.text(), 64),
	}
	if strings.Contains(f.Action, "CALLOUT") {
		f.CalloutKey = x.Action.CalloutKey
		if f.CalloutKey == "" {
			f.CalloutKey = x.Action.FilterType
		}
	}
	for _, c := range x.Conditions {
		f.Conditions = append(f.Conditions, Condition{Field: c.Field, Match: c.Match, Type: c.Value.Type, Value: c.Value.text()})
	}
	return f
}

// text renders the value: a range as "low-high", a byte blob by its
// string form when netsh gave one, anything else as its leaf texts.
func (v xmlValue) text() string {
	var parts []string
	for _, n := range v.Nodes {
		if n.XMLName.Local == "type" {
			continue
		}
		parts = append(parts, n.text())
	}
	return strings.Join(parts, " ")
}

func (n xmlNode) text() string {
	if len(n.Nodes) == 0 {
		return strings.TrimSpace(n.Text)
	}
	var parts []string
	for _, k := range n.Nodes {
		switch k.XMLName.Local {
		case "type":
			continue
		case "asString":
			return k.text()
		}
		parts = append(parts, k.text())
	}
	if n.XMLName.Local == "rangeValue" {
		return strings.Join(parts, "-")
	}
	return strings.Join(parts, " ")
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
