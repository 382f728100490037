package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// maxLivePerPoll bounds the events one poll of the live stream sends; the
// rest come with the next poll.
const maxLivePerPoll = 500

// apiLive answers GET /api/live: Server-Sent Events of the events stored
// from now on (or after the id in Last-Event-ID / ?after=, to resume), with
// the filters of /api/events. It tails the history database: whatever
// records to it (watch, the service, analyze --db) shows up within
// LivePoll. Each message is "event: event", "id: ROWID" and the data of
// /api/events' entries; a comment line every 15 s keeps proxies open.
func (s *Server) apiLive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q, "after"); err != nil {
		s.fail(w, err)
		return
	}
	f, err := parseFilter(q, s.opt.Now())
	if err != nil {
		s.fail(w, err)
		return
	}
	after := r.Header.Get("Last-Event-ID")
	if a, err := one(q, "after"); err != nil {
		s.fail(w, err)
		return
	} else if a != "" {
		after = a
	}
	ctx := r.Context()
	var pos int64
	if after != "" {
		if pos, err = strconv.ParseInt(after, 10, 64); err != nil || pos < 0 {
			s.fail(w, badParam("after %q: want an event id", after))
			return
		}
	} else if pos, err = s.opt.DB.MaxID(ctx); err != nil {
		s.fail(w, err)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		jsonError(w, http.StatusInternalServerError, "streaming is not supported here")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	bw := bufio.NewWriter(w)
	// The first message says where the stream starts, so that the page can
	// show it is connected.
	bw.WriteString("event: hello\ndata: {\"after\":" + strconv.FormatInt(pos, 10) + "}\n\n")
	bw.Flush()
	fl.Flush()
	tick := time.NewTicker(s.opt.LivePoll)
	defer tick.Stop()
	lastWrite := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := 0
		pctx, cancel := context.WithTimeout(ctx, requestTimeout)
		next, err := s.opt.DB.EventsAfter(pctx, f, pos, maxLivePerPoll, func(id int64, e *event.Event) error {
			b, _ := json.Marshal(eventJSON(id, e))
			bw.WriteString("event: event\nid: " + strconv.FormatInt(id, 10) + "\ndata: ")
			bw.Write(b)
			bw.WriteString("\n\n")
			n++
			return nil
		})
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				s.opt.Log.Printf("wfpwatch serve: live: %v", err)
				bw.WriteString("event: problem\ndata: " + strconv.Quote(err.Error()) + "\n\n")
			}
		}
		pos = next
		if n == 0 && time.Since(lastWrite) > 15*time.Second {
			bw.WriteString(": keep-alive\n\n")
			n = 1
		}
		if n > 0 || err != nil {
			if bw.Flush() != nil {
				return
			}
			fl.Flush()
			lastWrite = time.Now()
		}
	}
}
