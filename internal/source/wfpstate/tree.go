package wfpstate

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// node is one element of an item read with readTree: its local name, its
// text (leaf elements only) and its child elements. Building this small
// tree from raw tokens is several times cheaper than xml.DecodeElement,
// which matters on 4 MB dumps.
type node struct {
	name string
	text string
	kids []*node
}

// readTree reads the element opened by start up to its end. Nesting is
// already bounded by the xmlguard.Reader under the decoder.
func readTree(d *xml.Decoder, start xml.StartElement) (*node, error) {
	root := &node{name: start.Name.Local}
	stack := []*node{root}
	for len(stack) > 0 {
		tok, err := d.RawToken()
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name.Local}
			top.kids = append(top.kids, n)
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(top.kids) == 0 {
				// Trimmed before the copy: most text between elements is
				// indentation, which then costs no allocation.
				if b := bytes.TrimSpace(t); len(b) > 0 {
					top.text += string(b)
				}
			}
		}
	}
	return root, nil
}

// child returns the first child element named name, or an empty node.
func (n *node) child(name string) *node {
	if n != nil {
		for _, k := range n.kids {
			if k.name == name {
				return k
			}
		}
	}
	return &node{}
}

// get follows a path of child names and returns the text found there.
func (n *node) get(path ...string) string {
	for _, p := range path {
		n = n.child(p)
	}
	return n.text
}

// items returns the texts of the <item> children of the child named name
// (a flags list).
func (n *node) items(name string) []string {
	var out []string
	for _, k := range n.child(name).kids {
		if k.name == "item" {
			out = append(out, k.text)
		}
	}
	return out
}

// value renders an FWP_VALUE0 or FWP_CONDITION_VALUE0 element: a range as
// "low-high", a byte blob by its string form when netsh gave one, anything
// else as its leaf texts.
func (n *node) value() string {
	var parts []string
	for _, k := range n.kids {
		if k.name != "type" {
			parts = append(parts, k.render())
		}
	}
	return strings.Join(parts, " ")
}

func (n *node) render() string {
	if len(n.kids) == 0 {
		return n.text
	}
	var parts []string
	for _, k := range n.kids {
		switch k.name {
		case "type":
			continue
		case "asString":
			return k.render()
		}
		parts = append(parts, k.render())
	}
	if n.name == "rangeValue" {
		return strings.Join(parts, "-")
	}
	return strings.Join(parts, " ")
}
