package ingest

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/orient"
)

// FileStats says what Walk did with one input file or archive member.
type FileStats struct {
	// Path names the input: the path as found, and for an archive member
	// the archive's path, "!" and the member's name ("logs.zip!a.json").
	Path string
	// Container lists the layers unwrapped to reach the data, outermost
	// first ("zip", "gzip", "tar", "bzip2"); empty for a plain file.
	Container []string
	// Format is the detected format's Name, or "" when the input was not
	// recognized or could not be opened.
	Format string
	// Events counts the events emitted from this input; Problems the
	// problems reported for it (warn was called that many times).
	Events, Problems uint64
	// Unwanted counts the events the reader skipped undecoded because
	// WalkOptions.Want rejected their id (readers that honour Want report
	// them; others emit every event).
	Unwanted uint64
	// Other counts the records the reader skipped because they are not
	// Filtering Platform events (readers of event logs report them).
	Other uint64
	// Err is the error that stopped this input early (also reported
	// through warn), or nil.
	Err error
}

// Stats is what Walk did, input by input, in the order read.
type Stats struct {
	Files    []FileStats
	Events   uint64 // sum of Files[i].Events
	Problems uint64 // problems reported, all inputs together
	Unwanted uint64 // sum of Files[i].Unwanted
	Other    uint64 // sum of Files[i].Other
}

// maxNesting bounds archives within archives ("a.tar.gz" is two layers).
const maxNesting = 4

// Walk reads every input named by paths with the registered formats and is
// the entry point of "wfpwatch analyze".
//
// Each path is a file, a directory, or "-" for standard input. With
// recursive, a directory is read file by file in lexical order, its
// subdirectories too; without it, a directory is skipped with a problem
// saying to add -r (as "wfpwatch analyze" wants). Symbolic links to files
// are followed; links to directories are not followed while recursing (no
// loops).
//
// Every input is unwrapped before detection, whatever its name: gzip and
// bzip2 streams are decompressed, and zip and tar archives (also as
// .tar.gz / .tgz) are opened and each member is read as an input of its
// own, named "archive!member". Then the format is detected by content
// (Detect) and read. Standard input holding a zip archive is spooled to a
// temporary file, which is removed afterwards.
//
// emit receives every event; events whose FilePath the reader left empty
// get the input's name. warn receives every problem, and reading goes on:
// an unreadable or unrecognized file is reported (a *Problem wrapping
// ErrUnknownFormat, or the open error) and skipped. Walk returns early,
// with that error, only when ctx is done or emit returns an error; the
// Stats returned hold what was read until then.
//
// Walk is not safe for concurrent use of the same emit and warn functions
// unless they are; it calls them from the calling goroutine only.
func Walk(ctx context.Context, paths []string, recursive bool, emit Emit, warn Warn) (Stats, error) {
	return WalkWith(ctx, paths, WalkOptions{Recursive: recursive}, emit, warn)
}

// WalkOptions tune WalkWith.
type WalkOptions struct {
	// Recursive descends into directories.
	Recursive bool
	// Want, when not nil, is passed to every input as Input.Want: readers
	// may skip the events whose audit event id it rejects before decoding
	// them. It is a hint for speed; emit must still filter.
	Want func(code int) bool
	// Progress, when not nil, is called on the walking goroutine as a
	// file named on the command line or found in a directory is read:
	// its path, the byte offset read up to (compressed bytes for a
	// compressed file) and its size (-1 when unknown); a last call has
	// pos == size. Standard input is not reported.
	Progress func(path string, pos, size int64)
	// Client, when not nil, is passed to every input as Input.Client.
	Client func(c orient.Client) error
	// Boot, when not nil, is passed to every input as Input.Boot.
	Boot func(host string, at time.Time)
}

// WalkWith is Walk with options.
func WalkWith(ctx context.Context, paths []string, opts WalkOptions, emit Emit, warn Warn) (Stats, error) {
	w := walker{ctx: ctx, emit: emit, warn: warn, want: opts.Want, progress: opts.Progress, client: opts.Client, boot: opts.Boot, spool: newSpooler()}
	for _, p := range paths {
		if err := w.path(p, opts.Recursive); err != nil {
			return w.st, err
		}
	}
	return w.st, nil
}

type walker struct {
	ctx  context.Context
	emit Emit
	warn Warn
	want func(code int) bool
	// progress is WalkOptions.Progress.
	progress func(path string, pos, size int64)
	client   func(c orient.Client) error     // WalkOptions.Client
	boot     func(host string, at time.Time) // WalkOptions.Boot
	st       Stats
	cur      *FileStats // the input being read, for counting
	// spool is the temporary-file budget of this walk, shared by every
	// level of nesting.
	spool *spooler
}

