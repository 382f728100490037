package fwlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// fpSize is how many bytes at the start of the log identify it. The
// firewall starts every log with the same header (about 170 bytes), so the
// fingerprint also covers the first data lines once they exist.
const fpSize = 4096

// Position is where a Tailer is in the log; it is persisted as JSON in
// Tailer.StatePath, like an event-log bookmark.
type Position struct {
	Path   string `json:"path"`   // the log followed
	Offset int64  `json:"offset"` // bytes of complete lines already handed on
	Line   uint64 `json:"line"`   // lines before Offset
	// FPLen and FPSHA256 fingerprint the log: the SHA-256 of its first
	// FPLen bytes (at most 4096). A file whose start differs is another
	// file (rotated or rewritten).
	FPLen    int    `json:"fp_len"`
	FPSHA256 string `json:"fp_sha256"`
}

// Tailer follows a live firewall log: it reads the lines appended since the
// last poll, follows the firewall's rotation to "<log>.old" and a truncated
// or recreated log, and persists its position so that a restart goes on
// where it stopped.
//
// The log is opened for each poll and closed again, and on Windows with
// FILE_SHARE_DELETE: wfpwatch never holds the file and never stands in the
// way of the firewall renaming it. Between polls the Tailer keeps the
// identity of the file it read; after a rotation it finishes the renamed
// file (found at "<log>.old") from its position, then reads the new log
// from its start, so no line is lost or read twice. Two rotations within
// one poll interval would lose the file in between; the firewall rotates
// when the log reaches its size limit (4 MB by default), so that needs
// megabytes per second of logging. The Tailer reports that case.
//
// Lines are handed on before the position is saved: after a crash the
// lines of the last poll may be handed on again (at least once); after a
// clean stop, exactly once.
//
// A Tailer is used by one goroutine.
type Tailer struct {
	// Path is the log to follow (the firewall's LogFilePath, by default
	// %SystemRoot%\System32\LogFiles\Firewall\pfirewall.log).
	Path string
	// StatePath is the file that keeps the Position ("" keeps it in
	// memory only). It is written atomically (temporary file + rename).
	StatePath string
	// Interval is the time between polls in Run (default 1 s).
	Interval time.Duration
	// FromStart makes a Tailer without a saved position read the existing
	// log from its start; by default it starts at the end, like tail -f.
	FromStart bool
	// Location is the zone of the log's local times (nil: time.Local).
	Location *time.Location
	// Warn receives problems (unreadable lines, lost events, rotation
	// gaps); nil discards them.
	Warn func(error)

	pos     Position
	started bool
	prev    os.FileInfo // identity of the file read last (nil: none)
	parser  Parser
	ev      event.Event
	dirty   bool
}

// Position returns the current position.
func (t *Tailer) Position() Position { return t.pos }

func (t *Tailer) warn(err error) {
	if t.Warn != nil {
		t.Warn(err)
	}
}

