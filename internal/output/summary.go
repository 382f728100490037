package output

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Summary counts events by verdict, reason, application, service port,
// direction, event code, host and remote address, and keeps the time
// span: the first and last event and the events per hour. The zero value
// is ready to use.
type Summary struct {
	Total     int
	Verdict   map[string]int
	Reason    map[string]int
	App       map[string]int
	Port      map[string]int
	Direction map[string]int
	Code      map[string]int
	Host      map[string]int
	Remote    map[string]int

	First, Last time.Time     // the earliest and latest event time (zero when none had one)
	Hours       map[int64]int // events per hour, by Unix hour
	// Location is the time zone of the text summary's times (nil: local
	// time); JSON and CSV are in UTC.
	Location *time.Location
}

// Add counts e.
func (s *Summary) Add(e *event.Event) {
	if s.Verdict == nil {
		s.Verdict, s.Reason, s.App = map[string]int{}, map[string]int{}, map[string]int{}
		s.Port, s.Direction, s.Code = map[string]int{}, map[string]int{}, map[string]int{}
		s.Host, s.Remote, s.Hours = map[string]int{}, map[string]int{}, map[int64]int{}
	}
	s.Host[dashIfEmpty(e.Host)]++
	remote := "-"
	if e.RemoteIP.IsValid() {
		remote = e.RemoteIP.String()
	}
	s.Remote[remote]++
	if t := e.Time; !t.IsZero() {
		if s.First.IsZero() || t.Before(s.First) {
			s.First = t
		}
		if t.After(s.Last) {
			s.Last = t
		}
		s.Hours[t.Unix()/3600]++
	}
	s.Total++
	s.Verdict[string(e.Verdict)]++
	s.Reason[dashIfEmpty(e.Reason)]++
	app := e.Name
	if app == "" {
		app = "-"
	}
	s.App[app]++
	port := "-"
	if p, ok := e.ServicePort(); ok {
		port = strconv.Itoa(int(p))
		if e.HasProtocol {
			port += "/" + event.ProtocolName(e.Protocol)
		}
	}
	s.Port[port]++
	s.Direction[dashIfEmpty(string(e.Direction))]++
	code := "-"
	if e.Code != 0 {
		code = strconv.Itoa(e.Code)
	} else if e.NetEventType != "" {
		code = e.NetEventType
	}
	s.Code[code]++
}

type count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// top returns m's entries, the largest first (ties by key), at most n (0:
// all).
func top(m map[string]int, n int) []count {
	out := make([]count, 0, len(m))
	for k, v := range m {
		out = append(out, count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// WriteText prints the summary as aligned text, at most n rows per group
// (0: all).
func (s *Summary) WriteText(w io.Writer, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d events\n", s.Total)
	for _, g := range []struct {
		title string
		m     map[string]int
	}{
		{"verdict", s.Verdict}, {"reason", s.Reason}, {"direction", s.Direction},
		{"event", s.Code}, {"application", s.App}, {"port", s.Port},
		{"host", s.Host}, {"remote address", s.Remote},
	} {
		if len(g.m) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nby %s:\n", g.title)
		for _, c := range top(g.m, n) {
			fmt.Fprintf(&b, "  %8d  %s\n", c.Count, TermSafe(c.Key))
		}
	}
	if !s.First.IsZero() {
		loc := s.Location
		if loc == nil {
			loc = time.Local
		}
		const layout = "2006-01-02 15:04:05 MST"
		fmt.Fprintf(&b, "\ntime span:\n  first     %s\n  last      %s\n", s.First.In(loc).Format(layout), s.Last.In(loc).Format(layout))
		fmt.Fprintf(&b, "  span      %s\n  per hour  %.1f events on average, %d hour(s) with events\n", s.Last.Sub(s.First).Round(time.Second), s.perHour(), len(s.Hours))
		fmt.Fprintf(&b, "\nbusiest hours:\n")
		for _, h := range s.busiest(n) {
			fmt.Fprintf(&b, "  %8d  %s\n", h.Count, time.Unix(h.hour*3600, 0).In(loc).Format("2006-01-02 15:04 MST"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// perHour is the average number of events per hour over the span (one
// hour at least).
func (s *Summary) perHour() float64 {
	h := s.Last.Sub(s.First).Hours()
	if h < 1 {
		h = 1
	}
	return float64(s.Total) / h
}

type hourCount struct {
	hour  int64
	Count int
}

// busiest returns the hours with the most events, at most n (0: all), the
// busiest first (ties: the earlier first).
func (s *Summary) busiest(n int) []hourCount {
	out := make([]hourCount, 0, len(s.Hours))
	for h, c := range s.Hours {
		out = append(out, hourCount{h, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].hour < out[j].hour
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// WriteJSON prints the summary as one JSON object.
func (s *Summary) WriteJSON(w io.Writer, n int) error {
	out := map[string]any{"total": s.Total}
	for name, m := range map[string]map[string]int{
		"verdict": s.Verdict, "reason": s.Reason, "direction": s.Direction,
		"event": s.Code, "application": s.App, "port": s.Port,
		"host": s.Host, "remote": s.Remote,
	} {
		out[name] = top(m, n)
	}
	if !s.First.IsZero() {
		type hour struct {
			Hour  time.Time `json:"hour"`
			Count int       `json:"count"`
		}
		var hs []hour
		for _, h := range s.busiest(n) {
			hs = append(hs, hour{time.Unix(h.hour*3600, 0).UTC(), h.Count})
		}
		out["time"] = map[string]any{
			"first": s.First.UTC(), "last": s.Last.UTC(), "span_seconds": s.Last.Sub(s.First).Seconds(),
			"per_hour": s.perHour(), "hours": len(s.Hours), "busiest": hs,
		}
	}
	enc := json.NewEncoder(w)
	return enc.Encode(out)
}

// WriteCSV prints the summary as group,key,count rows.
func (s *Summary) WriteCSV(w io.Writer, n int) error {
	var b strings.Builder
	b.WriteString("group,key,count\n")
	for _, g := range []struct {
		title string
		m     map[string]int
	}{
		{"verdict", s.Verdict}, {"reason", s.Reason}, {"direction", s.Direction},
		{"event", s.Code}, {"application", s.App}, {"port", s.Port},
		{"host", s.Host}, {"remote", s.Remote},
	} {
		for _, c := range top(g.m, n) {
			fmt.Fprintf(&b, "%s,%s,%d\n", g.title, csvQuote(csvSafe(c.Key)), c.Count)
		}
	}
	if !s.First.IsZero() {
		// The span: first and last as keys (count: all events), then the
		// busiest hours.
		fmt.Fprintf(&b, "first,%s,%d\nlast,%s,%d\n", csvTime(s.First), s.Total, csvTime(s.Last), s.Total)
		for _, h := range s.busiest(n) {
			fmt.Fprintf(&b, "hour,%s,%d\n", csvTime(time.Unix(h.hour*3600, 0)), h.Count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func csvQuote(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
