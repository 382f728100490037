package evtx

import (
	"errors"
	"fmt"
	"strings"
)

// BinXML tokens ([MS-EVEN6] 2.2.12 / libevtx "Token types"); 0x40 is the
// "more data" / "has attributes" flag.
const (
	tokEOF          = 0x00
	tokOpenStart    = 0x01
	tokCloseStart   = 0x02
	tokCloseEmpty   = 0x03
	tokEnd          = 0x04
	tokValue        = 0x05
	tokAttr         = 0x06
	tokCDATA        = 0x07
	tokCharRef      = 0x08
	tokEntityRef    = 0x09
	tokPITarget     = 0x0a
	tokPIData       = 0x0b
	tokTemplate     = 0x0c
	tokSubst        = 0x0d
	tokOptSubst     = 0x0e
	tokFragment     = 0x0f
	tokFlagMore     = 0x40
	maxDepth        = 64 // element nesting
	maxNestedValues = 8  // BinXML values inside BinXML values
)

// ErrTruncated is wrapped by errors about data that ends too early.
var ErrTruncated = errors.New("binary XML runs past its end")

// nodeKind is the kind of a parsed BinXML node.
type nodeKind uint8

const (
	nStart      nodeKind = iota // <name
	nAttr                       // an attribute name; value nodes follow
	nCloseStart                 // >
	nCloseEmpty                 // />
	nEnd                        // </name>
	nText                       // static text
	nSubst                      // substitution idx (opt: optional)
	nCharRef                    // &#n;
	nEntity                     // &name;
	nCDATA                      // <![CDATA[text]]>
	nPI                         // <?name text?>
)

// node is one BinXML token, with names resolved and text decoded (not
// escaped).
type node struct {
	kind nodeKind
	opt  bool
	idx  int
	name string
	text string
}

// template is a compiled template definition (or a template-less
// fragment): its nodes, the XML program, and where the fields of the fast
// path are.
type template struct {
	nodes []node
	xml   []xop
	wfp   wfpInfo
	err   error
}

type nameEntry struct {
	s    string
	size int
}

// parser reads BinXML tokens from a chunk.
type parser struct {
	c       *Chunk
	d       []byte
	pos     int
	end     int
	inValue bool // inside a BinXML substitution value
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("binary XML at chunk offset 0x%x: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) need(n int) error {
	if p.pos+n > p.end || p.pos+n > len(p.d) {
		return fmt.Errorf("binary XML at chunk offset 0x%x: %w", p.pos, ErrTruncated)
	}
	return nil
}

// nameStrsMax bounds the decoded names a Chunk keeps across chunks: real
// logs use a few hundred element and attribute names, a crafted file could
// use a new one in every record.
const nameStrsMax = 4096

// nameAt returns the name structure at chunk offset off.
func (c *Chunk) nameAt(off int) (nameEntry, error) {
	if e, ok := c.names[uint32(off)]; ok {
		return e, nil
	}
	d := c.data
	if off < chunkHeaderSize || off+8 > len(d) {
		return nameEntry{}, fmt.Errorf("name offset 0x%x outside the chunk", off)
	}
	n := int(u16(d, off+6))
	size := 8 + 2*n + 2
	if off+size > len(d) {
		return nameEntry{}, fmt.Errorf("name at 0x%x: %w", off, ErrTruncated)
	}
	raw := d[off+8 : off+8+2*n]
	s, ok := c.nameStrs[string(raw)]
	if !ok {
		s = xmlName(raw)
		if c.nameStrs == nil {
			c.nameStrs = make(map[string]string)
		}
		if len(c.nameStrs) < nameStrsMax {
			c.nameStrs[string(raw)] = s
		}
	}
	e := nameEntry{s: s, size: size}
	if c.names == nil {
		c.names = make(map[uint32]nameEntry)
	}
	c.names[uint32(off)] = e
	return e, nil
}

// xmlName decodes a UTF-16 name and makes it a valid XML name: characters
// outside [A-Za-z0-9_.:-] become '_' (names in real logs are ASCII), and
// a name may not start with a digit, '.', '-' or ':'.
func xmlName(b []byte) string {
	out := make([]byte, 0, len(b)/2)
	colons := 0
	for i := 0; i+1 < len(b); i += 2 {
		c := rune(b[i]) | rune(b[i+1])<<8
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9', c == '.', c == '-':
			if len(out) == 0 {
				c = '_'
			}
		case c == ':':
			colons++
			if len(out) == 0 || colons > 1 || i+2 >= len(b) {
				c = '_'
			}
		default:
			c = '_'
		}
		out = append(out, byte(c))
	}
	if len(out) == 0 {
		return "_"
	}
	if out[len(out)-1] == ':' {
		out[len(out)-1] = '_'
	}
	return string(out)
}

