package fwlog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// MaxLine is the longest line the readers accept; longer lines are skipped
// and reported. Real lines are about 100 bytes.
const MaxLine = 64 << 10

// Stats counts what Read saw.
type Stats struct {
	Lines  uint64 // lines read, headers and blanks included
	Events uint64 // ALLOW and DROP lines emitted
	Drops  uint64 // DROP lines emitted
	Lost   uint64 // events the firewall reported lost (INFO-EVENTS-LOST)
	Bad    uint64 // lines skipped as unreadable
}

// LineError is a problem with one line; reading goes on.
type LineError struct {
	Line uint64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Read parses a whole firewall log from r, calling emit for each ALLOW and
// DROP line and warn (with a *LineError) for each line it had to skip and
// for each INFO-EVENTS-LOST line. The event passed to emit is reused for
// the next line: emit copies what it keeps. Read stops when emit returns an
// error (and returns it), when ctx is done, or at the end of r.
//
// Each event gets a Fingerprint from its line's text, its line number and
// the file's identity (fileIdentity), so that the same log read again,
// renamed, copied or compressed, is stored once in the history.
//
// NUL bytes are dropped before lines are split: a crash leaves the log
// padded with a run of them, and the firewall writes its next line right
// after; the line is read, and the runs are reported once at the end.
func Read(ctx context.Context, r io.Reader, p *Parser, emit func(*event.Event) error, warn func(error)) (Stats, error) {
	var st Stats
	nf := &nulFilter{r: r}
	defer nf.report(warn)
	br := bufio.NewReaderSize(nf, MaxLine)
	var ev event.Event
	var id fileIdentity
	var text []byte
	inner := emit
	emit = func(e *event.Event) error {
		e.Fingerprint = event.LineFingerprint(id.sum, st.Lines, text)
		return inner(e)
	}
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			st.Lines++
			warn(&LineError{st.Lines, fmt.Errorf("line longer than %d bytes; skipped", MaxLine)})
			st.Bad++
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err == io.EOF {
				return st, nil
			}
			if err != nil {
				return st, fmt.Errorf("read: %w", err)
			}
			continue
		}
		if len(line) > 0 {
			st.Lines++
			if st.Lines&4095 == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return st, cerr
				}
			}
			text = trimEOL(line)
			if !id.done {
				id.add(text)
			}
			if e := handleLine(p, line, st.Lines, &ev, &st, emit, warn); e != nil {
				return st, e
			}
		}
		if err == io.EOF {
			return st, nil
		}
		if err != nil {
			return st, fmt.Errorf("read: %w", err)
		}
	}
}

// nulFilter drops the NUL bytes of r, counting them, their runs, and the
// line where the first run lies.
type nulFilter struct {
	r           io.Reader
	lines       uint64 // newlines passed
	nuls, runs  uint64
	firstLine   uint64
	lastWasNull bool
}

func (f *nulFilter) Read(p []byte) (int, error) {
	for {
		n, err := f.r.Read(p)
		b := p[:n]
		if bytes.IndexByte(b, 0) < 0 {
			f.lines += uint64(bytes.Count(b, []byte{'\n'}))
			if n > 0 {
				f.lastWasNull = false
			}
			return n, err
		}
		w := 0
		for _, c := range b {
			if c == 0 {
				f.nuls++
				if !f.lastWasNull {
					if f.runs++; f.runs == 1 {
						f.firstLine = f.lines + 1
					}
				}
				f.lastWasNull = true
				continue
			}
			if c == '\n' {
				f.lines++
			}
			f.lastWasNull = false
			b[w] = c
			w++
		}
		if w > 0 || err != nil {
			return w, err
		}
	}
}

// report says what was dropped, once.
func (f *nulFilter) report(warn func(error)) {
	if f.nuls == 0 {
		return
	}
	warn(&LineError{f.firstLine, fmt.Errorf("%d NUL bytes in %d runs skipped (padding a crash or an unfinished copy leaves); the lines around them were read", f.nuls, f.runs)})
}

// handleLine parses one line and hands the result on; it returns only
// emit's error. Leading NUL bytes (padding a crash left, when the caller
// has not dropped them) are ignored, and a line of nothing else is skipped.
func handleLine(p *Parser, line []byte, lineNo uint64, ev *event.Event, st *Stats, emit func(*event.Event) error, warn func(error)) error {
	if len(line) > 0 && line[0] == 0 {
		line = bytes.TrimLeft(line, "\x00")
		if len(bytes.TrimSpace(line)) == 0 {
			return nil
		}
	}
	res, err := p.ParseLine(line, lineNo, ev)
	if err != nil && res.Kind != LineEvent && res.Kind != LineLost {
		st.Bad++
		warn(&LineError{lineNo, err})
		return nil
	}
	if err != nil {
		warn(&LineError{lineNo, err})
	}
	switch res.Kind {
	case LineLost:
		st.Lost += res.Lost
		warn(&LineError{lineNo, &LostError{res.Lost}})
	case LineEvent:
		st.Events++
		if ev.Verdict != event.VerdictPermit {
			st.Drops++
		}
		return emit(ev)
	}
	return nil
}

// Detect reports whether head (the first bytes of an input, UTF-8) looks
// like a Windows Firewall log: a W3C header naming the firewall or the
// firewall's columns, or a first line shaped like a firewall log entry.
func Detect(head []byte) bool {
	if bytes.Contains(head, []byte("#Software: Microsoft Windows Firewall")) {
		return true
	}
	if i := bytes.Index(head, []byte("#Fields:")); i >= 0 {
		rest := head[i:]
		if j := bytes.IndexByte(rest, '\n'); j >= 0 {
			rest = rest[:j]
		}
		return bytes.Contains(rest, []byte(" action")) && bytes.Contains(rest, []byte("src-ip"))
	}
	// A headerless excerpt: "2021-06-22 12:19:41 DROP UDP …".
	line := head
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	var p Parser
	var ev event.Event
	res, _ := p.ParseLine(line, 1, &ev)
	return res.Kind == LineEvent || res.Kind == LineLost
}

// fileIdentity identifies a firewall log by its first lines: a SHA-256 of
// every line up to and including the first that is not a header or blank
// (the header alone is the same in every log; its first record, to the
// second, is not). It stays the same as the log grows, when it is renamed
// to pfirewall.log.old, copied or compressed. Line ends do not count.
type fileIdentity struct {
	h    hash.Hash
	sum  [32]byte
	done bool
}

func (f *fileIdentity) add(line []byte) {
	if f.h == nil {
		f.h = sha256.New()
	}
	f.h.Write(line)
	f.h.Write([]byte{'\n'})
	if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
		f.h.Sum(f.sum[:0])
		f.done, f.h = true, nil
	}
}
