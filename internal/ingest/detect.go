package ingest

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
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

// AcceptedFormats names the inputs wfpwatch reads, for messages about one
// it does not.
const AcceptedFormats = "Security event XML (wevtutil qe /f:xml, Get-WinEvent ToXml, copied from Event Viewer's XML view), .evtx, " +
	"pfirewall.log, Winlogbeat/NXLog JSON lines, netsh wfp show netevents / wfpdiag.xml"

// UnknownFormatError says what an input no format recognized looked like.
// It matches ErrUnknownFormat with errors.Is.
type UnknownFormatError struct {
	Start string // the input's first characters, quoted ('{"foo"'), or "" when empty
	What  string // what they look like ("JSON, but not Winlogbeat/NXLog Security events")
}

func (e *UnknownFormatError) Error() string {
	if e.Start == "" {
		return "unrecognized format: " + e.What + "; accepted: " + AcceptedFormats
	}
	return "unrecognized format: starts with " + e.Start + " — " + e.What + "; accepted: " + AcceptedFormats
}

// Is makes errors.Is(err, ErrUnknownFormat) true.
func (e *UnknownFormatError) Is(target error) bool { return target == ErrUnknownFormat }

// unknownFormat describes an input whose first bytes are head and that no
// format recognized.
func unknownFormat(head []byte) *UnknownFormatError {
	raw := head
	t := bytes.TrimLeft(TextHead(head), " \t\r\n")
	if len(t) == 0 {
		if len(raw) == 0 {
			return &UnknownFormatError{What: "the input is empty"}
		}
		return &UnknownFormatError{What: "the input holds only white space"}
	}
	e := &UnknownFormatError{Start: quoteStart(t, 24)}
	switch {
	case bytes.HasPrefix(raw, []byte("ElfChnk\x00")):
		e.What = "an .evtx chunk without the file header (wfpwatch evtx dump --carve can recover its records)"
	case bytes.HasPrefix(raw, []byte("MZ")):
		e.What = "a Windows program, not a log"
	case binaryStart(t):
		e.Start = fmt.Sprintf("bytes % x", raw[:min(len(raw), 8)])
		if len(raw) > 8 {
			e.Start += " …"
		}
		e.What = "binary data, not a log or a known archive"
	case t[0] == '[':
		e.What = "a JSON array, not JSON lines: export one Winlogbeat/NXLog event object per line"
	case t[0] == '{':
		e.What = "JSON, but not Winlogbeat/NXLog Security events"
	case t[0] == '<':
		switch name := FirstElement(t); name {
		case "":
			e.What = "XML-like text that does not start with an element"
		case "wfpstate", "firewallState", "filters":
			e.What = "a netsh wfp show state/filters dump: it describes filters, not the events they blocked"
		default:
			e.What = "XML whose first element is <" + name + ">, not Security event XML (<Event>, <Events>) or netsh wfp XML (<netEvents>, <netEvent>, <wfpdiag>)"
		}
	case w3cDirective(t):
		e.What = "a W3C-style log whose #Fields: are not the Windows Firewall's (date time action protocol src-ip dst-ip …)"
	default:
		e.What = "text that is none of the formats read"
	}
	return e
}

// w3cDirective reports whether t starts with a W3C extended log directive
// ("#Version:", "#Fields:", "#Software:", "#Date:").
func w3cDirective(t []byte) bool {
	for _, d := range []string{"#Version:", "#Fields:", "#Software:", "#Date:", "#Remark:"} {
		if bytes.HasPrefix(t, []byte(d)) {
			return true
		}
	}
	return false
}

// notSecurityJSON describes JSON lines none of which is a Winlogbeat or
// NXLog Security event.
func notSecurityJSON(head []byte) *UnknownFormatError {
	t := bytes.TrimLeft(head, " \t\r\n")
	return &UnknownFormatError{Start: quoteStart(t, 24), What: "JSON, but not Winlogbeat/NXLog Security events"}
}

// binaryStart reports whether t (decoded text) holds control characters
// other than white space in its first bytes.
func binaryStart(t []byte) bool {
	for _, c := range t[:min(len(t), 64)] {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f {
			return true
		}
	}
	return false
}

// quoteStart returns up to n characters of t's first line in single
// quotes, with control characters and invalid UTF-8 escaped ("\x00"), and
// "…" when cut.
func quoteStart(t []byte, n int) string {
	if i := bytes.IndexAny(t, "\r\n"); i >= 0 {
		t = t[:i]
	}
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; len(t) > 0; i++ {
		if i == n {
			b.WriteString("…")
			break
		}
		r, size := utf8.DecodeRune(t)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, t[0])
		case r == '\'' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		t = t[size:]
	}
	b.WriteByte('\'')
	return b.String()
}