// problem reports p against the current input.
func (w *walker) problem(p *Problem) {
	w.st.Problems++
	if w.cur != nil {
		w.cur.Problems++
	}
	w.warn(p)
}

func (w *walker) path(p string, recursive bool) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if p == "-" {
		r, release := guard(w.ctx, os.Stdin, false)
		defer release()
		return w.input(Input{Name: "-", R: r, Size: -1}, nil, 0)
	}
	st, err := os.Stat(p)
	if err != nil {
		w.openFailed(p, err)
		return nil
	}
	if !st.IsDir() {
		return w.file(p, st)
	}
	if !recursive {
		w.problem(&Problem{Path: p, Err: errors.New("is a directory: add -r to read the files in it")})
		return nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		w.openFailed(p, err)
		return nil
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		child := filepath.Join(p, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			// Follow links to files; never recurse through a link.
			st, err := os.Stat(child)
			if err != nil {
				w.openFailed(child, err)
				continue
			}
			if st.IsDir() {
				w.problem(&Problem{Path: child, Err: errors.New("symbolic link to a directory: not followed")})
				continue
			}
			mode = st.Mode().Type()
		}
		if mode&^fs.ModeDir != 0 {
			// A FIFO would block the walk until something writes to it,
			// a device could read forever: read those only when named.
			w.problem(&Problem{Path: child, Err: fmt.Errorf("not a regular file (%s): skipped; name it on the command line to read it", modeName(mode))})
			continue
		}
		if err := w.path(child, recursive); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) openFailed(p string, err error) {
	w.st.Files = append(w.st.Files, FileStats{Path: p, Err: err})
	w.cur = &w.st.Files[len(w.st.Files)-1]
	hint := ""
	if errors.Is(err, fs.ErrPermission) {
		hint = " (permission denied: run as a user who can read it, e.g. an administrator for files under System32\\LogFiles)"
	}
	w.problem(&Problem{Path: p, Err: fmt.Errorf("open: %w%s", err, hint)})
	w.cur = nil
}

// modeName names the kind of a file that is not regular.
func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

func (w *walker) file(p string, st fs.FileInfo) error {
	f, err := openInput(w.ctx, p, st)
	if err != nil {
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		w.openFailed(p, err)
		return nil
	}
	defer f.Close()
	in := Input{Name: p, R: f, Size: -1}
	regular := false
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		in.Size = st.Size()
		in.File = f
		regular = true
	}
	r, release := guard(w.ctx, f, regular)
	defer release()
	in.R = r
	if w.progress != nil {
		var at int64
		in.Progress = func(pos int64) {
			if pos > at {
				at = pos
				if in.Size >= 0 {
					pos = min(pos, in.Size)
				}
				w.progress(p, pos, in.Size)
			}
		}
		in.R = &countingReader{r: r, pos: in.Progress}
		defer func() { w.progress(p, max(in.Size, at), in.Size) }()
	}
	return w.input(in, nil, 0)
}

// countingReader reports how far its reader has been read.
type countingReader struct {
	r   io.Reader
	n   int64
	pos func(int64)
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	c.pos(c.n)
	return n, err
}

// progressReaderAt reports the furthest offset read through it.
type progressReaderAt struct {
	r   io.ReaderAt
	pos func(int64)
}

func (p progressReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := p.r.ReadAt(b, off)
	p.pos(off + int64(n))
	return n, err
}

// input unwraps compression and archives and reads what is inside.
func (w *walker) input(in Input, layers []string, depth int) error {
	br := bufio.NewReaderSize(in.R, 64<<10)
	head, _ := br.Peek(HeadSize)
	kind := containerOf(head)
	if kind != "" && depth >= maxNesting {
		w.begin(in.Name, layers)
		w.fail(fmt.Errorf("%s nested more than %d levels deep: skipped", kind, maxNesting))
		return nil
	}
	layers = append(layers[:len(layers):len(layers)], kind)
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(br)
		if err != nil {
			w.begin(in.Name, layers)
			w.fail(fmt.Errorf("gzip: %w", err))
			return nil
		}
		defer zr.Close()
		return w.input(Input{Name: in.Name, R: zr, Size: -1}, layers, depth+1)
	case "bzip2":
		return w.input(Input{Name: in.Name, R: bzip2.NewReader(br), Size: -1}, layers, depth+1)
	case "tar":
		return w.tar(in.Name, br, layers, depth)
	case "zip":
		return w.zip(in, br, layers, depth)
	}
	layers = layers[:len(layers)-1]
	in.R = br
	in.spool = w.spool
	w.begin(in.Name, layers)
	cur := w.cur
	if w.want != nil {
		in.Want = w.want
		in.Unwanted = func(n int) { cur.Unwanted += uint64(n); w.st.Unwanted += uint64(n) }
	}
	in.Other = func(n int) { cur.Other += uint64(n); w.st.Other += uint64(n) }
	in.Client = w.client
	in.Boot = w.boot
	f, err := ReadInput(w.ctx, in, w.countEmit(in.Name), w.problem)
	cur.Format = f.Name
	w.cur = nil
	return w.finish(cur, err)
}

