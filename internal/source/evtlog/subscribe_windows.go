package evtlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Errors from the event log that a user can act on.
var (
	// ErrAccessDenied: the Security log can only be read by administrators
	// (or members of Event Log Readers with access to Security).
	ErrAccessDenied = errors.New("access to the Security log denied: run as administrator")
	// ErrServiceStopped: the Windows Event Log service is not running.
	ErrServiceStopped = errors.New("the Windows Event Log service is not running: start it with 'sc start eventlog' (or services.msc)")
	// ErrNoChannel: the channel does not exist.
	ErrNoChannel = errors.New("event log channel not found")
)

const (
	errorEvtQueryResultStale = windows.Errno(15011)
	errorEvtChannelNotFound  = windows.Errno(15007)
	eptSNotRegistered        = windows.Errno(1753)
	rpcSServerUnavailable    = windows.Errno(1722)
)

// actionable maps a wevtapi failure to an error that says what to do.
func actionable(call string, err error) error {
	switch {
	case errors.Is(err, windows.ERROR_ACCESS_DENIED):
		return fmt.Errorf("%s: %v: %w", call, err, ErrAccessDenied)
	case errors.Is(err, rpcSServerUnavailable), errors.Is(err, eptSNotRegistered):
		return fmt.Errorf("%s: %v: %w", call, err, ErrServiceStopped)
	case errors.Is(err, errorEvtChannelNotFound):
		return fmt.Errorf("%s: %v: %w", call, err, ErrNoChannel)
	}
	return fmt.Errorf("%s: %w", call, err)
}

func fatal(err error) bool {
	return errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNoChannel)
}

// Subscribe reads the channel of opt live and hands the records to h in
// batches until ctx is done or h fails. It uses the pull model: a signal
// event from CreateEvent and EvtNext batches. The position is kept in a
// bookmark that is advanced — and saved to opt.BookmarkPath atomically —
// only after h has returned for a batch; a restart resumes after it with
// EvtSubscribeStrict. A bookmark whose record is gone (log cleared or
// rolled over) is reported through opt.OnGap with the count of missing
// record ids, and capture continues from the oldest record. Subscription
// errors are reported through opt.OnProblem and recovered from by
// resubscribing after the bookmark.
//
// All handles (subscription, events, bookmark, render context, Windows
// events) are owned and closed by Subscribe.
func Subscribe(ctx context.Context, opt Options, h Handler) (Stats, error) {
	opt.defaults()
	s := &subscriber{opt: opt, h: h}
	defer s.close()
	err := s.run(ctx)
	if ferr := s.saveBookmark(); ferr != nil {
		if err == nil {
			err = ferr
		} else {
			s.problem(ferr)
		}
	}
	return s.stats, err
}

type subscriber struct {
	opt   Options
	h     Handler
	stats Stats

	signal, stop windows.Handle
	renderCtx    evtHandle
	bookmark     evtHandle
	haveMark     bool // bookmark points at a record
	markID       uint64
	markTime     time.Time // time of the bookmarked record (zero: unknown)
	clearedAt    time.Time // the 1102 already reported at start (not again when read)
	fromOldest   bool      // no bookmark, restart at the oldest record (after a stale bookmark)
	dirty        bool      // the bookmark moved since it was last saved
	lastSave     time.Time
	seq          sequence

	handles []evtHandle
	recs    []Record
	vbuf    []byte   // values render buffer
	xbuf    []uint16 // XML render buffer
	xutf8   []byte
	scratch valueScratch
}

func (s *subscriber) close() {
	if s.bookmark != 0 {
		evtClose(s.bookmark)
	}
	if s.renderCtx != 0 {
		evtClose(s.renderCtx)
	}
	if s.signal != 0 {
		windows.CloseHandle(s.signal)
	}
	if s.stop != 0 {
		windows.CloseHandle(s.stop)
	}
}

func (s *subscriber) problem(err error) {
	if s.opt.OnProblem != nil {
		s.opt.OnProblem(err)
	}
}

func (s *subscriber) gap(g Gap) {
	s.stats.Gaps++
	if s.opt.OnGap != nil {
		s.opt.OnGap(g)
	}
}

