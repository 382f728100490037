package evtx

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/xml"
	"hash/crc32"
	"io"
	"math/rand"
	"strings"
	"testing"
)

const damageSample = "evtx/EVTX-to-MITRE-Attack_ID4688-5447-4950-Firewall_disabled_command.evtx"

// dumpAll reads b with Dump and returns the result, the problems and the
// XML.
func dumpAll(t *testing.T, b []byte, opts DumpOptions) (DumpResult, []string, []byte) {
	t.Helper()
	var probs []string
	opts.Warn = func(p *Problem) { probs = append(probs, p.Error()) }
	var out bytes.Buffer
	res, err := Dump(context.Background(), bytes.NewReader(b), int64(len(b)), &out, opts)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	// The output is always well-formed XML.
	if opts.Format == DumpXML {
		dec := xml.NewDecoder(bytes.NewReader(out.Bytes()))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("output is not well-formed XML: %v", err)
			}
		}
	}
	return res, probs, out.Bytes()
}

func hasProblem(probs []string, parts ...string) bool {
	for _, p := range probs {
		all := true
		for _, s := range parts {
			if !strings.Contains(p, s) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	return false
}

// chunkRecords counts the records of each chunk of an intact file.
func chunkRecords(t *testing.T, b []byte) []int {
	f, err := OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	var n []int
	for _, ref := range f.chunks {
		c := f.loadChunk(ref, false)
		k := 0
		c.Records(func(*Record) bool { k++; return true })
		n = append(n, k)
	}
	return n
}

func TestDamage(t *testing.T) {
	orig := readSample(t, damageSample)
	perChunk := chunkRecords(t, orig)
	total := 0
	for _, n := range perChunk {
		total += n
	}
	chunkOff := func(i int) int { return FileHeaderSize + i*ChunkSize }
	// firstRecord returns the chunk offset of the n-th record of chunk i.
	recordOff := func(b []byte, i, n int) int {
		off := chunkOff(i) + chunkHeaderSize
		for ; n > 0; n-- {
			off += int(binary.LittleEndian.Uint32(b[off+4:]))
		}
		return off
	}
	fixHeaderCRC := func(b []byte) {
		binary.LittleEndian.PutUint32(b[124:], crc32.ChecksumIEEE(b[:120]))
	}

	tests := []struct {
		name    string
		damage  func(b []byte) []byte
		records int      // records expected to be read
		skipped int      // records expected to be reported skipped (-1: any > 0)
		problem []string // a problem must contain all of these
	}{
		{"intact", func(b []byte) []byte { return b }, total, 0, nil},
		{"dirty flag", func(b []byte) []byte {
			b[120] |= FlagDirty
			fixHeaderCRC(b)
			return b
		}, total, 0, []string{"file header", "dirty flag"}},
		{"zeroed file header", func(b []byte) []byte {
			clear(b[:FileHeaderSize])
			return b
		}, total, 0, []string{"file header offset 0x0", "bad file header signature"}},
		{"file header checksum", func(b []byte) []byte {
			b[60] ^= 0xff
			return b
		}, total, 0, []string{"file header", "checksum mismatch"}},
		{"chunk header checksum", func(b []byte) []byte {
			b[chunkOff(3)+64] ^= 0xff
			return b
		}, total, 0, []string{"chunk 3 offset 0x3107c", "chunk header checksum mismatch"}},
		{"garbage record header", func(b []byte) []byte {
			off := recordOff(b, 5, 3)
			copy(b[off:off+8], "GARBAGE!")
			return b
		}, total - 1, 1, []string{"chunk 5 offset", "garbage before the next record", "1 record(s) skipped"}},
		{"flipped bytes in a chunk", func(b []byte) []byte {
			off := chunkOff(7) + 30000
			for i := 0; i < 64; i++ {
				b[off+i] ^= 0x5a
			}
			return b
		}, -1, -1, []string{"chunk 7 offset 0x71034", "record data checksum mismatch"}},
		{"chunk signature gone", func(b []byte) []byte {
			copy(b[chunkOff(2):], "XXXXXXXX")
			return b
		}, total - perChunk[2], 0, []string{"chunk 2 offset 0x21000", "no chunk signature"}},
		{"truncated mid-chunk", func(b []byte) []byte {
			return b[:chunkOff(10)+30000]
		}, -1, -1, []string{"chunk 10 offset 0xa8530", "truncated at end of file"}},
		{"truncated in chunk header", func(b []byte) []byte {
			return b[:chunkOff(4)+100]
		}, sum(perChunk[:4]), 0, []string{"chunk 4", "shorter than its header"}},
		{"truncated file header", func(b []byte) []byte {
			return b[:50]
		}, 0, 0, []string{"file header", "shorter than a file header"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.damage(bytes.Clone(orig))
			for _, workers := range []int{1, 2} {
				res, probs, _ := dumpAll(t, b, DumpOptions{Opts: Options{Workers: workers}})
				if tc.records >= 0 && res.Records != tc.records {
					t.Errorf("workers %d: %d records read, want %d", workers, res.Records, tc.records)
				}
				switch {
				case tc.skipped >= 0 && res.Skipped != tc.skipped:
					t.Errorf("workers %d: %d skipped, want %d (%v)", workers, res.Skipped, tc.skipped, probs)
				}
				if tc.problem == nil && len(probs) > 0 {
					t.Errorf("workers %d: unexpected problems %v", workers, probs)
				}
				if tc.problem != nil && !hasProblem(probs, tc.problem...) {
					t.Errorf("workers %d: no problem with %q in %q", workers, tc.problem, probs)
				}
			}
		})
	}
}

func sum(n []int) int {
	s := 0
	for _, v := range n {
		s += v
	}
	return s
}

// TestTruncatedCounts checks that a file cut inside a chunk reports the
// records it lost: read + skipped = what the chunks held.
func TestTruncatedCounts(t *testing.T) {
	orig := readSample(t, damageSample)
	perChunk := chunkRecords(t, orig)
	b := orig[:FileHeaderSize+10*ChunkSize+30000]
	res, probs, _ := dumpAll(t, b, DumpOptions{})
	if got, want := res.Records+res.Skipped, sum(perChunk[:11]); got != want {
		t.Errorf("read %d + skipped %d = %d, want %d (%v)", res.Records, res.Skipped, got, want, probs)
	}
}

// TestRandomDamage flips random bytes all over a sample: the reader must
// never panic, must always write well-formed XML, and must account for
// every record (read or skipped) unless damage hid them.
func TestRandomDamage(t *testing.T) {
	orig := readSample(t, "evtx/omerbenamram-evtx_security.evtx")
	rng := rand.New(rand.NewSource(1))
	rounds := 10
	if testing.Short() {
		rounds = 5
	}
	for round := 0; round < rounds; round++ {
		b := bytes.Clone(orig)
		for i := 0; i < 1+rng.Intn(200); i++ {
			b[rng.Intn(len(b))] ^= byte(1 + rng.Intn(255))
		}
		if rng.Intn(4) == 0 {
			b = b[:rng.Intn(len(b))]
		}
		for _, f := range []DumpFormat{DumpXML, DumpJSON} {
			dumpAll(t, b, DumpOptions{Format: f, Opts: Options{Carve: round%2 == 0}})
		}
	}
}

func TestCarve(t *testing.T) {
	orig := readSample(t, damageSample)
	b := bytes.Clone(orig)
	// Move chunk 0's free-space offset back over its last records: they are
	// now slack space, found again only with carving.
	off := FileHeaderSize
	free := int(binary.LittleEndian.Uint32(b[off+48:]))
	last := int(binary.LittleEndian.Uint32(b[off+44:]))
	if last <= chunkHeaderSize || last >= free {
		t.Fatalf("unexpected chunk layout: last %d free %d", last, free)
	}
	binary.LittleEndian.PutUint32(b[off+48:], uint32(last))
	res, _, _ := dumpAll(t, b, DumpOptions{})
	resCarve, _, _ := dumpAll(t, b, DumpOptions{Opts: Options{Carve: true}})
	if resCarve.Records != res.Records+1 {
		t.Errorf("carving found %d records, without %d: want one more", resCarve.Records, res.Records)
	}
}
