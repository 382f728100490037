package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Inputs that need random access (a zip archive, an .evtx file) but come
// as a stream (standard input, a decompressed stream, an archive member)
// are copied to a temporary file first. Spooling is bounded three ways: a
// budget shared by every spool of one Walk (nested archives cannot each
// take the cap), the free space of the temporary directory (checked
// before copying, with a reserve left to the system), and the context
// (Ctrl+C stops the copy).

// maxSpool bounds how many bytes one Walk copies to temporary files, all
// levels of nesting together. A variable so tests can lower it.
var maxSpool int64 = 4 << 30

// spoolReserve is the free space a spool leaves in the temporary directory.
const spoolReserve = 256 << 20

// spoolPrefix starts the name of every temporary file wfpwatch spools to;
// the pid of the process that owns it follows, so that the next run can
// remove the files of a process that died without cleaning up.
const spoolPrefix = "wfpwatch-spool-"

// errSpoolFull is wrapped by the error of a spool that hit a bound.
var errSpoolFull = errors.New("too large to copy to a temporary file")

// spooler hands out the spool budget of one Walk.
type spooler struct {
	left int64 // bytes the walk may still spool
}

func newSpooler() *spooler { return &spooler{left: maxSpool} }

// spool copies r to a new temporary file and returns it positioned at its
// start, with its size. The caller owns the file and must call the
// returned cleanup, which closes and removes it. On Unix the file is
// unlinked at once, so even a crash leaves nothing behind; elsewhere
// cleanup removes it, and a crash leaves it for sweepSpools. what names
// the data in errors ("zip archive", ".evtx"). A nil spooler has the whole
// budget.
func (s *spooler) spool(ctx context.Context, r io.Reader, what string) (*os.File, int64, func(), error) {
	if s == nil {
		s = newSpooler()
	}
	sweepOnce.Do(sweepSpools)
	dir := os.TempDir()
	limit := s.left
	tooLarge := fmt.Sprintf("%s is larger than %s: decompress or extract it first, then name the file", what, sizeString(limit))
	if limit < maxSpool {
		tooLarge = fmt.Sprintf("%s and the archives around it need more than %s of temporary copies: extract them first, then name the files", what, sizeString(maxSpool))
	}
	if free, ok := freeSpace(dir); ok {
		if avail := int64(free) - spoolReserve; avail < limit {
			limit = max(avail, 0)
			tooLarge = fmt.Sprintf("%s needs a temporary copy larger than the %s free in %s: set TMPDIR to a directory with more room, or decompress or extract it first", what, sizeString(int64(free)), dir)
		}
	}
	if limit < 1<<20 {
		return nil, 0, nil, fmt.Errorf("%w: %s", errSpoolFull, tooLarge)
	}
	f, err := os.CreateTemp(dir, spoolPrefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%s needs a temporary copy: %w (set TMPDIR to a writable directory)", what, err)
	}
	name := f.Name()
	unlinked := unlinkOpen && os.Remove(name) == nil
	cleanup := func() {
		f.Close()
		if !unlinked {
			os.Remove(name)
		}
	}
	n, err := io.Copy(f, io.LimitReader(ctxReader{ctx, r}, limit+1))
	s.left -= min(n, limit)
	if err == nil && n > limit {
		err = fmt.Errorf("%w: %s", errSpoolFull, tooLarge)
	}
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, n, cleanup, nil
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

var sweepOnce sync.Once

// sweepSpools removes the spool files of processes that are gone (a crash,
// a kill, a power cut on a system where an open file cannot be unlinked).
// Files of live processes, and files it cannot parse, are left alone.
func sweepSpools() {
	dir := os.TempDir()
	matches, _ := filepath.Glob(filepath.Join(dir, spoolPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), spoolPrefix)
		i := strings.IndexByte(rest, '-')
		if i <= 0 {
			continue
		}
		pid, err := strconv.Atoi(rest[:i])
		if err != nil || pid <= 0 || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.Remove(m)
	}
}
