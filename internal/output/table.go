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

// The columns of the table, in order. Which are shown depends on the data
// (flows or single events, one host or several) and the width.
const (
	colTime  = iota // single events
	colFirst        // flows
	colLast
	colCount
	colHost
	colVerdict
	colKind
	colDir
	colProto
	colLocal
	colRemote
	colPID
	colProcess
	colReason
	colProvider
	colRule
	numCols
)

// How a column's values are shortened when the terminal is narrow.
const (
	shrinkNone = iota // never (times, counts, verdicts)
	shrinkAddr        // an endpoint: the address loses its middle, the port stays whole
	shrinkMid         // a process name or path: loses its middle (keeps ".exe")
	shrinkEnd         // free text (rule names, reasons): loses its end
	shrinkHost        // a computer name: its first DNS label, then its end
)

type colSpec struct {
	header string
	pref   int  // preferred width when nothing is measured (live output)
	shrink int  // how values shorten
	right  bool // right-aligned (numbers)
}

var colSpecs = [numCols]colSpec{
	colTime:     {"TIME", 8, shrinkNone, false},
	colFirst:    {"FIRST", 8, shrinkNone, false},
	colLast:     {"LAST", 8, shrinkNone, false},
	colCount:    {"COUNT", 5, shrinkNone, true},
	colHost:     {"HOST", 15, shrinkHost, false},
	colVerdict:  {"VERDICT", 7, shrinkNone, false},
	colKind:     {"KIND", 10, shrinkEnd, false},
	colDir:      {"DIR", 3, shrinkNone, false},
	colProto:    {"PROTO", 5, shrinkNone, false},
	colLocal:    {"LOCAL", 21, shrinkAddr, false},
	colRemote:   {"REMOTE", 21, shrinkAddr, false},
	colPID:      {"PID", 6, shrinkNone, true},
	colProcess:  {"PROCESS", 18, shrinkMid, false},
	colReason:   {"REASON", 20, shrinkEnd, false},
	colProvider: {"PROVIDER", 18, shrinkEnd, false},
	colRule:     {"FILTER/RULE", 24, shrinkEnd, false},
}

// fitSteps is the order in which a table too wide for the terminal is made
// narrower: shrink a column down to a width (at most its measured one), or
// hide it. After each step the line is measured again. Ports are never cut,
// and a remote IPv4 address never loses a digit (fit keeps the remote
// column as wide as its widest IPv4 endpoint): long IPv6 addresses lose
// their middle first, then the process name and the filter text shorten;
// columns that say least are hidden on the way. At 80 columns what stays
// is when, how many, the verdict, direction, the local port, the remote
// end, the process and the reason; the filter or rule name (which the
// reason sums up) goes before them, and is in JSON and --wide.
var fitSteps = []struct {
	col   int
	width int // -1 hides the column
}{
	{colKind, -1},
	{colProvider, 16},
	{colLocal, 21}, {colRemote, 21}, // long IPv6 addresses lose their middle; IPv4 stays whole
	{colProcess, 16},
	{colRule, 24}, {colReason, 14},
	{colPID, -1},
	{colRule, 16},
	{colHost, 12},
	{colProcess, 12},
	{colRule, 12}, {colReason, 12},
	{colLocal, 7}, // the local address is mostly the host's own: its port is what matters
	{colLast, -1},
	{colProto, -1},
	{colRule, -1},
	{colProvider, -1},
	{colHost, 8},
	{colRemote, 16},
	{colProcess, 10},
	{colReason, 10},
	{colProcess, 8}, {colReason, 8},
	{colHost, 6},
	{colReason, -1},
	{colProcess, 6},
}

// maxBuffered is how many rows the table reads before it fixes its
// columns: their widths, whether dates and a HOST column are shown.
const maxBuffered = 1000

type tableRow struct {
	cells       [numCols]string
	first, last time.Time
	flow        bool
}

type tableWriter struct {
	w     *bufio.Writer
	loc   *time.Location
	width int
	wide  bool
	each  bool

	buf     []tableRow // rows read before the layout is fixed
	laidOut bool
	show    [numCols]bool
	widths  [numCols]int // 0: unlimited
	dates   bool         // times carry their date
	// shortDates leaves the year out of the dates (it is in the caption).
	shortDates bool
	v4Remote   int // the widest remote IPv4 endpoint measured, which fit never cuts
	line       []byte
}

