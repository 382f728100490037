// Package forward ships events to other systems without losing them: each
// output (file://, syslog+tcp://, syslog+tls://, syslog+udp://, kafka://,
// otlp+http(s)://) has its own durable queue (internal/forward/queue) that an event is
// appended to before it counts as handed on, and a goroutine that delivers
// the queue in order, in batches, retrying with exponential backoff and
// jitter, and acknowledges each batch once the receiver took it.
//
// Every event carries a stable event.id (see ID) so a receiver can remove
// the duplicates that at-least-once delivery allows after a crash or a
// retry.
//
// # Use
//
//	fw, err := forward.Open(urls, forward.Options{StateDir: dir})
//	p.Events(fw)            // a pipeline.EventSink
//	…
//	fw.Close(ctx)           // waits for delivery until ctx is done
//
// The Forwarder owns its queues and network connections; Close releases
// them. Write is safe for one goroutine at a time.
package forward

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/forward/queue"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// Record is one queued event: what an output needs to send it.
type Record struct {
	Time     time.Time
	Severity uint8  // syslog severity: 4 (warning) for a block, 5 (notice) otherwise
	Host     string // host.name of the event, "" when unknown
	ID       string // event.id
	JSON     []byte // the ECS JSON object, event.id included
}

// appendRecord encodes r for the queue: 8 bytes time, 1 severity, 1 host
// length, host, 1 id length, id, JSON.
func appendRecord(b []byte, r *Record) []byte {
	b = binary.LittleEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = append(b, r.Severity, byte(min(len(r.Host), 255)))
	b = append(b, r.Host[:min(len(r.Host), 255)]...)
	b = append(b, byte(len(r.ID)))
	b = append(b, r.ID...)
	return append(b, r.JSON...)
}

// decodeRecord is the inverse of appendRecord; r aliases b.
func decodeRecord(b []byte, r *Record) error {
	if len(b) < 11 {
		return errors.New("short queue record")
	}
	r.Time = time.Unix(0, int64(binary.LittleEndian.Uint64(b))).UTC()
	r.Severity = b[8]
	hl := int(b[9])
	if len(b) < 10+hl+1 {
		return errors.New("short queue record")
	}
	r.Host = string(b[10 : 10+hl])
	il := int(b[10+hl])
	if len(b) < 11+hl+il {
		return errors.New("short queue record")
	}
	r.ID = string(b[11+hl : 11+hl+il])
	r.JSON = b[11+hl+il:]
	return nil
}

// ID returns the stable event.id of e, given its ECS JSON without the id:
// the first 128 bits of SHA-256 over the JSON, in hex. The JSON holds the
// host, the source, the record id and the time, so the same record read
// twice (a re-read log, a restarted watch) gets the same id, and two
// records get different ids.
func ID(ecsJSON []byte) string {
	h := sha256.Sum256(ecsJSON)
	return hex.EncodeToString(h[:16])
}

// withID inserts "id":"…" as the first member of the JSON's "event" object
// (every event has one, see event.AppendJSON).
func withID(js []byte, id string) []byte {
	const key = `"event":{`
	i := strings.Index(string(js), key)
	if i < 0 {
		return js
	}
	i += len(key)
	out := make([]byte, 0, len(js)+len(id)+8)
	out = append(out, js[:i]...)
	out = append(out, `"id":"`...)
	out = append(out, id...)
	out = append(out, `",`...)
	return append(out, js[i:]...)
}

// Options configure Open.
type Options struct {
	// StateDir holds the queues, one directory per output, named after a
	// hash of its URL (DefaultStateDir when "").
	StateDir string
	// Warn receives warnings (queue full, delivery failing); nil discards.
	Warn func(msg string)

	adopt bool // the default directory: adopt queues of the old one
}

// DefaultStateDir is where queues go when Options.StateDir is empty: the
// queue folder of the locked state directory (%ProgramData%\wfpwatch\queue
// on Windows). An elevated watch or the service replays what it finds
// there, so it must be a place no standard user can write to.
func DefaultStateDir() string { return statedir.Path("queue") }

// oldStateDir is where queues went before they moved to the state
// directory: the user's cache directory (%LocalAppData%\wfpwatch\queue on
// Windows; the same place as DefaultStateDir elsewhere).
func oldStateDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "wfpwatch", "queue")
}

