package ingest

import (
	"bufio"
	"bytes"
	"context"
	"io"
)

func init() {
	Register(Format{
		Name:     "xml-copy",
		Priority: 5,
		Detect:   func(head []byte) bool { return IsEventViewerCopy(utf8Head(head)) },
		Read:     readEventViewerCopy,
	})
}

// IsEventViewerCopy reports whether head (UTF-8) is XML copied from Event
// Viewer's XML view (or any XML shown by Internet Explorer's style sheet):
// its first element's line starts with "- " or "+ ", the marks before
// collapsible elements. The XML declaration, comments and blank lines may
// come first.
func IsEventViewerCopy(head []byte) bool {
	for len(head) > 0 {
		line := head
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			line, head = head[:i], head[i+1:]
		} else {
			head = nil
		}
		t := bytes.TrimSpace(line)
		switch {
		case len(t) == 0, bytes.HasPrefix(t, []byte("<?")), bytes.HasPrefix(t, []byte("<!--")):
			continue
		}
		_, ok := unmark(t)
		return ok
	}
	return false
}

// unmark returns a line (without its leading white space) without the
// "- " or "+ " mark before an element, and whether there was one.
func unmark(t []byte) (rest []byte, collapsed bool) {
	if len(t) < 3 || (t[0] != '-' && t[0] != '+') {
		return t, false
	}
	r := bytes.TrimLeft(t[1:], " \t\u00a0")
	if len(r) == len(t)-1 || len(r) == 0 || r[0] != '<' {
		return t, false
	}
	return r, true
}

// readEventViewerCopy removes the marks and reads what is left with the
// format it then has (Security event XML, or netsh XML shown the same
// way).
func readEventViewerCopy(ctx context.Context, in Input, emit Emit, warn Warn) error {
	br := bufio.NewReaderSize(&unmarkReader{br: bufio.NewReaderSize(utf8Input(in.R), 64<<10), start: true}, 64<<10)
	head, _ := br.Peek(HeadSize)
	for _, f := range Formats() {
		if f.Name != "xml-copy" && f.Detect(head) {
			in.R, in.File = br, nil
			return f.Read(ctx, in, emit, warn)
		}
	}
	return &Problem{Path: in.Name, Err: unknownFormat(head)}
}

// unmarkReader removes, from each line, the "- " or "+ " that Event
// Viewer's XML view puts before a collapsible element. A collapsed element
// ("+ <EventData>") was copied without its content and end tag: it becomes
// empty ("<EventData/>") so that the XML stays well-formed. Lines longer
// than the buffer pass through unchanged after their start.
type unmarkReader struct {
	br    *bufio.Reader
	buf   []byte // output not yet read
	line  []byte // scratch for a rewritten line
	start bool   // the next byte starts a line
	err   error
}

func (u *unmarkReader) Read(p []byte) (int, error) {
	for len(u.buf) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		line, err := u.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			u.err = err
		}
		if len(line) == 0 {
			continue
		}
		atStart := u.start
		u.start = line[len(line)-1] == '\n'
		if !atStart {
			u.buf = line
			continue
		}
		u.buf = u.fix(line)
	}
	n := copy(p, u.buf)
	u.buf = u.buf[n:]
	return n, nil
}

// fix rewrites one line that starts a line of the input.
func (u *unmarkReader) fix(line []byte) []byte {
	ws := len(line) - len(bytes.TrimLeft(line, " \t"))
	rest, ok := unmark(line[ws:])
	if !ok {
		return line
	}
	u.line = append(u.line[:0], line[:ws]...)
	if line[ws] == '+' {
		// Collapsed: "<Name attr=…>" (its content and end tag were not
		// copied) becomes "<Name attr=…/>".
		body := bytes.TrimRight(rest, " \t\r\n")
		eol := rest[len(body):]
		if bytes.HasSuffix(body, []byte(">")) && !bytes.HasSuffix(body, []byte("/>")) && !bytes.Contains(body, []byte("</")) {
			u.line = append(u.line, body[:len(body)-1]...)
			u.line = append(u.line, "/>"...)
			return append(u.line, eol...)
		}
	}
	return append(u.line, rest...)
}

var _ io.Reader = (*unmarkReader)(nil)