// name reads a name reference (a chunk offset, with the name inline when it
// points just past itself).
func (p *parser) name() (string, error) {
	if err := p.need(4); err != nil {
		return "", err
	}
	off := int(u32(p.d, p.pos))
	p.pos += 4
	e, err := p.c.nameAt(off)
	if err != nil {
		return "", p.errorf("%v", err)
	}
	if off == p.pos {
		p.pos += e.size
	}
	return e.s, nil
}

// text reads a length-prefixed UTF-16 string at p.pos.
func (p *parser) text() (string, error) {
	if err := p.need(2); err != nil {
		return "", err
	}
	n := int(u16(p.d, p.pos))
	p.pos += 2
	if err := p.need(2 * n); err != nil {
		return "", err
	}
	p.c.scratch = appendUTF16(p.c.scratch[:0], p.d[p.pos:p.pos+2*n], escNone)
	p.pos += 2 * n
	return string(p.c.scratch), nil
}

// hasDependencyID decides whether an element start at p.pos carries the
// 2-byte dependency identifier. It does, except (says libevtx) inside a
// BinXML substitution value; as files differ, there the layout whose name
// reference resolves wins.
func (p *parser) hasDependencyID() bool {
	if !p.inValue {
		return true
	}
	without, with := int(u32(p.d, p.pos+5)), int(u32(p.d, p.pos+7))
	switch {
	case without == p.pos+9:
		return false
	case with == p.pos+11:
		return true
	}
	if _, err := p.c.nameAt(without); err == nil && without < p.pos {
		if _, err := p.c.nameAt(with); err != nil || with >= p.pos {
			return false
		}
	}
	return true
}

// nodes parses tokens up to EOF or p.end into a balanced node list.
func (p *parser) nodes(out []node) ([]node, error) {
	var stack []string
	inTag, inAttr := false, false
	for p.pos < p.end {
		tok := p.d[p.pos]
		switch tok &^ tokFlagMore {
		case tokEOF:
			p.pos++
			if len(stack) > 0 {
				return out, p.errorf("end of fragment inside <%s>", stack[len(stack)-1])
			}
			return out, nil
		case tokFragment:
			if err := p.need(4); err != nil {
				return out, err
			}
			p.pos += 4
		case tokOpenStart:
			if inTag {
				return out, p.errorf("element start inside a start tag")
			}
			skip := 5
			if p.hasDependencyID() {
				skip = 7
			}
			if err := p.need(skip + 4); err != nil {
				return out, err
			}
			p.pos += skip
			name, err := p.name()
			if err != nil {
				return out, err
			}
			if tok&tokFlagMore != 0 {
				if err := p.need(4); err != nil {
					return out, err
				}
				p.pos += 4 // attribute list size
			}
			if len(stack) >= maxDepth {
				return out, p.errorf("elements nested deeper than %d", maxDepth)
			}
			stack = append(stack, name)
			out = append(out, node{kind: nStart, name: name})
			inTag, inAttr = true, false
		case tokAttr:
			if !inTag {
				return out, p.errorf("attribute outside a start tag")
			}
			p.pos++
			name, err := p.name()
			if err != nil {
				return out, err
			}
			out = append(out, node{kind: nAttr, name: name})
			inAttr = true
		case tokCloseStart:
			if !inTag {
				return out, p.errorf("unexpected close of a start tag")
			}
			p.pos++
			out = append(out, node{kind: nCloseStart})
			inTag, inAttr = false, false
		case tokCloseEmpty:
			if !inTag {
				return out, p.errorf("unexpected close of an empty element")
			}
			p.pos++
			out = append(out, node{kind: nCloseEmpty, name: stack[len(stack)-1]})
			stack = stack[:len(stack)-1]
			inTag, inAttr = false, false
		case tokEnd:
			if inTag || len(stack) == 0 {
				return out, p.errorf("unexpected end tag")
			}
			p.pos++
			out = append(out, node{kind: nEnd, name: stack[len(stack)-1]})
			stack = stack[:len(stack)-1]
		case tokValue, tokSubst, tokOptSubst, tokCharRef, tokEntityRef:
			if inTag && !inAttr {
				return out, p.errorf("value in a start tag before any attribute")
			}
			n, err := p.valueNode(tok)
			if err != nil {
				return out, err
			}
			out = append(out, n)
		case tokCDATA, tokPITarget:
			if inTag {
				return out, p.errorf("token 0x%02x inside a start tag", tok)
			}
			n, err := p.valueNode(tok)
			if err != nil {
				return out, err
			}
			out = append(out, n)
		default:
			return out, p.errorf("unexpected token 0x%02x", tok)
		}
	}
	if len(stack) > 0 {
		return out, fmt.Errorf("binary XML at chunk offset 0x%x: fragment ends inside <%s>: %w", p.pos, stack[len(stack)-1], ErrTruncated)
	}
	return out, nil
}

