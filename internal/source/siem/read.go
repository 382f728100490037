package siem

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// MaxLine is the longest line Read accepts (Message texts make lines of a
// few kilobytes; some exports inline much more).
const MaxLine = 16 << 20

// giveUpAfter is how many unreadable lines at the start of an input make
// Read stop: the input is JSON of another kind, and a problem per line
// would bury the one useful message.
const giveUpAfter = 20

// Stats counts what Read saw.
type Stats struct {
	Lines   uint64           // non-blank lines
	Records uint64           // Filtering Platform records handed to fn
	Skipped uint64           // well-formed lines of other event ids
	Bad     uint64           // lines reported as problems
	Shapes  map[Shape]uint64 // lines by shape, WFP or not
}

// LineError is a problem with one line; reading goes on.
type LineError struct {
	Line uint64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrAssumedUTC is reported once per input, at the first line whose time
// is an NXLog EventTime with no zone and nothing else on the line to
// recover its offset from.
var ErrAssumedUTC = errors.New("NXLog EventTime has no time zone (it is the local time of the source host) and the line has no @timestamp or EventReceivedTime to recover the offset from: read as UTC, so times may be off by the source host's UTC offset (this and later lines)")

// TypeError lists the fields of a record that had the wrong type (an
// object where a string was expected, a record id that is not a number):
// they were left out, and the rest of the record was read.
type TypeError struct{ Fields []string }

func (e *TypeError) Error() string {
	return strings.Join(e.Fields, "; ") + " (left out; the rest of the event was read)"
}

// Read reads JSON lines from r and calls fn with the Record of every
// Filtering Platform event (rec is reused: fn copies what it keeps) and
// warn for each line it could not read. It returns fn's error, ctx's
// error, a read error, or an error saying the input is not an export of a
// known shape when its first lines are all unreadable.
func Read(ctx context.Context, r io.Reader, fn func(rec *evtlog.Record, line uint64) error, warn func(*LineError)) (Stats, error) {
	return ReadWith(ctx, r, ReadOptions{}, fn, warn)
}

// ReadOptions are the options of ReadWith.
type ReadOptions struct {
	// Logon hands logon and share-access records (4624/4625/5140/5145)
	// to fn too (see Decoder.Logon); fn tells them by their EventID.
	Logon bool
	// Boot hands boot markers (evtlog.IsBootID) to fn too (Decoder.Boot).
	Boot bool
}

// ReadWith is Read with options.
func ReadWith(ctx context.Context, r io.Reader, opts ReadOptions, fn func(rec *evtlog.Record, line uint64) error, warn func(*LineError)) (Stats, error) {
	st := Stats{Shapes: map[Shape]uint64{}}
	br := bufio.NewReaderSize(r, 1<<20)
	d := Decoder{Logon: opts.Logon, Boot: opts.Boot}
	var rec evtlog.Record
	var long []byte
	var lineNo uint64
	good := false
	warnedUTC := false
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= MaxLine {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
			if len(long) > MaxLine {
				lineNo++
				st.Bad++
				warn(&LineError{lineNo, fmt.Errorf("line longer than %d bytes; skipped", MaxLine)})
				for errors.Is(err, bufio.ErrBufferFull) {
					_, err = br.ReadSlice('\n')
				}
				line = nil
			}
		}
		if err != nil && err != io.EOF {
			return st, fmt.Errorf("read: %w", err)
		}
		if len(line) > 0 {
			// Blank lines count too: gigabytes of them still stop on
			// Ctrl+C.
			if lineNo++; lineNo&1023 == 0 {
				if cerr := ctx.Err(); cerr != nil {
					return st, cerr
				}
			}
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			st.Lines++
			shape, derr := d.Record(t, &rec)
			switch {
			case derr == nil:
				good = true
				st.Shapes[shape]++
				st.Records++
				if d.AssumedUTC() && !warnedUTC {
					warnedUTC = true
					warn(&LineError{lineNo, ErrAssumedUTC})
				}
				if tp := d.TypeProblems(); len(tp) > 0 {
					warn(&LineError{lineNo, &TypeError{Fields: append([]string(nil), tp...)}})
				}
				if ferr := fn(&rec, lineNo); ferr != nil {
					return st, ferr
				}
			case errors.Is(derr, ErrSkipped):
				good = true
				st.Shapes[shape]++
				st.Skipped++
			default:
				st.Bad++
				warn(&LineError{lineNo, derr})
				if !good && st.Bad >= giveUpAfter {
					return st, fmt.Errorf("the first %d lines are not Winlogbeat or NXLog JSON events (last: %v); giving up on this input", giveUpAfter, derr)
				}
			}
		}
		if err == io.EOF {
			return st, nil
		}
	}
}

// Detect reports whether head (UTF-8) looks like JSON lines: its first
// non-blank byte opens an object whose first key is a string.
func Detect(head []byte) bool {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) < 2 || t[0] != '{' {
		return false
	}
	t = bytes.TrimLeft(t[1:], " \t\r\n")
	return len(t) > 0 && t[0] == '"'
}
