package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/filelock"
)

// errLocked is what filelock.TryLock returns when another handle holds the
// lock.
var errLocked = filelock.ErrLocked

// lockByte is the byte the lock takes on Windows: far past the end of the
// file, which Windows allows, so that another process can still read the
// pid at the start.
const lockByte = 1 << 32

// writerLock is the exclusive OS lock a process holds on FILE-writer.lock
// while it has the database FILE open for writing: one recording process
// per database. The operating system releases the lock when the process
// ends in any way (exit, crash, kill -9, TerminateProcess), so a lock is
// never stale and needs no repair; the file itself stays behind, empty of
// meaning until the next writer locks it. It is never removed: removing it
// would let a process that opened the old file lock it while another
// locks a new one.
//
// The lock file is named after the database's real path (symbolic links
// resolved), and the database file itself is locked too (lockIdentity), so
// that any name of one file, a hard link included, is one lock: two
// writers on one file under two names over-counted the rollups or
// corrupted the database.
type writerLock struct {
	f  *os.File
	db *os.File // the database file, holding the identity lock; may be nil
}

// realPath resolves the symbolic links of path, or of its directory when
// the file does not exist yet.
func realPath(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	if d, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(d, filepath.Base(path))
	}
	return path
}

// lockPath returns the lock file of the database at path.
func lockPath(path string) string { return path + "-writer.lock" }

// lockWriter takes the writer lock of the database at path, or says which
// process holds it and what to do. The returned lock owns the open file;
// release closes it.
func lockWriter(path string) (*writerLock, error) {
	lp := lockPath(realPath(path))
	f, err := os.OpenFile(lp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open the writer lock %s: %w", lp, err)
	}
	if err := filelock.TryLock(f, lockByte); err != nil {
		defer f.Close()
		if !errors.Is(err, errLocked) {
			return nil, fmt.Errorf("lock %s: %w", lp, err)
		}
		return nil, lockedError(path, f)
	}
	// Say who holds it. The pid is advice for the message only: the lock
	// is what counts.
	db, err := lockIdentity(realPath(path))
	if err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("another wfpwatch process is recording to %s under another name (a hard link to the same file): stop it, or pass --db with another file", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	pid := []byte(strconv.Itoa(os.Getpid()) + "\n")
	if err := f.Truncate(0); err == nil {
		f.WriteAt(pid, 0)
	}
	return &writerLock{f: f, db: db}, nil
}

// lockedError says that another process records to the database at path,
// with its pid when the lock file f names one.
func lockedError(path string, f *os.File) error {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:n])))
	switch {
	case err != nil || pid <= 0:
		return fmt.Errorf("another wfpwatch process is recording to %s: stop it, or pass --db with another file", path)
	case pid == os.Getpid():
		return fmt.Errorf("%s is already open for writing in this process: close it first", path)
	}
	return fmt.Errorf("another wfpwatch process (pid %d) is recording to %s: stop it, or pass --db with another file", pid, path)
}

// release gives the lock up (closing the file releases it).
func (l *writerLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	if l.db != nil {
		l.db.Close()
		l.db = nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
