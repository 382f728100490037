// Package xmlguard bounds what an XML input can make encoding/xml hold or
// follow: a Reader sits under the decoder and fails the read as soon as
// one piece of markup or text grows past a limit, or elements nest deeper
// than one, before the decoder has buffered or followed them. The readers
// of netsh's XML (net events, state dumps) share it.
package xmlguard

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrTokenTooLarge and ErrTooDeep are what a Reader's errors wrap.
var (
	ErrTokenTooLarge = errors.New("text or markup too long")
	ErrTooDeep       = errors.New("elements nested too deep")
)

// Limits are the bounds of a Reader.
type Limits struct {
	// MaxToken is the largest single piece of markup or text: a tag with
	// its attributes, a text node, a comment, a CDATA section, a
	// processing instruction or declaration.
	MaxToken int64
	// MaxDepth is the deepest element nesting, or 0 for no bound (a reader
	// that counts depth on the token stream itself).
	MaxDepth int
	// What names the input in errors: "netsh XML", "a WFP state dump".
	What string
}

// Reader is an io.Reader over R that enforces Limits. It follows XML's
// lexical structure just enough to know where a piece ends: text ends at
// '<'; a tag at '>' outside quotes; a comment at "-->", a CDATA section at
// "]]>", a processing instruction at "?>". An element opens at a start tag
// that does not end in "/>" and closes at an end tag. After an error every
// Read returns it again.
type Reader struct {
	r     io.Reader
	lim   Limits
	state byte   // one of the states below
	quote byte   // in a tag: the open quote, or 0
	first byte   // in a tag: the byte after '<'
	run   int64  // bytes of the current piece
	depth int    // open elements
	last  uint64 // the last 8 bytes of markup read, newest in the low byte
	err   error
}

const (
	inText byte = iota
	inTag
	inComment
	inCDATA
	inPI
)

// Byte sequences as they sit in the low bytes of Reader.last.
const (
	seqCommentOpen = uint64('!')<<16 | uint64('-')<<8 | uint64('-')
	seqCommentEnd  = uint64('-')<<16 | uint64('-')<<8 | uint64('>')
	seqCDATAEnd    = uint64(']')<<16 | uint64(']')<<8 | uint64('>')
	seqCDATAOpen   = uint64('!')<<56 | uint64('[')<<48 | uint64('C')<<40 | uint64('D')<<32 |
		uint64('A')<<24 | uint64('T')<<16 | uint64('A')<<8 | uint64('[')
)

// NewReader returns a Reader of r with the limits l.
func NewReader(r io.Reader, l Limits) *Reader { return &Reader{r: r, lim: l} }

// Read implements io.Reader.
func (g *Reader) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.r.Read(p)
	for i := 0; i < n; i++ {
		if g.state == inText {
			// Text holds nothing but its length to watch: skip to '<'.
			j := bytes.IndexByte(p[i:n], '<')
			if j < 0 {
				j = n - i
			}
			if g.run+int64(j) > g.lim.MaxToken {
				g.tooLarge()
				return i + int(g.lim.MaxToken-g.run), g.err
			}
			g.run += int64(j)
			if i += j; i == n {
				break
			}
		}
		c := p[i]
		g.last = g.last<<8 | uint64(c)
		g.run++
		switch g.state {
		case inText: // c == '<'
			g.state, g.run, g.quote, g.first = inTag, 1, 0, 0
		case inTag:
			switch {
			case g.quote != 0:
				if c == g.quote {
					g.quote = 0
				}
			case g.run == 2 && c == '?':
				g.state = inPI
			case g.run == 2:
				g.first = c
				if c == '"' || c == '\'' {
					g.quote = c
				}
			case c == '"' || c == '\'':
				g.quote = c
			case c == '>':
				g.endTag()
				g.state, g.run = inText, 0
			case g.run == 4 && g.last&0xFFFFFF == seqCommentOpen:
				g.state = inComment
			case g.run == 9 && g.last == seqCDATAOpen:
				g.state = inCDATA
			}
		case inComment:
			if c == '>' && g.last&0xFFFFFF == seqCommentEnd && g.run >= 7 {
				g.state, g.run = inText, 0
			}
		case inCDATA:
			if c == '>' && g.last&0xFFFFFF == seqCDATAEnd {
				g.state, g.run = inText, 0
			}
		case inPI:
			if c == '>' && byte(g.last>>8) == '?' {
				g.state, g.run = inText, 0
			}
		}
		if g.err == nil && g.run > g.lim.MaxToken {
			g.tooLarge()
		}
		if g.err != nil {
			return i, g.err
		}
	}
	return n, err
}

func (g *Reader) tooLarge() {
	g.err = fmt.Errorf("%w: longer than %d bytes: not %s, or damaged", ErrTokenTooLarge, g.lim.MaxToken, g.lim.What)
}

// endTag counts the element a tag opens or closes ('>' was just read).
func (g *Reader) endTag() {
	switch {
	case g.first == '!': // a declaration such as <!DOCTYPE …>
	case g.first == '/':
		if g.depth > 0 {
			g.depth--
		}
	case byte(g.last>>8) != '/':
		g.depth++
		if g.lim.MaxDepth > 0 && g.depth > g.lim.MaxDepth {
			g.err = fmt.Errorf("%w: more than %d levels: not %s, or damaged", ErrTooDeep, g.lim.MaxDepth, g.lim.What)
		}
	}
}