func (s *subscriber) run(ctx context.Context) error {
	var err error
	if s.signal, err = windows.CreateEvent(nil, 1, 1, nil); err != nil {
		return fmt.Errorf("CreateEvent: %w", err)
	}
	if s.stop, err = windows.CreateEvent(nil, 1, 0, nil); err != nil {
		return fmt.Errorf("CreateEvent: %w", err)
	}
	// The goroutine turns ctx into the stop event; it is waited for, so
	// that it never signals a handle after close has closed it.
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	defer func() { close(done); wg.Wait() }()
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			windows.SetEvent(s.stop)
		case <-done:
		}
	}()
	if s.opt.Render == RenderValues {
		ptrs := make([]*uint16, len(ValuePaths))
		for i, p := range ValuePaths {
			ptrs[i] = windows.StringToUTF16Ptr(p)
		}
		if s.renderCtx, err = evtCreateRenderContext(uint32(len(ptrs)), &ptrs[0], evtRenderContextValues); err != nil {
			return fmt.Errorf("EvtCreateRenderContext: %w", err)
		}
	}
	saved, savedTime, err := BookmarkFile{s.opt.BookmarkPath}.LoadMark()
	if err != nil {
		return err
	}
	s.markTime = savedTime
	var bx *uint16
	if saved != "" {
		bx = windows.StringToUTF16Ptr(saved)
		s.haveMark = true
		s.markID, _ = BookmarkRecordID(saved)
		s.seq.last = s.markID
	}
	if s.bookmark, err = evtCreateBookmark(bx); err != nil {
		return fmt.Errorf("EvtCreateBookmark: %w", err)
	}
	s.handles = make([]evtHandle, s.opt.BatchSize)
	s.recs = make([]Record, s.opt.BatchSize)

	fails := 0
	first := true
	for {
		sub, err := s.subscribe(first)
		first = false
		if err == nil {
			before := s.stats.Events
			err = s.pump(ctx, sub)
			evtClose(sub)
			var he handlerError
			if errors.As(err, &he) {
				return he.err
			}
			if err == nil || ctx.Err() != nil {
				return nil
			}
			if s.stats.Events > before {
				fails = 0 // progress: this is a new failure, not the same one again
			}
		}
		if fatal(err) {
			return err
		}
		fails++
		if fails > s.opt.MaxRetries {
			return fmt.Errorf("giving up after %d attempts: %w", fails, err)
		}
		s.problem(fmt.Errorf("%w; resubscribing in %v", err, s.opt.RetryDelay))
		s.stats.Resubscribes++
		if !s.sleep(s.opt.RetryDelay) {
			return nil
		}
	}
}

// sleep waits d or until stopped; it reports false when stopped.
func (s *subscriber) sleep(d time.Duration) bool {
	ev, _ := windows.WaitForSingleObject(s.stop, uint32(d.Milliseconds()))
	return ev != windows.WAIT_OBJECT_0
}

// subscribe opens the subscription: after the bookmark when there is one,
// else with recent history (Since) or future events only. On the first
// subscription of a run the bookmark is checked first: a 1102 (log
// cleared) newer than the bookmarked record, or a bookmarked record id
// that now holds an event of another time (cleared and refilled past it),
// is a gap and capture restarts at the oldest record. The resume is Strict;
// when Strict fails with ERROR_NOT_FOUND although the record is still
// there (the query changed, e.g. --packets or --permits, and no longer
// selects it), it resumes after the bookmark without Strict. A record that
// is gone is a gap.
func (s *subscriber) subscribe(first bool) (evtHandle, error) {
	ch := windows.StringToUTF16Ptr(s.opt.Channel)
	q := windows.StringToUTF16Ptr(withLogCleared(s.opt.Query))
	if s.haveMark {
		found, at, lerr := false, time.Time{}, error(nil)
		if first {
			if cleared, err := s.clearedSince(s.markTime); err != nil {
				s.problem(err)
			} else if !cleared.IsZero() {
				s.gap(clearedGap(s.markID, cleared, false))
				s.clearedAt = cleared
				return s.restartAtOldest(ch, q)
			}
			found, at, lerr = s.lookupRecord(s.markID)
			if lerr != nil {
				s.problem(lerr)
			} else if found && !s.markTime.IsZero() && !at.IsZero() && !sameRecordTime(at, s.markTime) {
				s.gap(refilledGap(s.markID, s.markTime, at))
				return s.restartAtOldest(ch, q)
			}
		}
		sub, err := evtSubscribe(0, s.signal, ch, q, s.bookmark, 0, 0, evtSubscribeStartAfterBookmark|evtSubscribeStrict)
		if err == nil {
			return sub, nil
		}
		if !errors.Is(err, windows.ERROR_NOT_FOUND) {
			return 0, actionable("EvtSubscribe", err)
		}
		if !first {
			found, _, lerr = s.lookupRecord(s.markID)
		}
		if lerr == nil && found {
			// The record is there, the query no longer selects it: Strict
			// cannot start after it, a plain resume can.
			s.stats.LooseResumes++
			sub, err = evtSubscribe(0, s.signal, ch, q, s.bookmark, 0, 0, evtSubscribeStartAfterBookmark)
			if err != nil {
				return 0, actionable("EvtSubscribe", err)
			}
			return sub, nil
		}
		oldest, oerr := s.oldestRecordID()
		if oerr != nil {
			s.problem(oerr)
		}
		s.gap(staleGap(s.markID, oldest))
		return s.restartAtOldest(ch, q)
	}
	flags := uint32(evtSubscribeToFutureEvents)
	if s.fromOldest {
		flags = evtSubscribeStartAtOldestRecord
	} else if first && s.opt.Since > 0 {
		q = windows.StringToUTF16Ptr(withSince(withLogCleared(s.opt.Query), s.opt.Since))
		flags = evtSubscribeStartAtOldestRecord
	}
	sub, err := evtSubscribe(0, s.signal, ch, q, 0, 0, 0, flags|evtSubscribeStrict)
	if err != nil {
		return 0, actionable("EvtSubscribe", err)
	}
	return sub, nil
}