// valueNode parses a text, substitution, reference, CDATA or PI token.
func (p *parser) valueNode(tok byte) (node, error) {
	switch tok &^ tokFlagMore {
	case tokValue:
		if err := p.need(2); err != nil {
			return node{}, err
		}
		p.pos += 2 // token, value type (string)
		s, err := p.text()
		return node{kind: nText, text: s}, err
	case tokSubst, tokOptSubst:
		if err := p.need(4); err != nil {
			return node{}, err
		}
		n := node{kind: nSubst, idx: int(u16(p.d, p.pos+1)), opt: tok == tokOptSubst}
		p.pos += 4
		return n, nil
	case tokCharRef:
		if err := p.need(3); err != nil {
			return node{}, err
		}
		v := rune(u16(p.d, p.pos+1))
		p.pos += 3
		return node{kind: nCharRef, text: string(appendRune(nil, v, escNone))}, nil
	case tokEntityRef:
		p.pos++
		name, err := p.name()
		return node{kind: nEntity, name: name}, err
	case tokCDATA:
		p.pos++
		s, err := p.text()
		return node{kind: nCDATA, text: s}, err
	case tokPITarget:
		p.pos++
		name, err := p.name()
		if err != nil {
			return node{}, err
		}
		n := node{kind: nPI, name: name}
		if p.pos < p.end && p.d[p.pos] == tokPIData {
			p.pos++
			n.text, err = p.text()
		}
		return n, err
	}
	return node{}, p.errorf("unexpected token 0x%02x", tok)
}

// entityText maps the predefined XML entities to their characters.
func entityText(name string) (string, bool) {
	switch name {
	case "lt":
		return "<", true
	case "gt":
		return ">", true
	case "amp":
		return "&", true
	case "quot":
		return `"`, true
	case "apos":
		return "'", true
	}
	return "", false
}

// template returns the compiled template whose definition is at chunk
// offset off (cached per chunk), and the size of the definition.
func (c *Chunk) template(off int) (*template, int, error) {
	d := c.data
	if off < chunkHeaderSize || off+24 > len(d) {
		return nil, 0, fmt.Errorf("template definition offset 0x%x outside the chunk", off)
	}
	size := int(u32(d, off+20))
	if size > len(d)-off-24 {
		return nil, 0, fmt.Errorf("template definition at 0x%x: %w", off, ErrTruncated)
	}
	if t, ok := c.tmpls[uint32(off)]; ok {
		return t, 24 + size, t.err
	}
	var t *template
	var key []byte
	if c.cache != nil {
		kp := parser{c: c, d: d, pos: off + 24, end: off + 24 + size}
		var err error
		if key, err = kp.canon(c.canonBuf[:0]); err == nil {
			c.canonBuf = key
			t = c.cache.get(key)
		} else {
			key = nil
		}
	}
	if t == nil {
		p := parser{c: c, d: d, pos: off + 24, end: off + 24 + size}
		t = &template{}
		t.nodes, t.err = p.nodes(make([]node, 0, size/6+4))
		if t.err == nil {
			t.compile()
			if key != nil {
				c.cache.put(key, t)
			}
		}
	}
	if c.tmpls == nil {
		c.tmpls = make(map[uint32]*template)
	}
	c.tmpls[uint32(off)] = t
	return t, 24 + size, t.err
}