// adoptOldQueue moves the queue of one output (its folder name) from the
// old location into dir when dir has none, so that what an earlier
// version left undelivered is sent; it says what it did.
func adoptOldQueue(dir, name string, warn func(string)) {
	old := oldStateDir()
	if old == "" || filepath.Clean(old) == filepath.Clean(dir) {
		return
	}
	from, to := filepath.Join(old, name), filepath.Join(dir, name)
	if fi, err := os.Lstat(from); err != nil || !fi.IsDir() {
		return
	}
	if _, err := os.Lstat(to); err == nil {
		return
	}
	if err := os.Rename(from, to); err != nil {
		warn(fmt.Sprintf("a queue of an earlier wfpwatch is in %s and could not be moved to %s (%v): move it by hand to send what it holds", from, to, err))
		return
	}
	warn(fmt.Sprintf("moved the queue of an earlier wfpwatch from %s to %s; what it held is sent now", from, to))
}

// Sender delivers a batch of records to one receiver. Send returns nil
// only when the receiver took every record; on error the whole batch is
// sent again later (at least once).
type Sender interface {
	Send(ctx context.Context, recs []Record) error
	Close() error
}

// Counters are one output's health. They are a snapshot.
type Counters struct {
	URL         string
	Sent        uint64
	Retried     uint64 // failed sends that will be retried
	Dropped     uint64 // entries the full queue dropped (drop policy)
	QueueBytes  int64
	Queued      uint64
	OldestAge   time.Duration // age of the oldest undelivered entry; 0 when none
	LastError   string
	LastErrorAt time.Time
}

type output struct {
	url     string
	q       *queue.Queue
	s       Sender
	batch   int
	sent    atomic.Uint64
	retried atomic.Uint64
	mu      sync.Mutex
	lastErr string
	lastAt  time.Time
	warn    func(string)
}

// Forwarder fans events out to the outputs' queues.
type Forwarder struct {
	outs   []*output
	buf    []byte
	js     []byte
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	host   string
}

// Open parses each URL, opens its queue under opt.StateDir and starts its
// delivery goroutine. Query parameters common to every output:
// queue-size (bytes, default 256 MiB), queue-full (block or drop, default
// block), batch (records per send, default 512). See docs/forwarding.md.
func Open(urls []string, opt Options) (*Forwarder, error) {
	if opt.Warn == nil {
		opt.Warn = func(string) {}
	}
	if opt.StateDir == "" {
		opt.StateDir = DefaultStateDir()
		opt.adopt = true
		// The state directory is created locked down (or checked), and
		// the queue folder in it inherits its permissions.
		if err := statedir.EnsureFor(opt.StateDir); err != nil {
			return nil, fmt.Errorf("output queues: %w", err)
		}
		if err := os.MkdirAll(opt.StateDir, 0o700); err != nil {
			return nil, fmt.Errorf("output queues: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Forwarder{ctx: ctx, cancel: cancel}
	f.host, _ = os.Hostname()
	for _, raw := range urls {
		o, err := openOutput(raw, opt)
		if err != nil {
			f.abort()
			return nil, err
		}
		f.outs = append(f.outs, o)
	}
	for _, o := range f.outs {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			o.run(ctx)
		}()
	}
	return f, nil
}

// Check says whether raw is an output URL that Open would take (scheme and
// query parameters), without opening its queue or connecting: for
// 'wfpwatch config check'. The sender's own parameters (host, port, TLS
// files) are checked when it is opened.
func Check(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("--output %q: %w", raw, err)
	}
	switch u.Scheme {
	case "file", "syslog+tcp", "syslog+tls", "syslog+udp", "kafka", "otlp+http", "otlp+https":
	default:
		return fmt.Errorf("--output %q: unknown output scheme %q: want file://, syslog+tcp://, syslog+tls://, syslog+udp://, kafka:// or otlp+http(s)://", raw, u.Scheme)
	}
	qv := u.Query()
	if s := qv.Get("queue-size"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err != nil || n < 4096 {
			return fmt.Errorf("--output %q: queue-size=%q: want a number of bytes ≥ 4096", raw, s)
		}
	}
	if _, err := queue.ParseFullPolicy(qv.Get("queue-full")); err != nil {
		return fmt.Errorf("--output %q: %w", raw, err)
	}
	if s := qv.Get("batch"); s != "" {
		if n, err := strconv.Atoi(s); err != nil || n < 1 {
			return fmt.Errorf("--output %q: batch=%q: want a positive number", raw, s)
		}
	}
	return nil
}

func openOutput(raw string, opt Options) (*output, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--output %q: %w", raw, err)
	}
	qv := u.Query()
	qo := queue.Options{Warn: func(m string) { opt.Warn(raw + ": " + m) }}
	if s := qv.Get("queue-size"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 4096 {
			return nil, fmt.Errorf("--output %q: queue-size=%q: want a number of bytes ≥ 4096", raw, s)
		}
		qo.MaxBytes = n
	}
	if qo.Full, err = queue.ParseFullPolicy(qv.Get("queue-full")); err != nil {
		return nil, fmt.Errorf("--output %q: %w", raw, err)
	}
	batch := 512
	if s := qv.Get("batch"); s != "" {
		if batch, err = strconv.Atoi(s); err != nil || batch < 1 {
			return nil, fmt.Errorf("--output %q: batch=%q: want a positive number", raw, s)
		}
	}
	s, err := newSender(u)
	if err != nil {
		return nil, fmt.Errorf("--output %q: %w", raw, err)
	}
	h := sha256.Sum256([]byte(raw))
	name := u.Scheme + "-" + hex.EncodeToString(h[:6])
	if opt.adopt {
		adoptOldQueue(opt.StateDir, name, opt.Warn)
	}
	dir := filepath.Join(opt.StateDir, name)
	q, err := queue.Open(dir, qo)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("--output %q: open its queue: %w", raw, err)
	}
	return &output{url: redact(u), q: q, s: s, batch: batch, warn: opt.Warn}, nil
}

