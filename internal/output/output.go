// Package output writes events for people and machines: a width-aware table
// for terminals, NDJSON in ECS shape, and CSV. Forwarders (syslog, OTLP)
// implement the same Writer.
package output

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Writer receives events one at a time. Write must not keep e after it
// returns. Close flushes buffered output; it does not close the underlying
// io.Writer.
type Writer interface {
	Write(e *event.Event) error
	Close() error
}

// Formats lists the names New accepts.
var Formats = []string{"table", "json", "csv"}

// Options tunes a Writer.
type Options struct {
	// Width is the terminal width for the table; 0 means unlimited (not a
	// terminal).
	Width int
	// FlushEach flushes after every event, for live streams.
	FlushEach bool
	// Location is the time zone of times in the table; nil means local
	// time. JSON and CSV are always UTC.
	Location *time.Location
	// Wide makes the table cut nothing, even on a terminal, and show
	// process paths instead of names (--wide).
	Wide bool
}

// New returns a Writer of the named format writing to w.
func New(format string, w io.Writer, opt Options) (Writer, error) {
	switch strings.ToLower(format) {
	case "table", "":
		return NewTable(w, opt), nil
	case "json", "ndjson":
		return NewJSON(w, opt), nil
	case "csv":
		return NewCSV(w, opt), nil
	}
	return nil, fmt.Errorf("unknown output format %q (want one of %s)", format, strings.Join(Formats, ", "))
}

// jsonWriter writes one ECS JSON object per line.
type jsonWriter struct {
	w    *bufio.Writer
	buf  []byte
	each bool
}

// NewJSON returns a Writer of newline-delimited ECS JSON.
func NewJSON(w io.Writer, opt Options) Writer {
	return &jsonWriter{w: bufio.NewWriterSize(w, 64<<10), each: opt.FlushEach}
}

func (j *jsonWriter) Write(e *event.Event) error {
	j.buf = e.AppendOutputJSON(j.buf[:0])
	j.buf = append(j.buf, '\n')
	if _, err := j.w.Write(j.buf); err != nil {
		return err
	}
	if j.each {
		return j.w.Flush()
	}
	return nil
}

func (j *jsonWriter) Close() error { return j.w.Flush() }
