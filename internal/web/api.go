package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// requestTimeout bounds the work of one API request (the live stream and
// the export excepted).
const requestTimeout = 10 * time.Second

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encode answer", http.StatusInternalServerError)
		return
	}
	w.Write(append(b, '\n'))
}

func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	b, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	w.Write(append(b, '\n'))
}

// fail answers err: 400 for a bad parameter, 503 when the request ran out
// of time, 500 (logged) otherwise.
func (s *Server) fail(w http.ResponseWriter, err error) {
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		jsonError(w, http.StatusBadRequest, pe.msg)
	case errors.Is(err, context.DeadlineExceeded):
		jsonError(w, http.StatusServiceUnavailable, "the query took too long: narrow the time range or the filters")
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		s.opt.Log.Printf("wfpwatch serve: %v", err)
		jsonError(w, http.StatusInternalServerError, "reading the history failed: "+err.Error())
	}
}

// checkParams refuses parameters an endpoint does not know, so that a
// typing mistake is an error and not a silently ignored filter.
func checkParams(q url.Values, extra ...string) error {
	for k := range q {
		known := k == "token"
		for _, n := range filterParams {
			known = known || k == n
		}
		for _, n := range extra {
			known = known || k == n
		}
		if !known {
			return badParam("unknown parameter %q (known: %s)", k, strings.Join(append(append([]string{}, filterParams...), extra...), ", "))
		}
	}
	return nil
}

// apiEvent is one event in API answers: its row id (for /api/event/ID and
// /event/ID) and the event as ECS JSON.
type apiEventJSON struct {
	ID    int64           `json:"id"`
	Event json.RawMessage `json:"event"`
}

func eventJSON(id int64, e *event.Event) apiEventJSON {
	return apiEventJSON{ID: id, Event: e.AppendJSON(nil)}
}

// apiEvents answers GET /api/events: a page of events, newest first, with
// the number of matching events and the cursor of the next page.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	res, err := s.events(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, res)
}

type eventsAnswer struct {
	Events     []apiEventJSON `json:"events"`
	Next       string         `json:"next,omitempty"`
	Count      int64          `json:"count"`
	CountExact bool           `json:"count_exact"`
}

// countCap is where counting matching events stops when the count needs
// a scan of the events (app, port or remote filters).
const countCap = 10_000

func (s *Server) events(ctx context.Context, q url.Values) (eventsAnswer, error) {
	var a eventsAnswer
	if err := checkParams(q, "limit", "cursor"); err != nil {
		return a, err
	}
	f, err := parseFilter(q, s.opt.Now())
	if err != nil {
		return a, err
	}
	limit, err := intParam(q, "limit", 100, 1, maxPageSize)
	if err != nil {
		return a, err
	}
	cs, err := one(q, "cursor")
	if err != nil {
		return a, err
	}
	c, err := parseCursor(cs)
	if err != nil {
		return a, err
	}
	a.Events = []apiEventJSON{}
	next, err := s.opt.DB.EventPage(ctx, f, c, limit, func(id int64, e *event.Event) error {
		a.Events = append(a.Events, eventJSON(id, e))
		return nil
	})
	if err != nil {
		return a, err
	}
	a.Next = formatCursor(next)
	a.Count, a.CountExact, err = s.opt.DB.CountCapped(ctx, f, countCap)
	return a, err
}

// apiEvent answers GET /api/event/{id}: the event, its explanation and the
// PowerShell command that would allow it.
func (s *Server) apiEvent(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	d, err := s.detail(ctx, r.PathValue("id"))
	if err != nil {
		if errors.Is(err, errNoEvent) {
			jsonError(w, http.StatusNotFound, err.Error())
			return
		}
		s.fail(w, err)
		return
	}
	writeJSON(w, struct {
		ID      int64           `json:"id"`
		Event   json.RawMessage `json:"event"`
		Explain Explanation     `json:"explain"`
	}{d.ID, d.Event.AppendJSON(nil), d.Explain})
}

