// Package evtx reads Windows XML Event Log (.evtx) files without Windows:
// a pure-Go, streaming, fault-tolerant reader written from the documented
// format (file header, 64 KiB chunks with CRC32 checksums, event records,
// binary XML with templates and substitutions).
//
// A File is opened over an io.ReaderAt (a file read chunk by chunk with
// ReadAt) or a byte slice. Chunks are independent, so File.Each parses them
// on several goroutines and hands them back in record order. Each Record
// can be rendered to XML as Windows' own renderer gives it
// (Record.AppendXML), to JSON (Record.AppendJSON), or, for the Security
// events wfpwatch is about, decoded straight from the template
// substitutions into an evtlog.Record without building XML (Record.WFP).
//
// Damage never stops the reader: a bad file or chunk header, a checksum
// mismatch, a truncated chunk or garbage between records is reported as a
// Problem (chunk, file offset, reason), what cannot be read is skipped and
// counted, and reading goes on.
package evtx

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sort"
)

// Sizes of the format's fixed parts.
const (
	FileHeaderSize  = 4096
	ChunkSize       = 65536
	chunkHeaderSize = 512
)

// Signatures.
var (
	fileMagic  = []byte("ElfFile\x00")
	chunkMagic = []byte("ElfChnk\x00")
)

// Signature reports whether b starts with the .evtx file signature.
func Signature(b []byte) bool { return bytes.HasPrefix(b, fileMagic) }

// Header is the file header.
type Header struct {
	FirstChunk, LastChunk uint64
	NextRecordID          uint64
	MinorVersion          uint16
	MajorVersion          uint16
	ChunkCount            uint16
	Flags                 uint32 // FlagDirty, FlagFull
	Valid                 bool   // signature and checksum are right
}

// File header flags.
const (
	FlagDirty = 0x1
	FlagFull  = 0x2
)

// Problem is a part of a file that could not be read, or a warning about
// it. Reading goes on after every Problem.
type Problem struct {
	Chunk  int   // chunk number in file order, or -1 for the file header
	Offset int64 // file offset where the problem is
	Err    error
}

// Where returns the location of p as "chunk 3 offset 0x34a10".
func (p *Problem) Where() string {
	if p.Chunk < 0 {
		return fmt.Sprintf("file header offset 0x%x", p.Offset)
	}
	return fmt.Sprintf("chunk %d offset 0x%x", p.Chunk, p.Offset)
}

func (p *Problem) Error() string { return p.Where() + ": " + p.Err.Error() }

func (p *Problem) Unwrap() error { return p.Err }

// File is an open .evtx file. It is safe for concurrent use by the chunks
// it hands out; it does not own r (the caller closes it).
type File struct {
	r    io.ReaderAt
	mem  []byte // the whole file when opened with OpenBytes
	size int64

	Header Header
	// Problems found while opening (file header, chunk headers).
	Problems []Problem
	chunks   []chunkRef
	tcache   tcache
}

// chunkRef is a chunk found while opening, in record order.
type chunkRef struct {
	index   int   // chunk number in file order
	off     int64 // file offset
	firstID uint64
	hdrOK   bool
}

// ErrNotEVTX is returned by Open for input that has neither a file header
// nor any chunk signature.
var ErrNotEVTX = errors.New("not an .evtx file: no ElfFile header and no ElfChnk chunk found")

// Open reads the file header and the chunk headers of the .evtx file of the
// given size behind r. Problems with them are in File.Problems; Open fails
// only when nothing in r looks like an .evtx file, or when r cannot be read.
func Open(r io.ReaderAt, size int64) (*File, error) {
	f := &File{r: r, size: size}
	return f, f.open()
}

// OpenBytes is Open over a file held in memory; b is not copied and must
// not change while the File is in use.
func OpenBytes(b []byte) (*File, error) {
	f := &File{r: bytes.NewReader(b), mem: b, size: int64(len(b))}
	return f, f.open()
}

func (f *File) problem(chunk int, off int64, format string, args ...any) {
	f.Problems = append(f.Problems, Problem{Chunk: chunk, Offset: off, Err: fmt.Errorf(format, args...)})
}

