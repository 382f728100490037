// Package queue is the durable on-disk log that sits between wfpwatch's
// pipeline and one forwarding output (internal/forward).
//
// # Layout
//
// A queue is a directory of segment files named seg-<first sequence, 16 hex
// digits>.log and one cursor file. Every entry in a segment is framed as
//
//	uint32 little-endian payload length | uint32 CRC-32C of the payload | payload
//
// Entries have consecutive sequence numbers across segments. The cursor
// file holds the sequence number of the first entry not yet acknowledged,
// in two 24-byte slots written alternately (generation, sequence, CRC), so a
// torn cursor write leaves the previous slot valid.
//
// # Guarantees
//
// Append returns after the entries were written to the operating system
// with one write call: a crash of the process (SIGKILL, panic) loses
// nothing that Append accepted. The segment is flushed to the disk
// (fsync) at most every Options.SyncEvery (default 1 s) and on Close, so a
// power loss can lose at most the entries of the last interval; that is the
// price of throughput (an fsync per event would cap a spinning disk at a
// few hundred events per second). Set SyncEvery to a negative value to
// fsync on every Append.
//
// Entries are delivered in order by Next and acknowledged by Ack. An entry
// that was returned by Next but not acknowledged before a restart is
// delivered again: delivery is at least once.
//
// On Open the segments are checked: a torn or corrupt tail (a crash in the
// middle of a write) is cut off at the last entry whose length and CRC are
// valid; no earlier entry is lost. Corrupt entries inside an older segment
// end that segment; they are counted in Stats.Corrupt.
//
// # Size bound
//
// The queue holds at most Options.MaxBytes of segments. When it is full,
// Options.Full decides: Block (the default) makes Append wait until the
// consumer acknowledged enough entries — the sources stop, and a live
// source's bookmark does not advance, so nothing is lost; DropOldest
// deletes the oldest segment (whether delivered or not), counts its entries
// in Stats.Dropped and calls Options.Warn.
//
// A Queue is safe for one producer and one consumer goroutine at a time
// (Append may be called concurrently with Next/Ack).
package queue

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FullPolicy says what Append does when the queue is full.
type FullPolicy int

const (
	// Block makes Append wait until there is room (the default).
	Block FullPolicy = iota
	// DropOldest deletes the oldest segment to make room.
	DropOldest
)

// ParseFullPolicy parses "block" or "drop" (also "drop-oldest").
func ParseFullPolicy(s string) (FullPolicy, error) {
	switch strings.ToLower(s) {
	case "", "block":
		return Block, nil
	case "drop", "drop-oldest", "drop_oldest":
		return DropOldest, nil
	}
	return Block, fmt.Errorf("queue full policy %q: want block or drop", s)
}

func (p FullPolicy) String() string {
	if p == DropOldest {
		return "drop"
	}
	return "block"
}

// Defaults of Options.
const (
	DefaultMaxBytes     = 256 << 20
	DefaultSegmentBytes = 16 << 20
	DefaultSyncEvery    = time.Second
	// MaxEntry is the largest payload Append accepts.
	MaxEntry = 1 << 20
	frameHdr = 8
)

// Options configure a Queue. The zero value is usable.
type Options struct {
	MaxBytes     int64         // bound on all segments (DefaultMaxBytes when 0)
	SegmentBytes int64         // a segment is closed once it reaches this size (DefaultSegmentBytes, at most MaxBytes/4)
	Full         FullPolicy    // what Append does when full
	SyncEvery    time.Duration // fsync interval; 0 means DefaultSyncEvery, <0 means every Append
	Warn         func(msg string)
}

// Stats is a snapshot of a queue.
type Stats struct {
	Entries  uint64    // entries not yet acknowledged
	Bytes    int64     // bytes of segments on disk not yet acknowledged
	Appended uint64    // entries appended since Open
	Acked    uint64    // entries acknowledged since Open
	Dropped  uint64    // entries deleted by DropOldest
	Corrupt  uint64    // corrupt frames found by Open (the rest of their segment was cut)
	Blocked  uint64    // Append calls that had to wait for room
	Oldest   time.Time // when the oldest unacknowledged entry was appended (this run; zero when empty or unknown)
}

