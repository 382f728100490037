package main

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// The progress bar of analyze appears on a terminal when the inputs are
// larger than progressMinBytes, or when reading them takes longer than
// progressAfter.
var (
	progressMinBytes int64 = 50 << 20
	progressAfter          = 2 * time.Second
)

// progressTick is how often the bar is redrawn.
const progressTick = 150 * time.Millisecond

// progress shows how far analyze has read its inputs: bytes, rate and
// time left, on standard error when it is a terminal. The zero value (and
// a progress made for a pipe) does nothing. Its methods may be called from
// any goroutine.
type progress struct {
	mu        sync.Mutex
	w         io.Writer
	total     int64 // bytes of all the inputs
	doneFiles int64 // bytes of the inputs read to the end
	cur       int64 // bytes read of the current input
	curPath   string
	curSize   int64
	start     time.Time
	bar       *progressbar.ProgressBar
	drawn     bool // the bar is on the screen
	quit      chan struct{}
	done      chan struct{}
	stopped   bool
}

// newProgress returns the progress of reading paths (directories with
// recursive), drawn on stderr when on is set and stderr is a terminal,
// and only when the size of the inputs is known (not standard input).
func newProgress(paths []string, recursive bool, stderr io.Writer, on bool) *progress {
	if !on || !isTerminal(stderr) {
		return &progress{}
	}
	total := inputSize(paths, recursive)
	if total <= 0 {
		return &progress{}
	}
	p := &progress{w: stderr, total: total, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	if total > progressMinBytes {
		p.mu.Lock()
		p.show()
		p.mu.Unlock()
	}
	go p.loop()
	return p
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// inputSize adds up the sizes of the regular files among paths, and of the
// files under the directories among them with recursive. It returns -1
// when an input has no size known in advance (standard input, a pipe).
func inputSize(paths []string, recursive bool) int64 {
	var total int64
	for _, p := range paths {
		if p == "-" {
			return -1
		}
		st, err := os.Stat(p)
		switch {
		case err != nil:
		case st.Mode().IsRegular():
			total += st.Size()
		case st.IsDir() && recursive:
			filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if info, err := d.Info(); err == nil {
						total += info.Size()
					}
				}
				return nil
			})
		case !st.IsDir():
			return -1 // a FIFO or device
		}
	}
	return total
}

// show creates and draws the bar; p.mu is held.
func (p *progress) show() {
	width := 30 // the rest of the line takes about 60 columns
	if f, ok := p.w.(*os.File); ok {
		if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
			width = max(10, min(40, cols-62))
		}
	}
	p.bar = progressbar.NewOptions64(p.total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetWidth(width),
		// A Windows console shows escape codes as text unless virtual
		// terminal processing is on: there the bar clears with spaces.
		progressbar.OptionUseANSICodes(runtime.GOOS != "windows"),
		progressbar.OptionSetRenderBlankState(true),
	)
	p.drawn = true
}

// loop redraws the bar until stop.
func (p *progress) loop() {
	defer close(p.done)
	t := time.NewTicker(progressTick)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		}
		p.mu.Lock()
		if p.bar == nil && time.Since(p.start) > progressAfter {
			p.show()
		}
		if p.bar != nil {
			p.bar.Set64(min(p.doneFiles+p.cur, p.total))
			p.drawn = true
		}
		p.mu.Unlock()
	}
}

// update is the ingest.WalkOptions.Progress callback: path has been read
// up to pos of size bytes.
func (p *progress) update(path string, pos, size int64) {
	if p.quit == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if path != p.curPath {
		p.doneFiles += max(p.curSize, p.cur)
		p.curPath, p.curSize, p.cur = path, size, 0
	}
	p.cur = pos
}

// clear takes the bar off the screen before other output; the next tick
// draws it again.
func (p *progress) clear() {
	if p.quit == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil && p.drawn {
		p.bar.Clear()
		p.drawn = false
	}
}

// stop ends the bar, showing it full and then clearing the line. It may be
// called more than once.
func (p *progress) stop() {
	if p.quit == nil {
		return
	}
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	p.mu.Unlock()
	close(p.quit)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Set64(min(p.doneFiles+max(p.curSize, p.cur), p.total))
		p.bar.Clear()
		p.bar.Exit()
		p.drawn = false
	}
}

// writer returns w, or, when w is a terminal too, a writer that takes the
// bar off the screen before each write so that output lines are not
// mixed with it.
func (p *progress) writer(w io.Writer) io.Writer {
	if p.quit == nil || !isTerminal(w) {
		return w
	}
	return clearingWriter{w: w, p: p}
}

type clearingWriter struct {
	w io.Writer
	p *progress
}

// Fd lets the output package size a table to the terminal behind it.
func (c clearingWriter) Fd() uintptr { return c.w.(*os.File).Fd() }

func (c clearingWriter) Write(b []byte) (int, error) {
	c.p.clear()
	return c.w.Write(b)
}
