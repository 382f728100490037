package evtx

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

func TestEachStops(t *testing.T) {
	b := readSample(t, "evtx/omerbenamram-evtx_security.evtx")
	f, err := OpenBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	stop := errors.New("stop")
	for _, workers := range []int{1, 2, 4} {
		n := 0
		err := Each(context.Background(), f, Options{Workers: workers}, func(c *Chunk) int { return c.Index },
			func(c *Chunk, idx int) error {
				if idx != n {
					t.Errorf("workers %d: chunk %d emitted at position %d", workers, idx, n)
				}
				n++
				if n == 5 {
					return stop
				}
				return nil
			})
		if !errors.Is(err, stop) || n != 5 {
			t.Errorf("workers %d: err %v after %d chunks, want stop after 5", workers, err, n)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n = 0
		err = Each(ctx, f, Options{Workers: workers}, func(c *Chunk) int { return 0 },
			func(c *Chunk, _ int) error {
				n++
				if n == 3 {
					cancel()
				}
				return nil
			})
		if !errors.Is(err, context.Canceled) || n != 3 {
			t.Errorf("workers %d: err %v after %d chunks, want context.Canceled right after 3", workers, err, n)
		}
		cancel()
	}
	// No worker goroutine is left behind.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left, %d before", g, before)
	}
}