// doc parses the binary XML document at chunk offsets [start, end): a
// fragment holding a template instance (its template and values are
// returned, values appended to vals) or plain elements (a template-less
// program is returned).
func (c *Chunk) doc(start, end int, inValue bool, vals []value) (*template, []value, error) {
	if end > len(c.data) {
		end = len(c.data)
	}
	p := parser{c: c, d: c.data, pos: start, end: end, inValue: inValue}
	for p.pos < p.end && p.d[p.pos] == tokFragment {
		if err := p.need(4); err != nil {
			return nil, vals, err
		}
		p.pos += 4
	}
	if p.pos >= p.end {
		return nil, vals, p.errorf("empty document")
	}
	if p.d[p.pos] != tokTemplate {
		t := &template{}
		t.nodes, t.err = p.nodes(nil)
		if t.err != nil {
			return nil, vals, t.err
		}
		t.compile()
		return t, vals, nil
	}
	if err := p.need(10); err != nil {
		return nil, vals, err
	}
	defOff := int(u32(p.d, p.pos+6))
	p.pos += 10
	t, defSize, err := c.template(defOff)
	if err != nil {
		return nil, vals, err
	}
	if defOff == p.pos {
		p.pos += defSize
	}
	if err := p.need(4); err != nil {
		return nil, vals, err
	}
	n := int(u32(p.d, p.pos))
	p.pos += 4
	if n > (p.end-p.pos)/4 {
		return nil, vals, p.errorf("%d substitution values do not fit in the record", n)
	}
	desc := p.pos
	p.pos += 4 * n
	for i := 0; i < n; i++ {
		size := int(u16(p.d, desc+4*i))
		typ := p.d[desc+4*i+2]
		if err := p.need(size); err != nil {
			return nil, vals, fmt.Errorf("substitution value %d of %d: %w", i, n, err)
		}
		vals = append(vals, value{typ: typ, b: p.d[p.pos : p.pos+size : p.pos+size], off: p.pos})
		p.pos += size
	}
	return t, vals, nil
}

// xop is one step of a template's XML program: write static, then, by
// kind, a substitution value.
type xop struct {
	static []byte
	kind   uint8  // xNone, xContent, xAttrValue, xAttr
	idx    int    // substitution index
	opt    bool   // optional substitution
	prefix []byte // xAttr: " Name='"
}

const (
	xNone      = iota
	xContent   // value as element content
	xAttrValue // value inside an attribute value
	xAttr      // a whole attribute whose value is one substitution: left out when an optional value is empty
)

// compile builds the XML program and the fast-path table of t.nodes.
func (t *template) compile() {
	// All static text goes into one buffer; the ops slice it afterwards.
	var buf []byte
	var ends []int
	flush := func(op xop) {
		ends = append(ends, len(buf))
		t.xml = append(t.xml, op)
	}
	nodes := t.nodes
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		switch n.kind {
		case nStart:
			buf = append(buf, '<')
			buf = append(buf, n.name...)
		case nAttr:
			j := i + 1
			for j < len(nodes) && isValueNode(nodes[j].kind) {
				j++
			}
			vs := nodes[i+1 : j]
			if len(vs) == 1 && vs[0].kind == nSubst {
				flush(xop{kind: xAttr, idx: vs[0].idx, opt: vs[0].opt, prefix: []byte(" " + n.name + "='")})
			} else {
				buf = append(buf, ' ')
				buf = append(buf, n.name...)
				buf = append(buf, '=', '\'')
				for _, v := range vs {
					switch v.kind {
					case nSubst:
						flush(xop{kind: xAttrValue, idx: v.idx})
					case nEntity:
						buf = appendEntity(buf, v.name)
					default:
						buf = appendString(buf, v.text, escAttr)
					}
				}
				buf = append(buf, '\'')
			}
			i = j - 1
		case nCloseStart:
			buf = append(buf, '>')
		case nCloseEmpty:
			buf = append(buf, '/', '>')
		case nEnd:
			buf = append(buf, '<', '/')
			buf = append(buf, n.name...)
			buf = append(buf, '>')
		case nText, nCharRef:
			buf = appendString(buf, n.text, escText)
		case nSubst:
			flush(xop{kind: xContent, idx: n.idx})
		case nEntity:
			buf = appendEntity(buf, n.name)
		case nCDATA:
			buf = append(buf, "<![CDATA["...)
			buf = append(buf, strings.ReplaceAll(n.text, "]]>", "]]]]><![CDATA[>")...)
			buf = append(buf, "]]>"...)
		case nPI:
			target := n.name
			if strings.EqualFold(target, "xml") {
				target = "_" + target
			}
			buf = append(buf, "<?"...)
			buf = append(buf, target...)
			if n.text != "" {
				buf = append(buf, ' ')
				buf = append(buf, strings.ReplaceAll(n.text, "?>", "? >")...)
			}
			buf = append(buf, "?>"...)
		}
	}
	flush(xop{kind: xNone})
	buf = buf[:len(buf):len(buf)]
	start := 0
	for i := range t.xml {
		t.xml[i].static = buf[start:ends[i]]
		start = ends[i]
	}
	t.wfp = compileWFP(t.nodes)
}