// NewTable returns a Writer of a human-readable table.
//
// The table shows flows (an event with event.FlowInfo) as FIRST, LAST and
// COUNT, single events as TIME. It reads up to 1000 rows before it writes
// (live output: none) to size the columns to the data, to show dates only
// when the rows span more than one day and a HOST column only when they
// come from more than one host. A caption line above the header says the
// time zone (opt.Location) and, when dates are not shown, the date.
//
// With opt.Width (a terminal) the table fits that width: the last column
// takes what is left, and when the data is wider columns shrink and hide
// in the order of fitSteps; a port is never cut. Without a width (not a
// terminal), or with opt.Wide, nothing is cut: a value wider than its
// column pushes the rest of its line right. opt.Wide also shows the
// process path instead of its name.
func NewTable(w io.Writer, opt Options) Writer {
	t := &tableWriter{w: bufio.NewWriter(w), each: opt.FlushEach, loc: opt.Location, width: opt.Width, wide: opt.Wide}
	if t.loc == nil {
		t.loc = time.Local
	}
	return t
}

func (t *tableWriter) Write(e *event.Event) error {
	r := t.row(e)
	if !t.laidOut {
		t.buf = append(t.buf, r)
		if !t.each && len(t.buf) < maxBuffered {
			return nil
		}
		if err := t.layout(); err != nil {
			return err
		}
		return t.flush()
	}
	if err := t.writeRow(&r); err != nil {
		return err
	}
	if t.each {
		return t.w.Flush()
	}
	return nil
}

func (t *tableWriter) Close() error {
	if !t.laidOut && len(t.buf) > 0 {
		if err := t.layout(); err != nil {
			return err
		}
	}
	for i := range t.buf {
		if err := t.writeRow(&t.buf[i]); err != nil {
			return err
		}
	}
	t.buf = nil
	return t.w.Flush()
}

// flush writes the buffered rows.
func (t *tableWriter) flush() error {
	for i := range t.buf {
		if err := t.writeRow(&t.buf[i]); err != nil {
			return err
		}
	}
	t.buf = nil
	if t.each {
		return t.w.Flush()
	}
	return nil
}

// row renders e's cells (all but the times, which wait for the layout).
func (t *tableWriter) row(e *event.Event) tableRow {
	r := tableRow{first: e.Time, last: e.Time}
	c := &r.cells
	if f := e.Flow; f != nil {
		r.flow = true
		if !f.Start.IsZero() {
			r.first = f.Start
		}
		if !f.End.IsZero() {
			r.last = f.End
		}
		n := f.Count
		if f.Update {
			n = f.Total // a person reads the flow's count so far
		}
		c[colCount] = strconv.FormatUint(n, 10)
	} else {
		c[colCount] = "1"
	}
	c[colHost] = dashIfEmpty(TermSafe(e.Host))
	c[colVerdict] = dashIfEmpty(string(e.Verdict))
	c[colKind] = dashIfEmpty(string(e.Kind))
	switch e.Direction {
	case event.DirectionInbound:
		c[colDir] = "in"
	case event.DirectionOutbound:
		c[colDir] = "out"
	case event.DirectionForward:
		c[colDir] = "fwd"
	default:
		c[colDir] = "-"
	}
	c[colProto] = dashIfEmpty(protoName(e))
	c[colLocal] = endpoint(e.LocalIP.IsValid(), e.LocalIP.String, e.HasLocalPort, e.LocalPort)
	c[colRemote] = endpoint(e.RemoteIP.IsValid(), e.RemoteIP.String, e.HasRemotePort, e.RemotePort)
	c[colPID] = "-"
	if e.HasPID {
		c[colPID] = strconv.FormatUint(uint64(e.PID), 10)
	}
	c[colProcess] = TermSafe(ProcessText(e, t.wide))
	c[colReason] = dashIfEmpty(TermSafe(e.Reason))
	c[colProvider] = dashIfEmpty(TermSafe(e.FilterProvider))
	if t.each && e.Reason == event.ReasonProvider && e.FilterProvider != "" {
		// Live output has no PROVIDER column (see layout): the reason
		// names the provider, as "default:<name>" names a default.
		c[colReason] = "provider:" + c[colProvider]
	}
	c[colRule] = TermSafe(filterText(e))
	return r
}