// restartAtOldest forgets the bookmark and subscribes from the oldest
// record (after a gap was reported).
func (s *subscriber) restartAtOldest(ch, q *uint16) (evtHandle, error) {
	s.haveMark, s.fromOldest, s.seq.last, s.markTime = false, true, 0, time.Time{}
	sub, err := evtSubscribe(0, s.signal, ch, q, 0, 0, 0, evtSubscribeStartAtOldestRecord|evtSubscribeStrict)
	if err != nil {
		return 0, actionable("EvtSubscribe", err)
	}
	return sub, nil
}

// scanRecords runs an EvtQuery over the channel and calls fn with the
// record id and time of each result (at most max), newest first where the
// service honours EvtQueryReverseDirection.
func (s *subscriber) scanRecords(xpath string, flags uint32, max int, fn func(id uint64, t time.Time)) error {
	q, err := evtQuery(0, windows.StringToUTF16Ptr(s.opt.Channel), windows.StringToUTF16Ptr(xpath), evtQueryChannelPath|flags)
	if err != nil {
		return actionable("EvtQuery", err)
	}
	defer evtClose(q)
	paths := []*uint16{windows.StringToUTF16Ptr("Event/System/EventRecordID"), windows.StringToUTF16Ptr("Event/System/TimeCreated/@SystemTime")}
	rc, err := evtCreateRenderContext(uint32(len(paths)), &paths[0], evtRenderContextValues)
	if err != nil {
		return fmt.Errorf("EvtCreateRenderContext: %w", err)
	}
	defer evtClose(rc)
	for seen := 0; seen < max; {
		var ev evtHandle
		var n uint32
		if err := evtNext(q, 1, &ev, 1000, 0, &n); err != nil || n == 0 {
			if err == nil || errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
				return nil
			}
			return fmt.Errorf("EvtNext (%s): %w", xpath, err)
		}
		seen++
		var buf [128]byte
		var used, props uint32
		err := evtRender(rc, ev, evtRenderEventValues, uint32(len(buf)), unsafe.Pointer(&buf[0]), &used, &props)
		evtClose(ev)
		if err != nil {
			return fmt.Errorf("EvtRender (%s): %w", xpath, err)
		}
		id, _ := variantUint(*(*uint64)(unsafe.Pointer(&buf[0])), *(*uint32)(unsafe.Pointer(&buf[12])))
		var t time.Time
		if *(*uint32)(unsafe.Pointer(&buf[16+12])) == evtVarTypeFileTime {
			t = filetimeToTime(*(*uint64)(unsafe.Pointer(&buf[16])))
		}
		fn(id, t)
	}
	return nil
}

// lookupRecord looks the record id up in the whole channel (any event id)
// and returns whether it is there and its time.
func (s *subscriber) lookupRecord(id uint64) (found bool, at time.Time, err error) {
	err = s.scanRecords(fmt.Sprintf("*[System[EventRecordID=%d]]", id), 0, 4, func(rid uint64, t time.Time) {
		if rid == id {
			found, at = true, t
		}
	})
	if err != nil {
		return false, time.Time{}, fmt.Errorf("looking up bookmarked record %d: %w", id, err)
	}
	return found, at, nil
}

