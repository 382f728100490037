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
			c.detach()
			err := emit(c, v)
			c.Release()
			if err != nil {
				return err
			}
		}
		return nil
	}

	// Chunks go to the workers in small batches of consecutive chunks,
	// each batch handed back once: a hand-off between goroutines wakes a
	// thread, tens of microseconds on a virtual machine. Batches larger
	// than maxBatch hold more output waiting to be emitted (page faults)
	// and measured no faster. A worker gives its parsing state and buffer
	// back as soon as a chunk's work is done, so the next chunk (on the
	// same P, through the pools) finds them warm.
	batch := min(maxBatch, max(1, n/(4*workers)))
	nb := (n + batch - 1) / batch
	type result struct {
		c    []*Chunk
		v    []T
		done chan struct{}
	}
	window := workers + 1 // batches in flight, bounding memory
	results := make([]result, nb)
	for i := range results {
		lo := i * batch
		hi := min(lo+batch, n)
		results[i] = result{c: make([]*Chunk, hi-lo), v: make([]T, hi-lo), done: make(chan struct{})}
	}
	jobs := make(chan int)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				r := &results[b]
				for i := range r.c {
					c := f.loadChunk(f.chunks[b*batch+i], opts.Carve)
					r.v[i] = work(c)
					c.detach()
					r.c[i] = c
				}
				close(r.done)
			}
		}()
	}
	// Feed jobs, at most window ahead of the emitter.
	credits := make(chan struct{}, window)
	for i := 0; i < window; i++ {
		credits <- struct{}{}
	}
	go func() {
		defer close(jobs)
		for b := 0; b < nb; b++ {
			select {
			case <-credits:
			case <-stop:
				return
			}
			select {
			case jobs <- b:
			case <-stop:
				return
			}
		}
	}()
	var err error
	emitted := 0
	for b := 0; b < nb && err == nil; b++ {
		r := &results[b]
		if err = ctx.Err(); err != nil {
			break
		}
		select {
		case <-r.done:
		case <-ctx.Done():
			err = ctx.Err()
			continue
		}
		for i, c := range r.c {
			if err == nil {
				err = ctx.Err()
			}
			if err == nil {
				err = emit(c, r.v[i])
			}
			c.Release()
			var zero T
			r.v[i], r.c[i] = zero, nil
		}
		emitted++
		credits <- struct{}{}
	}
	close(stop)
	wg.Wait()
	// Release chunks parsed but never emitted.
	for b := emitted; b < nb; b++ {
		for _, c := range results[b].c {
			if c != nil {
				c.Release()
			}
		}
	}
	return err
}

// maxBatch bounds how many consecutive chunks a worker takes at once.
const maxBatch = 2
