package output

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// CSVColumns are the columns of the CSV output, in order.
var CSVColumns = []string{
	"time", "code", "verdict", "kind", "reason", "direction", "protocol",
	"local_ip", "local_port", "remote_ip", "remote_port",
	"pid", "process", "executable", "user",
	"filter_id", "filter_name", "layer_id", "layer_name",
	"filter_origin", "rule_id", "rule_name", "interface", "host", "record_id", "source", "file",
	"count", "first", "last", "flow_id", "flow_update", "flow_total",
	"filter_provider",
}

type csvWriter struct {
	w      *csv.Writer
	row    []string
	header bool
	each   bool
}

// NewCSV returns a Writer of CSV with a header row (CSVColumns).
func NewCSV(w io.Writer, opt Options) Writer {
	return &csvWriter{w: csv.NewWriter(w), row: make([]string, len(CSVColumns)), each: opt.FlushEach}
}

func (c *csvWriter) Write(e *event.Event) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVColumns); err != nil {
			return err
		}
	}
	r := c.row[:0]
	t := csvTime(e.Time)
	r = append(r, t, itoaIf(e.Code != 0, uint64(e.Code)), string(e.Verdict), string(e.Kind), e.Reason,
		string(e.Direction), protoName(e),
		addr(e.LocalIP.IsValid(), e.LocalIP.String), itoaIf(e.HasLocalPort, uint64(e.LocalPort)),
		addr(e.RemoteIP.IsValid(), e.RemoteIP.String), itoaIf(e.HasRemotePort, uint64(e.RemotePort)),
		itoaIf(e.HasPID, uint64(e.PID)), e.Name, e.Executable, userOf(e),
		itoaIf(e.HasFilterID, e.FilterID), e.FilterName, itoaIf(e.HasLayerID, uint64(e.LayerID)), event.LayerNameOf(e),
		e.FilterOrigin, e.RuleID, e.RuleName, itoaIf(e.HasInterfaceIndex, uint64(e.InterfaceIndex)), e.Host,
		itoaIf(e.RecordID != 0, e.RecordID), e.Sources.String(), e.FilePath)
	r = append(r, strconv.FormatUint(e.EventCount(), 10))
	if f := e.Flow; f != nil {
		r = append(r, csvTime(f.Start), csvTime(f.End), strconv.FormatUint(f.ID, 10))
		if f.Update {
			r = append(r, "true", strconv.FormatUint(f.Total, 10))
		} else {
			r = append(r, "", "")
		}
	} else {
		r = append(r, t, t, "", "", "")
	}
	r = append(r, e.FilterProvider)
	for i, s := range r {
		r[i] = csvSafe(s)
	}
	if err := c.w.Write(r); err != nil {
		return err
	}
	if c.each {
		c.w.Flush()
		return c.w.Error()
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// csvSafe defuses spreadsheet formula injection: event data is attacker
// influenced (process paths, rule names), and a cell starting with = + - @
// would run as a formula when an analyst opens the file.
//
// It also escapes the control, C1 and bidi characters TermSafe does (line
// breaks and tabs excepted), so that printing the file on a terminal runs
// no escape sequence.
func csvSafe(s string) string {
	s = csvClean(s)
	if s != "" && strings.ContainsRune("=+@\t\r", rune(s[0])) || (len(s) > 1 && s[0] == '-' && !isNumberLike(s)) {
		return "'" + s
	}
	return s
}

func isNumberLike(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// csvTime formats t as RFC 3339 in UTC ("" for the zero time).
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func itoaIf(ok bool, v uint64) string {
	if !ok {
		return ""
	}
	return strconv.FormatUint(v, 10)
}

func addr(ok bool, f func() string) string {
	if !ok {
		return ""
	}
	return f()
}

func protoName(e *event.Event) string {
	if !e.HasProtocol {
		return ""
	}
	return event.ProtocolName(e.Protocol)
}

func userOf(e *event.Event) string {
	if e.UserName != "" {
		return e.UserName
	}
	return e.UserID
}
