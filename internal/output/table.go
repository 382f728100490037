package output

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// tableColumn is one column of the table: a header, a preferred width, and
// whether it may shrink when the terminal is narrow.
type tableColumn struct {
	header string
	width  int
	min    int // shrinkable down to min; equal to width when fixed
	value  func(e *event.Event) string
	hide   int // when even the minimum widths do not fit, columns are hidden in this order (0: never)
}

var tableColumns = []tableColumn{
	{"TIME", 19, 8, nil, 0}, // filled by tableWriter.Write: the date goes first when narrow
	{"VERDICT", 7, 7, func(e *event.Event) string { return string(e.Verdict) }, 0},
	{"KIND", 10, 6, func(e *event.Event) string { return string(e.Kind) }, 1},
	{"DIR", 3, 3, func(e *event.Event) string {
		switch e.Direction {
		case event.DirectionInbound:
			return "in"
		case event.DirectionOutbound:
			return "out"
		case event.DirectionForward:
			return "fwd"
		}
		return "-"
	}, 0},
	{"PROTO", 5, 4, func(e *event.Event) string { return dashIfEmpty(protoName(e)) }, 3},
	{"LOCAL", 21, 12, func(e *event.Event) string {
		return endpoint(e.LocalIP.IsValid(), e.LocalIP.String, e.HasLocalPort, e.LocalPort)
	}, 0},
	{"REMOTE", 21, 12, func(e *event.Event) string {
		return endpoint(e.RemoteIP.IsValid(), e.RemoteIP.String, e.HasRemotePort, e.RemotePort)
	}, 0},
	{"PID", 6, 5, func(e *event.Event) string {
		if !e.HasPID {
			return "-"
		}
		return strconv.FormatUint(uint64(e.PID), 10)
	}, 2},
	{"PROCESS", 18, 8, func(e *event.Event) string {
		if len(e.Services) > 0 {
			return e.Name + " (" + strings.Join(e.Services, ",") + ")"
		}
		return dashIfEmpty(e.Name)
	}, 0},
	{"REASON", 16, 8, func(e *event.Event) string { return dashIfEmpty(e.Reason) }, 0},
	{"FILTER/RULE", 24, 10, func(e *event.Event) string { return filterText(e) }, 0},
}

// filterText says who made the decision; a bare filter id gets its layer.
func filterText(e *event.Event) string {
	d := e.DecidedBy()
	if d == "" || (e.RuleName == "" && e.RuleID == "" && e.FilterName == "" && e.FilterOrigin == "") {
		if e.LayerName != "" {
			if d != "" {
				d += " @ "
			}
			d += e.LayerName
		}
	}
	return dashIfEmpty(d)
}

func endpoint(hasIP bool, ip func() string, hasPort bool, port uint16) string {
	s := "*"
	if hasIP {
		s = ip()
		if strings.IndexByte(s, ':') >= 0 && hasPort {
			s = "[" + s + "]"
		}
	}
	if hasPort {
		s += ":" + strconv.FormatUint(uint64(port), 10)
	}
	if !hasIP && !hasPort {
		return "-"
	}
	return s
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

type tableWriter struct {
	loc    *time.Location
	w      *bufio.Writer
	widths []int
	header bool
	each   bool
	line   []byte
}

// NewTable returns a Writer of a human-readable table. Columns shrink (and
// long values are cut with "…") to fit opt.Width when it is set; the last
// column takes the rest of the line.
func NewTable(w io.Writer, opt Options) Writer {
	t := &tableWriter{w: bufio.NewWriter(w), each: opt.FlushEach, loc: opt.Location}
	if t.loc == nil {
		t.loc = time.Local
	}
	t.widths = fitColumns(opt.Width)
	return t
}

// fitColumns returns each column's width for a terminal width (0: none).
// A width of -1 hides the column; 0 leaves it unlimited.
func fitColumns(width int) []int {
	ws := make([]int, len(tableColumns))
	total := 0
	for i, c := range tableColumns {
		ws[i] = c.width
		total += c.width + 1
	}
	if width <= 0 {
		ws[len(ws)-1] = 0 // unlimited
		return ws
	}
	// Hide the optional columns, in order, while the preferred widths do
	// not fit: better to lose the kind or pid than to cut addresses.
	for order := 1; total > width; order++ {
		found := false
		for i, c := range tableColumns {
			if c.hide == order {
				ws[i] = -1
				total -= c.width + 1
				found = true
			}
		}
		if !found {
			break
		}
	}
	// Shrink columns in the order of least loss (rule text and reason
	// first, addresses last) until the line fits.
	for _, name := range []string{"FILTER/RULE", "REASON", "PROCESS", "TIME", "KIND", "LOCAL", "REMOTE"} {
		for i, c := range tableColumns {
			if c.header != name || ws[i] < 0 || total <= width {
				continue
			}
			cut := min(total-width, ws[i]-c.min)
			ws[i] -= cut
			total -= cut
		}
	}
	// Give the last column whatever is left.
	last := len(ws) - 1
	if rest := width - (total - ws[last] - 1) - 1; rest > ws[last] {
		ws[last] = rest
	}
	return ws
}

func (t *tableWriter) writeRow(cells func(i int) string) error {
	t.line = t.line[:0]
	for i := range tableColumns {
		w := t.widths[i]
		if w < 0 {
			continue
		}
		s := cells(i)
		last := i == len(tableColumns)-1
		if w > 0 {
			s = cut(s, w)
		}
		t.line = append(t.line, s...)
		if !last {
			for n := utf8.RuneCountInString(s); n < w+1; n++ {
				t.line = append(t.line, ' ')
			}
		}
	}
	t.line = append(t.line, '\n')
	_, err := t.w.Write(t.line)
	return err
}

func (t *tableWriter) Write(e *event.Event) error {
	if !t.header {
		t.header = true
		if err := t.writeRow(func(i int) string { return tableColumns[i].header }); err != nil {
			return err
		}
	}
	if err := t.writeRow(func(i int) string {
		if i == 0 {
			if e.Time.IsZero() {
				return "-"
			}
			if t.widths[0] > 0 && t.widths[0] < 19 {
				return e.Time.In(t.loc).Format("15:04:05")
			}
			return e.Time.In(t.loc).Format("2006-01-02 15:04:05")
		}
		return TermSafe(tableColumns[i].value(e))
	}); err != nil {
		return err
	}
	if t.each {
		return t.w.Flush()
	}
	return nil
}

func (t *tableWriter) Close() error { return t.w.Flush() }

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}
