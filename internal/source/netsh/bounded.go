package netsh

import (
	"encoding/xml"
	"fmt"
	"io"
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
	errTooDeep    = fmt.Errorf("elements nested more than %d deep: not netsh XML, or damaged", MaxDepth)
	errTokenLarge = fmt.Errorf("text or markup longer than %d bytes: not netsh XML, or damaged", MaxToken)
	errItemLarge  = fmt.Errorf("larger than %d bytes: skipped", MaxNetEvent)
)

// tokenGuard sits under encoding/xml and fails the read when one piece of
// markup or text grows past MaxToken, before the decoder has buffered it
// all. It follows XML's lexical structure just enough to know where a
// piece ends: text ends at '<'; a tag at '>' outside quotes; a comment at
// "-->", a CDATA section at "]]>", a processing instruction at "?>".
type tokenGuard struct {
	r     io.Reader
	state byte  // one of the states below
	quote byte  // in a tag: the open quote, or 0
	run   int64 // bytes of the current piece
	tail  [8]byte
}

const (
	inText byte = iota
	inTag
	inComment
	inCDATA
	inPI
)

func (g *tokenGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		copy(g.tail[:], g.tail[1:])
		g.tail[7] = c
		g.run++
		switch g.state {
		case inText:
			if c == '<' {
				g.state, g.run, g.quote = inTag, 1, 0
			}
		case inTag:
			switch {
			case g.quote != 0:
				if c == g.quote {
					g.quote = 0
				}
			case c == '"' || c == '\'':
				g.quote = c
			case c == '>':
				g.state, g.run = inText, 0
			case g.run == 4 && string(g.tail[4:]) == "<!--":
				g.state = inComment
			case g.run == 9 && string(g.tail[:]) == "![CDATA[":
				g.state = inCDATA
			case g.run == 2 && c == '?':
				g.state = inPI
			}
		case inComment:
			if c == '>' && string(g.tail[5:]) == "-->" && g.run >= 7 {
				g.state, g.run = inText, 0
			}
		case inCDATA:
			if c == '>' && string(g.tail[5:]) == "]]>" {
				g.state, g.run = inText, 0
			}
		case inPI:
			if c == '>' && g.tail[6] == '?' {
				g.state, g.run = inText, 0
			}
		}
		if g.run > MaxToken {
			return i, errTokenLarge
		}
	}
	return n, err
}

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