func redact(u *url.URL) string {
	c := *u
	c.RawQuery = ""
	return c.Redacted()
}

func newSender(u *url.URL) (Sender, error) {
	switch u.Scheme {
	case "file":
		return newFileSender(u)
	case "syslog+tcp", "syslog+tls", "syslog+udp":
		return newSyslogSender(u)
	case "kafka":
		return newKafkaSender(u)
	case "otlp+http", "otlp+https":
		return newOTLPSender(u)
	}
	return nil, fmt.Errorf("unknown output scheme %q: want file://, syslog+tcp://, syslog+tls://, syslog+udp://, kafka:// or otlp+http(s)://", u.Scheme)
}

// Write appends e to every output's queue. It returns once every queue
// holds it (with the block policy, it waits while a queue is full).
func (f *Forwarder) Write(e *event.Event) error {
	f.js = e.AppendJSON(f.js[:0])
	id := ID(f.js)
	r := Record{Time: e.Time, Severity: 5, Host: e.Host, ID: id, JSON: withID(f.js, id)}
	if e.Verdict != event.VerdictPermit {
		r.Severity = 4
	}
	if r.Host == "" {
		r.Host = f.host
	}
	f.buf = appendRecord(f.buf[:0], &r)
	for _, o := range f.outs {
		if err := o.q.Append(f.ctx, f.buf); err != nil {
			return fmt.Errorf("queue for %s: %w", o.url, err)
		}
	}
	return nil
}

// Counters returns every output's counters.
func (f *Forwarder) Counters() []Counters {
	var cs []Counters
	for _, o := range f.outs {
		st := o.q.Stats()
		c := Counters{URL: o.url, Sent: o.sent.Load(), Retried: o.retried.Load(), Dropped: st.Dropped,
			QueueBytes: st.Bytes, Queued: st.Entries}
		if !st.Oldest.IsZero() {
			c.OldestAge = time.Since(st.Oldest)
		}
		o.mu.Lock()
		c.LastError, c.LastErrorAt = o.lastErr, o.lastAt
		o.mu.Unlock()
		cs = append(cs, c)
	}
	return cs
}

// Close waits until every queue is delivered or ctx is done, then stops
// the outputs. Undelivered entries stay in the queues and are sent by the
// next run; Close's error says how many.
func (f *Forwarder) Close(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
wait:
	for {
		left := uint64(0)
		for _, o := range f.outs {
			left += o.q.Stats().Entries
		}
		if left == 0 {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-tick.C:
		}
	}
	var errs []error
	for _, c := range f.Counters() {
		if c.Queued > 0 {
			errs = append(errs, fmt.Errorf("%s: %d events not yet delivered stay queued for the next run (last error: %s)", c.URL, c.Queued, c.LastError))
		}
	}
	f.abort()
	return errors.Join(errs...)
}