type segment struct {
	base  uint64 // sequence of the first entry
	n     uint64 // entries
	size  int64  // bytes
	path  string
	times []tmark // append times of entries (this run), sparse
}

type tmark struct {
	seq uint64
	t   time.Time
}

// Queue is a durable FIFO of byte entries. See the package comment.
type Queue struct {
	dir string
	opt Options

	mu      sync.Mutex
	cond    *sync.Cond
	segs    []*segment // oldest first; the last one is being appended to
	tail    *os.File
	acked   uint64 // first unacknowledged sequence
	next    uint64 // sequence the next Append gets
	dirty   bool
	closed  bool
	st      Stats
	curGen  uint64
	curFile *os.File
	lastSyn time.Time

	// consumer state (only the consumer goroutine touches rd*)
	rdSeq  uint64 // sequence of the next entry Next returns
	rdFile *os.File
	rdSeg  uint64 // base of the segment rdFile is
	rdBuf  *bufio.Reader
	rdOff  int64
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Open opens or creates the queue in dir, recovering from a crash: see the
// package comment. The caller owns the Queue and must Close it.
func Open(dir string, opt Options) (*Queue, error) {
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	if opt.SegmentBytes > opt.MaxBytes/4 {
		opt.SegmentBytes = opt.MaxBytes / 4
	}
	if opt.SegmentBytes < frameHdr+1 {
		opt.SegmentBytes = frameHdr + 1
	}
	if opt.SyncEvery == 0 {
		opt.SyncEvery = DefaultSyncEvery
	}
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create queue directory: %w", err)
	}
	q := &Queue{dir: dir, opt: opt}
	q.cond = sync.NewCond(&q.mu)
	if err := q.load(); err != nil {
		q.closeFiles()
		return nil, err
	}
	q.lastSyn = time.Now()
	return q, nil
}

func (q *Queue) load() error {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("read queue directory: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "seg-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		base, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, "seg-"), ".log"), 16, 64)
		if err != nil {
			continue
		}
		q.segs = append(q.segs, &segment{base: base, path: filepath.Join(q.dir, name)})
	}
	sort.Slice(q.segs, func(i, j int) bool { return q.segs[i].base < q.segs[j].base })

	cf, err := os.OpenFile(filepath.Join(q.dir, "cursor"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open queue cursor: %w", err)
	}
	q.curFile = cf
	q.acked, q.curGen = readCursor(cf)

	// Scan every segment; cut each at its first bad frame.
	for i, s := range q.segs {
		n, good, size, err := scanSegment(s.path)
		if err != nil {
			return err
		}
		s.n = n
		s.size = good
		if good < size {
			q.st.Corrupt++
			q.opt.Warn(fmt.Sprintf("queue %s: cut %d bytes of a torn or corrupt tail after entry %d", s.path, size-good, s.base+n))
			if err := os.Truncate(s.path, good); err != nil {
				return fmt.Errorf("truncate torn queue segment: %w", err)
			}
		}
		if i+1 < len(q.segs) && s.base+s.n > q.segs[i+1].base {
			return fmt.Errorf("queue segments %s and %s overlap: remove the queue directory %s to start afresh (its entries are lost)", s.path, q.segs[i+1].path, q.dir)
		}
	}
	// Drop segments that are entirely acknowledged; the first may be partly.
	for len(q.segs) > 0 && q.segs[0].base+q.segs[0].n <= q.acked && len(q.segs) > 1 {
		os.Remove(q.segs[0].path)
		q.segs = q.segs[1:]
	}
	if len(q.segs) == 0 {
		if err := q.newSegment(q.acked); err != nil {
			return err
		}
	} else {
		last := q.segs[len(q.segs)-1]
		q.next = last.base + last.n
		if q.acked > q.next {
			q.acked = q.next
		}
		if q.acked < q.segs[0].base {
			q.acked = q.segs[0].base
		}
		f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("open queue segment: %w", err)
		}
		q.tail = f
	}
	q.rdSeq = q.acked
	return nil
}

// scanSegment returns the number of valid frames, the size they cover and
// the file size.
func scanSegment(path string) (n uint64, good, size int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("open queue segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("stat queue segment: %w", err)
	}
	r := bufio.NewReaderSize(f, 1<<16)
	var buf []byte
	for {
		p, err := readFrame(r, &buf)
		if err != nil {
			return n, good, fi.Size(), nil
		}
		n++
		good += int64(frameHdr + len(p))
	}
}

