package evtx

import (
	"errors"
	"fmt"
	"strings"
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

// buildTree adds the elements of template instance t to parent.
func (c *Chunk) buildTree(parent *jnode, t *template, vals []value, depth int) error {
	stack := []*jnode{parent}
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
			e := &jnode{name: n.name}
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
			var b []byte
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
			t2, vals2, err := c.doc(v.off, v.off+len(v.b), true, nil)
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
	text := strings.TrimSpace(string(n.text))
	if len(n.attrs) == 0 && len(n.children) == 0 {
		if text == "" {
			return append(dst, "null"...)
		}
		return appendJSONString(dst, text)
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
	// become arrays.
	var order []string
	groups := map[string][]*jnode{}
	for _, ch := range n.children {
		k, _ := ch.key()
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], ch)
	}
	for _, k := range order {
		comma()
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		g := groups[k]
		leafValue := func(dst []byte, ch *jnode) []byte {
			if _, isData := ch.key(); isData {
				t := strings.TrimSpace(string(ch.text))
				if t == "" {
					return append(dst, "null"...)
				}
				return appendJSONString(dst, t)
			}
			return ch.appendJSON(dst)
		}
		if len(g) == 1 {
			dst = leafValue(dst, g[0])
			continue
		}
		dst = append(dst, '[')
		for i, ch := range g {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = leafValue(dst, ch)
		}
		dst = append(dst, ']')
	}
	if text != "" {
		comma()
		dst = append(dst, `"#text":`...)
		dst = appendJSONString(dst, text)
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte {
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
