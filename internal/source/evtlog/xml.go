package evtlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseEventXML parses one <Event> element, as Windows renders it
// (EvtRender with EvtRenderEventXml, wevtutil qe /f:xml, Get-WinEvent's
// ToXml()), into rec. rec is reset first; its Data slice is reused.
//
// The parser reads what wfpwatch needs from System (Provider Name, EventID,
// Version, TimeCreated SystemTime, EventRecordID, Computer, Keywords) and
// every EventData <Data Name='…'> item, and skips everything else
// (RenderingInfo, UserData, namespaces, comments). It is a purpose-built
// scanner rather than encoding/xml: it allocates only the strings it keeps
// and is several times faster (see BenchmarkDecode5157). It still rejects
// malformed markup with an error that says what and where.
func ParseEventXML(b []byte, rec *Record) error {
	rec.Reset()
	p := xmlScanner{b: b}
	// Element path, as far as it matters: which parent we are in.
	var (
		inEvent, inSystem, inEventData, inRendering bool
		depth                                       int
		dataName                                    string
		inData                                      bool
		dataText                                    []byte
		haveID                                      bool
		textOf                                      string // System child whose text we want
		stackBuf                                    [16][]byte
	)
	stack := stackBuf[:0]
	for {
		tok, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch tok.kind {
		case tokStart:
			depth++
			name := localName(tok.name)
			if !tok.selfClosing {
				stack = append(stack, tok.name)
			}
			switch {
			case depth == 1:
				if string(name) != "Event" {
					return fmt.Errorf("byte %d of <Event>: root element is <%s>, want <Event>", tok.off, name)
				}
				inEvent = true
			case inRendering:
			case depth == 2 && string(name) == "System":
				inSystem = true
			case depth == 2 && string(name) == "EventData":
				inEventData = true
			case depth == 2 && string(name) == "RenderingInfo":
				inRendering = true
			case inSystem && depth == 3:
				switch string(name) {
				case "Provider":
					if v, ok := tok.attr("Name"); ok {
						rec.Provider = v
					}
				case "TimeCreated":
					if v, ok := tok.attr("SystemTime"); ok {
						t, err := ParseSystemTime(v)
						if err != nil {
							return fmt.Errorf("byte %d of <Event>: TimeCreated: %w", tok.off, err)
						}
						rec.Time = t
					}
				case "EventID", "Version", "EventRecordID", "Computer", "Keywords":
					textOf = string(name)
				}
			case inEventData && depth == 3 && string(name) == "Data":
				dataName = tok.dataName()
				inData = true
				dataText = dataText[:0]
			}
			if tok.selfClosing {
				if inData && depth == 3 {
					rec.Data = append(rec.Data, Field{Name: dataName, Value: ""})
					inData = false
				}
				if textOf != "" {
					textOf = ""
				}
				depth--
			}
		case tokText:
			switch {
			case inData:
				dataText = append(dataText, tok.text...)
			case textOf != "":
				v := strings.TrimSpace(string(tok.text))
				var err error
				switch textOf {
				case "EventID":
					var n uint64
					n, err = strconv.ParseUint(v, 10, 16)
					rec.EventID, haveID = int(n), err == nil
				case "Version":
					var n uint64
					n, err = strconv.ParseUint(v, 10, 8)
					rec.Version = int(n)
				case "EventRecordID":
					rec.RecordID, err = strconv.ParseUint(v, 10, 64)
				case "Computer":
					rec.Computer = v
				case "Keywords":
					rec.Keywords, err = strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(v, "0x"), "0X"), 16, 64)
				}
				if err != nil {
					return fmt.Errorf("byte %d of <Event>: %s %q: %w", tok.off, textOf, truncate(v, 40), errors.Unwrap(err))
				}
			}
		case tokEnd:
			name := localName(tok.name)
			if len(stack) == 0 || !bytes.Equal(stack[len(stack)-1], tok.name) {
				want := "nothing"
				if len(stack) > 0 {
					want = "</" + string(stack[len(stack)-1]) + ">"
				}
				return fmt.Errorf("byte %d of <Event>: %w: </%s> found where %s was expected", tok.off, errSyntax, tok.name, want)
			}
			stack = stack[:len(stack)-1]
			switch {
			case depth == 2 && string(name) == "System":
				inSystem = false
			case depth == 2 && string(name) == "EventData":
				inEventData = false
			case depth == 2 && string(name) == "RenderingInfo":
				inRendering = false
			case inData && depth == 3:
				rec.Data = append(rec.Data, Field{Name: dataName, Value: string(dataText)})
				inData = false
			}
			textOf = ""
			depth--
			if depth == 0 {
				if !inEvent {
					return fmt.Errorf("byte %d of <Event>: no <Event> element", tok.off)
				}
				if !haveID {
					return fmt.Errorf("byte %d of <Event>: <Event> has no System/EventID", tok.off)
				}
				return nil
			}
		}
	}
	if !inEvent {
		return errors.New("no <Event> element")
	}
	return fmt.Errorf("byte %d of <Event>: truncated: <Event> is not closed", len(b))
}