// ProcessText is how the table names the process of e: its short name
// (the path with wide), with the services it hosts; "-" when unknown.
// query uses it too, so both show the same names.
func ProcessText(e *event.Event, wide bool) string {
	name := e.Name
	if name == "" && e.Executable != "" {
		name = event.BaseName(e.Executable)
	}
	if wide && e.Executable != "" {
		name = e.Executable
	}
	if len(e.Services) > 0 {
		return name + " (" + strings.Join(e.Services, ",") + ")"
	}
	return dashIfEmpty(name)
}

// layout fixes the columns from the buffered rows and writes the caption
// and the header.
func (t *tableWriter) layout() error {
	t.laidOut = true
	flows := false
	hosts := map[string]bool{}
	var lo, hi time.Time
	for i := range t.buf {
		r := &t.buf[i]
		flows = flows || r.flow
		if r.cells[colHost] != "-" {
			hosts[r.cells[colHost]] = true
		}
		for _, tm := range []time.Time{r.first, r.last} {
			if tm.IsZero() {
				continue
			}
			if lo.IsZero() || tm.Before(lo) {
				lo = tm
			}
			if tm.After(hi) {
				hi = tm
			}
		}
	}
	for i := range t.show {
		t.show[i] = true
	}
	t.show[colTime] = !flows
	t.show[colFirst], t.show[colLast], t.show[colCount] = flows, flows, flows
	t.show[colHost] = len(hosts) > 1
	// PROVIDER only when a row names one (a third-party filter's block,
	// resolved live or with --state); not in live output, whose columns
	// are fixed before such a row may come: there REASON says
	// "provider:<name>" (JSON has it as a field).
	t.show[colProvider] = false
	for i := range t.buf {
		if !t.each && t.buf[i].cells[colProvider] != "-" {
			t.show[colProvider] = true
			break
		}
	}
	if !t.each {
		y1, m1, d1 := lo.In(t.loc).Date()
		y2, m2, d2 := hi.In(t.loc).Date()
		t.dates = y1 != y2 || m1 != m2 || d1 != d2
	}
	timeWidth := 8
	if t.dates {
		timeWidth = 19
		// In a terminal too narrow for the whole table, rows of one year
		// leave the year to the caption: "07-19 09:02:18".
		if t.width > 0 && !t.wide && lo.In(t.loc).Year() == hi.In(t.loc).Year() && t.fullWidth(timeWidth, flows) > t.width {
			t.shortDates = true
			timeWidth = 14
		}
	}

	// Measure: the widest value of each column, or its preferred width
	// when nothing is buffered to measure (live output).
	for c := range t.widths {
		spec := colSpecs[c]
		w := utf8.RuneCountInString(spec.header)
		switch {
		case c == colTime || c == colFirst || c == colLast:
			w = max(w, timeWidth)
		case t.each:
			w = max(w, spec.pref)
		default:
			for i := range t.buf {
				n := utf8.RuneCountInString(t.buf[i].cells[c])
				w = max(w, n)
				if c == colRemote && t.buf[i].cells[c][0] != '[' {
					t.v4Remote = max(t.v4Remote, n)
				}
			}
		}
		t.widths[c] = w
	}
	if t.width > 0 && !t.wide {
		t.fit()
	} else {
		t.widths[t.lastCol()] = 0 // unlimited
	}
	if err := t.caption(lo); err != nil {
		return err
	}
	var h tableRow
	for c := range h.cells {
		h.cells[c] = colSpecs[c].header
	}
	return t.writeCells(&h, true)
}

func (t *tableWriter) lastCol() int {
	for c := numCols - 1; c >= 0; c-- {
		if t.show[c] {
			return c
		}
	}
	return 0
}

// fullWidth is the width of a line of every column the layout shows,
// measured, with times timeWidth wide: whether the table fits before any
// fitting step.
func (t *tableWriter) fullWidth(timeWidth int, flows bool) int {
	n, cols := 0, 0
	for c := range t.widths {
		if !t.show[c] {
			continue
		}
		w := utf8.RuneCountInString(colSpecs[c].header)
		switch {
		case c == colTime || c == colFirst || c == colLast:
			w = max(w, timeWidth)
		case t.each:
			w = max(w, colSpecs[c].pref)
		default:
			for i := range t.buf {
				w = max(w, utf8.RuneCountInString(t.buf[i].cells[c]))
			}
		}
		n += w
		cols++
	}
	return n + cols - 1
}

