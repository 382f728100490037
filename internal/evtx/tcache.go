package evtx

import "sync"

// Every chunk repeats the template definitions its records use, at
// different offsets (so with different name offsets), while the templates
// themselves repeat from chunk to chunk. tcache shares compiled templates
// across the chunks of a File, keyed by a canonical form of the definition:
// its tokens with every name reference replaced by the name itself. Two
// definitions with the same canonical form compile to the same template,
// so sharing is exact, not a guess from the template GUID.
type tcache struct {
	mu    sync.Mutex
	m     map[string]*template
	bytes int
}

// Bounds on what a crafted file can make the cache hold.
const (
	tcacheMaxEntries = 4096
	tcacheMaxBytes   = 32 << 20
)

func (tc *tcache) get(key []byte) *template {
	tc.mu.Lock()
	t := tc.m[string(key)]
	tc.mu.Unlock()
	return t
}

func (tc *tcache) put(key []byte, t *template) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.m == nil {
		tc.m = make(map[string]*template)
	}
	if len(tc.m) >= tcacheMaxEntries || tc.bytes+len(key) > tcacheMaxBytes {
		return
	}
	tc.m[string(key)] = t
	tc.bytes += len(key)
}

// canon appends the canonical form of the tokens from p.pos to EOF or
// p.end. It follows the token grammar of nodes without building anything;
// bytes that nodes ignores (dependency ids, data sizes, value types of
// text) are left out, names are written out.
func (p *parser) canon(dst []byte) ([]byte, error) {
	appendName := func() error {
		if err := p.need(4); err != nil {
			return err
		}
		off := int(u32(p.d, p.pos))
		p.pos += 4
		e, err := p.c.nameAt(off)
		if err != nil {
			return p.errorf("%v", err)
		}
		if off == p.pos {
			p.pos += e.size
		}
		dst = append(dst, byte(len(e.s)), byte(len(e.s)>>8))
		dst = append(dst, e.s...)
		return nil
	}
	appendText := func() error {
		if err := p.need(2); err != nil {
			return err
		}
		n := int(u16(p.d, p.pos))
		if err := p.need(2 + 2*n); err != nil {
			return err
		}
		dst = append(dst, p.d[p.pos:p.pos+2+2*n]...)
		p.pos += 2 + 2*n
		return nil
	}
	for p.pos < p.end {
		tok := p.d[p.pos]
		switch tok &^ tokFlagMore {
		case tokEOF:
			return append(dst, tok), nil
		case tokFragment, tokSubst, tokOptSubst:
			if err := p.need(4); err != nil {
				return dst, err
			}
			dst = append(dst, p.d[p.pos:p.pos+4]...)
			p.pos += 4
		case tokOpenStart:
			skip := 5
			if p.hasDependencyID() {
				skip = 7
			}
			if err := p.need(skip + 4); err != nil {
				return dst, err
			}
			dst = append(dst, tok)
			p.pos += skip
			if err := appendName(); err != nil {
				return dst, err
			}
			if tok&tokFlagMore != 0 {
				if err := p.need(4); err != nil {
					return dst, err
				}
				p.pos += 4
			}
		case tokAttr, tokEntityRef:
			dst = append(dst, tok)
			p.pos++
			if err := appendName(); err != nil {
				return dst, err
			}
		case tokCloseStart, tokCloseEmpty, tokEnd:
			dst = append(dst, tok)
			p.pos++
		case tokValue:
			if err := p.need(2); err != nil {
				return dst, err
			}
			dst = append(dst, tok)
			p.pos += 2
			if err := appendText(); err != nil {
				return dst, err
			}
		case tokCharRef:
			if err := p.need(3); err != nil {
				return dst, err
			}
			dst = append(dst, p.d[p.pos:p.pos+3]...)
			p.pos += 3
		case tokCDATA:
			dst = append(dst, tok)
			p.pos++
			if err := appendText(); err != nil {
				return dst, err
			}
		case tokPITarget:
			dst = append(dst, tok)
			p.pos++
			if err := appendName(); err != nil {
				return dst, err
			}
			if p.pos < p.end && p.d[p.pos] == tokPIData {
				dst = append(dst, tokPIData)
				p.pos++
				if err := appendText(); err != nil {
					return dst, err
				}
			}
		default:
			return dst, p.errorf("unexpected token 0x%02x", tok)
		}
	}
	return dst, nil
}