// Run polls until ctx is done or emit fails, and saves the position after
// every poll. It returns nil when ctx ends it, and emit's error. Other
// errors (the log cannot be opened or read for a moment, the position
// cannot be saved) are reported through Warn once and retried at the next
// poll, as a service must; only a first poll that fails outright (wrong
// path, access denied) returns its error, so that a mistake is said at
// once.
func (t *Tailer) Run(ctx context.Context, emit func(*event.Event) error) error {
	iv := t.Interval
	if iv <= 0 {
		iv = time.Second
	}
	tick := time.NewTicker(iv)
	defer tick.Stop()
	var emitErr error
	wrapped := func(e *event.Event) error {
		if err := emit(e); err != nil {
			emitErr = err
			return err
		}
		return nil
	}
	first, last := true, ""
	for {
		err := t.Poll(ctx, wrapped)
		switch {
		case ctx.Err() != nil:
			return nil
		case emitErr != nil:
			return emitErr
		case err != nil && first:
			return err
		case err != nil:
			if msg := err.Error(); msg != last {
				t.warn(fmt.Errorf("%v (retrying every %v)", err, iv))
				last = msg
			}
		default:
			last = ""
		}
		first = false
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Poll reads what was appended since the last poll (following rotation and
// truncation) and saves the position. A missing log is not an error: the
// firewall creates it with its first line.
func (t *Tailer) Poll(ctx context.Context, emit func(*event.Event) error) error {
	if !t.started {
		if err := t.start(); err != nil {
			return err
		}
	}
	err := t.poll(ctx, emit)
	if serr := t.save(); serr != nil && err == nil {
		err = serr
	}
	return err
}

func (t *Tailer) start() error {
	t.started = true
	t.parser = Parser{Location: t.Location, FilePath: t.Path}
	if t.StatePath != "" {
		b, err := os.ReadFile(t.StatePath)
		switch {
		case err == nil:
			var p Position
			if err := json.Unmarshal(b, &p); err != nil {
				t.warn(fmt.Errorf("position file %s is unreadable (%v): starting afresh", t.StatePath, err))
			} else if p.Path != t.Path {
				t.warn(fmt.Errorf("position file %s is for %s, not %s: starting afresh", t.StatePath, p.Path, t.Path))
			} else {
				t.pos = p
				return nil
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			return fmt.Errorf("read position: %w", err)
		}
	}
	t.pos = Position{Path: t.Path}
	if t.FromStart {
		return nil
	}
	// Start at the end of the current log, after its last complete line.
	f, err := openShared(t.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return openError(t.Path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", t.Path, err)
	}
	data, err := readRange(f, 0, st.Size())
	if err != nil {
		return err
	}
	end := bytes.LastIndexByte(data, '\n') + 1
	t.pos.Offset = int64(end)
	t.pos.Line = uint64(bytes.Count(data[:end], []byte{'\n'}))
	t.fingerprint(data)
	t.prev = st
	t.primeHeader(data)
	t.dirty = true
	return nil
}

// maxRead bounds what one poll reads of the current log; the rest waits
// for the next poll.
const maxRead = 64 << 20

// poll does one round in two phases: first it opens the files, decides
// what happened (rotation, truncation), reads the new bytes and closes the
// files again; then it parses and hands on the lines. The firewall's files
// are never held open while emit runs (a slow consumer must not block the
// firewall's rotation).
func (t *Tailer) poll(ctx context.Context, emit func(*event.Event) error) error {
	f, err := openShared(t.Path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return openError(t.Path, err)
	}
	if err != nil {
		f = nil
	}
	closeF := func() {
		if f != nil {
			f.Close()
			f = nil
		}
	}
	defer closeF()
	var st os.FileInfo
	if f != nil {
		if st, err = f.Stat(); err != nil {
			return fmt.Errorf("stat %s: %w", t.Path, err)
		}
	}

	same, err := t.isCurrent(f, st)
	if err != nil {
		return err
	}
	var old *oldLog
	if !same {
		// The file at Path is not the one read last: rotated (its rest
		// is at .old), or replaced.
		if old, err = t.readOld(); err != nil {
			return err
		}
	}
	off := t.pos.Offset
	truncated := false
	if !same {
		off = 0
	} else if f != nil && st.Size() < off {
		truncated, off = true, 0
	}
	var head, data []byte
	newFile := !same || truncated || t.prev == nil || (f != nil && !os.SameFile(t.prev, st)) || !t.parser.haveCols
	if f != nil {
		if newFile || t.pos.FPLen < fpSize {
			if head, err = readRange(f, 0, min(st.Size(), fpSize)); err != nil {
				return err
			}
		}
		if data, err = readRange(f, off, min(st.Size()-off, maxRead)); err != nil {
			return err
		}
	}
	closeF()

	// Phase two: hand on what was read.
	if old != nil {
		if err := t.emitOld(ctx, old, emit); err != nil {
			return err
		}
	}
	if !same {
		t.reset()
	}
	if st == nil {
		return nil // the new log is not there yet
	}
	if truncated {
		t.warn(fmt.Errorf("%s was truncated (size %d < position %d): reading it from the start", t.Path, st.Size(), t.pos.Offset))
		t.reset()
	}
	if newFile {
		// A file not read in this run (start, resume, rotation): learn
		// its header first.
		t.primeHeader(head)
	}
	if len(head) > t.pos.FPLen {
		// Extend the fingerprint while the log is short (its start was
		// checked by isCurrent).
		t.fingerprint(head)
		t.dirty = true
	}
	t.prev = st
	return t.emitLines(ctx, data, false, emit)
}

// isCurrent reports whether f (the file now at Path, or nil) is the file
// the position refers to.
func (t *Tailer) isCurrent(f *os.File, st os.FileInfo) (bool, error) {
	if t.pos.Offset == 0 && t.pos.FPLen == 0 {
		return true, nil // nothing read yet: whatever is there is new
	}
	if f == nil {
		return false, nil
	}
	if t.prev != nil && !os.SameFile(t.prev, st) {
		// Another file id: rotated or replaced, unless the id itself is
		// unstable and the content says it is the same file.
		return t.sameContent(f, st.Size())
	}
	ok, err := t.matches(f, st.Size())
	if err != nil {
		return false, err
	}
	if !ok && t.prev != nil {
		// Same identity, different start: truncated and written again,
		// or (file ids are reused) rotated twice since the last poll.
		t.warn(fmt.Errorf("%s was rewritten, or rotated more than once, since the last read: reading it from the start; lines after line %d of the previous log may be lost", t.Path, t.pos.Line))
		t.reset()
		return true, nil
	}
	return ok, nil
}

// minIdentityFP is how much of a log's start the fingerprint must cover
// before content alone may identify the file: more than the four header
// lines every firewall log starts with, so at least one timestamped line.
const minIdentityFP = 512

// sameContent reports whether f is the file the position refers to by its
// content: it starts with the fingerprinted bytes (at least minIdentityFP
// of them) and is long enough to hold the position. File ids are not stable
// across a rename everywhere (seen under Wine; some network file systems
// too), and trusting them alone would read a file again from its start.
func (t *Tailer) sameContent(f *os.File, size int64) (bool, error) {
	if t.pos.FPLen < minIdentityFP || size < t.pos.Offset {
		return false, nil
	}
	return t.matches(f, size)
}

// matches reports whether f starts with the fingerprinted bytes.
func (t *Tailer) matches(f *os.File, size int64) (bool, error) {
	if t.pos.FPLen == 0 {
		return true, nil
	}
	if size < int64(t.pos.FPLen) {
		return false, nil
	}
	head, err := readRange(f, 0, int64(t.pos.FPLen))
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:]) == t.pos.FPSHA256, nil
}

// oldLog is the unread rest of the rotated log.
type oldLog struct {
	head, data []byte
}

// readOld reads the rest of the rotated log at Path+".old" when it is the
// file the position refers to (and closes it again), and reports a gap
// when it is not.
func (t *Tailer) readOld() (*oldLog, error) {
	old := t.Path + ".old"
	f, err := openShared(old)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, openError(old, err)
		}
		t.warn(fmt.Errorf("%s was replaced and no %s holds the rest: lines after line %d of the previous log may be lost", t.Path, filepath.Base(old), t.pos.Line))
		return nil, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", old, err)
	}
	ok := false
	if t.prev != nil {
		ok = os.SameFile(t.prev, st)
		if !ok {
			if ok, err = t.sameContent(f, st.Size()); err != nil {
				return nil, err
			}
		}
	} else if ok, err = t.matches(f, st.Size()); err != nil {
		return nil, err
	}
	if !ok || st.Size() < t.pos.Offset {
		t.warn(fmt.Errorf("%s was rotated more than once since the last read, or replaced: lines after line %d of the previous log may be lost", t.Path, t.pos.Line))
		return nil, nil
	}
	var o oldLog
	if !t.parser.haveCols {
		if o.head, err = readRange(f, 0, min(st.Size(), fpSize)); err != nil {
			return nil, err
		}
	}
	if o.data, err = readRange(f, t.pos.Offset, st.Size()-t.pos.Offset); err != nil {
		return nil, err
	}
	return &o, nil
}

// emitOld hands on the rest of the rotated log.
func (t *Tailer) emitOld(ctx context.Context, o *oldLog, emit func(*event.Event) error) error {
	if !t.parser.haveCols {
		t.primeHeader(o.head)
	}
	saveName := t.parser.FilePath
	t.parser.FilePath = t.Path + ".old"
	defer func() { t.parser.FilePath = saveName }()
	return t.emitLines(ctx, o.data, true, emit)
}

// reset starts over at the beginning of a new file.
func (t *Tailer) reset() {
	t.pos = Position{Path: t.Path}
	t.prev = nil
	t.parser = Parser{Location: t.Location, FilePath: t.Path}
	t.dirty = true
}

// emitLines hands on the complete lines of data, which starts at the
// position; with final, a last line without a newline too (a rotated file
// gets no more writes). A partial last line is left for the next poll.
func (t *Tailer) emitLines(ctx context.Context, data []byte, final bool, emit func(*event.Event) error) error {
	for n := 0; len(data) > 0; n++ {
		if n&4095 == 4095 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		i := bytes.IndexByte(data, '\n') + 1
		if i == 0 {
			switch {
			case final:
				i = len(data)
			case len(data) >= MaxLine:
				t.pos.Line++
				t.warn(&LineError{t.pos.Line, fmt.Errorf("line longer than %d bytes; skipped", MaxLine)})
				t.advance(data)
				return nil
			default:
				return nil // wait for the end of the line
			}
		}
		line := data[:i]
		data = data[i:]
		t.pos.Line++
		var st Stats
		if err := handleLine(&t.parser, line, t.pos.Line, &t.ev, &st, emit, t.warn); err != nil {
			return err
		}
		t.advance(line)
	}
	return nil
}

// advance moves the position past b.
func (t *Tailer) advance(b []byte) {
	t.pos.Offset += int64(len(b))
	t.dirty = true
}

// fingerprint sets the fingerprint from the start of the file.
func (t *Tailer) fingerprint(head []byte) {
	if len(head) > fpSize {
		head = head[:fpSize]
	}
	sum := sha256.Sum256(head)
	t.pos.FPLen = len(head)
	t.pos.FPSHA256 = hex.EncodeToString(sum[:])
}

// primeHeader feeds the "#" lines at the start of head to the parser.
func (t *Tailer) primeHeader(head []byte) {
	for len(head) > 0 && head[0] == '#' {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			return
		}
		t.parser.directive(trimEOL(head[:i]))
		head = head[i+1:]
	}
}

// save writes the position when it changed, atomically.
func (t *Tailer) save() error {
	if !t.dirty {
		return nil
	}
	t.dirty = false
	if t.StatePath == "" {
		return nil
	}
	b, err := json.MarshalIndent(&t.pos, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(t.StatePath, append(b, '\n'))
}

// writeFileAtomic writes data to a temporary file next to path, flushes
// it, and renames it over path, so that a reader sees the old or the new
// content, never a mix.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save position: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return fmt.Errorf("save position: %w", err)
	}
	return nil
}

func readRange(f *os.File, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	m, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return buf[:m], nil
}

func openError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("open %s: %w (the firewall log is readable by administrators only: run wfpwatch as an administrator)", path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}
