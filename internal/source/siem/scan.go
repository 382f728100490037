package siem

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting in skipped values.
const maxDepth = 64

// scanner is a small JSON reader specialised for one object per line: it
// records the scalar values of the top-level object and of the few nested
// objects that matter (winlog, event_data…) as slices of the line, and
// skips everything else without building it. Strings are decoded only for
// the values that are kept.
type scanner struct {
	b []byte
	i int
}

// SyntaxError is a JSON syntax error at a byte offset of the line.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

func (s *scanner) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: s.i, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// childParent returns the parent id of the object value of key under
// parent, or -1 for objects that are skipped.
func childParent(parent int8, key []byte) int8 {
	switch parent {
	case pTop:
		switch string(key) {
		case "winlog":
			return pWinlog
		case "event_data", "EventData":
			return pEventData
		case "event":
			return pEvent
		case "host":
			return pHost
		}
	case pWinlog:
		if string(key) == "event_data" {
			return pWinlogData
		}
	}
	return -1
}

// object reads an object whose scalar members are recorded under parent.
func (s *scanner) object(d *Decoder, parent int8, depth int) error {
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return s.errorf("expected an object")
	}
	s.i++
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.skipSpace()
		key, _, err := s.str()
		if err != nil {
			return err
		}
		s.skipSpace()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.errorf("expected ':'")
		}
		s.i++
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end of line")
		}
		switch c := s.b[s.i]; {
		case c == '"':
			v, esc, err := s.str()
			if err != nil {
				return err
			}
			d.entries = append(d.entries, entry{parent: parent, str: true, esc: esc, key: key, val: v})
		case c == '{':
			if cp := childParent(parent, key); cp >= 0 && depth < 2 {
				if err := s.object(d, cp, depth+1); err != nil {
					return err
				}
			} else if err := s.skip(depth + 1); err != nil {
				return err
			} else {
				d.entries = append(d.entries, entry{parent: parent, key: key, kind: '{'})
			}
		case c == '[':
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			d.entries = append(d.entries, entry{parent: parent, key: key, kind: '['})
		default:
			v, err := s.scalar()
			if err != nil {
				return err
			}
			if !(len(v) == 4 && string(v) == "null") {
				d.entries = append(d.entries, entry{parent: parent, key: key, val: v})
			}
		}
		s.skipSpace()
		if s.i >= len(s.b) {
			return s.errorf("unexpected end of line in an object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.errorf("expected ',' or '}'")
		}
	}
}

// str reads a string at s.i and returns its raw contents (escapes not
// decoded) and whether it holds escapes.
func (s *scanner) str() ([]byte, bool, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false, s.errorf("expected a string")
	}
	start := s.i + 1
	j := start
	esc := false
	for {
		k := bytes.IndexByte(s.b[j:], '"')
		if k < 0 {
			s.i = len(s.b)
			return nil, false, s.errorf("unterminated string")
		}
		end := j + k
		// Count the backslashes before the quote: odd means escaped.
		n := 0
		for p := end - 1; p >= start && s.b[p] == '\\'; p-- {
			n++
		}
		if n > 0 {
			esc = true
		}
		if n%2 == 0 {
			if !esc && bytes.IndexByte(s.b[start:end], '\\') >= 0 {
				esc = true
			}
			s.i = end + 1
			return s.b[start:end], esc, nil
		}
		j = end + 1
	}
}

// scalar reads a number or a literal.
func (s *scanner) scalar() ([]byte, error) {
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			break
		}
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E' || c >= 'a' && c <= 'z') {
			return nil, s.errorf("unexpected character %q", c)
		}
		s.i++
	}
	v := s.b[start:s.i]
	if len(v) == 0 {
		return nil, s.errorf("expected a value")
	}
	if c := v[0]; c >= 'a' && c <= 'z' {
		switch string(v) {
		case "true", "false", "null":
		default:
			return nil, &SyntaxError{Offset: start, Msg: fmt.Sprintf("unknown literal %q", truncate(v, 16))}
		}
	}
	return v, nil
}

// skip skips one value of any kind.
func (s *scanner) skip(depth int) error {
	if depth > maxDepth {
		return s.errorf("nested more than %d levels", maxDepth)
	}
	s.skipSpace()
	if s.i >= len(s.b) {
		return s.errorf("unexpected end of line")
	}
	switch s.b[s.i] {
	case '"':
		_, _, err := s.str()
		return err
	case '{', '[':
		open := s.b[s.i]
		closer := byte('}')
		if open == '[' {
			closer = ']'
		}
		s.i++
		s.skipSpace()
		if s.i < len(s.b) && s.b[s.i] == closer {
			s.i++
			return nil
		}
		for {
			s.skipSpace()
			if open == '{' {
				if _, _, err := s.str(); err != nil {
					return err
				}
				s.skipSpace()
				if s.i >= len(s.b) || s.b[s.i] != ':' {
					return s.errorf("expected ':'")
				}
				s.i++
			}
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.skipSpace()
			if s.i >= len(s.b) {
				return s.errorf("unexpected end of line")
			}
			if s.b[s.i] == ',' {
				s.i++
				continue
			}
			if s.b[s.i] == closer {
				s.i++
				return nil
			}
			return s.errorf("expected ',' or %q", closer)
		}
	}
	_, err := s.scalar()
	return err
}

// value returns the entry's value as a Go string, escapes decoded.
func (en *entry) value() string {
	if !en.esc {
		return string(en.val)
	}
	return string(unescape(en.val))
}

// unescape decodes JSON string escapes. Invalid escapes are kept as they
// are; lone surrogates become U+FFFD.
func unescape(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			out = append(out, c)
			continue
		}
		i++
		switch b[i] {
		case '"', '\\', '/':
			out = append(out, b[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(b[i+1:])
			if !ok {
				out = append(out, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
					if r2, ok := hex4(b[i+3:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							out = utf8.AppendRune(out, dec)
							i += 6
							continue
						}
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
		default:
			out = append(out, '\\', b[i])
		}
	}
	return out
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		case c >= 'A' && c <= 'F':
			r |= rune(c-'A') + 10
		default:
			return 0, false
		}
	}
	return r, true
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
