package evtx

import (
	"encoding/binary"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// Value types of BinXML substitution values ([MS-EVEN6] 2.2.18 / libevtx
// "Value types"). The array flag 0x80 may be or-ed with the scalar types.
const (
	typeNull      = 0x00
	typeString    = 0x01
	typeAnsi      = 0x02
	typeInt8      = 0x03
	typeUint8     = 0x04
	typeInt16     = 0x05
	typeUint16    = 0x06
	typeInt32     = 0x07
	typeUint32    = 0x08
	typeInt64     = 0x09
	typeUint64    = 0x0a
	typeReal32    = 0x0b
	typeReal64    = 0x0c
	typeBool      = 0x0d
	typeBinary    = 0x0e
	typeGUID      = 0x0f
	typeSizeT     = 0x10
	typeFiletime  = 0x11
	typeSystime   = 0x12
	typeSID       = 0x13
	typeHexInt32  = 0x14
	typeHexInt64  = 0x15
	typeEvtHandle = 0x20
	typeBinXML    = 0x21
	typeEvtXML    = 0x23
	typeArray     = 0x80
)

// value is one substitution value of a template instance: its declared
// type and its bytes, a sub-slice of the chunk (never copied).
type value struct {
	typ byte
	b   []byte
	off int // chunk offset of b, for nested BinXML
}

// isNull reports whether v renders as nothing.
func (v value) isNull() bool { return v.typ == typeNull || len(v.b) == 0 && v.typ != typeString }

// le helpers that never panic: a short slice reads as zero-padded.
func u16(b []byte, off int) uint16 {
	if off < 0 || off+2 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint16(b[off:])
}

func u32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

func u64(b []byte, off int) uint64 {
	if off < 0 || off+8 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint64(b[off:])
}

// filetimeEpoch is 1601-01-01 in seconds before the Unix epoch.
const filetimeEpoch = 11644473600

// FiletimeToTime converts a Windows FILETIME (100 ns ticks since 1601) to a
// UTC time.
func FiletimeToTime(ft uint64) time.Time {
	sec := int64(ft/1e7) - filetimeEpoch
	nsec := int64(ft%1e7) * 100
	return time.Unix(sec, nsec).UTC()
}

// appendTime7 appends t as Windows renders event times in XML:
// 2016-01-01T00:00:00.0000000Z (UTC, seven fractional digits = 100 ns).
func appendTime7(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.AppendFormat(dst, "2006-01-02T15:04:05.0000000Z")
	}
	h, mi, s := t.Clock()
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(mo), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, t.Nanosecond()/100, 7)
	return append(dst, 'Z')
}

func appendDigits(dst []byte, v, n int) []byte {
	var buf [10]byte
	for i := n - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, buf[:n]...)
}

const hexLower = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// appendGUID appends a little-endian GUID as {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}.
func appendGUID(dst, b []byte) []byte {
	if len(b) < 16 {
		return appendHexUpper(dst, b)
	}
	dst = append(dst, '{')
	d1 := binary.LittleEndian.Uint32(b)
	d2 := binary.LittleEndian.Uint16(b[4:])
	d3 := binary.LittleEndian.Uint16(b[6:])
	dst = appendHexN(dst, uint64(d1), 8)
	dst = append(dst, '-')
	dst = appendHexN(dst, uint64(d2), 4)
	dst = append(dst, '-')
	dst = appendHexN(dst, uint64(d3), 4)
	dst = append(dst, '-')
	dst = appendHexUpper(dst, b[8:10])
	dst = append(dst, '-')
	dst = appendHexUpper(dst, b[10:16])
	return append(dst, '}')
}

func appendHexN(dst []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		dst = append(dst, hexUpper[(v>>(uint(i)*4))&15])
	}
	return dst
}

// appendSID appends a binary SID in its S-R-I-S… string form.
func appendSID(dst, b []byte) []byte {
	if len(b) < 8 {
		return appendHexUpper(dst, b)
	}
	n := int(b[1])
	if 8+4*n > len(b) {
		return appendHexUpper(dst, b)
	}
	dst = append(dst, 'S', '-')
	dst = strconv.AppendUint(dst, uint64(b[0]), 10)
	dst = append(dst, '-')
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	if auth >= 1<<32 {
		dst = append(dst, '0', 'x')
		dst = appendHexN(dst, auth, 12)
	} else {
		dst = strconv.AppendUint(dst, auth, 10)
	}
	for i := 0; i < n; i++ {
		dst = append(dst, '-')
		dst = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10)
	}
	return dst
}

// appendSystime appends a SYSTEMTIME in the same form as FILETIMEs.
func appendSystime(dst, b []byte) []byte {
	if len(b) < 16 {
		return appendHexUpper(dst, b)
	}
	y, mo, d := int(u16(b, 0)), int(u16(b, 2)), int(u16(b, 6))
	h, mi, s, ms := int(u16(b, 8)), int(u16(b, 10)), int(u16(b, 12)), int(u16(b, 14))
	if y > 9999 || mo > 99 || d > 99 || h > 99 || mi > 99 || s > 99 || ms > 999 {
		return appendHexUpper(dst, b)
	}
	dst = appendDigits(dst, y, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, mo, 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, d, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, h, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, mi, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, s, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, ms*10000, 7)
	return append(dst, 'Z')
}

