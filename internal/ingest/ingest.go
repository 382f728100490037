// Package ingest reads saved files of any supported format into the event
// model: it detects each input's format by content (never by extension
// alone), hands it to that format's reader, and reports what could not be
// read without stopping.
//
// Each format registers itself from its own file in this package
// (format_xml.go, format_evtx.go, …) with Register.
package ingest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// HeadSize is how many bytes of an input Detect functions see.
const HeadSize = 4096

// Input is one input to read.
type Input struct {
	// Name is the path the user gave ("-" for standard input); it is put in
	// every Problem and in Event.FilePath.
	Name string
	// R reads the input from its start. Readers must not assume it is
	// seekable.
	R io.Reader
	// File is the open file when the input is a regular file, for readers
	// that want random access (the .evtx reader reads chunks in parallel);
	// nil for standard input and decompressed streams. R and File share the
	// file offset: a reader uses one or the other.
	File *os.File
	// Size is the file size in bytes, or -1 when unknown.
	Size int64
	// Want, when not nil, says which audit event ids the consumer wants.
	// A reader may skip the others before decoding them (the .evtx reader
	// does: a Security log is mostly permits, which analyze shows only with
	// --permits); readers that do not still emit them, so it is a hint for
	// speed, never a filter the consumer can rely on.
	Want func(code int) bool
	// Unwanted, set with Want, is how a reader that honours Want reports
	// that it skipped n events, from the goroutine that calls emit.
	Unwanted func(n int)
	// Other, when not nil, is how a reader reports that it skipped n
	// records that are not Filtering Platform events (other event ids of
	// a Security log, a System log's records), from the goroutine that
	// calls emit, so that an input without WFP events can say what it
	// held.
	Other func(n int)
	// Client, when not nil, receives the client a logon or share access
	// record (4624/4625/5140/5145) names, from the goroutine that calls
	// emit, as evidence of which end of an inbound event is remote
	// (orient.Orienter.Client). Such records are still counted as Other.
	Client func(c orient.Client) error
	// Boot, when not nil, receives the computer and time of each boot
	// marker (evtlog.Boot: 4608, Kernel-General 12/13, EventLog
	// 6005/6006/6008/6009) a reader skips, from the goroutine that calls
	// emit: run-time filter ids hold only between two of them. Such records
	// are still counted as Other.
	Boot func(host string, at time.Time)
	// Progress, when not nil, is how a reader that reads File with ReadAt
	// reports that it has read the file up to byte offset pos (readers of
	// R are counted as they read).
	Progress func(pos int64)

	// spool, when not nil, is the temporary-file budget of the Walk this
	// input belongs to.
	spool *spooler
}

// otherRecord handles a record that is not a Filtering Platform event: it
// is counted as Other, and a boot marker or a logon's client is handed to
// Boot or Client as evidence.
func (in *Input) otherRecord(rec *evtlog.Record) error {
	if in.Other != nil {
		in.Other(1)
	}
	if in.Boot != nil {
		if host, at, ok := evtlog.Boot(rec); ok {
			in.Boot(host, at)
		}
	}
	if in.Client != nil {
		if c, ok := evtlog.Client(rec); ok {
			return in.Client(c)
		}
	}
	return nil
}

// Emit receives each decoded event. The event is only valid during the
// call: readers reuse it, so a consumer that keeps it copies it. Returning
// an error stops the reader, which returns that error.
type Emit func(e *event.Event) error

// Warn receives a problem that was skipped over. Reading goes on.
type Warn func(p *Problem)

// Problem says what could not be read, where and why.
type Problem struct {
	Path  string // the input's Name
	Where string // "offset 4096", "line 17", "chunk 3 record 1200"…
	Err   error
}

func (p *Problem) Error() string {
	if p.Where == "" {
		return fmt.Sprintf("%s: %v", p.Path, p.Err)
	}
	return fmt.Sprintf("%s: %s: %v", p.Path, p.Where, p.Err)
}

func (p *Problem) Unwrap() error { return p.Err }

// Format is one kind of input.
type Format struct {
	// Name is the short name shown to users ("xml", "evtx", "fwlog", "json",
	// "netsh").
	Name string
	// Priority orders detection: lower runs first. Use it when one format's
	// signature is a prefix of another's.
	Priority int
	// Detect reports whether head (the first HeadSize bytes, or fewer for a
	// short input) looks like this format.
	Detect func(head []byte) bool
	// Read decodes every event of in, calling emit for each and warn for
	// each part it had to skip. It returns an error only when it cannot go
	// on at all (or when emit or ctx stop it).
	Read func(ctx context.Context, in Input, emit Emit, warn Warn) error
}

var (
	mu      sync.Mutex
	formats []Format
)

// Register adds a format. It is called from init functions.
func Register(f Format) {
	mu.Lock()
	defer mu.Unlock()
	formats = append(formats, f)
	sort.SliceStable(formats, func(i, j int) bool { return formats[i].Priority < formats[j].Priority })
}

// Formats returns the registered formats in detection order.
func Formats() []Format {
	mu.Lock()
	defer mu.Unlock()
	return append([]Format(nil), formats...)
}

// ErrUnknownFormat is what an input no format recognizes is: the error
// returned is an *UnknownFormatError, which says what the input looked
// like, and matches ErrUnknownFormat with errors.Is.
var ErrUnknownFormat = errors.New("unrecognized format (expected Security event XML, .evtx, pfirewall.log, Winlogbeat/NXLog JSON lines or netsh wfp XML)")

// Detect returns the format of an input whose first bytes are head.
func Detect(head []byte) (Format, bool) {
	for _, f := range Formats() {
		if f.Detect(head) {
			return f, true
		}
	}
	return Format{}, false
}

// ReadInput detects the format of in and reads it. in.R must read from the
// start of the input; ReadInput buffers it to look at its head.
func ReadInput(ctx context.Context, in Input, emit Emit, warn Warn) (Format, error) {
	br := bufio.NewReaderSize(ctxReader{ctx, in.R}, 64<<10)
	head, err := br.Peek(HeadSize)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		return Format{}, &Problem{Path: in.Name, Err: fmt.Errorf("read: %w", err)}
	}
	f, ok := Detect(head)
	if !ok {
		return Format{}, &Problem{Path: in.Name, Err: unknownFormat(head)}
	}
	in.R = br
	return f, f.Read(ctx, in, (&fingerprints{}).wrap(emit), warn)
}

// ReadFile opens path ("-" for standard input) and reads it with
// ReadInput.
func ReadFile(ctx context.Context, path string, emit Emit, warn Warn) (Format, error) {
	if path == "-" {
		r, release := guard(ctx, os.Stdin, false)
		defer release()
		return ReadInput(ctx, Input{Name: "-", R: r, Size: -1}, emit, warn)
	}
	st, _ := os.Stat(path)
	f, err := openInput(ctx, path, st)
	if err != nil {
		return Format{}, err
	}
	defer f.Close()
	size := int64(-1)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		size = st.Size()
	}
	r, release := guard(ctx, f, size >= 0)
	defer release()
	in := Input{Name: path, R: r, Size: size}
	if size >= 0 {
		in.File = f
	}
	return ReadInput(ctx, in, emit, warn)
}
