package forward

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
)

// fileSender writes NDJSON to PATH and rotates it: when PATH would pass
// max-size bytes (default 100 MiB) it is renamed PATH.1 (PATH.1 to PATH.2
// and so on) and at most max-files old files are kept (default 5). A batch
// is written and flushed before it is acknowledged.
type fileSender struct {
	path     string
	maxSize  int64
	maxFiles int
	f        *os.File
	w        *bufio.Writer
	size     int64
}

func newFileSender(u *url.URL) (Sender, error) {
	p := u.Path
	if u.Host != "" { // file://C:/x parses C: as the host
		p = u.Host + p
	}
	if p == "" {
		return nil, fmt.Errorf("file:// output needs a path, as in file:///var/log/wfpwatch.ndjson")
	}
	s := &fileSender{path: filepath.FromSlash(p), maxSize: 100 << 20, maxFiles: 5}
	q := u.Query()
	if v := q.Get("max-size"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("max-size=%q: want a number of bytes", v)
		}
		s.maxSize = n
	}
	if v := q.Get("max-files"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("max-files=%q: want a number ≥ 0", v)
		}
		s.maxFiles = n
	}
	return s, nil
}

func (s *fileSender) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open output file: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("stat output file: %w", err)
	}
	s.f, s.size = f, fi.Size()
	s.w = bufio.NewWriterSize(f, 1<<16)
	return nil
}

func (s *fileSender) rotate() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write output file: %w", err)
	}
	s.f.Close()
	s.f = nil
	if s.maxFiles == 0 {
		return os.Truncate(s.path, 0)
	}
	os.Remove(fmt.Sprintf("%s.%d", s.path, s.maxFiles))
	for i := s.maxFiles - 1; i >= 1; i-- {
		os.Rename(fmt.Sprintf("%s.%d", s.path, i), fmt.Sprintf("%s.%d", s.path, i+1))
	}
	if err := os.Rename(s.path, s.path+".1"); err != nil {
		return fmt.Errorf("rotate output file: %w", err)
	}
	return nil
}

func (s *fileSender) Send(_ context.Context, recs []Record) error {
	for i := range recs {
		if s.f == nil {
			if err := s.open(); err != nil {
				return err
			}
		}
		n := int64(len(recs[i].JSON) + 1)
		if s.size > 0 && s.size+n > s.maxSize {
			if err := s.rotate(); err != nil {
				return err
			}
			if err := s.open(); err != nil {
				return err
			}
		}
		s.w.Write(recs[i].JSON)
		s.w.WriteByte('\n')
		s.size += n
	}
	if s.w != nil {
		if err := s.w.Flush(); err != nil {
			// The file may now hold part of the batch; it is written again
			// (at least once).
			s.f.Close()
			s.f = nil
			return fmt.Errorf("write output file: %w", err)
		}
	}
	return nil
}

func (s *fileSender) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.w.Flush()
	s.f.Close()
	s.f = nil
	return err
}
