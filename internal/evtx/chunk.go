package evtx

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"sync"
	"time"
)

// Chunk is one 64 KiB chunk of a File, loaded and checked. Its records are
// read with Records. A Chunk is used by one goroutine at a time.
type Chunk struct {
	// Index is the chunk number in file order; Offset its file offset.
	Index  int
	Offset int64
	// FirstID and LastID are the record identifiers the chunk header
	// claims; valid only when HeaderOK.
	FirstID, LastID uint64
	HeaderOK        bool

	data    []byte  // the chunk bytes (shorter than ChunkSize when truncated)
	buf     *[]byte // ChunkSize bytes from bufPool backing data when the File is read with ReadAt
	end     int     // end of the records area
	hint    int     // free-space offset of an untrusted header: stop there if the records end there
	carve   bool    // also read records in the slack space
	dirty   bool    // the file's dirty flag: the header may lag behind the records
	probs   []Problem
	skipped int
	nrec    int

	cache    *tcache // the File's templates, shared across chunks
	released bool    // Release was called: c is in chunkPool
	detached bool    // its records were read and its buffer and state given back

	// The parsing state, attached while the chunk's records are read; nil
	// once Each has run the work function of a parallel read.
	*parseState
}

// parseState is what parsing a chunk needs besides its bytes, reused from
// record to record and, through statePool, from chunk to chunk. A reader
// working through many chunks keeps its maps, slices and decoded strings
// warm instead of building them again for every chunk. It is owned by one
// goroutine at a time.
type parseState struct {
	names    map[uint32]nameEntry     // names by chunk offset; cleared per chunk
	nameStrs map[string]string        // decoded names by their UTF-16 bytes; kept across chunks
	tmpls    map[uint32]*template     // templates by definition offset; cleared per chunk
	canonBuf []byte                   // canonical form of a template definition
	vals     []value                  // values of the record's template instance
	vals2    []value                  // values of a nested EventData instance
	nest     [maxNestedValues][]value // values of nested BinXML, by depth
	budget   int                      // nested BinXML values left for the current record
	outStart int                      // where the current record's output started (size limit)
	scratch  []byte                   // text decoding
	strs     interner                 // strings of decoded WFP values; kept across chunks
	jarena   jarena                   // JSON tree nodes of the record being rendered
	jattr    []byte                   // an attribute value being rendered to JSON
}

// begin readies s for a new chunk: what is keyed by chunk offset goes,
// what is keyed by content (decoded names and strings) and the capacity
// of everything stay.
func (s *parseState) begin() {
	clear(s.names)
	clear(s.tmpls)
	s.canonBuf, s.vals, s.vals2, s.scratch, s.jattr = s.canonBuf[:0], s.vals[:0], s.vals2[:0], s.scratch[:0], s.jattr[:0]
	for i := range s.nest {
		s.nest[i] = s.nest[i][:0]
	}
	s.budget, s.outStart = 0, 0
}

// statePool recycles parseStates. Fresh heap costs page faults, ~12 µs
// each on some virtual machines: warming the maps and interners of a new
// state for every chunk made up a large part of reading a 2 MB file.
var statePool = sync.Pool{New: func() any { return new(parseState) }}

// attach gives c a parsing state when it has none.
func (c *Chunk) attach() {
	if c.parseState == nil {
		c.parseState = statePool.Get().(*parseState)
		c.parseState.begin()
	}
}

// detach returns c's parsing state and buffer to their pools once its
// records have been read: the records cannot be read again (Records finds
// none), but Problems and Skipped still answer.
func (c *Chunk) detach() {
	if c.parseState != nil {
		statePool.Put(c.parseState)
		c.parseState = nil
	}
	if c.buf != nil {
		bufPool.Put(c.buf)
		c.buf = nil
	}
	c.data, c.end, c.detached = nil, 0, true
}

// noTemplateCache turns off sharing templates across chunks (tests).
var noTemplateCache bool

// chunkPool recycles Chunks, bufPool their 64 KiB buffers. A buffer goes
// back as soon as the chunk's records are read (detach), so a parallel
// read holds one per worker, not one per chunk waiting to be emitted.
var (
	chunkPool = sync.Pool{New: func() any { return new(Chunk) }}
	bufPool   = sync.Pool{New: func() any { b := make([]byte, ChunkSize); return &b }}
)