// ParseSystemTime parses the SystemTime attribute of TimeCreated
// ("2016-01-01T10:00:00.1234567Z"; some exporters drop the fraction or the
// Z).
func ParseSystemTime(s string) (time.Time, error) {
	if t, ok := parseWindowsTime(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
		return t2.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time", truncate(s, 40))
}

// parseWindowsTime parses exactly the shape Windows writes,
// "2006-01-02T15:04:05.1234567Z" with 1 to 9 fraction digits, without the
// generality (and cost) of time.Parse.
func parseWindowsTime(s string) (time.Time, bool) {
	if len(s) < 20 || s[len(s)-1] != 'Z' || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, false
	}
	nsec := 0
	if rest := s[19 : len(s)-1]; rest != "" {
		if rest[0] != '.' || len(rest) < 2 || len(rest) > 10 {
			return time.Time{}, false
		}
		f, ok := num(20, len(s)-1)
		if !ok {
			return time.Time{}, false
		}
		for i := len(rest) - 1; i < 9; i++ {
			f *= 10
		}
		nsec = f
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

func localName(name []byte) []byte {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

type tokKind uint8

const (
	tokStart tokKind = iota + 1
	tokEnd
	tokText
)

// token is one piece of markup. Its slices point into the scanner's input
// or its scratch buffer and are valid until the next call to next.
type token struct {
	kind        tokKind
	name        []byte
	attrs       []attr
	selfClosing bool
	text        []byte
	off         int
}

type attr struct {
	name, value []byte
}

// dataName returns the Name attribute of a <Data> element, interned when it
// is a known Filtering Platform field so that no string is allocated.
func (t *token) dataName() string {
	for _, a := range t.attrs {
		if string(localName(a.name)) == "Name" {
			if k := CanonicalField(string(a.value)); k == string(a.value) {
				return k
			}
			return string(a.value)
		}
	}
	return ""
}

func (t *token) attr(name string) (string, bool) {
	for _, a := range t.attrs {
		if string(localName(a.name)) == name {
			return string(a.value), true
		}
	}
	return "", false
}

// xmlScanner tokenizes the XML that Windows renders for events: elements,
// attributes with ' or " quotes, character and entity references, CDATA,
// comments and processing instructions. No DTDs.
type xmlScanner struct {
	b       []byte
	i       int
	tok     token
	scratch []byte
	attrBuf []attr
}

var errSyntax = errors.New("malformed XML")

func (p *xmlScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("byte %d of <Event>: %w: %s", p.i, errSyntax, fmt.Sprintf(format, args...))
}

func (p *xmlScanner) next() (*token, error) {
	b := p.b
	if p.i >= len(b) {
		return nil, io.EOF
	}
	t := &p.tok
	*t = token{off: p.i, attrs: p.attrBuf[:0]}
	if b[p.i] != '<' {
		// Text up to the next '<'.
		j := bytes.IndexByte(b[p.i:], '<')
		if j < 0 {
			j = len(b) - p.i
		}
		raw := b[p.i : p.i+j]
		p.i += j
		text, err := p.unescape(raw)
		if err != nil {
			return nil, err
		}
		t.kind, t.text = tokText, text
		return t, nil
	}
	rest := b[p.i:]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		j := bytes.Index(rest[4:], []byte("-->"))
		if j < 0 {
			return nil, p.errorf("unterminated comment")
		}
		p.i += 4 + j + 3
		return p.next()
	case bytes.HasPrefix(rest, []byte("<?")):
		j := bytes.Index(rest, []byte("?>"))
		if j < 0 {
			return nil, p.errorf("unterminated processing instruction")
		}
		p.i += j + 2
		return p.next()
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		j := bytes.Index(rest[9:], []byte("]]>"))
		if j < 0 {
			return nil, p.errorf("unterminated CDATA section")
		}
		t.kind, t.text = tokText, rest[9:9+j]
		p.i += 9 + j + 3
		return t, nil
	case bytes.HasPrefix(rest, []byte("<!")):
		return nil, p.errorf("DTDs and declarations are not accepted")
	case len(rest) > 1 && rest[1] == '/':
		p.i += 2
		t.kind = tokEnd
		t.name = p.name()
		if len(t.name) == 0 {
			return nil, p.errorf("end tag without a name")
		}
		p.space()
		if p.i >= len(b) || b[p.i] != '>' {
			return nil, p.errorf("end tag </%s> is not closed", t.name)
		}
		p.i++
		return t, nil
	}
	p.i++
	t.kind = tokStart
	t.name = p.name()
	if len(t.name) == 0 {
		return nil, p.errorf("'<' not followed by a name")
	}
	for {
		p.space()
		if p.i >= len(b) {
			return nil, p.errorf("tag <%s> is not closed", t.name)
		}
		switch b[p.i] {
		case '>':
			p.i++
			p.attrBuf = t.attrs
			return t, nil
		case '/':
			if p.i+1 < len(b) && b[p.i+1] == '>' {
				p.i += 2
				t.selfClosing = true
				p.attrBuf = t.attrs
				return t, nil
			}
			return nil, p.errorf("stray '/' in tag <%s>", t.name)
		}
		an := p.name()
		if len(an) == 0 {
			return nil, p.errorf("bad attribute in tag <%s>", t.name)
		}
		p.space()
		if p.i >= len(b) || b[p.i] != '=' {
			return nil, p.errorf("attribute %s has no value", an)
		}
		p.i++
		p.space()
		if p.i >= len(b) || (b[p.i] != '"' && b[p.i] != '\'') {
			return nil, p.errorf("attribute %s value is not quoted", an)
		}
		q := b[p.i]
		j := bytes.IndexByte(b[p.i+1:], q)
		if j < 0 {
			return nil, p.errorf("attribute %s value is not closed", an)
		}
		raw := b[p.i+1 : p.i+1+j]
		p.i += j + 2
		v, err := p.unescapeAttr(raw)
		if err != nil {
			return nil, err
		}
		t.attrs = append(t.attrs, attr{an, v})
	}
}

// nameEnd marks the bytes that end an element or attribute name.
var nameEnd = [256]bool{' ': true, '\t': true, '\r': true, '\n': true, '>': true, '/': true, '=': true, '<': true}

func (p *xmlScanner) name() []byte {
	b, i := p.b, p.i
	for i < len(b) && !nameEnd[b[i]] {
		i++
	}
	start := p.i
	p.i = i
	return b[start:i]
}

func (p *xmlScanner) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// unescapeAttr decodes an attribute value. Values without '&' are returned
// as is (a copy is made only when the caller keeps it as a string).
func (p *xmlScanner) unescapeAttr(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		return raw, nil
	}
	return decodeEntities(nil, raw, p.i)
}

func (p *xmlScanner) unescape(raw []byte) ([]byte, error) {
	if bytes.IndexByte(raw, '&') < 0 {
		return raw, nil
	}
	out, err := decodeEntities(p.scratch[:0], raw, p.i)
	p.scratch = out
	return out, err
}

// decodeEntities appends raw to dst with XML's predefined entities and
// character references decoded. A reference to a code point XML forbids
// (such as &#0;) becomes U+FFFD rather than an error: Windows escapes
// whatever an application logged.
func decodeEntities(dst, raw []byte, off int) ([]byte, error) {
	for len(raw) > 0 {
		amp := bytes.IndexByte(raw, '&')
		if amp < 0 {
			return append(dst, raw...), nil
		}
		dst = append(dst, raw[:amp]...)
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 || semi > 12 {
			return nil, fmt.Errorf("byte %d of <Event>: %w: '&' without a terminated entity", off, errSyntax)
		}
		ent := raw[1:semi]
		raw = raw[semi+1:]
		switch string(ent) {
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "amp":
			dst = append(dst, '&')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			if len(ent) < 2 || ent[0] != '#' {
				return nil, fmt.Errorf("byte %d of <Event>: %w: unknown entity &%s;", off, errSyntax, ent)
			}
			var n uint64
			var err error
			if ent[1] == 'x' || ent[1] == 'X' {
				n, err = strconv.ParseUint(string(ent[2:]), 16, 32)
			} else {
				n, err = strconv.ParseUint(string(ent[1:]), 10, 32)
			}
			if err != nil {
				return nil, fmt.Errorf("byte %d of <Event>: %w: bad character reference &%s;", off, errSyntax, ent)
			}
			r := rune(n)
			if n == 0 || n > utf8.MaxRune || !utf8.ValidRune(r) {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, nil
}
