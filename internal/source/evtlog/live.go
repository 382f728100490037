package evtlog

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/atomicfile"
	"github.com/wfpwatch/wfpwatch/internal/event"
)

// This file holds the portable half of the live subscription: options,
// the XPath query, bookmark persistence and gap accounting. The Windows
// subscription itself is in subscribe_windows.go.

// ErrNeedsWindows is returned by Subscribe on other systems.
var ErrNeedsWindows = errors.New("live capture from the Security log needs Windows (use 'wfpwatch analyze' for saved files)")

// Render selects how events are turned into Records.
type Render int

const (
	// RenderValues renders through a values render context (EVT_VARIANT
	// array, no XML): the default, measured faster. It reads only the
	// fields Decode knows (ValuePaths).
	RenderValues Render = iota
	// RenderXML renders each event as XML and parses it with
	// ParseEventXML: slower, but keeps fields unknown to this version.
	RenderXML
)

func (r Render) String() string {
	if r == RenderXML {
		return "xml"
	}
	return "values"
}

// Options configures Subscribe.
type Options struct {
	// Channel is the event log channel; "" means "Security".
	Channel string
	// Query is the XPath filter; "" means QueryFor(true, true).
	Query string
	// BookmarkPath is the file that keeps the position across runs; ""
	// keeps none.
	BookmarkPath string
	// BookmarkEvery is the least time between two saves of the bookmark
	// file while events flow (1 s; negative: after every batch). The
	// bookmark is always saved when Subscribe returns, so a clean stop
	// repeats nothing; after a crash at most this much is shown again.
	BookmarkEvery time.Duration
	// Since starts with the events of the last Since when there is no
	// bookmark; 0 starts with events that arrive from now on.
	Since time.Duration
	// Render is RenderValues (default) or RenderXML.
	Render Render
	// BatchSize is the number of events asked of EvtNext at a time (64).
	BatchSize int
	// OnGap is told about every gap (may be nil).
	OnGap func(Gap)
	// OnProblem is told about every non-fatal problem: an event that could
	// not be rendered, a subscription error that was recovered from (may be
	// nil).
	OnProblem func(error)
	// RetryDelay is the pause before resubscribing after an error (1 s).
	RetryDelay time.Duration
	// MaxRetries bounds consecutive failed resubscriptions before
	// Subscribe gives up (10).
	MaxRetries int
}

func (o *Options) defaults() {
	if o.Channel == "" {
		o.Channel = "Security"
	}
	if o.Query == "" {
		o.Query = QueryFor(true, true)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 64
	}
	if o.BookmarkEvery == 0 {
		o.BookmarkEvery = time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 10
	}
	if f := o.OnGap; f != nil {
		ch := o.Channel
		o.OnGap = func(g Gap) {
			if g.Channel == "" {
				g.Channel = ch
			}
			f(g)
		}
	}
}

// Handler receives each batch of records in log order. The records and
// their Data are reused after Handler returns: copy what you keep. The
// bookmark is advanced past a batch only after Handler returns nil; an
// error stops the subscription.
type Handler func(recs []Record) error

