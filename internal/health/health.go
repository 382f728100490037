// Package health holds the health of a running wfpwatch (watch, the
// service, serve --live): its sources, the audit policy, the pipeline and
// the outputs. A Reporter keeps the current Snapshot and writes it, every
// few seconds and once at exit, as a small JSON file in the status
// directory of the locked state directory, one file per process; 'wfpwatch
// status', the dashboard's Overview and /metrics read those files from
// another process with ReadAll.
//
// The snapshot holds counts and states only, never event data, so it is
// safe to show to whoever may read the state directory.
package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// Version is the snapshot format written by this build; ReadAll skips
// files of a newer major format and says so.
const Version = 1

// DefaultInterval is how often a Reporter writes its snapshot.
const DefaultInterval = 5 * time.Second

// Snapshot is the health of one wfpwatch process at Updated.
type Snapshot struct {
	Version int       `json:"version"`
	PID     int       `json:"pid"`
	Command string    `json:"command"` // "watch", "service", "serve --live"
	Host    string    `json:"host,omitempty"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Stopped is set by the last write of a process that ended cleanly.
	Stopped  *time.Time `json:"stopped,omitempty"`
	Interval Duration   `json:"interval"` // how often it is rewritten

	Sources  []Source `json:"sources,omitempty"`
	Audit    *Audit   `json:"audit,omitempty"` // nil: not a live capture
	Pipeline Pipeline `json:"pipeline"`
	Outputs  []Output `json:"outputs,omitempty"`
	DB       *DB      `json:"db,omitempty"` // nil: no history recorded

	// Path is the file the snapshot was read from (not written).
	Path string `json:"-"`
}

// Source is one live source: the Security log subscription ("evtlog",
// with its channel) or the WFP net-event subscription ("netevent").
type Source struct {
	Name    string `json:"name"`
	Channel string `json:"channel,omitempty"` // "Security", "ForwardedEvents"
	Up      bool   `json:"up"`                // subscribed and delivering
	Events  uint64 `json:"events"`            // events read
	Gaps    uint64 `json:"gaps"`              // gaps reported (cleared log, lost subscription)
	// Lost counts events known to be lost (a ring overflow, records
	// skipped by a gap when the count is known).
	Lost         uint64    `json:"lost"`
	Resubscribes uint64    `json:"resubscribes"`
	LastEvent    time.Time `json:"last_event,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	LastErrorAt  time.Time `json:"last_error_at,omitzero"`
}

// Audit is the state of the Filtering Platform audit policy as the
// process last checked it.
type Audit struct {
	Managed   bool      `json:"managed"`           // false with --no-audit
	On        bool      `json:"on"`                // every wanted subcategory was on at CheckedAt
	Changed   []string  `json:"changed,omitempty"` // what this process turned on ("Filtering Platform Connection: failure")
	Drift     []string  `json:"drift,omitempty"`   // what was found reset at the last check
	Enforce   bool      `json:"enforce"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
}

// Pipeline holds the pipeline's counters (pipeline.Stats).
type Pipeline struct {
	Seen        uint64 `json:"seen"`
	Suppressed  uint64 `json:"suppressed"`
	Passed      uint64 `json:"passed"`
	FlowsOpened uint64 `json:"flows_opened"`
	FlowsOpen   int    `json:"flows_open"`
	Overflow    uint64 `json:"overflow"`
	Rules       []Rule `json:"rules,omitempty"`
}

// Rule is one suppression rule's hit count.
type Rule struct {
	Label  string `json:"label"`
	Source string `json:"source"`
	Hits   uint64 `json:"hits"`
}

// Output is one forwarding output (forward.Counters).
type Output struct {
	URL         string    `json:"url"` // without user info or query secrets
	Sent        uint64    `json:"sent"`
	Retried     uint64    `json:"retried"`
	Dropped     uint64    `json:"dropped"`
	Queued      uint64    `json:"queued"`
	QueueBytes  int64     `json:"queue_bytes"`
	OldestAge   Duration  `json:"oldest_age"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// DB is the history database being recorded.
type DB struct {
	Path    string `json:"path"`
	Written uint64 `json:"written"`
	Skipped uint64 `json:"skipped"`
	Bytes   int64  `json:"bytes"`
}

// Duration is a time.Duration written as seconds in JSON.
type Duration time.Duration

// MarshalJSON writes d as seconds.
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, time.Duration(d).Seconds(), 'f', -1, 64), nil
}