// loadChunk reads and checks chunk ref of f. The Chunk comes from chunkPool
// and goes back with Release.
func (f *File) loadChunk(ref chunkRef, carve bool) *Chunk {
	c := chunkPool.Get().(*Chunk)
	*c = Chunk{}
	c.attach()
	c.Index, c.Offset, c.carve, c.cache = ref.index, ref.off, carve, &f.tcache
	c.dirty = f.Header.Flags&FlagDirty != 0
	if noTemplateCache {
		c.cache = nil
	}
	if f.mem != nil {
		end := min(ref.off+ChunkSize, int64(len(f.mem)))
		c.data = f.mem[ref.off:end]
	} else {
		c.buf = bufPool.Get().(*[]byte)
		n, err := f.readAt(*c.buf, ref.off)
		if err != nil {
			c.problem(0, "read: %v", err)
		}
		c.data = (*c.buf)[:n]
	}
	c.check()
	return c
}

// Release returns the chunk to the pool for reuse. The chunk, every Record
// from it and the slice returned by Problems must not be used afterwards;
// strings decoded from it stay valid.
func (c *Chunk) Release() {
	if c.released {
		return // a second Release must not put c in the pool twice
	}
	c.detach()
	c.released = true
	c.cache = nil
	chunkPool.Put(c)
}

// problem records a problem at chunk offset off.
func (c *Chunk) problem(off int, format string, args ...any) {
	c.probs = append(c.probs, Problem{Chunk: c.Index, Offset: c.Offset + int64(off), Err: fmt.Errorf(format, args...)})
}

// Problems returns what went wrong in this chunk so far.
func (c *Chunk) Problems() []Problem { return c.probs }

// Skipped returns how many records of this chunk could not be read (an
// estimate from record identifiers where garbage hid them).
func (c *Chunk) Skipped() int { return c.skipped }

// Fail reports that record r could not be decoded: it is counted as skipped
// and a Problem names it.
func (c *Chunk) Fail(r *Record, err error) {
	c.skipped++
	c.probs = append(c.probs, Problem{Chunk: c.Index, Offset: c.Offset + int64(r.off), Err: fmt.Errorf("record %d skipped: %w", r.ID, err)})
}

func (c *Chunk) check() {
	d := c.data
	c.end = len(d)
	if len(d) < chunkHeaderSize {
		c.problem(0, "chunk truncated to %d bytes: shorter than its header; skipped", len(d))
		c.end = 0
		return
	}
	sum := crc32.ChecksumIEEE(d[:120])
	sum = crc32.Update(sum, crc32.IEEETable, d[128:512])
	c.HeaderOK = sum == u32(d, 124)
	c.FirstID, c.LastID = u64(d, 24), u64(d, 32)
	free := int(u32(d, 48))
	if !c.HeaderOK {
		c.problem(124, "chunk header checksum mismatch: header not trusted, scanning the chunk for records")
		if free >= chunkHeaderSize && free <= len(d) {
			c.hint = free
		}
		if c.LastID < c.FirstID || c.LastID-c.FirstID > ChunkSize/28 {
			c.FirstID, c.LastID = 0, 0
		}
		return
	}
	if c.LastID < c.FirstID {
		c.problem(32, "chunk header has last record id %d before first %d", c.LastID, c.FirstID)
		c.HeaderOK = false
		return
	}
	if free < chunkHeaderSize || free > ChunkSize {
		c.problem(48, "free-space offset %d out of range: scanning the chunk for records", free)
		return
	}
	if len(d) < ChunkSize {
		c.problem(len(d), "chunk truncated at end of file: %d of %d bytes", len(d), ChunkSize)
	}
	if free <= len(d) {
		c.end = free
		if crc32.ChecksumIEEE(d[chunkHeaderSize:free]) != u32(d, 52) {
			c.problem(52, "record data checksum mismatch: records may be damaged")
		}
	}
}

// Record is one event record. It points into its Chunk and is valid until
// the chunk is released.
type Record struct {
	ID      uint64    // event record identifier
	Written time.Time // when the record was written (record header)
	Carved  bool      // found in slack space by --carve
	c       *Chunk
	off     int // chunk offset of the record
	size    int
}

// Offset returns the file offset of the record.
func (r *Record) Offset() int64 { return r.c.Offset + int64(r.off) }

