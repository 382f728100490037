package ingest

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/samples"
)

// setSpoolCap lowers maxSpool for one test and points TMPDIR at a
// directory of its own, returned.
func setSpoolCap(t *testing.T, n int64) string {
	t.Helper()
	old := maxSpool
	maxSpool = n
	t.Cleanup(func() { maxSpool = old })
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	return dir
}

// zeros is an endless reader of zero bytes, up to n.
func zeros(n int64) io.Reader { return io.LimitReader(zeroReader{}, n) }

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// gzStream gzips r.
func gzStream(t *testing.T, r io.Reader) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := io.Copy(w, r); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return out.Bytes()
}

func walkBytes(t *testing.T, name string, data []byte) (Stats, []*Problem, error) {
	t.Helper()
	var probs []*Problem
	w := walker{ctx: context.Background(), emit: func(*event.Event) error { return nil },
		warn: func(p *Problem) { probs = append(probs, p) }, spool: newSpooler()}
	err := w.input(Input{Name: name, R: bytes.NewReader(data), Size: -1}, nil, 0)
	return w.st, probs, err
}

// TestEvtxStreamBomb is the recipe of an .evtx bomb: "ElfFile\0" and
// zeros, gzipped twice, so that a few KiB expand to far more than the spool
// may take. The reader must stop at the cap with a clear error, without
// holding the data in memory, and leave no temporary file.
func TestEvtxStreamBomb(t *testing.T) {
	dir := setSpoolCap(t, 8<<20)
	inner := gzStream(t, io.MultiReader(strings.NewReader("ElfFile\x00"), zeros(64<<20)))
	bomb := gz(inner)
	t.Logf("bomb: %d bytes, expands to %d", len(bomb), 64<<20+8)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, probs, err := walkBytes(t, "bomb.gz", bomb)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if len(st.Files) != 1 || st.Files[0].Format != "evtx" || st.Files[0].Err == nil {
		t.Fatalf("stats: %+v", st.Files)
	}
	if len(probs) == 0 || !errors.Is(probs[len(probs)-1], errSpoolFull) || !strings.Contains(probs[len(probs)-1].Error(), "larger than 8.0 MiB") {
		t.Fatalf("problems: %v", probs)
	}
	// Reading it whole would allocate the 64 MiB (and more while growing).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB reading a bomb", alloc>>20)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestEvtxStreamSpooled reads an .evtx from a stream (gzipped) through the
// spool: same events as from the file, and the temporary file is gone.
func TestEvtxStreamSpooled(t *testing.T) {
	path := samples.Path(t, "evtx/omerbenamram-evtx_Security_short_selected.evtx")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := setSpoolCap(t, 64<<20)
	st, probs, err := walkBytes(t, "small.evtx.gz", gz(b))
	if err != nil || len(st.Files) != 1 || st.Files[0].Format != "evtx" || st.Files[0].Err != nil {
		t.Fatalf("walk: %v %+v %v", err, st.Files, probs)
	}
	if st.Events == 0 {
		t.Fatalf("no events from a spooled .evtx: %v", probs)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestNestedZipSpoolBudget: a zip in a zip read from a stream spools at
// both levels; together they may not pass the cap.
func TestNestedZipSpoolBudget(t *testing.T) {
	dir := setSpoolCap(t, 3<<20)
	noise := make([]byte, 2<<20)
	rand.Read(noise)
	var inner bytes.Buffer
	zw := zip.NewWriter(&inner)
	f, _ := zw.CreateHeader(&zip.FileHeader{Name: "noise.bin", Method: zip.Store})
	f.Write(noise)
	zw.Close()
	outer := zipOf(map[string][]byte{"inner.zip": inner.Bytes()})
	_, probs, err := walkBytes(t, "outer.zip", outer)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range probs {
		if errors.Is(p, errSpoolFull) && strings.Contains(p.Error(), "the archives around it") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no spool-budget problem: %v", probs)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestCancelBlockedRead: a reader blocked on a pipe that never writes
// returns when the context is cancelled, for a named FIFO too (blocked in
// open).
func TestCancelBlockedRead(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	r, release := guard(ctx, pr, false)
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := ReadInput(ctx, Input{Name: "-", R: r, Size: -1}, func(*event.Event) error { return nil }, func(*Problem) {})
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocked read not unblocked by cancel")
	}

}