// begin starts the stats of one leaf input.
func (w *walker) begin(name string, layers []string) {
	w.st.Files = append(w.st.Files, FileStats{Path: name, Container: layers})
	w.cur = &w.st.Files[len(w.st.Files)-1]
}

// fail reports err for the current input and ends it.
func (w *walker) fail(err error) {
	w.cur.Err = err
	w.problem(&Problem{Path: w.cur.Path, Err: err})
	w.cur = nil
}

// finish ends an input read with ReadInput: emit and ctx errors stop the
// walk, anything else is reported and the walk goes on.
func (w *walker) finish(cur *FileStats, err error) error {
	if err == nil {
		return nil
	}
	if w.ctx.Err() != nil || errors.Is(err, errStop) {
		cur.Err = err
		return unwrapStop(err)
	}
	cur.Err = err
	w.st.Problems++
	cur.Problems++
	var p *Problem
	if errors.As(err, &p) {
		w.warn(p)
	} else {
		w.warn(&Problem{Path: cur.Path, Err: err})
	}
	return nil
}

// errStop marks an error returned by the caller's emit, which stops Walk.
var errStop = errors.New("stopped by the event consumer")

type stopError struct{ err error }

func (e *stopError) Error() string   { return e.err.Error() }
func (e *stopError) Unwrap() []error { return []error{e.err, errStop} }
func unwrapStop(err error) error {
	var s *stopError
	if errors.As(err, &s) {
		return s.err
	}
	return err
}

func (w *walker) countEmit(name string) Emit {
	cur := w.cur
	return func(e *event.Event) error {
		if e.FilePath == "" {
			e.FilePath = name
		}
		cur.Events++
		w.st.Events++
		if err := w.emit(e); err != nil {
			return &stopError{err}
		}
		return nil
	}
}

func (w *walker) tar(name string, r io.Reader, layers []string, depth int) error {
	tr := tar.NewReader(r)
	members := 0
	for {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.begin(name, layers)
			w.fail(fmt.Errorf("tar: %w", err))
			return nil
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		members++
		if err := w.input(Input{Name: name + "!" + h.Name, R: tr, Size: h.Size}, layers, depth+1); err != nil {
			return err
		}
	}
	if members == 0 {
		w.begin(name, layers)
		w.fail(errors.New("tar archive holds no files"))
	}
	return nil
}

func (w *walker) zip(in Input, br *bufio.Reader, layers []string, depth int) error {
	ra, size := io.ReaderAt(in.File), in.Size
	if in.File != nil && in.Progress != nil {
		ra = progressReaderAt{r: in.File, pos: in.Progress}
	}
	if in.File == nil || size < 0 {
		// Zip needs random access: spool the stream to a temporary file.
		tmp, n, cleanup, err := w.spool.spool(w.ctx, br, "zip archive")
		if err != nil {
			if w.ctx.Err() != nil {
				return w.ctx.Err()
			}
			w.begin(in.Name, layers)
			w.fail(fmt.Errorf("zip: %w", err))
			return nil
		}
		defer cleanup()
		ra, size = tmp, n
	}
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		w.begin(in.Name, layers)
		w.fail(fmt.Errorf("zip: %w (is the archive complete?)", err))
		return nil
	}
	members := 0
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		members++
		name := in.Name + "!" + zf.Name
		rc, err := zf.Open()
		if err != nil {
			w.begin(name, layers)
			w.fail(fmt.Errorf("zip: %w", err))
			continue
		}
		err = w.input(Input{Name: name, R: rc, Size: int64(zf.UncompressedSize64)}, layers, depth+1)
		rc.Close()
		if err != nil {
			return err
		}
	}
	if members == 0 {
		w.begin(in.Name, layers)
		w.fail(errors.New("zip archive holds no files"))
	}
	return nil
}

// containerOf names the compression or archive format whose signature
// starts head, or returns "".
func containerOf(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x03\x04")),
		len(head) >= 4 && bytes.Equal(head[:4], []byte("PK\x05\x06")):
		return "zip"
	case len(head) >= 4 && head[0] == 'B' && head[1] == 'Z' && head[2] == 'h' && head[3] >= '1' && head[3] <= '9':
		return "bzip2"
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return "tar"
	}
	return ""
}
