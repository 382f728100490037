package evtx

import (
	"context"
	"runtime"
	"sync"
)

// Options tune File.Each.
type Options struct {
	// Workers is how many chunks are parsed at once; 0 means GOMAXPROCS.
	Workers int
	// Carve also looks for whole records in the slack space after each
	// chunk's records (left by older records). Carved records may repeat
	// records seen elsewhere.
	Carve bool
}

// Each parses the chunks of f, work running on up to opts.Workers
// goroutines, and calls emit for each chunk in record order with the result
// of its work. work reads the chunk (c.Records) and returns what emit needs;
// emit runs on the caller's goroutine, one chunk at a time, and may report
// c.Problems() and c.Skipped(). The chunk is released after emit returns.
// Each stops at the first error of emit or when ctx is done, and returns it.
//
// File-level problems (f.Problems) are not passed to emit: the caller
// reports them before or after.
func Each[T any](ctx context.Context, f *File, opts Options, work func(c *Chunk) T, emit func(c *Chunk, v T) error) error {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := len(f.chunks)
	if workers == 1 || n <= 1 {
		for _, ref := range f.chunks {
			if err := ctx.Err(); err != nil {
				return err
			}
			c := f.loadChunk(ref, opts.Carve)
			v := work(c)
			err := emit(c, v)
			c.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}

	type result struct {
		c    *Chunk
		v    T
		done chan struct{}
	}
	window := 2 * workers // chunks in flight, bounding memory
	results := make([]*result, n)
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				r := results[i]
				r.c = f.loadChunk(f.chunks[i], opts.Carve)
				r.v = work(r.c)
				close(r.done)
			}
		}()
	}
	// Feed jobs, at most window ahead of the emitter.
	credits := make(chan struct{}, window)
	for i := 0; i < window; i++ {
		credits <- struct{}{}
	}
	for i := range results {
		results[i] = &result{done: make(chan struct{})}
	}
	go func() {
		defer close(jobs)
		for i := 0; i < n; i++ {
			select {
			case <-credits:
			case <-stop:
				return
			}
			select {
			case jobs <- i:
			case <-stop:
				return
			}
		}
	}()
	var err error
	emitted := 0
	for i := 0; i < n && err == nil; i++ {
		r := results[i]
		select {
		case <-r.done:
		case <-ctx.Done():
			err = ctx.Err()
			continue
		}
		err = emit(r.c, r.v)
		r.c.Release()
		var zero T
		r.v, r.c = zero, nil
		emitted++
		credits <- struct{}{}
	}
	close(stop)
	wg.Wait()
	// Release chunks parsed but never emitted.
	for i := emitted; i < n; i++ {
		if results[i].c != nil {
			results[i].c.Release()
		}
	}
	return err
}