var errCorrupt = errors.New("corrupt queue frame")

// readFrame reads one frame; it returns io.EOF at a clean end and
// errCorrupt (or io.ErrUnexpectedEOF) for a bad or torn frame. The payload
// aliases *buf.
func readFrame(r *bufio.Reader, buf *[]byte) ([]byte, error) {
	var hdr [frameHdr]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(hdr[0:4])
	if n == 0 || n > MaxEntry {
		return nil, errCorrupt
	}
	if cap(*buf) < int(n) {
		*buf = make([]byte, n)
	}
	p := (*buf)[:n]
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, io.ErrUnexpectedEOF
	}
	if crc32.Checksum(p, crcTable) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return nil, errCorrupt
	}
	return p, nil
}

func readCursor(f *os.File) (seq, gen uint64) {
	var b [48]byte
	n, _ := f.ReadAt(b[:], 0)
	for i := 0; i+24 <= n; i += 24 {
		s := b[i : i+24]
		if crc32.Checksum(s[:16], crcTable) != binary.LittleEndian.Uint32(s[16:20]) {
			continue
		}
		g := binary.LittleEndian.Uint64(s[0:8])
		if g >= gen {
			gen, seq = g, binary.LittleEndian.Uint64(s[8:16])
		}
	}
	return seq, gen
}

// writeCursor is called with q.mu held.
func (q *Queue) writeCursor() error {
	q.curGen++
	var s [24]byte
	binary.LittleEndian.PutUint64(s[0:8], q.curGen)
	binary.LittleEndian.PutUint64(s[8:16], q.acked)
	binary.LittleEndian.PutUint32(s[16:20], crc32.Checksum(s[:16], crcTable))
	if _, err := q.curFile.WriteAt(s[:], int64(q.curGen%2)*24); err != nil {
		return fmt.Errorf("write queue cursor: %w", err)
	}
	return nil
}

func (q *Queue) newSegment(base uint64) error {
	path := filepath.Join(q.dir, fmt.Sprintf("seg-%016x.log", base))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create queue segment: %w", err)
	}
	if q.tail != nil {
		if err := q.tail.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("flush queue segment: %w", err)
		}
		q.tail.Close()
	}
	q.tail = f
	q.segs = append(q.segs, &segment{base: base, path: path})
	q.next = base
	return nil
}

func (q *Queue) bytesLocked() int64 {
	var t int64
	for _, s := range q.segs {
		t += s.size
	}
	return t
}

// ErrClosed is returned by calls on a closed queue.
var ErrClosed = errors.New("queue closed")

// Append adds entries (each at most MaxEntry bytes, not empty) in one
// write. It returns when they are in the operating system's hands (see the
// package comment); with the Block policy it waits for room first, until
// ctx is done. Append copies the entries.
func (q *Queue) Append(ctx context.Context, entries ...[]byte) error {
	var need int64
	for _, e := range entries {
		if len(e) == 0 || len(e) > MaxEntry {
			return fmt.Errorf("queue entry of %d bytes: want 1..%d", len(e), MaxEntry)
		}
		need += int64(frameHdr + len(e))
	}
	if need > q.opt.MaxBytes/2 {
		return fmt.Errorf("queue append of %d bytes is larger than half the queue (%d): raise the queue size", need, q.opt.MaxBytes)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var stop func() bool
	waited := false
	for !q.closed && q.bytesLocked()+need > q.opt.MaxBytes {
		if q.opt.Full == DropOldest {
			if err := q.dropOldestLocked(); err != nil {
				return err
			}
			continue
		}
		if !waited {
			waited = true
			q.st.Blocked++
			stop = context.AfterFunc(ctx, func() {
				q.mu.Lock()
				q.cond.Broadcast()
				q.mu.Unlock()
			})
		}
		if ctx.Err() != nil {
			stop()
			return fmt.Errorf("queue full (%d bytes) and the receiver did not catch up: %w", q.bytesLocked(), ctx.Err())
		}
		q.cond.Wait()
	}
	if stop != nil {
		stop()
	}
	if q.closed {
		return ErrClosed
	}
	last := q.segs[len(q.segs)-1]
	if last.size > 0 && last.size+need > q.opt.SegmentBytes {
		if err := q.newSegment(q.next); err != nil {
			return err
		}
		last = q.segs[len(q.segs)-1]
	}
	buf := make([]byte, 0, need)
	for _, e := range entries {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(e)))
		buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(e, crcTable))
		buf = append(buf, e...)
	}
	if _, err := q.tail.Write(buf); err != nil {
		// A partial write leaves a torn frame that Open cuts; make the
		// in-memory view match by truncating now.
		_ = q.tail.Truncate(last.size)
		return fmt.Errorf("append to queue segment %s: %w", last.path, err)
	}
	now := time.Now()
	if len(last.times) == 0 || now.Sub(last.times[len(last.times)-1].t) >= 100*time.Millisecond {
		last.times = append(last.times, tmark{q.next, now})
	}
	last.size += need
	last.n += uint64(len(entries))
	q.next += uint64(len(entries))
	q.st.Appended += uint64(len(entries))
	q.dirty = true
	if q.opt.SyncEvery < 0 || now.Sub(q.lastSyn) >= q.opt.SyncEvery {
		if err := q.syncLocked(); err != nil {
			return err
		}
	}
	q.cond.Broadcast()
	return nil
}