// xmlSafe reports whether r may appear in XML 1.0 text.
func xmlSafe(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// escape modes for appendRune.
const (
	escNone = iota // plain text (Record values, JSON input)
	escText        // XML character data
	escAttr        // XML attribute value in single or double quotes
)

// appendRune appends r, escaped for mode. Characters that XML cannot carry
// (control characters, lone surrogates) become U+FFFD in every mode, so that
// the XML and the direct paths give identical strings.
func appendRune(dst []byte, r rune, mode int) []byte {
	if r < 0x80 {
		c := byte(r)
		if mode != escNone {
			switch c {
			case '&':
				return append(dst, "&amp;"...)
			case '<':
				return append(dst, "&lt;"...)
			case '>':
				return append(dst, "&gt;"...)
			case '\'':
				if mode == escAttr {
					return append(dst, "&apos;"...)
				}
			case '"':
				if mode == escAttr {
					return append(dst, "&quot;"...)
				}
			case '\t', '\n', '\r':
				if mode == escAttr {
					// Attribute-value normalization would turn them into spaces.
					dst = append(dst, '&', '#')
					dst = strconv.AppendUint(dst, uint64(c), 10)
					return append(dst, ';')
				}
			}
		}
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return utf8.AppendRune(dst, utf8.RuneError)
		}
		return append(dst, c)
	}
	if !xmlSafe(r) {
		r = utf8.RuneError
	}
	return utf8.AppendRune(dst, r)
}

// plainASCII[mode][c] reports whether the ASCII byte c is copied as is in
// mode.
var plainASCII = func() (t [3][256]bool) {
	for mode := range t {
		for c := 0x20; c < 0x80; c++ {
			t[mode][c] = true
		}
		t[mode]['\t'], t[mode]['\n'], t[mode]['\r'] = true, true, true
		if mode != escNone {
			t[mode]['&'], t[mode]['<'], t[mode]['>'] = false, false, false
		}
		if mode == escAttr {
			t[mode]['\''], t[mode]['"'] = false, false
			t[mode]['\t'], t[mode]['\n'], t[mode]['\r'] = false, false, false
		}
	}
	return t
}()

// appendUTF16 appends the UTF-16LE string b, without trailing NULs, escaped
// for mode. Invalid surrogates become U+FFFD.
func appendUTF16(dst, b []byte, mode int) []byte {
	n := len(b) / 2
	for n > 0 && b[2*n-2] == 0 && b[2*n-1] == 0 {
		n--
	}
	plain := &plainASCII[mode]
	for i := 0; i < n; i++ {
		lo, hi := b[2*i], b[2*i+1]
		if hi == 0 && plain[lo] {
			dst = append(dst, lo)
			continue
		}
		c := rune(lo) | rune(hi)<<8
		if c >= 0xD800 && c < 0xE000 {
			if c < 0xDC00 && i+1 < n {
				c2 := rune(b[2*i+2]) | rune(b[2*i+3])<<8
				if c2 >= 0xDC00 && c2 < 0xE000 {
					dst = appendRune(dst, 0x10000+(c-0xD800)<<10+(c2-0xDC00), mode)
					i++
					continue
				}
			}
			c = utf8.RuneError
		}
		dst = appendRune(dst, c, mode)
	}
	return dst
}

// appendAnsi appends a code-page string (taken as Latin-1, the best guess
// without the writer's code page), without trailing NULs.
func appendAnsi(dst, b []byte, mode int) []byte {
	for len(b) > 0 && b[len(b)-1] == 0 {
		b = b[:len(b)-1]
	}
	for _, c := range b {
		dst = appendRune(dst, rune(c), mode)
	}
	return dst
}

// scalarSize is the element size of a fixed-size type, or 0.
func scalarSize(t byte) int {
	switch t {
	case typeInt8, typeUint8:
		return 1
	case typeInt16, typeUint16:
		return 2
	case typeInt32, typeUint32, typeReal32, typeBool, typeHexInt32:
		return 4
	case typeInt64, typeUint64, typeReal64, typeFiletime, typeHexInt64:
		return 8
	case typeGUID, typeSystime:
		return 16
	}
	return 0
}

