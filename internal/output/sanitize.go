package output

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// TermSafe returns s fit to print on a terminal: text that comes from the
// monitored host or from an input file (process paths, rule names, archive
// member and file names) must not be able to move the cursor, recolour,
// retitle or reorder what an analyst reads. It shows as a visible escape
// instead:
//   - C0 controls (ESC, BEL, NUL, CR, LF, TAB…) and DEL as \x1b, \a-style
//     Go escapes (\x07, \n…);
//   - C1 controls U+0080–U+009F (U+009B is a one-character CSI) as \u009b;
//   - bidirectional overrides and isolates U+202A–U+202E, U+2066–U+2069 and
//     the marks U+200E, U+200F, U+061C as \u202e…;
//   - invalid UTF-8 bytes (a raw 0x9B is CSI to an 8-bit terminal) as \x9b.
//
// Everything else, including non-Latin text, is kept. It allocates only
// when s needs a change. Every output that meets a terminal uses it: the
// table, --summary and the problem lines on standard error.
func TermSafe(s string) string {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return termEscape(s, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || unsafeRune(r) {
			return termEscape(s, i)
		}
		i += size
	}
	return s
}

// unsafeRune reports whether r is a C1 control or a bidirectional
// control that a terminal would act on.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true
	}
	return false
}

// termEscape rewrites s from byte i on (s[:i] is safe).
func termEscape(s string, i int) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\x`)
				b.WriteString(hex2(c))
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteString(hex2(c))
		case unsafeRune(r):
			b.WriteString(`\u`)
			h := strconv.FormatInt(int64(r), 16)
			b.WriteString(strings.Repeat("0", 4-len(h)))
			b.WriteString(h)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// csvClean is TermSafe for a CSV cell: `cat out.csv` must not run escape
// sequences either. Line breaks and tabs stay (quoted cells hold them
// legitimately); every other control, C1 and bidi character is escaped.
func csvClean(s string) string {
	if !strings.ContainsAny(s, "\n\r\t") {
		return TermSafe(s)
	}
	var b strings.Builder
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\n' || c == '\r' || c == '\t' {
			b.WriteString(TermSafe(s[start:i]))
			b.WriteByte(c)
			start = i + 1
		}
	}
	b.WriteString(TermSafe(s[start:]))
	return b.String()
}
