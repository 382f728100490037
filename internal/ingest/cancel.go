package ingest

import (
	"context"
	"io"
	"os"
)

// Every read of an input goes through ctxReader, so that a reader that is
// busy skipping garbage (and calls no Emit) still stops on Ctrl+C; inputs
// whose reads can block forever (standard input, a FIFO, a character
// device) go through pipeReader, which returns as soon as the context is
// done even while a read is blocked.

// ctxReader fails every Read once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// pipeReader reads r in a goroutine of its own and hands the data over, so
// that Read returns ctx.Err() when the context is done even if r.Read is
// blocked (a pipe whose writer says nothing: "sleep 30 | wfpwatch analyze
// -"). The goroutine ends when r.Read returns; until then it owns r, and a
// blocked one is left behind (the process is about to exit, or the file is
// closed by the caller, which unblocks it where the system can).
type pipeReader struct {
	ctx  context.Context
	reqs chan []byte
	done chan readResult
	busy bool   // a request is out
	buf  []byte // what the goroutine reads into
}

type readResult struct {
	n   int
	err error
}

func newPipeReader(ctx context.Context, r io.Reader) *pipeReader {
	p := &pipeReader{ctx: ctx, reqs: make(chan []byte), done: make(chan readResult, 1)}
	go func() {
		for b := range p.reqs {
			n, err := r.Read(b)
			p.done <- readResult{n, err}
		}
	}()
	return p
}

// Read has the goroutine read into a buffer of the pipeReader's own (the
// caller may reuse b after a cancelled Read, while the goroutine could
// still write to it), then copies.
func (p *pipeReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	if p.busy {
		// A previous Read was cancelled; the context cannot be undone, so
		// this is not reached in practice.
		return 0, p.ctx.Err()
	}
	if p.buf == nil {
		p.buf = make([]byte, 64<<10)
	}
	buf := p.buf[:min(len(b), len(p.buf))]
	p.busy = true
	p.reqs <- buf
	select {
	case res := <-p.done:
		p.busy = false
		copy(b, buf[:res.n])
		return res.n, res.err
	case <-p.ctx.Done():
		return 0, p.ctx.Err()
	}
}

// Close stops the goroutine once its current read returns.
func (p *pipeReader) Close() error {
	if !p.busy {
		close(p.reqs)
	}
	return nil
}

// openInput opens path for reading; it returns ctx.Err() when the context
// is done first. Opening a FIFO blocks until a writer opens it, so the
// open runs in a goroutine of its own; a file opened after the caller gave
// up is closed.
func openInput(ctx context.Context, path string, st os.FileInfo) (*os.File, error) {
	if st != nil && st.Mode().IsRegular() {
		return os.Open(path)
	}
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result, 1)
	go func() {
		f, err := os.Open(path)
		ch <- result{f, err}
	}()
	select {
	case r := <-ch:
		return r.f, r.err
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.f != nil {
				r.f.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

// guard wraps the reader of an input: regular files are read directly
// (with a context check per read), anything else through a pipeReader.
// The returned function releases the pipeReader.
func guard(ctx context.Context, r io.Reader, regular bool) (io.Reader, func()) {
	if regular {
		return ctxReader{ctx, r}, func() {}
	}
	p := newPipeReader(ctx, r)
	return p, func() { p.Close() }
}
