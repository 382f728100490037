package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func entry(i int) []byte {
	return []byte(fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, bytes.Repeat([]byte("x"), i%50)))
}

func drain(t *testing.T, q *Queue, ack bool) [][]byte {
	t.Helper()
	var out [][]byte
	for q.Stats().Entries > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		b, err := q.Next(ctx, 100, 4096)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Entries...)
		if ack {
			if err := q.Ack(b.End()); err != nil {
				t.Fatal(err)
			}
		}
		if !ack && q.rdSeq >= q.next {
			break
		}
	}
	return out
}

func TestRoundTripAndResume(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, Options{MaxBytes: 64 << 10, SegmentBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if err := q.Append(context.Background(), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	// Deliver and acknowledge the first 200 only.
	got := 0
	for got < 200 {
		b, err := q.Next(context.Background(), 200-got, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range b.Entries {
			if !bytes.Equal(e, entry(got+j)) {
				t.Fatalf("entry %d = %q", got+j, e)
			}
		}
		got += len(b.Entries)
		if err := q.Ack(b.End()); err != nil {
			t.Fatal(err)
		}
	}
	// Read more without acknowledging: those come again after a restart.
	if _, err := q.Next(context.Background(), 50, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q, err = Open(dir, Options{MaxBytes: 64 << 10, SegmentBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if st := q.Stats(); st.Entries != 300 {
		t.Fatalf("after restart %d entries pending, want 300", st.Entries)
	}
	rest := drain(t, q, true)
	if len(rest) != 300 {
		t.Fatalf("resumed %d entries, want 300", len(rest))
	}
	for j, e := range rest {
		if !bytes.Equal(e, entry(200+j)) {
			t.Fatalf("resumed entry %d = %q", 200+j, e)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if len(segs) != 1 {
		t.Errorf("%d segments left after everything was acknowledged, want 1", len(segs))
	}
}

// A crash in the middle of a write leaves a torn frame: Open cuts it and
// keeps every entry before it.
func TestTornTail(t *testing.T) {
	for _, tc := range []struct {
		name string
		hurt func(path string) error
	}{
		{"truncated payload", func(p string) error {
			fi, _ := os.Stat(p)
			return os.Truncate(p, fi.Size()-3)
		}},
		{"truncated header", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte{5, 0, 0})
			return err
		}},
		{"garbage", func(p string) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte("\x10\x00\x00\x00\xde\xad\xbe\xefnot-the-crc-payload"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				q.Append(context.Background(), entry(i))
			}
			q.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
			want := 10
			if tc.name == "truncated payload" {
				want = 9 // the last entry itself was torn
			}
			if err := tc.hurt(segs[len(segs)-1]); err != nil {
				t.Fatal(err)
			}
			var warned []string
			q, err = Open(dir, Options{Warn: func(s string) { warned = append(warned, s) }})
			if err != nil {
				t.Fatal(err)
			}
			defer q.Close()
			if len(warned) != 1 || q.Stats().Corrupt != 1 {
				t.Errorf("warnings %q, corrupt %d; want one", warned, q.Stats().Corrupt)
			}
			// Appending after recovery continues cleanly.
			q.Append(context.Background(), entry(99))
			got := drain(t, q, true)
			if len(got) != want+1 {
				t.Fatalf("got %d entries, want %d", len(got), want+1)
			}
			for i := range want {
				if !bytes.Equal(got[i], entry(i)) {
					t.Fatalf("entry %d = %q", i, got[i])
				}
			}
			if !bytes.Equal(got[want], entry(99)) {
				t.Fatalf("entry after recovery = %q", got[want])
			}
		})
	}
}

// A full queue either blocks the producer until the consumer catches up,
// or drops the oldest segment and says so.
func TestFull(t *testing.T) {
	t.Run("block", func(t *testing.T) {
		q, err := Open(t.TempDir(), Options{MaxBytes: 4 << 10, SegmentBytes: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		n := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			err := q.Append(ctx, entry(n))
			cancel()
			if err != nil {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatal(err)
				}
				break
			}
			n++
		}
		if st := q.Stats(); st.Bytes > 4<<10 || st.Blocked != 1 || st.Dropped != 0 {
			t.Fatalf("full queue: %+v", st)
		}
		// A consumer makes room: the blocked producer goes on.
		done := make(chan error)
		go func() { done <- q.Append(context.Background(), entry(n)) }()
		b, err := q.Next(context.Background(), 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		q.Ack(b.End())
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := drain(t, q, true)
		if len(b.Entries)+len(got) != n+1 {
			t.Fatalf("delivered %d, appended %d", len(b.Entries)+len(got), n+1)
		}
	})
	t.Run("drop", func(t *testing.T) {
		var warned int
		q, err := Open(t.TempDir(), Options{MaxBytes: 4 << 10, SegmentBytes: 1 << 10, Full: DropOldest, Warn: func(string) { warned++ }})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		for i := range 1000 {
			if err := q.Append(context.Background(), entry(i)); err != nil {
				t.Fatal(err)
			}
		}
		st := q.Stats()
		if st.Bytes > 4<<10 || st.Dropped == 0 || warned == 0 {
			t.Fatalf("drop-oldest: %+v, %d warnings", st, warned)
		}
		got := drain(t, q, true)
		if uint64(len(got))+st.Dropped != 1000 {
			t.Fatalf("delivered %d + dropped %d != 1000", len(got), st.Dropped)
		}
		if !bytes.Equal(got[len(got)-1], entry(999)) {
			t.Fatalf("newest entry lost: %q", got[len(got)-1])
		}
	})
}

// A real full disk is simulated by a queue limit smaller than one entry.
func TestEntryTooLarge(t *testing.T) {
	q, err := Open(t.TempDir(), Options{MaxBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Append(context.Background(), bytes.Repeat([]byte("a"), 100)); err == nil {
		t.Fatal("an entry larger than the queue was accepted")
	}
}

func FuzzReadSegment(f *testing.F) {
	var seed bytes.Buffer
	dir := f.TempDir()
	q, _ := Open(dir, Options{})
	for i := range 5 {
		q.Append(context.Background(), entry(i))
	}
	q.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	b, _ := os.ReadFile(segs[0])
	seed.Write(b)
	f.Add(seed.Bytes())
	f.Add(b[:len(b)-1])
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "seg-0000000000000000.log"), data, 0o600)
		q, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		n := q.Stats().Entries
		got := drain(t, q, true)
		if uint64(len(got)) != n {
			t.Fatalf("Open counted %d entries, read %d", n, len(got))
		}
		for _, e := range got {
			if len(e) == 0 || len(e) > MaxEntry {
				t.Fatalf("entry of %d bytes", len(e))
			}
		}
	})
}

func BenchmarkAppendNextAck(b *testing.B) {
	q, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	e := bytes.Repeat([]byte("e"), 600) // about one ECS event
	done := make(chan struct{})
	go func() {
		defer close(done)
		var n int
		for n < b.N {
			bt, err := q.Next(context.Background(), 512, 1<<20)
			if err != nil {
				return
			}
			n += len(bt.Entries)
			q.Ack(bt.End())
		}
	}()
	b.SetBytes(int64(len(e)))
	b.ResetTimer()
	for range b.N {
		if err := q.Append(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