// QueryFor returns the XPath that selects the Filtering Platform events a
// view needs: blocks always (5031, 5155, 5157, 5159), packet drops
// (5150–5153) with drops, permits (5154, 5156, 5158) with permits.
func QueryFor(drops, permits bool) string {
	var ids []int
	for id, a := range event.AuditIDs {
		switch {
		case a.Permit && !permits:
		case a.Kind == event.KindPacket && !drops:
		default:
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	return queryForIDs(ids)
}

func queryForIDs(ids []int) string {
	var parts []string
	for i := 0; i < len(ids); {
		j := i
		for j+1 < len(ids) && ids[j+1] == ids[j]+1 {
			j++
		}
		if j-i >= 2 {
			parts = append(parts, fmt.Sprintf("(EventID>=%d and EventID<=%d)", ids[i], ids[j]))
		} else {
			for k := i; k <= j; k++ {
				parts = append(parts, fmt.Sprintf("EventID=%d", ids[k]))
			}
		}
		i = j + 1
	}
	return "*[System[(" + strings.Join(parts, " or ") + ")]]"
}

// withSince adds a TimeCreated condition to an XPath made by QueryFor.
func withSince(query string, since time.Duration) string {
	ms := since.Milliseconds()
	if ms <= 0 || !strings.HasSuffix(query, ")]]") {
		return query
	}
	return strings.TrimSuffix(query, "]]") + fmt.Sprintf(" and TimeCreated[timediff(@SystemTime) <= %d]]]", ms)
}

// Gap is a stretch of the log that capture could not read.
type Gap struct {
	// After is the last record id read (or bookmarked) before the gap; 0
	// when unknown.
	After uint64
	// Next is the first record id available after the gap; 0 when unknown.
	Next uint64
	// Missing is the number of record ids in between — an upper bound on
	// the Filtering Platform events lost, since record ids count every
	// event of the channel. Valid when Known.
	Missing uint64
	Known   bool
	// Reason says what happened, for the user.
	Reason string
	// Channel is the log the gap is in ("" : Security).
	Channel string
}

func (g Gap) String() string {
	ch := g.Channel
	if ch == "" {
		ch = "Security"
	}
	s := "gap in the " + ch + " log: " + g.Reason
	if g.Known {
		s += fmt.Sprintf("; record ids %d–%d are gone (%d records of any kind, some may have been Filtering Platform events)", g.After+1, g.Next-1, g.Missing)
	} else if g.After != 0 {
		s += fmt.Sprintf("; last record read was %d, how many followed it is not knowable", g.After)
	}
	return s
}

// staleGap describes a bookmark whose record is gone: capture restarts at
// the oldest record, oldest (0 when unknown).
func staleGap(bookmarked, oldest uint64) Gap {
	g := Gap{After: bookmarked, Next: oldest, Reason: "the log was cleared or rolled over since the bookmark; continuing from the oldest record"}
	if bookmarked != 0 && oldest > bookmarked+1 {
		g.Known, g.Missing = true, oldest-bookmarked-1
	}
	return g
}

// Stats counts what a subscription did.
type Stats struct {
	Events       uint64 // records handed to the Handler
	RenderErrors uint64 // events that could not be rendered (skipped, reported)
	Gaps         uint64 // gaps reported
	// SkippedIDs counts record ids not delivered between consecutive
	// events. They include every event the query filters out (other event
	// ids), so this is not a loss count; a loss shows up as a Gap.
	SkippedIDs   uint64
	Resubscribes uint64 // recoveries from subscription errors
	// LooseResumes counts resumes after the bookmark without Strict: the
	// bookmarked record is there but the query no longer selects it.
	LooseResumes  uint64
	BookmarkSaves uint64
}

// sequence follows EventRecordIDs within a run.
type sequence struct {
	last uint64
}

// next records id and returns a Gap when record ids went backwards (the log
// was cleared and restarted its numbering during capture).
func (s *sequence) next(id uint64, st *Stats) *Gap {
	last := s.last
	s.last = id
	switch {
	case last == 0 || id == 0:
		return nil
	case id <= last:
		return &Gap{After: last, Next: id, Reason: fmt.Sprintf("record ids went back from %d to %d: the log was cleared during capture", last, id)}
	case id > last+1:
		st.SkippedIDs += id - last - 1
	}
	return nil
}

// BookmarkFile keeps a bookmark (the XML that EvtRender gives for a
// bookmark handle) in a file, replaced atomically.
type BookmarkFile struct{ Path string }

// Load returns the saved bookmark XML, or "" when there is none.
func (b BookmarkFile) Load() (string, error) {
	xml, _, err := b.LoadMark()
	return xml, err
}

// Save replaces the bookmark file with xml.
func (b BookmarkFile) Save(xml string) error { return b.SaveMark(xml, time.Time{}) }

// markTimePrefix starts the line that keeps the bookmarked record's time
// beside the bookmark XML (an XML comment, so the file stays XML). A
// bookmark holds only channel and record id: a log cleared and refilled
// past that id would otherwise resume at an unrelated record without any
// error.
const markTimePrefix = "<!-- wfpwatch record-time: "

// LoadMark returns the saved bookmark XML and the time of the record it
// points at (zero when the file predates it), or "" when there is none.
func (b BookmarkFile) LoadMark() (string, time.Time, error) {
	if b.Path == "" {
		return "", time.Time{}, nil
	}
	data, err := os.ReadFile(b.Path)
	if errors.Is(err, os.ErrNotExist) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read bookmark: %w", err)
	}
	xml, t := splitMarkTime(string(data))
	if _, ok := BookmarkRecordID(xml); !ok {
		return "", time.Time{}, fmt.Errorf("bookmark %s is damaged (no RecordId): delete it to start afresh", b.Path)
	}
	return xml, t, nil
}

// splitMarkTime separates the bookmark XML from the record-time line. A
// time that does not parse is ignored (the bookmark still works, without
// the refill check).
func splitMarkTime(data string) (string, time.Time) {
	var t time.Time
	var keep []string
	for _, line := range strings.Split(data, "\n") {
		l := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(l, markTimePrefix); ok {
			if v, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(strings.TrimSuffix(rest, "-->"))); err == nil {
				t = v
			}
			continue
		}
		keep = append(keep, line)
	}
	return strings.TrimSpace(strings.Join(keep, "\n")), t
}