// UnmarshalJSON reads seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("duration: want seconds, got %.20q", b)
	}
	*d = Duration(f * float64(time.Second))
	return nil
}

// Stale reports whether the writer of s has not ended cleanly and has not
// written for three intervals: it crashed or hangs.
func (s *Snapshot) Stale(now time.Time) bool {
	if s.Stopped != nil {
		return false
	}
	iv := time.Duration(s.Interval)
	if iv <= 0 {
		iv = DefaultInterval
	}
	return now.Sub(s.Updated) > 3*iv
}

// DefaultDir is the status directory in the default state directory.
func DefaultDir() string { return statedir.Path("status") }

// Reporter keeps the snapshot of this process and writes it to
// dir/<pid>.json. Its methods are safe for concurrent use.
type Reporter struct {
	mu   sync.Mutex
	snap Snapshot
	path string
	// sample is called before each write to refresh counters kept
	// elsewhere (pipeline, outputs).
	samplers []func(*Snapshot)
}

// NewReporter returns a Reporter for command writing to dir (DefaultDir
// when ""). It creates nothing until the first Write.
func NewReporter(dir, command string) *Reporter {
	if dir == "" {
		dir = DefaultDir()
	}
	host, _ := os.Hostname()
	now := time.Now().UTC()
	return &Reporter{
		path: filepath.Join(dir, strconv.Itoa(os.Getpid())+".json"),
		snap: Snapshot{Version: Version, PID: os.Getpid(), Command: command, Host: host, Started: now, Updated: now, Interval: Duration(DefaultInterval)},
	}
}

// Path is the file the Reporter writes.
func (r *Reporter) Path() string { return r.path }

// Update changes the snapshot under the Reporter's lock.
func (r *Reporter) Update(f func(*Snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(&r.snap)
}

// Sample adds f, called under the lock before every write and Snapshot, to
// copy counters kept elsewhere into the snapshot.
func (r *Reporter) Sample(f func(*Snapshot)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samplers = append(r.samplers, f)
}

// Snapshot returns a copy of the current snapshot, sampled now.
func (r *Reporter) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, f := range r.samplers {
		f(&r.snap)
	}
	s := r.snap
	s.Updated = time.Now().UTC()
	return s
}

// Write samples and writes the snapshot atomically (statedir.WriteFile).
func (r *Reporter) Write() error {
	s := r.Snapshot()
	b, err := json.MarshalIndent(&s, "", "  ")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if err := statedir.EnsureFor(r.path); err != nil {
		return err
	}
	return statedir.WriteFile(r.path, append(b, '\n'))
}

// Run writes the snapshot every interval until done is closed, then
// writes it once more marked stopped. Write errors are given to warn once
// per distinct message (nil discards).
func (r *Reporter) Run(done <-chan struct{}, interval time.Duration, warn func(error)) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	r.Update(func(s *Snapshot) { s.Interval = Duration(interval) })
	last := ""
	report := func(err error) {
		if err != nil && err.Error() != last && warn != nil {
			warn(err)
		}
		if err != nil {
			last = err.Error()
		}
	}
	report(r.Write())
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			now := time.Now().UTC()
			r.Update(func(s *Snapshot) { s.Stopped = &now })
			report(r.Write())
			return
		case <-t.C:
			report(r.Write())
		}
	}
}

// ReadAll reads every snapshot in dir (DefaultDir when ""), newest first.
// A file that cannot be read or parsed is skipped and named in the
// returned error, which joins every such problem; the snapshots read are
// returned either way. A missing directory gives no snapshots and no
// error.
func ReadAll(dir string) ([]Snapshot, error) {
	if dir == "" {
		dir = DefaultDir()
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("status directory: %w", err)
	}
	var out []Snapshot
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := statedir.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var s Snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w (skipped)", p, err))
			continue
		}
		if s.Version > Version {
			errs = append(errs, fmt.Errorf("%s: status format %d is newer than this wfpwatch reads (%d): skipped", p, s.Version, Version))
			continue
		}
		s.Path = p
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Updated.After(out[j].Updated) })
	return out, errors.Join(errs...)
}
