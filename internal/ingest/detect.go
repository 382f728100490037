package ingest

import (
	"bytes"
	"unicode/utf16"
)

// TextHead returns head as UTF-8 text: a UTF-8 BOM is dropped, and UTF-16
// (LE or BE with a BOM, or LE without one) is decoded. A partial final code
// unit is ignored. Detect functions of text formats use it.
func TextHead(head []byte) []byte {
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		return head[3:]
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		return utf16Decode(head[2:], false)
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		return utf16Decode(head[2:], true)
	case len(head) >= 4 && head[0] != 0 && head[1] == 0 && head[2] != 0 && head[3] == 0:
		return utf16Decode(head, false)
	}
	return head
}

func utf16Decode(b []byte, bigEndian bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	return []byte(string(utf16.Decode(u)))
}

// FirstElement returns the local name of the first XML element in head
// (after an optional BOM, white space, the XML declaration, comments and
// processing instructions), or "" when head does not start like XML.
func FirstElement(head []byte) string {
	b := TextHead(head)
	for {
		b = bytes.TrimLeft(b, " \t\r\n")
		switch {
		case bytes.HasPrefix(b, []byte("<?")):
			i := bytes.Index(b, []byte("?>"))
			if i < 0 {
				return ""
			}
			b = b[i+2:]
		case bytes.HasPrefix(b, []byte("<!--")):
			i := bytes.Index(b, []byte("-->"))
			if i < 0 {
				return ""
			}
			b = b[i+3:]
		case bytes.HasPrefix(b, []byte("<")) && len(b) > 1:
			b = b[1:]
			end := bytes.IndexAny(b, " \t\r\n/>")
			if end <= 0 {
				return ""
			}
			name := b[:end]
			if i := bytes.IndexByte(name, ':'); i >= 0 {
				name = name[i+1:]
			}
			return string(name)
		default:
			return ""
		}
	}
}