var errNoEvent = errors.New("no event with that id in the history (pruned, or never stored)")

type eventDetail struct {
	ID      int64
	Event   event.Event
	Explain Explanation
}

func (s *Server) detail(ctx context.Context, idText string) (eventDetail, error) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 {
		return eventDetail{}, badParam("event id %q: want a positive number", idText)
	}
	e, ok, err := s.opt.DB.EventByID(ctx, id)
	if err != nil {
		return eventDetail{}, err
	}
	if !ok {
		return eventDetail{}, errNoEvent
	}
	return eventDetail{ID: id, Event: e, Explain: Explain(&e)}, nil
}

// topDims are the dimensions of /api/top.
var topDims = []string{"app", "port", "remote", "rule", "host"}

type topAnswer struct {
	By          string   `json:"by"`
	Total       int64    `json:"total"`
	Rows        []topRow `json:"rows"`
	FromRollups bool     `json:"from_rollups"`
	Deferred    bool     `json:"-"` // the overview: filled in by the script
}

type topRow struct {
	Value string  `json:"value"`
	Name  string  `json:"name,omitempty"` // app: the process name of the path in value
	Count int64   `json:"count"`
	Share float64 `json:"share"`
}

// apiTop answers GET /api/top?by=app|port|remote|rule|host.
func (s *Server) apiTop(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	a, err := s.top(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, a)
}

func (s *Server) top(ctx context.Context, q url.Values) (topAnswer, error) {
	var a topAnswer
	if err := checkParams(q, "by", "limit"); err != nil {
		return a, err
	}
	f, err := parseFilter(q, s.opt.Now())
	if err != nil {
		return a, err
	}
	by, err := one(q, "by")
	if err != nil {
		return a, err
	}
	by = strings.ToLower(by)
	limit, err := intParam(q, "limit", 10, 1, maxTopRows)
	if err != nil {
		return a, err
	}
	var res store.TopResult
	switch by {
	case "host":
		res, err = s.opt.DB.TopHosts(ctx, f, limit)
	case "app", "port", "remote", "rule":
		res, err = s.opt.DB.Top(ctx, f, store.Dims[by], limit)
	default:
		return a, badParam("by %q: want one of %s", by, strings.Join(topDims, ", "))
	}
	if err != nil {
		return a, err
	}
	a = topAnswer{By: by, Total: res.Total, Rows: []topRow{}, FromRollups: res.FromRollups}
	for _, row := range res.Rows {
		t := topRow{Value: row.Value, Count: row.Count}
		if res.Total > 0 {
			t.Share = float64(row.Count) / float64(res.Total)
		}
		if by == "app" {
			t.Name = event.BaseName(row.Value)
		}
		a.Rows = append(a.Rows, t)
	}
	return a, nil
}

type seriesAnswer struct {
	Step   int64         `json:"step"` // seconds
	Since  time.Time     `json:"since"`
	Until  time.Time     `json:"until"`
	Points []seriesPoint `json:"points"`
}

type seriesPoint struct {
	T         time.Time `json:"t"`
	Verdict   string    `json:"verdict"`
	Direction string    `json:"direction"`
	N         int64     `json:"n"`
}

// apiSeries answers GET /api/series?step=minute|hour|day|auto: events per
// bucket by verdict and direction. until defaults to now, since to 24 hours
// before until ("all": the oldest event).
func (s *Server) apiSeries(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	a, err := s.series(ctx, r.URL.Query())
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, a)
}