// appendScalar appends one value of scalar type t (not an array, not
// BinXML) as Windows renders it.
func appendScalar(dst []byte, t byte, b []byte, mode int) []byte {
	switch t {
	case typeNull:
		return dst
	case typeString:
		return appendUTF16(dst, b, mode)
	case typeAnsi:
		return appendAnsi(dst, b, mode)
	case typeInt8:
		if len(b) >= 1 {
			return strconv.AppendInt(dst, int64(int8(b[0])), 10)
		}
	case typeUint8:
		if len(b) >= 1 {
			return strconv.AppendUint(dst, uint64(b[0]), 10)
		}
	case typeInt16:
		if len(b) >= 2 {
			return strconv.AppendInt(dst, int64(int16(u16(b, 0))), 10)
		}
	case typeUint16:
		if len(b) >= 2 {
			return strconv.AppendUint(dst, uint64(u16(b, 0)), 10)
		}
	case typeInt32:
		if len(b) >= 4 {
			return strconv.AppendInt(dst, int64(int32(u32(b, 0))), 10)
		}
	case typeUint32:
		if len(b) >= 4 {
			return strconv.AppendUint(dst, uint64(u32(b, 0)), 10)
		}
	case typeInt64:
		if len(b) >= 8 {
			return strconv.AppendInt(dst, int64(u64(b, 0)), 10)
		}
	case typeUint64:
		if len(b) >= 8 {
			return strconv.AppendUint(dst, u64(b, 0), 10)
		}
	case typeReal32:
		if len(b) >= 4 {
			return appendFloat(dst, float64(math.Float32frombits(u32(b, 0))), 32)
		}
	case typeReal64:
		if len(b) >= 8 {
			return appendFloat(dst, math.Float64frombits(u64(b, 0)), 64)
		}
	case typeBool:
		if len(b) >= 1 {
			for _, c := range b {
				if c != 0 {
					return append(dst, "true"...)
				}
			}
			return append(dst, "false"...)
		}
	case typeGUID:
		return appendGUID(dst, b)
	case typeSizeT, typeHexInt32, typeHexInt64:
		var v uint64
		switch {
		case len(b) >= 8:
			v = u64(b, 0)
		case len(b) >= 4:
			v = uint64(u32(b, 0))
		default:
			return appendHexUpper(dst, b)
		}
		dst = append(dst, '0', 'x')
		return strconv.AppendUint(dst, v, 16)
	case typeFiletime:
		if len(b) >= 8 {
			return appendTime7(dst, FiletimeToTime(u64(b, 0)))
		}
	case typeSystime:
		return appendSystime(dst, b)
	case typeSID:
		return appendSID(dst, b)
	}
	// Binary, handles, unknown types and short values: upper-case hex.
	return appendHexUpper(dst, b)
}

func appendFloat(dst []byte, f float64, bits int) []byte {
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendValue appends v (a scalar or an array, never BinXML) rendered as
// text, escaped for mode. Array elements are joined with commas.
func appendValue(dst []byte, v value, mode int) []byte {
	if v.typ&typeArray == 0 {
		return appendScalar(dst, v.typ, v.b, mode)
	}
	t := v.typ &^ typeArray
	b := v.b
	first := true
	sep := func() {
		if !first {
			dst = append(dst, ',')
		}
		first = false
	}
	switch t {
	case typeString:
		for len(b) >= 2 {
			end := 0
			for end+1 < len(b) && (b[end] != 0 || b[end+1] != 0) {
				end += 2
			}
			if end+1 >= len(b) {
				end = len(b) &^ 1
			}
			sep()
			dst = appendUTF16(dst, b[:end], mode)
			if end+2 > len(b) {
				break
			}
			b = b[end+2:]
		}
		return dst
	case typeAnsi:
		for len(b) > 0 {
			end := 0
			for end < len(b) && b[end] != 0 {
				end++
			}
			sep()
			dst = appendAnsi(dst, b[:end], mode)
			if end+1 > len(b) {
				break
			}
			b = b[end+1:]
		}
		return dst
	case typeSID:
		for len(b) >= 8 {
			n := 8 + 4*int(b[1])
			if n > len(b) {
				n = len(b)
			}
			sep()
			dst = appendSID(dst, b[:n])
			b = b[n:]
		}
		return dst
	}
	size := scalarSize(t)
	if t == typeSizeT {
		size = 8
		if len(b)%8 != 0 {
			size = 4
		}
	}
	if size == 0 {
		return appendHexUpper(dst, b)
	}
	for len(b) >= size {
		sep()
		dst = appendScalar(dst, t, b[:size], mode)
		b = b[size:]
	}
	return dst
}

// valueUint returns v as an unsigned number when it is an integer type.
func valueUint(v value) (uint64, bool) {
	switch v.typ {
	case typeUint8, typeInt8:
		if len(v.b) >= 1 {
			return uint64(v.b[0]), true
		}
	case typeUint16, typeInt16:
		if len(v.b) >= 2 {
			return uint64(u16(v.b, 0)), true
		}
	case typeUint32, typeInt32, typeHexInt32:
		if len(v.b) >= 4 {
			return uint64(u32(v.b, 0)), true
		}
	case typeUint64, typeInt64, typeHexInt64, typeSizeT:
		if len(v.b) >= 8 {
			return u64(v.b, 0), true
		}
		if len(v.b) >= 4 {
			return uint64(u32(v.b, 0)), true
		}
	}
	return 0, false
}