func (q *Queue) syncLocked() error {
	q.lastSyn = time.Now()
	if !q.dirty {
		return nil
	}
	q.dirty = false
	if err := q.tail.Sync(); err != nil {
		return fmt.Errorf("flush queue segment: %w", err)
	}
	if err := q.curFile.Sync(); err != nil {
		return fmt.Errorf("flush queue cursor: %w", err)
	}
	return nil
}

// dropOldestLocked deletes the oldest segment, rotating first when it is
// the only one.
func (q *Queue) dropOldestLocked() error {
	if len(q.segs) == 1 {
		if q.segs[0].size == 0 {
			return fmt.Errorf("queue of %d bytes cannot hold one entry: raise the queue size", q.opt.MaxBytes)
		}
		if err := q.newSegment(q.next); err != nil {
			return err
		}
	}
	s := q.segs[0]
	lost := uint64(0)
	if end := s.base + s.n; end > q.acked {
		lost = end - max(q.acked, s.base)
		q.acked = end
	}
	q.segs = q.segs[1:]
	if err := os.Remove(s.path); err != nil {
		return fmt.Errorf("remove oldest queue segment: %w", err)
	}
	q.st.Dropped += lost
	if err := q.writeCursor(); err != nil {
		return err
	}
	if lost > 0 {
		q.opt.Warn(fmt.Sprintf("queue %s is full (%d bytes): dropped the %d oldest undelivered entries (%d dropped so far); is the receiver down?", q.dir, q.opt.MaxBytes, lost, q.st.Dropped))
	}
	return nil
}

// Batch is what Next returns: entries in order, starting at sequence Seq.
// The entries are copies owned by the caller.
type Batch struct {
	Seq     uint64
	Entries [][]byte
	Bytes   int
}

// End is the sequence after the batch's last entry.
func (b *Batch) End() uint64 { return b.Seq + uint64(len(b.Entries)) }

// Next returns the next entries after the previous Next (after the
// acknowledged position right after Open), at most maxN entries and about
// maxBytes, waiting until there is at least one or ctx is done. Only one
// goroutine may call Next and Ack.
func (q *Queue) Next(ctx context.Context, maxN, maxBytes int) (*Batch, error) {
	q.mu.Lock()
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.cond.Broadcast()
		q.mu.Unlock()
	})
	for !q.closed && ctx.Err() == nil && q.rdSeq >= q.next && q.rdSeq >= q.acked {
		q.cond.Wait()
	}
	stop()
	if q.closed {
		q.mu.Unlock()
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		q.mu.Unlock()
		return nil, err
	}
	if q.rdSeq < q.acked { // entries were dropped under the reader
		q.rdSeq = q.acked
		q.closeReader()
	}
	// Snapshot the segments the reader may need, with their sizes.
	type view struct {
		base, n uint64
		size    int64
		path    string
	}
	var vs []view
	for _, s := range q.segs {
		if s.base+s.n > q.rdSeq {
			vs = append(vs, view{s.base, s.n, s.size, s.path})
		}
	}
	q.mu.Unlock()

	b := &Batch{Seq: q.rdSeq}
	var scratch []byte
	for _, v := range vs {
		if len(b.Entries) >= maxN || (b.Bytes >= maxBytes && len(b.Entries) > 0) {
			break
		}
		if q.rdFile == nil || q.rdSeg != v.base {
			if err := q.openReader(v.base, v.path, &scratch); err != nil {
				return nil, err
			}
		}
		for q.rdSeq < v.base+v.n && len(b.Entries) < maxN && (b.Bytes < maxBytes || len(b.Entries) == 0) {
			p, err := readFrame(q.rdBuf, &scratch)
			if err != nil {
				return nil, fmt.Errorf("read queue segment %s at entry %d: %w", v.path, q.rdSeq, err)
			}
			b.Entries = append(b.Entries, append([]byte(nil), p...))
			b.Bytes += len(p)
			q.rdOff += int64(frameHdr + len(p))
			q.rdSeq++
		}
		if q.rdSeq >= v.base+v.n && v.n > 0 {
			// The next entries are in a later segment (the last one may grow,
			// but then the loop ends because of the snapshot's n).
			continue
		}
	}
	return b, nil
}