func (f *File) readAt(b []byte, off int64) (int, error) {
	if f.mem != nil {
		if off >= int64(len(f.mem)) {
			return 0, io.EOF
		}
		return copy(b, f.mem[off:]), nil
	}
	n, err := f.r.ReadAt(b, off)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *File) open() error {
	var hb [128]byte
	n, err := f.readAt(hb[:], 0)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read file header: %w", err)
	}
	h := &f.Header
	switch {
	case n < len(hb):
		f.problem(-1, 0, "file is only %d bytes: shorter than a file header", f.size)
	case !bytes.Equal(hb[:8], fileMagic):
		f.problem(-1, 0, "bad file header signature %q: looking for chunks anyway", hb[:8])
	default:
		h.FirstChunk = u64(hb[:], 8)
		h.LastChunk = u64(hb[:], 16)
		h.NextRecordID = u64(hb[:], 24)
		h.MinorVersion = u16(hb[:], 36)
		h.MajorVersion = u16(hb[:], 38)
		h.ChunkCount = u16(hb[:], 42)
		h.Flags = u32(hb[:], 120)
		h.Valid = crc32.ChecksumIEEE(hb[:120]) == u32(hb[:], 124)
		if !h.Valid {
			f.problem(-1, 124, "file header checksum mismatch: header values not trusted, reading every chunk")
		}
		if h.MajorVersion != 3 {
			f.problem(-1, 38, "unknown format version %d.%d: reading it as 3.x", h.MajorVersion, h.MinorVersion)
		}
		if h.Flags&FlagDirty != 0 {
			f.problem(-1, 120, "dirty flag set: the file was copied while Windows was writing it or was not closed cleanly; its header may be stale, reading every chunk")
		}
	}

	// Chunks: every 64 KiB slot after the header whose first bytes carry the
	// chunk signature, whatever the header's chunk count says (it may be
	// stale in a dirty file).
	var ch [chunkHeaderSize]byte
	found := 0
	for i, off := 0, int64(FileHeaderSize); off < f.size; i, off = i+1, off+ChunkSize {
		n, err := f.readAt(ch[:], off)
		if err != nil && err != io.EOF {
			return fmt.Errorf("read chunk %d header: %w", i, err)
		}
		b := ch[:n]
		if !bytes.HasPrefix(b, chunkMagic) {
			if allZero(b) {
				continue // never-used slot
			}
			f.problem(i, off, "no chunk signature: chunk skipped (%d bytes)", min(int64(ChunkSize), f.size-off))
			continue
		}
		found++
		ref := chunkRef{index: i, off: off}
		if n == chunkHeaderSize {
			sum := crc32.ChecksumIEEE(b[:120])
			sum = crc32.Update(sum, crc32.IEEETable, b[128:512])
			ref.hdrOK = sum == u32(b, 124)
			ref.firstID = u64(b, 24)
		}
		f.chunks = append(f.chunks, ref)
	}
	if found == 0 && !h.Valid && !Signature(hb[:n]) {
		return ErrNotEVTX
	}
	if h.Valid && found > int(h.ChunkCount) && h.ChunkCount > 0 && h.Flags&FlagDirty == 0 {
		f.problem(-1, 42, "header counts %d chunks but %d were found: reading them all", h.ChunkCount, found)
	}
	// Record order: a log that wrapped around reuses chunks from the start
	// of the file, so order by the first record id. A chunk whose header is
	// damaged keeps its place after the chunk before it.
	keys := make([]uint64, len(f.chunks))
	var last uint64
	for i, c := range f.chunks {
		if c.hdrOK {
			last = c.firstID
		}
		keys[i] = last
	}
	idx := make([]int, len(f.chunks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] < keys[idx[b]] })
	sorted := make([]chunkRef, len(f.chunks))
	for i, j := range idx {
		sorted[i] = f.chunks[j]
	}
	f.chunks = sorted
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// NumChunks returns the number of chunks found.
func (f *File) NumChunks() int { return len(f.chunks) }

// Size returns the file size given to Open.
func (f *File) Size() int64 { return f.size }