// SaveMark replaces the bookmark file with xml and the time of the
// bookmarked record (none when t is zero), atomically.
func (b BookmarkFile) SaveMark(xml string, t time.Time) error {
	if b.Path == "" {
		return nil
	}
	data := xml + "\n"
	if !t.IsZero() {
		data += markTimePrefix + t.UTC().Format(time.RFC3339Nano) + " -->\n"
	}
	return atomicfile.Write(b.Path, []byte(data), 0o600)
}

// EventLogCleared is the event id the Eventlog service writes to the
// Security log when it is cleared ("The audit log was cleared").
const EventLogCleared = 1102

// withLogCleared adds event 1102 to an XPath made by QueryFor, so that a
// clear during capture is seen (and reported as a gap, never handed on).
func withLogCleared(query string) string {
	const pre = "*[System[("
	if !strings.HasPrefix(query, pre) || strings.Contains(query, "EventID=1102") {
		return query
	}
	return pre + "EventID=1102 or " + strings.TrimPrefix(query, pre)
}

// sameRecordTime reports whether two times of one record agree (within
// the 100 ns of a FILETIME and rounding of renders).
func sameRecordTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d < time.Microsecond && d > -time.Microsecond
}

// refilledGap: the bookmarked record id now holds another event (its time
// differs): the log was cleared and refilled past the bookmark.
func refilledGap(id uint64, was, now time.Time) Gap {
	return Gap{After: id, Reason: fmt.Sprintf("record %d is now a different event (written %s; the bookmarked one was written %s): the log was cleared and refilled past the bookmark; continuing from the oldest record",
		id, now.UTC().Format(time.RFC3339), was.UTC().Format(time.RFC3339))}
}

// clearedGap: event 1102 says the log was cleared at at.
func clearedGap(last uint64, at time.Time, during bool) Gap {
	g := Gap{After: last, Reason: fmt.Sprintf("the Security log was cleared at %s (event 1102)", at.UTC().Format(time.RFC3339))}
	if !during {
		g.Reason += " after the bookmarked record; continuing from the oldest record"
	}
	return g
}

var recordIDAttr = regexp.MustCompile(`RecordId\s*=\s*['"](\d+)['"]`)

// BookmarkRecordID returns the record id a bookmark XML points at
// (<Bookmark Channel='Security' RecordId='1234' IsCurrent='true'/>).
func BookmarkRecordID(xml string) (uint64, bool) {
	m := recordIDAttr.FindStringSubmatch(xml)
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	return n, err == nil
}
