package netsh

import (
	"encoding/xml"
	"fmt"

	"github.com/wfpwatch/wfpwatch/internal/xmlguard"
)

// Bounds on what one input may make Read hold, whatever the input: netsh
// XML is a few levels deep and a net event a few KiB, so anything near
// these is damage or an attack (a nesting bomb, a text node of gigabytes).
const (
	// MaxDepth is the deepest element nesting Read follows.
	MaxDepth = 64
	// MaxToken is the largest single piece of markup or text (a tag with
	// its attributes, a text node, a comment, a CDATA section), like the
	// Security-XML reader's bound on an event.
	MaxToken = 4 << 20
	// MaxNetEvent is the largest net event (or filter description) read;
	// a larger one is reported and skipped.
	MaxNetEvent = 4 << 20
)

var (
	errTooDeep   = fmt.Errorf("%w: more than %d levels: not netsh XML, or damaged", xmlguard.ErrTooDeep, MaxDepth)
	errItemLarge = fmt.Errorf("larger than %d bytes: skipped", MaxNetEvent)
	// errTokenLarge is what the xmlguard.Reader under the decoder wraps.
	errTokenLarge = xmlguard.ErrTokenTooLarge
)

// guardLimits bound the bytes under the decoder; depth is counted on the
// token stream by depthGuard, which also bounds one net event.
var guardLimits = xmlguard.Limits{MaxToken: MaxToken, What: "netsh XML"}

// depthGuard is the token stream Read decodes: the raw tokens of d (the
// decoder on top checks that elements match), failing past MaxDepth, and
// failing the net event being decoded (mark ≥ 0) once it passes
// MaxNetEvent bytes. That failure does not lose the token: the next call
// returns it, so the decoder on top can go on.
type depthGuard struct {
	d       *xml.Decoder
	depth   int
	mark    int64 // input offset of the net event being decoded, or -1
	pending xml.Token
}

func (g *depthGuard) Token() (xml.Token, error) {
	if t := g.pending; t != nil {
		g.pending = nil
		return t, nil
	}
	t, err := g.d.RawToken()
	if err != nil {
		return t, err
	}
	switch t.(type) {
	case xml.StartElement:
		if g.depth++; g.depth > MaxDepth {
			return nil, errTooDeep
		}
	case xml.EndElement:
		g.depth--
	}
	if g.mark >= 0 && g.d.InputOffset()-g.mark > MaxNetEvent {
		g.mark = -1
		g.pending = xml.CopyToken(t)
		return nil, errItemLarge
	}
	return t, nil
}

// skipRest reads the tokens of d until the element open at depth (as
// counted by g) is closed: how Read goes on after a net event that was too
// large.
func skipRest(d *xml.Decoder, g *depthGuard, depth int) error {
	for g.depth >= depth {
		if _, err := d.Token(); err != nil {
			return err
		}
	}
	return nil
}