func (f *Forwarder) abort() {
	f.cancel()
	for _, o := range f.outs {
		o.q.Close()
	}
	f.wg.Wait()
	for _, o := range f.outs {
		o.s.Close()
	}
}

// Backoff bounds of the retry loop.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 30 * time.Second
)

// backoff returns the wait before retry n (0-based): exponential with full
// jitter, capped at maxBackoff.
func backoff(n int) time.Duration {
	d := minBackoff << min(n, 16)
	if d > maxBackoff || d <= 0 {
		d = maxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// unconfirmed is implemented by senders whose success does not prove
// delivery (plain syslog over TCP/TLS): output.run acknowledges a batch
// only after the next one succeeded too, or Alive said so after a pause.
type unconfirmed interface {
	Alive() bool
}

// ackWindow is how many bytes an unconfirmed sender must have sent after
// a batch before that batch is acknowledged: more than the socket buffers
// of both ends on loopback and on a LAN, so a receiver that stops with
// unread bytes in its buffers gets them again after it restarts.
const ackWindow = 8 << 20

type sentBatch struct {
	end, n uint64
	bytes  int
}

func (o *output) run(ctx context.Context) {
	recs := make([]Record, 0, o.batch)
	uc, delayed := o.s.(unconfirmed)
	var pending []sentBatch // sent, not yet acknowledged (unconfirmed senders)
	var pendingBytes int
	ackAll := func() {
		if len(pending) > 0 {
			last := pending[len(pending)-1]
			var n uint64
			for _, p := range pending {
				n += p.n
			}
			o.ack(last.end, n)
		}
		pending, pendingBytes = pending[:0], 0
	}
	for {
		var b *queue.Batch
		var err error
		if delayed && len(pending) > 0 {
			wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			b, err = o.q.Next(wctx, o.batch, 4<<20)
			cancel()
			if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
				// Quiet: the receiver had time to read what was sent.
				if uc.Alive() {
					ackAll()
				} else {
					o.q.Rewind()
					pending, pendingBytes = pending[:0], 0
				}
				continue
			}
		} else {
			b, err = o.q.Next(ctx, o.batch, 4<<20)
		}
		if err != nil {
			return
		}
		recs = recs[:0]
		for _, e := range b.Entries {
			var r Record
			if decodeRecord(e, &r) == nil {
				recs = append(recs, r)
			}
		}
		err = o.s.Send(ctx, recs)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			o.fail(err)
			// Send the unacknowledged batches again, from the queue.
			o.q.Rewind()
			pending, pendingBytes = pending[:0], 0
			tries := 0
			for {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff(tries)):
				}
				tries++
				if !delayed {
					break
				}
				if o.s.Send(ctx, nil) == nil {
					break
				}
				o.retried.Add(1)
			}
			continue
		}
		o.mu.Lock()
		o.lastErr = ""
		o.mu.Unlock()
		if !delayed {
			o.ack(b.End(), uint64(len(recs)))
			continue
		}
		pending = append(pending, sentBatch{b.End(), uint64(len(recs)), b.Bytes})
		pendingBytes += b.Bytes
		// Acknowledge the oldest batches once enough was sent after them.
		i := 0
		var n uint64
		for i < len(pending) && pendingBytes-pending[i].bytes >= ackWindow {
			pendingBytes -= pending[i].bytes
			n += pending[i].n
			i++
		}
		if i > 0 {
			o.ack(pending[i-1].end, n)
			pending = append(pending[:0], pending[i:]...)
		}
	}
}

func (o *output) fail(err error) {
	o.retried.Add(1)
	o.mu.Lock()
	first := o.lastErr == ""
	o.lastErr, o.lastAt = err.Error(), time.Now()
	o.mu.Unlock()
	if first {
		o.warn(fmt.Sprintf("%s: %v; retrying with backoff (events stay queued)", o.url, err))
	}
}

func (o *output) ack(end, n uint64) {
	o.sent.Add(n)
	if err := o.q.Ack(end); err != nil {
		o.warn(fmt.Sprintf("%s: %v", o.url, err))
	}
}