func isValueNode(k nodeKind) bool {
	return k == nText || k == nSubst || k == nCharRef || k == nEntity
}

func appendString(dst []byte, s string, mode int) []byte {
	for _, r := range s {
		dst = appendRune(dst, r, mode)
	}
	return dst
}

func appendEntity(dst []byte, name string) []byte {
	if _, ok := entityText(name); ok {
		dst = append(dst, '&')
		dst = append(dst, name...)
		return append(dst, ';')
	}
	// Not a predefined entity: keep it readable but well-formed.
	dst = append(dst, "&amp;"...)
	dst = append(dst, name...)
	return append(dst, ';')
}

// appendXML renders the template instance t with vals.
func (c *Chunk) appendXML(dst []byte, t *template, vals []value, depth int) ([]byte, error) {
	for i := range t.xml {
		op := &t.xml[i]
		dst = append(dst, op.static...)
		if op.kind == xNone {
			continue
		}
		var v value
		if op.idx < len(vals) {
			v = vals[op.idx]
		}
		if len(dst)-c.outStart > maxRecordOutput {
			return dst, errTooLarge
		}
		switch op.kind {
		case xContent:
			if v.typ == typeBinXML {
				var err error
				if dst, err = c.appendNestedXML(dst, v, depth); err != nil {
					return dst, err
				}
				continue
			}
			dst = appendValue(dst, v, escText)
		case xAttrValue:
			if v.typ != typeBinXML {
				dst = appendValue(dst, v, escAttr)
			}
		case xAttr:
			if op.opt && v.isNull() {
				continue
			}
			dst = append(dst, op.prefix...)
			if v.typ != typeBinXML {
				dst = appendValue(dst, v, escAttr)
			}
			dst = append(dst, '\'')
		}
	}
	return dst, nil
}

// nestedBudget bounds the BinXML values rendered for one record, so that
// values repeated by many substitutions cannot blow up exponentially.
const nestedBudget = 64

// maxRecordOutput bounds the rendering of one record (a real record is at
// most 64 KiB of binary XML; substitutions may repeat values, but not to
// this extent).
const maxRecordOutput = 8 << 20

var errTooLarge = fmt.Errorf("record renders to more than %d MiB: skipped", maxRecordOutput>>20)

// spend accounts for one nested BinXML value at depth.
func (c *Chunk) spend(depth int) error {
	if depth >= maxNestedValues {
		return fmt.Errorf("binary XML values nested deeper than %d", maxNestedValues)
	}
	c.budget--
	if c.budget < 0 {
		return fmt.Errorf("more than %d nested binary XML values in one record", nestedBudget)
	}
	return nil
}

// appendNestedXML renders a BinXML substitution value.
func (c *Chunk) appendNestedXML(dst []byte, v value, depth int) ([]byte, error) {
	if len(v.b) == 0 {
		return dst, nil
	}
	if err := c.spend(depth); err != nil {
		return dst, err
	}
	t, vals, err := c.doc(v.off, v.off+len(v.b), true, c.nest[depth][:0])
	c.nest[depth] = vals[:0]
	if err != nil {
		return dst, fmt.Errorf("nested binary XML: %w", err)
	}
	return c.appendXML(dst, t, vals, depth+1)
}
