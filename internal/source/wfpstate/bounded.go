package wfpstate

import (
	"fmt"
	"io"
)

// Bounds on what one input may make Read hold, whatever the input. A state
// dump is about ten levels deep and its largest text a filter description,
// so anything near these is damage or an attack.
const (
	// MaxDepth is the deepest element nesting Read follows.
	MaxDepth = 64
	// MaxToken is the largest single piece of markup or text (a tag with
	// its attributes, a text node, a comment, a CDATA section).
	MaxToken = 1 << 20
	// MaxFilters is the most filters one dump may hold; real engines
	// carry a few thousand.
	MaxFilters = 1 << 20
)

var (
	errTooDeep    = fmt.Errorf("elements nested more than %d deep: not a WFP state dump, or damaged", MaxDepth)
	errTokenLarge = fmt.Errorf("text or markup longer than %d bytes: not a WFP state dump, or damaged", MaxToken)
	errTooMany    = fmt.Errorf("more than %d filters: not a WFP state dump, or damaged", MaxFilters)
)

// limitReader sits under encoding/xml and fails the read as soon as one
// piece of text or markup grows past MaxToken or elements nest deeper than
// MaxDepth, before the decoder has buffered or followed them. It follows
// XML's lexical structure only as far as it needs to: text ends at '<', a
// tag at '>' outside quotes; comments, CDATA sections, processing
// instructions and declarations are skipped as one piece each.
type limitReader struct {
	r     io.Reader
	st    byte   // lexical state, one of the constants below
	quote byte   // inside a tag: the open quote, or 0
	run   int    // bytes of the current piece
	depth int    // open elements
	first byte   // first byte after '<' of the current tag
	prev  byte   // previous byte
	term  []byte // the end marker being searched for in skip state
	err   error
}

const (
	lxText byte = iota
	lxTag
	lxSkip // comment, CDATA, PI or declaration: until term
)

// Read implements io.Reader.
func (g *limitReader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		c := p[i]
		g.run++
		switch g.st {
		case lxText:
			if c == '<' {
				g.st, g.run, g.quote, g.first = lxTag, 1, 0, 0
			}
		case lxTag:
			switch {
			case g.run == 2:
				g.first = c
				switch c {
				case '?':
					g.st, g.term = lxSkip, []byte("?>")
				case '!':
					// Comment, CDATA or declaration: their ends differ, but
					// all hold no elements; "]]>" and "-->" both end in '>'.
					g.st, g.term = lxSkip, []byte(">")
				}
			case g.quote != 0:
				if c == g.quote {
					g.quote = 0
				}
			case c == '"' || c == '\'':
				g.quote = c
			case c == '>':
				switch {
				case g.first == '/':
					if g.depth > 0 {
						g.depth--
					}
				case g.prev != '/':
					g.depth++
					if g.depth > MaxDepth {
						g.err = errTooDeep
					}
				}
				g.st, g.run = lxText, 0
			}
		case lxSkip:
			if c == g.term[len(g.term)-1] && (len(g.term) == 1 || g.prev == g.term[0]) {
				g.st, g.run = lxText, 0
			}
		}
		g.prev = c
		if g.err == nil && g.run > MaxToken {
			g.err = errTokenLarge
		}
		if g.err != nil {
			return i, g.err
		}
	}
	return n, err
}
