package evtx

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/samples"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// FuzzChunk feeds arbitrary bytes to the chunk and BinXML parser as the
// only chunk of a file. It must never panic, and whatever it renders must
// be well-formed XML and valid JSON. Seeds: the fixture chunk and, when
// the shared samples are present, the first chunk of each sample.
func FuzzChunk(f *testing.F) {
	fix := fixtureFile()
	f.Add(fix[FileHeaderSize : FileHeaderSize+4096])
	f.Add(fix[FileHeaderSize : FileHeaderSize+2048])
	if dir, ok := samples.Find(); ok {
		paths, _ := filepath.Glob(filepath.Join(dir, "evtx", "*.evtx"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) >= FileHeaderSize+ChunkSize {
				f.Add(b[FileHeaderSize : FileHeaderSize+ChunkSize])
			}
		}
	}
	f.Fuzz(func(t *testing.T, chunk []byte) {
		if len(chunk) > ChunkSize {
			chunk = chunk[:ChunkSize]
		}
		file := append(fileOf(), chunk...)
		fl, err := OpenBytes(file)
		if err != nil {
			return
		}
		var rec evtlog.Record
		for _, ref := range fl.chunks {
			c := fl.loadChunk(ref, true)
			c.Records(func(r *Record) bool {
				if x, err := r.AppendXML(nil); err == nil {
					checkXML(t, x)
				}
				if j, err := r.AppendJSON(nil); err == nil && !json.Valid(j) {
					t.Fatalf("invalid JSON: %s", j)
				}
				r.WFP(&rec)
				return true
			})
			// Back to the pool: the next input reuses this chunk's
			// parsing state, so stale state would show up here.
			c.Release()
		}
	})
}

func checkXML(t *testing.T, x []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(x))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("rendered XML is not well-formed: %v\n%q", err, x)
		}
	}
}
