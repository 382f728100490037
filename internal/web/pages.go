package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/health"
)

// The pages are rendered on the server with html/template (which escapes
// every value for its context); the little JavaScript in static/app.js
// draws the chart, runs the live view and copies the PowerShell command.

var pageFuncs = template.FuncMap{
	"pct": func(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" },
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"base":    event.BaseName,
	"since":   health.Since,
	"seconds": func(d health.Duration) string { return health.Short(time.Duration(d)) },
	"stale":   func(s health.Snapshot, now time.Time) bool { return s.Stale(now) },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
	"ep": func(a netip.AddrPort) string {
		if !a.IsValid() {
			return "-"
		}
		return a.String()
	},
	"app": func(e *event.Event) string {
		if e.Name != "" {
			return e.Name
		}
		if e.Executable != "" {
			return event.BaseName(e.Executable)
		}
		return "-"
	},
}

func (s *Server) initPages() error {
	t, err := template.New("").Funcs(pageFuncs).ParseFS(assets, "assets/templates/*.html")
	if err != nil {
		return err
	}
	s.pages = t
	return nil
}

// pageData is what every page template gets.
type pageData struct {
	Title  string
	Nav    string
	Query  string // the filter query string, for links and the scripts
	Form   map[string]string
	Error  string
	Ranges []string
	Data   any
}

func (s *Server) render(w http.ResponseWriter, code int, name string, d pageData) {
	var b bytes.Buffer
	if err := s.pages.ExecuteTemplate(&b, name, d); err != nil {
		s.opt.Log.Printf("wfpwatch serve: page %s: %v", name, err)
		http.Error(w, "wfpwatch serve: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// pageError renders err: 400 for a bad parameter, 404 for a missing
// event, 500 otherwise.
func (s *Server) pageError(w http.ResponseWriter, nav string, q url.Values, err error) {
	code := http.StatusInternalServerError
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		code = http.StatusBadRequest
	case errors.Is(err, errNoEvent):
		code = http.StatusNotFound
	case errors.Is(err, context.DeadlineExceeded):
		code = http.StatusServiceUnavailable
	default:
		s.opt.Log.Printf("wfpwatch serve: %v", err)
	}
	s.render(w, code, "error.html", pageData{Title: "Error", Nav: nav, Form: formOf(q), Error: err.Error()})
}

// formOf returns the first value of each filter parameter, for the forms.
func formOf(q url.Values) map[string]string {
	m := map[string]string{}
	for _, k := range append(filterParams, "limit") {
		m[k] = strings.Join(q[k], ",")
	}
	return m
}

// filterQuery keeps only the filter parameters of q (for the scripts'
// API calls and the download links).
func filterQuery(q url.Values) string {
	out := url.Values{}
	for _, k := range filterParams {
		if vs := q[k]; len(vs) > 0 {
			out[k] = vs
		}
	}
	return out.Encode()
}

type overviewData struct {
	Tops    []topAnswer
	Health  []sourceHealth
	Capture capture
	Now     time.Time
	Since   string
}

// pageOverview is GET /: the chart over the range (since, default 24h)
// and the top apps, ports, remote addresses, rules and hosts.
func (s *Server) pageOverview(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	q := r.URL.Query()
	if q.Get("since") == "" && q.Get("until") == "" {
		q.Set("since", "24h")
	}
	now := s.opt.Now()
	d := overviewData{Health: s.metrics.health(), Capture: readCapture(s.opt.StatusDir, now), Now: now, Since: q.Get("since")}
	for _, by := range topDims {
		if by == "host" {
			// Counting by host reads the events of the range (the
			// rollups have no host): the script fetches it, so that the
			// page itself answers at once.
			d.Tops = append(d.Tops, topAnswer{By: by, Deferred: true})
			continue
		}
		tq := url.Values{}
		for k, v := range q {
			tq[k] = v
		}
		tq.Set("by", by)
		a, err := s.top(ctx, tq)
		if err != nil {
			s.pageError(w, "overview", q, err)
			return
		}
		d.Tops = append(d.Tops, a)
	}
	s.render(w, http.StatusOK, "overview.html", pageData{Title: "Overview", Nav: "overview", Query: filterQuery(q), Form: formOf(q),
		Ranges: []string{"1h", "6h", "24h", "7d", "30d", "all"}, Data: d})
}

type searchRow struct {
	ID int64
	E  *event.Event
}

type searchData struct {
	Rows       []searchRow
	Count      int64
	CountExact bool
	Next       string
	NextQuery  string
}

// pageSearch is GET /search: every filter of 'wfpwatch query', a page of
// events newest first, the count, and download links.
func (s *Server) pageSearch(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	q := r.URL.Query()
	if err := checkParams(q, "limit", "cursor"); err != nil {
		s.pageError(w, "search", q, err)
		return
	}
	f, err := parseFilter(q, s.opt.Now())
	if err != nil {
		s.pageError(w, "search", q, err)
		return
	}
	limit, err := intParam(q, "limit", 50, 1, maxPageSize)
	if err != nil {
		s.pageError(w, "search", q, err)
		return
	}
	cs, err := one(q, "cursor")
	if err == nil {
		_, err = parseCursor(cs)
	}
	if err != nil {
		s.pageError(w, "search", q, err)
		return
	}
	c, _ := parseCursor(cs)
	var d searchData
	next, err := s.opt.DB.EventPage(ctx, f, c, limit, func(id int64, e *event.Event) error {
		x := *e
		x.Services = append([]string(nil), e.Services...)
		d.Rows = append(d.Rows, searchRow{id, &x})
		return nil
	})
	if err == nil {
		d.Count, d.CountExact, err = s.opt.DB.CountCapped(ctx, f, countCap)
	}
	if err != nil {
		s.pageError(w, "search", q, err)
		return
	}
	if !next.IsZero() {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("cursor", formatCursor(next))
		d.NextQuery = nq.Encode()
	}
	s.render(w, http.StatusOK, "search.html", pageData{Title: "Search", Nav: "search", Query: filterQuery(q), Form: formOf(q), Data: d})
}

type eventPageData struct {
	eventDetail
	E   *event.Event
	Raw string
}

// pageEvent is GET /event/{id}: the why in words, every field, the raw
// record and the PowerShell command that would allow it.
func (s *Server) pageEvent(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
	defer cancel()
	d, err := s.detail(ctx, r.PathValue("id"))
	if err != nil {
		s.pageError(w, "search", nil, err)
		return
	}
	var raw bytes.Buffer
	json.Indent(&raw, d.Event.AppendJSON(nil), "", "  ")
	s.render(w, http.StatusOK, "event.html", pageData{Title: "Event " + strconv.FormatInt(d.ID, 10), Nav: "search", Form: formOf(nil),
		Data: eventPageData{eventDetail: d, E: &d.Event, Raw: raw.String()}})
}

// pageLive is GET /live: new events as they are stored, with the filters
// of Search (no time range), pause and resume.
func (s *Server) pageLive(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkParams(q); err != nil {
		s.pageError(w, "live", q, err)
		return
	}
	if _, err := parseFilter(q, s.opt.Now()); err != nil {
		s.pageError(w, "live", q, err)
		return
	}
	s.render(w, http.StatusOK, "live.html", pageData{Title: "Live", Nav: "live", Query: filterQuery(q), Form: formOf(q)})
}