// lineWidth is the width of a line with the current columns.
func (t *tableWriter) lineWidth() int {
	n, cols := 0, 0
	for c := range t.widths {
		if t.show[c] {
			n += t.widths[c]
			cols++
		}
	}
	return n + cols - 1
}

// fit makes the line fit t.width, following fitSteps, and gives what is
// left to the last column.
func (t *tableWriter) fit() {
	// First, columns that say nothing: "-" on every measured row (the
	// firewall log has no process, pid or rule).
	for _, c := range []int{colPID, colProcess, colRule, colReason, colKind, colProto, colLocal, colRemote} {
		if t.lineWidth() <= t.width || t.each || len(t.buf) == 0 {
			break
		}
		empty := true
		for i := range t.buf {
			if t.buf[i].cells[c] != "-" {
				empty = false
				break
			}
		}
		if empty && c != t.lastCol() || empty && c == colRule {
			t.show[c] = false
		}
	}
	before := make([]int, len(fitSteps)) // a shrink step's width before it
	for i, s := range fitSteps {
		if t.lineWidth() <= t.width {
			break
		}
		before[i] = t.widths[s.col]
		switch {
		case !t.show[s.col]:
		case s.width < 0:
			t.show[s.col] = false
		case s.col == colRemote:
			t.widths[s.col] = min(t.widths[s.col], max(s.width, t.v4Remote))
		default:
			t.widths[s.col] = min(t.widths[s.col], s.width)
		}
	}
	// The steps are coarse: undo them, the last first, as far as the
	// width allows.
	for i := len(fitSteps) - 1; i >= 0; i-- {
		c := fitSteps[i].col
		if rest := t.width - t.lineWidth(); rest > 0 && t.show[c] && t.widths[c] < before[i] {
			t.widths[c] += min(rest, before[i]-t.widths[c])
		}
	}
	last := t.lastCol()
	if rest := t.width - t.lineWidth(); rest > 0 {
		t.widths[last] += rest
	}
}

// caption writes the line above the header that says the time zone, and
// the date when the cells do not show it.
func (t *tableWriter) caption(first time.Time) error {
	var b strings.Builder
	if !t.dates && !first.IsZero() && !t.each {
		b.WriteString(first.In(t.loc).Format("2006-01-02"))
		b.WriteString(", ")
	}
	if t.shortDates && !first.IsZero() {
		b.WriteString(first.In(t.loc).Format("2006"))
		b.WriteString(", ")
	}
	b.WriteString("times in ")
	ref := first
	if ref.IsZero() {
		ref = time.Now()
	}
	name, off := ref.In(t.loc).Zone()
	switch {
	case t.loc == time.UTC || (name == "UTC" && off == 0):
		b.WriteString("UTC")
	default:
		b.WriteString(name)
		b.WriteString(" (UTC")
		b.WriteString(ref.In(t.loc).Format("-07:00"))
		b.WriteString(")")
	}
	b.WriteByte('\n')
	_, err := t.w.WriteString(b.String())
	return err
}

func (t *tableWriter) writeRow(r *tableRow) error {
	f := "15:04:05"
	switch {
	case t.shortDates:
		f = "01-02 15:04:05"
	case t.dates:
		f = "2006-01-02 15:04:05"
	}
	at := func(tm time.Time) string {
		if tm.IsZero() {
			return "-"
		}
		return tm.In(t.loc).Format(f)
	}
	r.cells[colTime], r.cells[colFirst], r.cells[colLast] = at(r.first), at(r.first), at(r.last)
	return t.writeCells(r, false)
}