// clearedSince returns the time of the newest 1102 (log cleared) written
// after since, or zero. With since zero (an older bookmark file) nothing
// can be compared.
func (s *subscriber) clearedSince(since time.Time) (time.Time, error) {
	if since.IsZero() {
		return time.Time{}, nil
	}
	var newest time.Time
	xpath := fmt.Sprintf("*[System[EventID=%d and TimeCreated[@SystemTime>='%s']]]", EventLogCleared, since.UTC().Format("2006-01-02T15:04:05.000Z"))
	err := s.scanRecords(xpath, evtQueryReverseDirection, 16, func(_ uint64, t time.Time) {
		if t.After(since) && t.After(newest) {
			newest = t
		}
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("looking for event 1102 (log cleared): %w", err)
	}
	return newest, nil
}

// oldestRecordID returns the record id of the oldest record in the channel
// (of any event id), or 0 when the channel is empty.
func (s *subscriber) oldestRecordID() (uint64, error) {
	q, err := evtQuery(0, windows.StringToUTF16Ptr(s.opt.Channel), windows.StringToUTF16Ptr("*"), evtQueryChannelPath|evtQueryForwardDirection)
	if err != nil {
		return 0, actionable("EvtQuery", err)
	}
	defer evtClose(q)
	var ev evtHandle
	var n uint32
	if err := evtNext(q, 1, &ev, 1000, 0, &n); err != nil {
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
			return 0, nil
		}
		return 0, fmt.Errorf("EvtNext (oldest record): %w", err)
	}
	defer evtClose(ev)
	p := windows.StringToUTF16Ptr("Event/System/EventRecordID")
	rc, err := evtCreateRenderContext(1, &p, evtRenderContextValues)
	if err != nil {
		return 0, fmt.Errorf("EvtCreateRenderContext: %w", err)
	}
	defer evtClose(rc)
	var buf [64]byte
	var used, props uint32
	if err := evtRender(rc, ev, evtRenderEventValues, uint32(len(buf)), unsafe.Pointer(&buf[0]), &used, &props); err != nil {
		return 0, fmt.Errorf("EvtRender (oldest record): %w", err)
	}
	n64, ok := variantUint(*(*uint64)(unsafe.Pointer(&buf[0])), *(*uint32)(unsafe.Pointer(&buf[12])))
	if !ok || props != 1 {
		return 0, errors.New("EvtRender (oldest record): no record id")
	}
	return n64, nil
}

type handlerError struct{ err error }

func (h handlerError) Error() string { return h.err.Error() }

// pump reads the subscription until stopped (nil) or an error.
func (s *subscriber) pump(ctx context.Context, sub evtHandle) error {
	for {
		var n uint32
		err := evtNext(sub, uint32(len(s.handles)), &s.handles[0], 0, 0, &n)
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) || errors.Is(err, windows.ERROR_TIMEOUT) || (err == nil && n == 0) {
			// Reset before the last look, so that an event arriving in
			// between signals again.
			windows.ResetEvent(s.signal)
			err = evtNext(sub, uint32(len(s.handles)), &s.handles[0], 0, 0, &n)
			if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) || errors.Is(err, windows.ERROR_TIMEOUT) || (err == nil && n == 0) {
				ev, werr := windows.WaitForMultipleObjects([]windows.Handle{s.signal, s.stop}, false, 1000)
				if werr != nil {
					return fmt.Errorf("WaitForMultipleObjects: %w", werr)
				}
				if ev == windows.WAIT_OBJECT_0+1 || ctx.Err() != nil {
					return nil
				}
				continue
			}
		}
		if errors.Is(err, errorEvtQueryResultStale) {
			return fmt.Errorf("EvtNext: ERROR_EVT_QUERY_RESULT_STALE (%w): records were overwritten or the log was cleared while reading", err)
		}
		if err != nil {
			return actionable("EvtNext", err)
		}
		if err := s.batch(s.handles[:n]); err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// batch renders, hands on, then advances and saves the bookmark; it closes
