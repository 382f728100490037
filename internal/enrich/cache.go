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

// SIDs caches SID → account name ("DOMAIN\user").
type SIDs struct {
	Load func(sid string) (string, error)
	mu   sync.Mutex
	c    *lru[string, string]
}

// NewSIDs returns a SID cache of at most max entries.
func NewSIDs(load func(string) (string, error), max int) *SIDs {
	return &SIDs{Load: load, c: newLRU[string, string](max)}
}

// Name returns the account name of sid; "" for S-1-0-0 (none) or unknown.
func (s *SIDs) Name(sid string) string {
	if sid == "" || sid == "S-1-0-0" || sid == "-" {
		return ""
	}
	s.mu.Lock()
	n, ok := s.c.get(sid, time.Time{})
	s.mu.Unlock()
	if ok {
		return n
	}
	n, err := s.Load(sid)
	if err != nil {
		n = ""
	}
	s.mu.Lock()
	s.c.put(sid, n, time.Time{})
	s.mu.Unlock()
	return n
}
