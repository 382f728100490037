package ingest

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// utf8Head returns head as UTF-8 for the Detect functions of the text
// formats in this package (firewall log, JSON lines, netsh XML): a UTF-8
// byte-order mark is dropped and UTF-16 with a byte-order mark (what
// Windows PowerShell 5.1's Out-File and ">" write) is decoded.
func utf8Head(head []byte) []byte {
	switch {
	case len(head) >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
		return head[3:]
	case len(head) >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		return decodeUTF16Bytes(head[2:], false)
	case len(head) >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		return decodeUTF16Bytes(head[2:], true)
	}
	return head
}

func decodeUTF16Bytes(b []byte, be bool) []byte {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if be {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
		}
	}
	out := make([]byte, 0, len(u))
	for _, r := range utf16.Decode(u) {
		out = utf8.AppendRune(out, r)
	}
	return out
}

// utf8Input returns a reader of r's text as UTF-8: a UTF-8 byte-order mark
// is skipped and UTF-16 with a byte-order mark is transcoded on the fly.
// Other input is returned unchanged (buffered).
func utf8Input(r io.Reader) io.Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	b, _ := br.Peek(3)
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		br.Discard(3)
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		br.Discard(2)
		return &utf16Reader{r: br}
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		br.Discard(2)
		return &utf16Reader{r: br, be: true}
	}
	return br
}

// utf16Reader transcodes UTF-16 to UTF-8.
type utf16Reader struct {
	r   *bufio.Reader
	be  bool
	out []byte // transcoded, not yet returned
	hi  uint16 // a pending high surrogate
	err error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		var in [8192]byte
		n, err := io.ReadFull(u.r, in[:])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			u.err = io.EOF
		} else if err != nil {
			u.err = err
		}
		n &^= 1 // a lone final byte is dropped
		for i := 0; i < n; i += 2 {
			var c uint16
			if u.be {
				c = uint16(in[i])<<8 | uint16(in[i+1])
			} else {
				c = uint16(in[i]) | uint16(in[i+1])<<8
			}
			switch {
			case u.hi != 0:
				r := utf16.DecodeRune(rune(u.hi), rune(c))
				u.hi = 0
				if r == utf8.RuneError && !utf16.IsSurrogate(rune(c)) {
					// Unpaired high surrogate: emit a replacement and
					// keep c.
					u.out = utf8.AppendRune(u.out, utf8.RuneError)
					u.out = utf8.AppendRune(u.out, rune(c))
					continue
				}
				u.out = utf8.AppendRune(u.out, r)
			case c >= 0xD800 && c < 0xDC00:
				u.hi = c
			default:
				u.out = utf8.AppendRune(u.out, rune(c))
			}
		}
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}
