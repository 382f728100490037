package enrich

import (
	"sync"
	"time"
)

// ProcInfo is what is known of a process.
type ProcInfo struct {
	PID      uint32
	Start    time.Time // process creation time
	Image    string    // full DOS path of the image
	Services []string  // services it hosts (svchost), sorted
}

// lru is a small bounded cache with expiry.
type lru[K comparable, V any] struct {
	max   int
	items map[K]*lruItem[K, V]
	head  *lruItem[K, V] // most recent
	tail  *lruItem[K, V]
}

type lruItem[K comparable, V any] struct {
	k          K
	v          V
	expires    time.Time
	prev, next *lruItem[K, V]
}

func newLRU[K comparable, V any](max int) *lru[K, V] {
	if max <= 0 {
		max = 4096
	}
	return &lru[K, V]{max: max, items: map[K]*lruItem[K, V]{}}
}

func (c *lru[K, V]) unlink(it *lruItem[K, V]) {
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		c.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		c.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

func (c *lru[K, V]) front(it *lruItem[K, V]) {
	it.next = c.head
	if c.head != nil {
		c.head.prev = it
	}
	c.head = it
	if c.tail == nil {
		c.tail = it
	}
}

func (c *lru[K, V]) get(k K, now time.Time) (V, bool) {
	it, ok := c.items[k]
	if !ok || (!it.expires.IsZero() && now.After(it.expires)) {
		var zero V
		return zero, false
	}
	c.unlink(it)
	c.front(it)
	return it.v, true
}

func (c *lru[K, V]) put(k K, v V, expires time.Time) {
	if it, ok := c.items[k]; ok {
		it.v, it.expires = v, expires
		c.unlink(it)
		c.front(it)
		return
	}
	it := &lruItem[K, V]{k: k, v: v, expires: expires}
	c.items[k] = it
	c.front(it)
	for len(c.items) > c.max {
		old := c.tail
		c.unlink(old)
		delete(c.items, old.k)
	}
}

// Procs caches pid → process information. A cached entry answers for an
// event only if the process had started by the event's time; otherwise
// (the pid was reused since) it is looked up again, and if the process
// now holding the pid started after the event, nothing is returned.
type Procs struct {
	Load func(pid uint32) (ProcInfo, error)
	// Slack allows for clock granularity between the event time and the
	// process start time (default 2 s).
	Slack time.Duration
	TTL   time.Duration // how long an entry is trusted (default 1 min)
	now   func() time.Time

	mu    sync.Mutex
	cache *lru[uint32, ProcInfo]
}

// NewProcs returns a process cache of at most max entries.
func NewProcs(load func(uint32) (ProcInfo, error), max int) *Procs {
	return &Procs{Load: load, cache: newLRU[uint32, ProcInfo](max)}
}

func (p *Procs) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// Lookup returns the process that held pid at time at.
func (p *Procs) Lookup(pid uint32, at time.Time) (ProcInfo, bool) {
	if pid == 0 || pid == 4 {
		return ProcInfo{}, false // Idle and System: nothing to look up
	}
	slack, ttl := p.Slack, p.TTL
	if slack <= 0 {
		slack = 2 * time.Second
	}
	if ttl <= 0 {
		ttl = time.Minute
	}
	fits := func(pi ProcInfo) bool {
		return at.IsZero() || pi.Start.IsZero() || !pi.Start.After(at.Add(slack))
	}
	p.mu.Lock()
	pi, ok := p.cache.get(pid, p.clock())
	p.mu.Unlock()
	if ok && fits(pi) {
		return pi, true
	}
	pi, err := p.Load(pid)
	if err != nil {
		return ProcInfo{}, false
	}
	p.mu.Lock()
	p.cache.put(pid, pi, p.clock().Add(ttl))
	p.mu.Unlock()
	if !fits(pi) {
		return ProcInfo{}, false // the pid was reused after the event
	}
	return pi, true
}

// SIDs caches SID → account name ("DOMAIN\user"). A lookup may ask a
// domain controller and block for as long as the network lets it, so
// lookups run off the caller's path: Name starts an uncached lookup on a
// goroutine and waits for it at most Wait (the first caller only); a
// lookup still running after Timeout is given up (the SID stays nameless
// for NegativeTTL; a late answer is still kept). At most MaxInFlight
// lookups run at once: a stalled domain controller holds at most that many
// goroutines, and SIDs beyond them stay nameless until a slot frees.
type SIDs struct {
	Load func(sid string) (string, error)
	// Wait is how long the first Name of a SID waits for its lookup
	// (default 20 ms, meant for local accounts, which need no network). Later
	// callers of a SID whose lookup runs never wait.
	Wait time.Duration
	// Timeout is how long a lookup may run before the SID is remembered
	// as nameless (default 5 s).
	Timeout time.Duration
	// NegativeTTL is how long a SID that failed or timed out stays
	// nameless before it is looked up again (default 10 min).
	NegativeTTL time.Duration
	// MaxInFlight bounds the lookups running at once (default 2).
	MaxInFlight int
	now         func() time.Time

	mu       sync.Mutex
	c        *lru[string, string]
	inflight map[string]chan struct{}
	// Stalled counts lookups that ran past Timeout.
	Stalled int
}

// NewSIDs returns a SID cache of at most max entries.
func NewSIDs(load func(string) (string, error), max int) *SIDs {
	return &SIDs{Load: load, c: newLRU[string, string](max), inflight: map[string]chan struct{}{}}
}

func (s *SIDs) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// Name returns the account name of sid; "" for S-1-0-0 (none), for an
// unknown SID, and for one whose lookup has not answered yet (a later
// event of the same SID gets the name). It never waits longer than Wait.
func (s *SIDs) Name(sid string) string {
	if sid == "" || sid == "S-1-0-0" || sid == "-" {
		return ""
	}
	wait, timeout, negTTL, maxIn := s.Wait, s.Timeout, s.NegativeTTL, s.MaxInFlight
	if wait <= 0 {
		wait = 20 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	if negTTL <= 0 {
		negTTL = 10 * time.Minute
	}
	if maxIn <= 0 {
		maxIn = 2
	}
	s.mu.Lock()
	if n, ok := s.c.get(sid, s.clock()); ok {
		s.mu.Unlock()
		return n
	}
	if _, running := s.inflight[sid]; running || len(s.inflight) >= maxIn {
		s.mu.Unlock()
		return "" // being looked up, or no slot: do not wait
	}
	done := make(chan struct{})
	if s.inflight == nil {
		s.inflight = map[string]chan struct{}{}
	}
	s.inflight[sid] = done
	s.mu.Unlock()
	go func() {
		n, err := s.Load(sid)
		s.mu.Lock()
		if err != nil || n == "" {
			s.c.put(sid, "", s.clock().Add(negTTL))
		} else {
			s.c.put(sid, n, time.Time{})
		}
		delete(s.inflight, sid)
		s.mu.Unlock()
		close(done)
	}()
	go func() {
		select {
		case <-done:
		case <-time.After(timeout):
			s.mu.Lock()
			if _, ok := s.c.get(sid, s.clock()); !ok {
				s.c.put(sid, "", s.clock().Add(negTTL))
			}
			s.Stalled++
			s.mu.Unlock()
		}
	}()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		s.mu.Lock()
		n, _ := s.c.get(sid, s.clock())
		s.mu.Unlock()
		return n
	case <-t.C:
		return ""
	}
}