func (s *Server) series(ctx context.Context, q url.Values) (seriesAnswer, error) {
	var a seriesAnswer
	if err := checkParams(q, "step"); err != nil {
		return a, err
	}
	now := s.opt.Now()
	f, err := parseFilter(q, now)
	if err != nil {
		return a, err
	}
	if f.Until.IsZero() {
		f.Until = now
	}
	if f.Since.IsZero() {
		f.Since = f.Until.Add(-24 * time.Hour)
		if q.Get("since") == "all" {
			first, _, err := s.opt.DB.TimeRange(ctx)
			if err != nil {
				return a, err
			}
			if !first.IsZero() && first.Before(f.Until) {
				f.Since = first
			}
		}
	}
	if !f.Since.Before(f.Until) {
		return a, badParam("since is not before until")
	}
	st, err := one(q, "step")
	if err != nil {
		return a, err
	}
	var step time.Duration
	span := f.Until.Sub(f.Since)
	switch st {
	case "minute", "1m", "60":
		step = time.Minute
	case "hour", "1h", "3600":
		step = time.Hour
	case "day", "1d", "86400":
		step = 24 * time.Hour
	case "", "auto":
		switch {
		case span <= 2*time.Hour:
			// Minutes are counted from the events themselves (the
			// rollups have no minute counts by verdict and direction):
			// up to 2 hours stays fast on a busy history.
			step = time.Minute
		case span <= 1000*time.Hour:
			step = time.Hour
		default:
			step = 24 * time.Hour
		}
	default:
		return a, badParam("step %q: want minute, hour, day or auto", st)
	}
	if n := span / step; n > maxSeriesBuckets {
		return a, badParam("%d buckets of %v: at most %d (use a larger step or a shorter range)", n, step, maxSeriesBuckets)
	}
	pts, err := s.opt.DB.Series(ctx, f, step)
	if err != nil {
		return a, err
	}
	a = seriesAnswer{Step: int64(step / time.Second), Since: f.Since.UTC(), Until: f.Until.UTC(), Points: make([]seriesPoint, 0, len(pts))}
	for _, p := range pts {
		a.Points = append(a.Points, seriesPoint{p.Bucket, string(p.Verdict), string(p.Direction), p.N})
	}
	return a, nil
}

// maxExport bounds the events of one download.
const maxExport = 1_000_000

// apiExport answers GET /api/export?format=csv|ndjson: the matching events,
// newest last (as 'wfpwatch query --format csv|json'), as a download.
func (s *Server) apiExport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	err := checkParams(q, "format", "limit")
	var f store.Filter
	if err == nil {
		f, err = parseFilter(q, s.opt.Now())
	}
	var format string
	if err == nil {
		format, err = one(q, "format")
	}
	limit := 0
	if err == nil {
		limit, err = intParam(q, "limit", maxExport, 1, maxExport)
	}
	name := ""
	switch {
	case err != nil:
	case format == "csv":
		name = "csv"
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case format == "ndjson" || format == "json":
		name, format = "json", "ndjson"
		w.Header().Set("Content-Type", "application/x-ndjson")
	default:
		err = badParam("format %q: want csv or ndjson", format)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="wfpwatch-events.`+format+`"`)
	bw := bufio.NewWriterSize(w, 64<<10)
	ow, err := output.New(name, bw, output.Options{})
	if err != nil {
		s.fail(w, err)
		return
	}
	err = s.opt.DB.Events(r.Context(), f, limit, func(e *event.Event) error { return ow.Write(e) })
	if cerr := ow.Close(); err == nil {
		err = cerr
	}
	bw.Flush()
	if err != nil && !errors.Is(err, context.Canceled) {
		s.opt.Log.Printf("wfpwatch serve: export: %v", err)
	}
}

// apiHealth answers GET /api/health: the database and what the metrics
// have counted.
func (s *Server) apiHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	size, err := s.opt.DB.Size(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	maxID, err := s.opt.DB.MaxID(ctx)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, struct {
		Database  string         `json:"database"`
		SizeBytes int64          `json:"size_bytes"`
		LastID    int64          `json:"last_id"`
		Sources   []sourceHealth `json:"sources"`
		Capture   capture        `json:"capture"`
	}{s.opt.DB.Path(), size, maxID, s.metrics.health(), readCapture(s.opt.StatusDir, s.opt.Now())})
}
