package evtx

import (
	"bytes"
	"errors"
	"fmt"
)

var errEmptyRecord = errors.New("record holds no element")

// jnode is an element of the JSON rendering.
type jnode struct {
	name     string
	attrs    []jattr
	children []*jnode
	text     []byte
}

type jattr struct{ name, value string }

// jarena hands out the jnodes of one record's JSON tree. Nodes live in
// fixed blocks that are never moved, so pointers to them stay valid; reset
// makes them all available again for the next record, keeping the
// capacity of their slices.
type jarena struct {
	blocks [][]jnode
	n      int // nodes handed out since reset
}

const jarenaBlock = 128

func (a *jarena) reset() { a.n = 0 }

func (a *jarena) node(name string) *jnode {
	b, i := a.n/jarenaBlock, a.n%jarenaBlock
	if b == len(a.blocks) {
		a.blocks = append(a.blocks, make([]jnode, jarenaBlock))
	}
	a.n++
	n := &a.blocks[b][i]
	*n = jnode{name: name, attrs: n.attrs[:0], children: n.children[:0], text: n.text[:0]}
	return n
}

// buildTree adds the elements of template instance t to parent.
func (c *Chunk) buildTree(parent *jnode, t *template, vals []value, depth int) error {
	var buf [16]*jnode
	stack := append(buf[:0], parent)
	get := func(idx int) value {
		if idx < len(vals) {
			return vals[idx]
		}
		return value{}
	}
	nodes := t.nodes
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		top := stack[len(stack)-1]
		switch n.kind {
		case nStart:
			e := c.jarena.node(n.name)
			top.children = append(top.children, e)
			stack = append(stack, e)
		case nAttr:
			j := i + 1
			for j < len(nodes) && isValueNode(nodes[j].kind) {
				j++
			}
			vs := nodes[i+1 : j]
			i = j - 1
			if len(vs) == 1 && vs[0].kind == nSubst && vs[0].opt && get(vs[0].idx).isNull() {
				continue
			}
			b := c.jattr[:0]
			for _, v := range vs {
				switch v.kind {
				case nSubst:
					if x := get(v.idx); x.typ != typeBinXML {
						b = appendValue(b, x, escNone)
					}
				case nEntity:
					s, _ := entityText(v.name)
					b = append(b, s...)
				default:
					b = append(b, v.text...)
				}
			}
			top.attrs = append(top.attrs, jattr{n.name, string(b)})
			c.jattr = b[:0]
		case nCloseEmpty, nEnd:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
		case nText, nCharRef, nCDATA:
			top.text = append(top.text, n.text...)
		case nEntity:
			s, _ := entityText(n.name)
			top.text = append(top.text, s...)
		case nSubst:
			v := get(n.idx)
			c.outStart -= len(v.b) * 2
			if c.outStart < -maxRecordOutput {
				return errTooLarge
			}
			if v.typ != typeBinXML {
				top.text = appendValue(top.text, v, escNone)
				continue
			}
			if len(v.b) == 0 {
				continue
			}
			if err := c.spend(depth); err != nil {
				return err
			}
			t2, vals2, err := c.doc(v.off, v.off+len(v.b), true, c.nest[depth][:0])
			c.nest[depth] = vals2[:0]
			if err != nil {
				return fmt.Errorf("nested binary XML: %w", err)
			}
			if err := c.buildTree(top, t2, vals2, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// key is the JSON member name of n inside its parent: the Name attribute
// of an EventData-style <Data Name='X'> leaf, else the element name.
func (n *jnode) key() (string, bool) {
	if n.name == "Data" && len(n.attrs) == 1 && n.attrs[0].name == "Name" && len(n.children) == 0 {
		return n.attrs[0].value, true
	}
	return n.name, false
}

// appendJSON appends n's value.
func (n *jnode) appendJSON(dst []byte) []byte {
	text := bytes.TrimSpace(n.text)
	if len(n.attrs) == 0 && len(n.children) == 0 {
		if len(text) == 0 {
			return append(dst, "null"...)
		}
		return appendJSONBytes(dst, text)
	}
	dst = append(dst, '{')
	first := true
	comma := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	if len(n.attrs) > 0 {
		comma()
		dst = append(dst, `"#attributes":{`...)
		for i, a := range n.attrs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, a.name)
			dst = append(dst, ':')
			dst = appendJSONString(dst, a.value)
		}
		dst = append(dst, '}')
	}
	// Children grouped by key, in order of first appearance; repeated keys
	// become arrays. An element has a few dozen children at most in real
	// logs, so the groups are found by scanning; past that a map keeps a
	// crafted record from costing quadratic time.
	var seen map[string]bool
	if len(n.children) > 32 {
		seen = make(map[string]bool)
	}
	for i, ch := range n.children {
		k, _ := ch.key()
		if seen != nil {
			if seen[k] {
				continue
			}
			seen[k] = true
		} else if n.keyBefore(k, i) {
			continue
		}
		comma()
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		count := 0
		for _, o := range n.children[i:] {
			if ok, _ := o.key(); ok == k {
				count++
			}
		}
		if count == 1 {
			dst = ch.appendLeaf(dst)
			continue
		}
		dst = append(dst, '[')
		j := 0
		for _, o := range n.children[i:] {
			if ok, _ := o.key(); ok == k {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = o.appendLeaf(dst)
				j++
			}
		}
		dst = append(dst, ']')
	}
	if len(text) > 0 {
		comma()
		dst = append(dst, `"#text":`...)
		dst = appendJSONBytes(dst, text)
	}
	return append(dst, '}')
}

// keyBefore reports whether a child before index i has key k.
func (n *jnode) keyBefore(k string, i int) bool {
	for _, o := range n.children[:i] {
		if ok, _ := o.key(); ok == k {
			return true
		}
	}
	return false
}

// appendLeaf appends the value of child ch: the text of a <Data Name='X'>
// item, else the element.
func (ch *jnode) appendLeaf(dst []byte) []byte {
	if _, isData := ch.key(); isData {
		t := bytes.TrimSpace(ch.text)
		if len(t) == 0 {
			return append(dst, "null"...)
		}
		return appendJSONBytes(dst, t)
	}
	return ch.appendJSON(dst)
}

func appendJSONString(dst []byte, s string) []byte { return appendJSON(dst, s) }

func appendJSONBytes(dst []byte, b []byte) []byte { return appendJSON(dst, b) }

func appendJSON[S string | []byte](dst []byte, s S) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
