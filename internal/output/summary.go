package output

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Summary counts events by verdict, reason, application, service port,
// direction and event code. The zero value is ready to use.
type Summary struct {
	Total     int
	Verdict   map[string]int
	Reason    map[string]int
	App       map[string]int
	Port      map[string]int
	Direction map[string]int
	Code      map[string]int
}

// Add counts e.
func (s *Summary) Add(e *event.Event) {
	if s.Verdict == nil {
		s.Verdict, s.Reason, s.App = map[string]int{}, map[string]int{}, map[string]int{}
		s.Port, s.Direction, s.Code = map[string]int{}, map[string]int{}, map[string]int{}
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
	} {
		if len(g.m) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\nby %s:\n", g.title)
		for _, c := range top(g.m, n) {
			fmt.Fprintf(&b, "  %8d  %s\n", c.Count, TermSafe(c.Key))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the summary as one JSON object.
func (s *Summary) WriteJSON(w io.Writer, n int) error {
	out := map[string]any{"total": s.Total}
	for name, m := range map[string]map[string]int{
		"verdict": s.Verdict, "reason": s.Reason, "direction": s.Direction,
		"event": s.Code, "application": s.App, "port": s.Port,
	} {
		out[name] = top(m, n)
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
	} {
		for _, c := range top(g.m, n) {
			fmt.Fprintf(&b, "%s,%s,%d\n", g.title, csvQuote(csvSafe(c.Key)), c.Count)
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
