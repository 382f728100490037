package web

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

// paramError is a bad query parameter: the handler answers 400 with its
// message.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{fmt.Sprintf(format, args...)}
}

// Limits on what one request may ask for, so that no parameter makes the
// server do unbounded work.
const (
	maxValuesPerFilter = 64   // values of one filter (app=a,b,c…)
	maxParamLen        = 1024 // bytes of one value
	maxPageSize        = 1000 // events per page
	maxTopRows         = 1000 // rows of a top-N
	maxSeriesBuckets   = 5000 // buckets of a time series
)

// filterParams are the query parameters shared by every API endpoint and
// page, with the meaning of the flags of 'wfpwatch query'.
var filterParams = []string{"since", "until", "app", "port", "remote", "direction", "verdict", "reason", "host", "provider"}

// listParam returns the values of a repeatable, comma-separated parameter.
func listParam(q url.Values, name string) ([]string, error) {
	var out []string
	for _, v := range q[name] {
		if len(v) > maxParamLen {
			return nil, badParam("%s: longer than %d bytes", name, maxParamLen)
		}
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	if len(out) > maxValuesPerFilter {
		return nil, badParam("%s: more than %d values", name, maxValuesPerFilter)
	}
	return out, nil
}

// one returns the single value of a parameter ("" when absent) and refuses
// a repeated one.
func one(q url.Values, name string) (string, error) {
	vs := q[name]
	switch {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", badParam("%s: give it once", name)
	case len(vs[0]) > maxParamLen:
		return "", badParam("%s: longer than %d bytes", name, maxParamLen)
	}
	return strings.TrimSpace(vs[0]), nil
}

// parseFilter reads the filter parameters of q, as 'wfpwatch query' reads
// its flags; now is the clock for relative times.
func parseFilter(q url.Values, now time.Time) (store.Filter, error) {
	var f store.Filter
	s, err := one(q, "since")
	if err != nil {
		return f, err
	}
	if f.Since, err = ParseTime(s, now); err != nil {
		return f, badParam("since: %v", err)
	}
	if s, err = one(q, "until"); err != nil {
		return f, err
	}
	if f.Until, err = ParseTime(s, now); err != nil {
		return f, badParam("until: %v", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, badParam("since is not before until")
	}
	if f.Apps, err = listParam(q, "app"); err != nil {
		return f, err
	}
	if f.Hosts, err = listParam(q, "host"); err != nil {
		return f, err
	}
	if f.Providers, err = listParam(q, "provider"); err != nil {
		return f, err
	}
	ports, err := listParam(q, "port")
	if err != nil {
		return f, err
	}
	for _, p := range ports {
		n, ok := event.ParseUint(p, 65535)
		if !ok {
			return f, badParam("port %q: want a port number 0-65535", p)
		}
		f.Ports = append(f.Ports, uint16(n))
	}
	remotes, err := listParam(q, "remote")
	if err != nil {
		return f, err
	}
	for _, r := range remotes {
		p, err := pipeline.ParsePrefix(r)
		if err != nil {
			return f, badParam("remote %q: %v", r, err)
		}
		f.Remotes = append(f.Remotes, p)
	}
	dirs, err := listParam(q, "direction")
	if err != nil {
		return f, err
	}
	for _, d := range dirs {
		c, ok := store.DirectionCode(strings.ToLower(d))
		if !ok || (d != "inbound" && d != "outbound" && d != "in" && d != "out") {
			return f, badParam("direction %q: want inbound or outbound", d)
		}
		f.Directions = append(f.Directions, c)
	}
	verdicts, err := listParam(q, "verdict")
	if err != nil {
		return f, err
	}
	for _, v := range verdicts {
		c, ok := store.VerdictCode(v)
		if !ok {
			return f, badParam("verdict %q: want block, drop or permit", v)
		}
		f.Verdicts = append(f.Verdicts, c)
	}
	if f.Reasons, err = listParam(q, "reason"); err != nil {
		return f, err
	}
	return f, nil
}

// intParam reads an integer parameter in [lo, hi], def when absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	s, err := one(q, name)
	if err != nil || s == "" {
		return def, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam("%s %q: want a number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// parseCursor reads the cursor of a page: "TS.ID" as the API gave it.
func parseCursor(s string) (store.Cursor, error) {
	if s == "" {
		return store.Cursor{}, nil
	}
	a, b, ok := strings.Cut(s, ".")
	ts, err1 := strconv.ParseInt(a, 10, 64)
	id, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || id <= 0 {
		return store.Cursor{}, badParam("cursor %q: give back the next cursor of the previous page", s)
	}
	return store.Cursor{TS: ts, ID: id}, nil
}

func formatCursor(c store.Cursor) string {
	if c.IsZero() {
		return ""
	}
	return strconv.FormatInt(c.TS, 10) + "." + strconv.FormatInt(c.ID, 10)
}

// ParseTime parses a since/until value as 'wfpwatch query' does: "" or
// "all" (open),
// a duration back from now ("90s", "10m", "2h", "7d", "1d12h"), an RFC 3339
// time, or a date (UTC midnight).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "all" {
		return time.Time{}, nil
	}
	if d, err := parseDays(s); err == nil {
		if d < 0 || strings.HasPrefix(s, "+") {
			return time.Time{}, fmt.Errorf("%q: want a duration back from now without a sign", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		if t.Year() < 1678 || t.Year() > 2261 { // the range of Unix nanoseconds in an int64
			return time.Time{}, fmt.Errorf("%q: want a year from 1678 to 2261", s)
		}
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if t.Year() < 1678 || t.Year() > 2261 {
			return time.Time{}, fmt.Errorf("%q: want a year from 1678 to 2261", s)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a duration (10m, 2h, 7d), an RFC 3339 time (2026-11-26T08:00:00Z) or a date (2026-11-26)", s)
}

// parseDays is time.ParseDuration with a leading "Nd" for days, bounded
// to 100000 days.
func parseDays(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days < 0 || days > 100_000 {
			return 0, errors.New("bad days")
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, err
			}
			if rest < 0 {
				return 0, errors.New("negative")
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	return time.ParseDuration(s)
}