// Chunk returns the chunk holding r.
func (r *Record) Chunk() *Chunk { return r.c }

const recordMagic = "\x2a\x2a\x00\x00"

// validRecordAt reports the size of a plausible record at off, or 0.
func (c *Chunk) validRecordAt(off, end int) int {
	d := c.data
	if off < chunkHeaderSize || off+28 > end || string(d[off:off+4]) != recordMagic {
		return 0
	}
	size := int(u32(d, off+4))
	if size < 28 || off+size > end || int(u32(d, off+size-4)) != size {
		return 0
	}
	return size
}

// Records calls fn for each record of the chunk in order, until fn returns
// false. Damaged parts are skipped and reported in Problems.
func (c *Chunk) Records(fn func(r *Record) bool) {
	if c.detached {
		return
	}
	c.attach()
	var rec Record
	rec.c = c
	prevID := c.FirstID - 1
	haveIDs := c.HeaderOK && c.FirstID > 0
	off := chunkHeaderSize
	for off < c.end && off != c.hint {
		size := c.validRecordAt(off, c.end)
		if size == 0 {
			if allZero(c.data[off:c.end]) {
				break // zero-filled tail of the records area
			}
			next := c.resync(off+1, c.end)
			if next < 0 {
				if haveIDs {
					c.problem(off, "no valid record in the last %d bytes of the records area", c.end-off)
				} else {
					c.problem(off, "no valid record in the last %d bytes of the chunk: skipped (an unknown number of records)", c.end-off)
				}
				break
			}
			skip := 1
			id := u64(c.data, next+8)
			if haveIDs && id > prevID+1 && id-prevID-1 < ChunkSize/28 {
				skip = int(id - prevID - 1)
			}
			c.skipped += skip
			c.problem(off, "%d bytes of garbage before the next record: about %d record(s) skipped", next-off, skip)
			off = next
			continue
		}
		rec.ID = u64(c.data, off+8)
		rec.Written = FiletimeToTime(u64(c.data, off+16))
		rec.off, rec.size = off, size
		c.nrec++
		if haveIDs && rec.ID > prevID {
			prevID = rec.ID
		}
		off += size
		if !fn(&rec) {
			return
		}
	}
	if c.dirty && haveIDs && off == c.end {
		// A file copied while Windows was writing it: records written after
		// the chunk header was last updated follow the free-space offset.
		// Take them when they continue the record ids exactly.
		n := 0
		for off < len(c.data) {
			size := c.validRecordAt(off, len(c.data))
			if size == 0 || u64(c.data, off+8) != prevID+1 {
				break
			}
			rec.ID = prevID + 1
			rec.Written = FiletimeToTime(u64(c.data, off+16))
			rec.off, rec.size = off, size
			c.nrec++
			prevID = rec.ID
			off += size
			n++
			if !fn(&rec) {
				return
			}
		}
		if n > 0 {
			c.problem(c.end, "%d record(s) after the header's free-space offset recovered (written after the chunk header was last updated)", n)
		}
	}
	if haveIDs && c.LastID > prevID && c.LastID-prevID < ChunkSize/28 {
		n := int(c.LastID - prevID)
		c.skipped += n
		c.problem(c.end, "%d record(s) the chunk header lists were not found", n)
	}
	if c.carve {
		c.carveSlack(fn)
	}
}

// resync finds the next plausible record in [from, end), or -1.
func (c *Chunk) resync(from, end int) int {
	for from < end {
		i := bytes.Index(c.data[from:end], []byte(recordMagic))
		if i < 0 {
			return -1
		}
		if c.validRecordAt(from+i, end) > 0 {
			return from + i
		}
		from += i + 1
	}
	return -1
}

// carveSlack looks for whole records after the records area (slack space
// left by older records).
func (c *Chunk) carveSlack(fn func(r *Record) bool) {
	var rec Record
	rec.c = c
	rec.Carved = true
	off := max(c.end, chunkHeaderSize)
	for {
		next := c.resync(off, len(c.data))
		if next < 0 {
			return
		}
		size := c.validRecordAt(next, len(c.data))
		rec.ID = u64(c.data, next+8)
		rec.Written = FiletimeToTime(u64(c.data, next+16))
		rec.off, rec.size = next, size
		if !fn(&rec) {
			return
		}
		off = next + size
	}
}
