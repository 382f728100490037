package wfp

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// LiveEngine is what a LiveResolver needs of an engine handle: the
// lookups, a cheap probe (an engine option), filter-change notifications
// and Close. *Engine behind OpenLiveResolver is one; tests use fakes.
type LiveEngine interface {
	Lookup
	Option(opt uint32) (uint32, error)
	SubscribeFilterChanges(fn func(FilterChange)) (io.Closer, error)
	Close() error
}

// LiveResolver is a Resolver over an engine handle it owns and keeps
// alive: when a lookup or the periodic probe says the engine is gone
// (LostEngine: BFE restarted), it opens a new handle, subscribes to filter
// changes again and flushes the cache (notifications were lost meanwhile),
// then retries the lookup once. Close stops the probe and releases the
// handle and the subscription.
type LiveResolver struct {
	*Resolver
	open func() (LiveEngine, error)
	logf func(string, ...any)

	mu  sync.Mutex
	eng LiveEngine
	sub io.Closer
	gen uint64

	// Reopens counts the times the engine handle was opened again.
	Reopens atomic.Uint64

	stop chan struct{}
	done chan struct{}
}

// NewLiveResolver opens an engine with open and returns a resolver over
// it (rules may be nil). probe is how often the engine is checked (0: no
// probe; lookups still notice a lost engine). logf receives what the user
// should know (nil discards). Failing to follow filter changes is
// reported through logf, not returned.
func NewLiveResolver(open func() (LiveEngine, error), rules RuleNamer, probe time.Duration, logf func(string, ...any)) (*LiveResolver, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	l := &LiveResolver{open: open, logf: logf}
	l.Resolver = NewResolver(liveLookup{l}, rules, 0)
	if err := l.connect(); err != nil {
		return nil, err
	}
	if probe > 0 {
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.probeLoop(probe)
	}
	return l, nil
}

// connect opens a handle and subscribes; called with mu held or before
// the resolver is shared.
func (l *LiveResolver) connect() error {
	e, err := l.open()
	if err != nil {
		return err
	}
	sub, err := e.SubscribeFilterChanges(l.Resolver.Invalidate)
	if err != nil {
		l.logf("filter changes will not be followed (%v); cached names may go stale", err)
	}
	l.eng, l.sub = e, sub
	l.gen++
	return nil
}

func (l *LiveResolver) release() {
	if l.sub != nil {
		l.sub.Close()
		l.sub = nil
	}
	if l.eng != nil {
		l.eng.Close()
		l.eng = nil
	}
}

// reopen replaces the handle of generation gen (unless another caller has
// already done so) and flushes the cache.
func (l *LiveResolver) reopen(gen uint64, cause error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen != gen && l.eng != nil {
		return nil
	}
	l.release()
	if err := l.connect(); err != nil {
		return fmt.Errorf("reopening the filtering engine after %v: %w", cause, err)
	}
	l.Resolver.Flush()
	l.Reopens.Add(1)
	l.logf("the filtering engine went away (%v); reopened it, filter names are looked up afresh", cause)
	return nil
}

// Reopen opens a new engine handle now (e.g. when another handle of this
// process found the engine restarted).
func (l *LiveResolver) Reopen(cause error) error {
	l.mu.Lock()
	gen := l.gen
	l.mu.Unlock()
	return l.reopen(gen, cause)
}

// with calls f with the current handle; when f says the engine is gone,
// it reopens and calls f once more.
func (l *LiveResolver) with(f func(LiveEngine) error) error {
	l.mu.Lock()
	e, gen := l.eng, l.gen
	l.mu.Unlock()
	var err error
	if e != nil {
		if err = f(e); !LostEngine(err) {
			return err
		}
	}
	cause := err
	if cause == nil {
		cause = fmt.Errorf("no engine handle")
	}
	if rerr := l.reopen(gen, cause); rerr != nil {
		if err == nil {
			err = rerr
		}
		return err
	}
	l.mu.Lock()
	e = l.eng
	l.mu.Unlock()
	return f(e)
}

func (l *LiveResolver) probeLoop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.with(func(e LiveEngine) error {
				_, err := e.Option(OptionCollectNetEvents)
				return err
			})
		}
	}
}

// Close stops the probe and releases the handle and the subscription.
func (l *LiveResolver) Close() error {
	if l == nil {
		return nil
	}
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.release()
	return nil
}

type liveLookup struct{ l *LiveResolver }

func (k liveLookup) FilterByID(id uint64) (fi FilterInfo, err error) {
	err = k.l.with(func(e LiveEngine) error { fi, err = e.FilterByID(id); return err })
	return fi, err
}

func (k liveLookup) LayerByID(id uint16) (li LayerInfo, err error) {
	err = k.l.with(func(e LiveEngine) error { li, err = e.LayerByID(id); return err })
	return li, err
}

func (k liveLookup) ProviderName(key GUID) (n string, err error) {
	err = k.l.with(func(e LiveEngine) error { n, err = e.ProviderName(key); return err })
	return n, err
}

// localEngine adapts *Engine to LiveEngine.
type localEngine struct{ *Engine }

func (e localEngine) SubscribeFilterChanges(fn func(FilterChange)) (io.Closer, error) {
	s, err := e.Engine.SubscribeFilterChanges(fn)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// OpenLiveResolver is NewLiveResolver over the local engine, probed every
// 30 s, with the firewall rule table for rule names.
func OpenLiveResolver(logf func(string, ...any)) (*LiveResolver, error) {
	return NewLiveResolver(func() (LiveEngine, error) {
		e, err := Open(OpenOptions{})
		if err != nil {
			return nil, err
		}
		return localEngine{e}, nil
	}, NewRuleTable(), 30*time.Second, logf)
}