func (t *tableWriter) writeCells(r *tableRow, header bool) error {
	t.line = t.line[:0]
	last := t.lastCol()
	pad := 0 // columns owed by a value wider than its column (no cutting)
	for c := range r.cells {
		if !t.show[c] {
			continue
		}
		w := t.widths[c]
		s := r.cells[c]
		if w > 0 && t.width > 0 && !t.wide {
			if header {
				s = cut(s, w)
			} else {
				s = shorten(s, w, colSpecs[c].shrink)
			}
		}
		n := utf8.RuneCountInString(s)
		fill := 0
		if w > n {
			fill = w - n
		}
		if pad > 0 { // the previous value overflowed: take it back here
			take := min(pad, fill)
			fill -= take
			pad -= take
		}
		if w > 0 && n > w {
			pad += n - w
		}
		if colSpecs[c].right && !header {
			t.line = appendSpaces(t.line, fill)
			t.line = append(t.line, s...)
		} else {
			t.line = append(t.line, s...)
			if c != last {
				t.line = appendSpaces(t.line, fill)
			}
		}
		if c != last {
			t.line = append(t.line, ' ')
		}
	}
	for len(t.line) > 0 && t.line[len(t.line)-1] == ' ' {
		t.line = t.line[:len(t.line)-1]
	}
	t.line = append(t.line, '\n')
	_, err := t.w.Write(t.line)
	return err
}

func appendSpaces(b []byte, n int) []byte {
	for range n {
		b = append(b, ' ')
	}
	return b
}

// shorten makes s at most n runes wide the way its column shortens.
func shorten(s string, n, how int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	switch how {
	case shrinkAddr:
		return shortenEndpoint(s, n)
	case shrinkMid:
		return shortenProcess(s, n)
	case shrinkHost:
		if i := strings.IndexByte(s, '.'); i > 0 {
			s = s[:i] // "DC01.corp.example" → "DC01"
		}
		return cut(s, n)
	case shrinkEnd:
		return cut(s, n)
	}
	return s
}

// shortenEndpoint shortens an endpoint ("[2001:db8::1]:443",
// "192.0.2.1:443") to n runes by eliding the middle of its address; the
// port is never cut, even when that leaves the value wider than n.
func shortenEndpoint(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	host, port := s, ""
	if s != "" && s[0] == '[' {
		if i := strings.Index(s, "]:"); i > 0 {
			host, port = s[:i+1], s[i+1:]
		}
	} else if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		host, port = s[:i], s[i:]
	}
	keep := n - utf8.RuneCountInString(port)
	if keep < 3 {
		return "…" + port
	}
	if host != "" && host[0] != '[' && strings.IndexByte(host, '.') >= 0 {
		// IPv4: keep whole octets of its end ("…2.10:3389"), which tell
		// hosts of one network apart.
		tail := host[max(0, len(host)-(keep-1)):]
		if len(tail) < len(host) && host[len(host)-len(tail)-1] != '.' {
			if i := strings.IndexByte(tail, '.'); i >= 0 {
				tail = tail[i+1:]
			} else {
				tail = "" // not even the last octet fits
			}
		}
		return "…" + tail + port
	}
	// The end of an address tells hosts of one network apart: keep more
	// of it.
	return cutMiddle(host, keep, (keep-1)/3) + port
}

// shortenProcess shortens a process name ("svchost.exe (Dnscache)") or
// path to n runes: a name first loses its ".exe", which says nothing, then
// its end; a path (with --wide only, which never cuts) its middle.
func shortenProcess(s string, n int) string {
	if strings.ContainsAny(s, `\/`) {
		return cutMiddle(s, n, (n-1)/2)
	}
	name, rest := s, ""
	if i := strings.Index(s, " ("); i > 0 {
		name, rest = s[:i], s[i:]
	}
	if len(name) > 4 && strings.EqualFold(name[len(name)-4:], ".exe") {
		name = name[:len(name)-4]
	}
	return cut(name+rest, n)
}

// cutMiddle shortens s to n runes, keeping head runes of its start and the
// rest of its end around a "…".
func cutMiddle(s string, n, head int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	tail := n - 1 - head
	return string(rs[:head]) + "…" + string(rs[len(rs)-tail:])
}

// filterText says who made the decision; a bare filter id gets its layer.
func filterText(e *event.Event) string {
	d := e.DecidedBy()
	if d == "" || (e.RuleName == "" && e.RuleID == "" && e.FilterName == "" && e.FilterOrigin == "") {
		if l := event.LayerNameOf(e); l != "" {
			if d != "" {
				d += " @ "
			}
			d += l
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