// every event handle.
func (s *subscriber) batch(hs []evtHandle) error {
	defer func() {
		for i, h := range hs {
			evtClose(h)
			hs[i] = 0
		}
	}()
	recs := s.recs[:0]
	lastKept := false // the last handle's record was handed on
	for _, h := range hs {
		rec := &s.recs[len(recs)]
		lastKept = false
		err := s.render(h, rec)
		if rec.EventID == EventLogCleared {
			// Not a Filtering Platform event: a gap, never handed on.
			// Record ids may start again here.
			if !sameRecordTime(rec.Time, s.clearedAt) {
				s.gap(clearedGap(s.seq.last, rec.Time, true))
			}
			s.seq.last = rec.RecordID
			continue
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				s.stats.RenderErrors++
				s.problem(fmt.Errorf("event skipped: %w", err))
				continue
			}
			s.problem(err) // keep the record: Decode reports its own problems
		}
		if g := s.seq.next(rec.RecordID, &s.stats); g != nil {
			s.gap(*g)
		}
		recs = recs[:len(recs)+1] // rec is s.recs[len(recs)]
		lastKept = true
	}
	if len(recs) > 0 {
		if err := s.h(recs); err != nil {
			return handlerError{err}
		}
		s.stats.Events += uint64(len(recs))
	}
	if len(hs) == 0 {
		return nil
	}
	if err := evtUpdateBookmark(s.bookmark, hs[len(hs)-1]); err != nil {
		return fmt.Errorf("EvtUpdateBookmark: %w", err)
	}
	s.haveMark, s.fromOldest = true, false
	if len(recs) > 0 {
		s.markID = recs[len(recs)-1].RecordID
	}
	// The time saved beside the bookmark must be that of the record it
	// points at: the last handle's, known only when that was kept.
	s.markTime = time.Time{}
	if lastKept {
		s.markTime = recs[len(recs)-1].Time
	}
	s.dirty = true
	if s.opt.BookmarkEvery > 0 && time.Since(s.lastSave) < s.opt.BookmarkEvery {
		return nil
	}
	if err := s.saveBookmark(); err != nil {
		return handlerError{err}
	}
	return nil
}

// saveBookmark writes the bookmark file if the bookmark moved since the
// last save.
func (s *subscriber) saveBookmark() error {
	if s.opt.BookmarkPath == "" || !s.dirty || s.bookmark == 0 {
		return nil
	}
	xml, err := s.renderXML(0, s.bookmark, evtRenderBookmark)
	if err != nil {
		return fmt.Errorf("EvtRender (bookmark): %w", err)
	}
	if err := (BookmarkFile{s.opt.BookmarkPath}).SaveMark(string(xml), s.markTime); err != nil {
		return fmt.Errorf("save bookmark: %w", err)
	}
	s.dirty, s.lastSave = false, time.Now()
	s.stats.BookmarkSaves++
	return nil
}

func (s *subscriber) render(h evtHandle, rec *Record) error {
	if s.opt.Render == RenderXML {
		b, err := s.renderXML(0, h, evtRenderEventXML)
		if err != nil {
			return fmt.Errorf("EvtRender (XML): %w", err)
		}
		rec.Reset()
		return parseRenderedXML(b, rec)
	}
	if len(s.vbuf) == 0 {
		s.vbuf = make([]byte, 4096)
	}
	for {
		var used, props uint32
		err := evtRender(s.renderCtx, h, evtRenderEventValues, uint32(len(s.vbuf)), unsafe.Pointer(&s.vbuf[0]), &used, &props)
		if errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) && int(used) > len(s.vbuf) {
			s.vbuf = make([]byte, used)
			continue
		}
		if err != nil {
			return fmt.Errorf("EvtRender (values): %w", err)
		}
		if int(used) > len(s.vbuf) {
			return fmt.Errorf("EvtRender (values): used %d bytes of a %d-byte buffer", used, len(s.vbuf))
		}
		return recordFromValues(s.vbuf[:used], int(props), rec, &s.scratch)
	}
}

// renderXML renders h as XML (an event or a bookmark) and returns it as
// UTF-8 in a buffer reused by the next call.
func (s *subscriber) renderXML(ctxh, h evtHandle, flags uint32) ([]byte, error) {
	if len(s.xbuf) == 0 {
		s.xbuf = make([]uint16, 2048)
	}
	for {
		var used, props uint32
		err := evtRender(ctxh, h, flags, uint32(2*len(s.xbuf)), unsafe.Pointer(&s.xbuf[0]), &used, &props)
		if errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) && int(used) > 2*len(s.xbuf) {
			s.xbuf = make([]uint16, (used+1)/2)
			continue
		}
		if err != nil {
			return nil, err
		}
		n := int(used) / 2
		if n > len(s.xbuf) {
			return nil, fmt.Errorf("used %d bytes of a %d-byte buffer", used, 2*len(s.xbuf))
		}
		for n > 0 && s.xbuf[n-1] == 0 {
			n--
		}
		s.xutf8 = appendUTF16(s.xutf8[:0], s.xbuf[:n])
		return s.xutf8, nil
	}
}
