package service

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

// Default rotation of the service log: 4 files of at most 4 MiB.
const (
	DefaultLogSize = 4 << 20
	DefaultLogKeep = 3
)

// RotatingFile is an io.Writer that appends to a file and, when a write
// would take it past MaxSize, renames it to Path.1 (Path.1 to Path.2, ...,
// dropping Path.Keep) and starts a new one. A single write larger than
// MaxSize is still written whole, to a fresh file. It is safe for
// concurrent use; the file is opened on the first write and kept open
// until Close.
type RotatingFile struct {
	Path    string
	MaxSize int64 // <= 0: DefaultLogSize
	Keep    int   // older files kept; <= 0: none (the file is truncated)

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Write appends p, rotating first when needed.
func (r *RotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	max := r.MaxSize
	if max <= 0 {
		max = DefaultLogSize
	}
	if r.f == nil {
		if err := r.open(); err != nil {
			return 0, err
		}
	}
	if r.size > 0 && r.size+int64(len(p)) > max {
		if err := r.rotate(); err != nil {
			return 0, err
		}
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// open opens (or creates) Path for appending and learns its size.
func (r *RotatingFile) open() error {
	f, err := os.OpenFile(r.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open the service log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open the service log: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// rotate shifts the kept files up by one and starts a new Path. The file
// is closed before it is renamed (Windows does not rename an open file).
func (r *RotatingFile) rotate() error {
	r.f.Close()
	r.f = nil
	if r.Keep > 0 {
		os.Remove(r.name(r.Keep))
		for i := r.Keep - 1; i >= 1; i-- {
			os.Rename(r.name(i), r.name(i+1)) // a gap in the series is fine
		}
		if err := os.Rename(r.Path, r.name(1)); err != nil {
			return fmt.Errorf("rotate the service log: %w", err)
		}
	} else if err := os.Truncate(r.Path, 0); err != nil {
		return fmt.Errorf("rotate the service log: %w", err)
	}
	return r.open()
}

// name is the path of the i-th older file.
func (r *RotatingFile) name(i int) string { return r.Path + "." + strconv.Itoa(i) }

// Close closes the current file; a later Write opens it again.
func (r *RotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