// openReader positions the consumer at q.rdSeq inside the segment at base.
func (q *Queue) openReader(base uint64, path string, scratch *[]byte) error {
	q.closeReader()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open queue segment for reading: %w", err)
	}
	q.rdFile, q.rdSeg, q.rdOff = f, base, 0
	q.rdBuf = bufio.NewReaderSize(f, 1<<16)
	if q.rdSeq < base {
		q.rdSeq = base
	}
	for s := base; s < q.rdSeq; s++ {
		p, err := readFrame(q.rdBuf, scratch)
		if err != nil {
			return fmt.Errorf("skip to entry %d in queue segment %s: %w", q.rdSeq, path, err)
		}
		q.rdOff += int64(frameHdr + len(p))
	}
	return nil
}

func (q *Queue) closeReader() {
	if q.rdFile != nil {
		q.rdFile.Close()
		q.rdFile, q.rdBuf = nil, nil
	}
}

// Rewind makes the next Next start again at the first unacknowledged
// entry (after a send that failed in a way the consumer cannot retry with
// the batch it holds).
func (q *Queue) Rewind() {
	q.mu.Lock()
	q.rdSeq = q.acked
	q.mu.Unlock()
	q.closeReader()
}

// Ack acknowledges every entry before end (a Batch's End): they are
// deleted once their whole segment is acknowledged, and a restart does not
// deliver them again.
func (q *Queue) Ack(end uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if end <= q.acked {
		return nil
	}
	if end > q.next {
		end = q.next
	}
	q.st.Acked += end - q.acked
	q.acked = end
	if err := q.writeCursor(); err != nil {
		return err
	}
	for len(q.segs) > 1 && q.segs[0].base+q.segs[0].n <= q.acked {
		s := q.segs[0]
		if q.rdSeg == s.base {
			q.closeReader()
		}
		if err := os.Remove(s.path); err != nil {
			return fmt.Errorf("remove delivered queue segment: %w", err)
		}
		q.segs = q.segs[1:]
	}
	q.cond.Broadcast()
	return nil
}

// Stats returns a snapshot of the queue's counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := q.st
	st.Entries = q.next - q.acked
	st.Bytes = q.bytesLocked()
	if st.Entries > 0 {
		// The append-time marks are sparse (one per 100 ms): the oldest
		// undelivered entry was appended at or after the last mark at or
		// before the acknowledged position.
		for _, s := range q.segs {
			for _, m := range s.times {
				if st.Oldest.IsZero() || m.seq <= q.acked {
					st.Oldest = m.t
				}
			}
		}
	}
	return st
}

// Dir returns the queue's directory.
func (q *Queue) Dir() string { return q.dir }

// Close flushes the queue to disk and closes its files. Entries not yet
// acknowledged stay on disk for the next Open. Blocked Append and Next
// calls return ErrClosed.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	q.cond.Broadcast()
	q.dirty = true
	err := q.syncLocked()
	q.closeFiles()
	return err
}

func (q *Queue) closeFiles() {
	if q.tail != nil {
		q.tail.Close()
	}
	if q.curFile != nil {
		q.curFile.Close()
	}
}
