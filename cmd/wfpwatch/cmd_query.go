package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
	"github.com/wfpwatch/wfpwatch/internal/statedir"
	"github.com/wfpwatch/wfpwatch/internal/store"
)

func init() {
	register(&command{name: "query", summary: "the history database: events, or --top app|port|remote|rule|host", new: newQueryCmd})
}

// queryOut is where query writes its answer (a variable for tests).
var queryOut io.Writer = os.Stdout

// queryNow is the clock for relative times (a variable for tests).
var queryNow = time.Now

const queryDescription = `Query the history that 'wfpwatch analyze --db' and 'wfpwatch watch --db'
record. Without --top it lists the matching events (the newest --limit, oldest
first); with --top it counts them by app, port (the local port of inbound
traffic, the remote port of outbound), remote address or rule.

Times: --since and --until take a duration back from now (10m, 2h, 7d) or an
RFC 3339 time (2026-11-26T08:00:00Z) or a date (2026-11-26, UTC).
Filters may be repeated or comma-separated; values of one filter are ORed,
different filters ANDed.
`

const queryExamples = `  wfpwatch query --since 1h --top app
  wfpwatch query --since 24h --verdict block --direction inbound --top port
  wfpwatch query --app chrome.exe --remote 10.0.0.0/8 --format csv
  wfpwatch query --since 2026-11-25 --until 2026-11-26 --reason 'default:*' --format json`

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Type() string   { return "list" }
func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// queryOptions are the flags of query.
type queryOptions struct {
	dbPath, since, until, top, format             *string
	apps, ports, remotes, dirs, verdicts, reasons listFlag
	hosts, providers                              listFlag
	limit                                         *int
	wide, utc                                     *bool
}

func newQueryCmd(stdout, stderr io.Writer) *cobra.Command {
	var o queryOptions
	c := &cobra.Command{
		Use:     "query [flags]",
		Short:   "the history database: events, or --top app|port|remote|rule|host",
		Long:    queryDescription,
		Example: queryExamples,
		Args:    noArgs,
		RunE:    func(c *cobra.Command, args []string) error { return runQuery(c.Context(), c.Flags(), &o) },
	}
	fs := c.Flags()
	o.dbPath = fs.String("db", "", "history database `FILE` (default: "+defaultDBHelp()+")")
	o.since = fs.String("since", "", "events at or after `TIME` (10m, 2h, 7d, RFC 3339 or YYYY-MM-DD)")
	o.until = fs.String("until", "", "events before `TIME`")
	fs.Var(&o.apps, "app", "process whose name or path contains `text`, or a glob: chrome, 'svc*.exe', '*\\system32\\*' (repeatable)")
	fs.Var(&o.hosts, "host", "computer `NAME` (WS7 matches WS7.corp.example) or a glob such as 'dc*' (repeatable): the events of these hosts of a collector's history")
	fs.Var(&o.providers, "provider", "WFP provider of the blocking filter whose name contains `text`, or a glob (repeatable): a VPN's or an endpoint protection's blocks (reason provider)")
	fs.Var(&o.ports, "port", "local or remote `PORT` (repeatable)")
	fs.Var(&o.remotes, "remote", "remote `IP` or CIDR prefix (repeatable)")
	fs.Var(&o.dirs, "direction", "inbound or outbound")
	fs.Var(&o.verdicts, "verdict", "block, drop or permit (repeatable; default: all stored)")
	fs.Var(&o.reasons, "reason", "reason glob: rule, discard, ipsec, unresolved, 'default:*'… (repeatable)")
	o.top = fs.String("top", "", "count by `DIM`: app, port, remote, rule or host")
	o.limit = fs.Int("limit", 0, "show at most `N` rows: the newest N events (default 1000; 0 in json/csv means all), or the top N (default 10)")
	o.format = fs.String("format", "table", "output `format`: table, json or csv")
	o.wide = fs.Bool("wide", false, "table: cut nothing and show process paths instead of names (JSON and CSV always have the path)")
	o.utc = fs.Bool("utc", false, "table: times in UTC (default: local time, the zone named above the header)")
	setHint(fs, "limit", "want a number of rows, 0 for all")
	completeWords(c, "format", "table", "json", "csv")
	completeWords(c, "direction", "inbound", "outbound")
	completeWords(c, "verdict", "block", "drop", "permit")
	completeWords(c, "top", "app", "port", "remote", "rule", "host")
	completeWords(c, "reason", "rule", "discard", "ipsec", "unresolved", "default:*")
	return c
}

func runQuery(ctx context.Context, fs *pflag.FlagSet, o *queryOptions) error {
	dbPath, since, until, top, format, limit := o.dbPath, o.since, o.until, o.top, o.format, o.limit
	wide, utc := o.wide, o.utc
	apps, ports, remotes, dirs, verdicts, reasons := o.apps, o.ports, o.remotes, o.dirs, o.verdicts, o.reasons
	limitSet := fs.Changed("limit")
	now := queryNow()
	var f store.Filter
	var err error
	if f.Since, err = parseQueryTime(*since, now); err != nil {
		return fmt.Errorf("%w: --since: %v", errUsage, err)
	}
	if f.Until, err = parseQueryTime(*until, now); err != nil {
		return fmt.Errorf("%w: --until: %v", errUsage, err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return fmt.Errorf("%w: --since %s is not before --until %s", errUsage, *since, *until)
	}
	f.Apps = apps
	f.Hosts = o.hosts
	f.Providers = o.providers
	for _, p := range ports {
		n, ok := event.ParseUint(p, 65535)
		if !ok {
			return fmt.Errorf("%w: --port %q: want a port number 0-65535", errUsage, p)
		}
		f.Ports = append(f.Ports, uint16(n))
	}
	for _, r := range remotes {
		p, err := pipeline.ParsePrefix(r)
		if err != nil {
			return fmt.Errorf("%w: --remote %q: %v", errUsage, r, err)
		}
		f.Remotes = append(f.Remotes, p)
	}
	for _, d := range dirs {
		c, ok := store.DirectionCode(d)
		if !ok {
			return fmt.Errorf("%w: --direction %q: want inbound or outbound", errUsage, d)
		}
		f.Directions = append(f.Directions, c)
	}
	for _, v := range verdicts {
		c, ok := store.VerdictCode(v)
		if !ok {
			return fmt.Errorf("%w: --verdict %q: want block, drop or permit", errUsage, v)
		}
		f.Verdicts = append(f.Verdicts, c)
	}
	f.Reasons = reasons
	fmtName := strings.ToLower(*format)
	switch fmtName {
	case "table", "json", "csv":
	default:
		return fmt.Errorf("%w: --format %q: want table, json or csv", errUsage, *format)
	}
	if *limit < 0 {
		return fmt.Errorf("%w: --limit %d: want 0 or more", errUsage, *limit)
	}
	dim := 0
	if *top != "" {
		var ok bool
		if dim, ok = store.Dims[strings.ToLower(*top)]; !ok {
			return fmt.Errorf("%w: --top %q: want app, port, remote, rule or host", errUsage, *top)
		}
	}

	path := *dbPath
	if path == "" {
		if path, err = store.DefaultPath(); err != nil {
			return err
		}
	}
	if err := statedir.CheckDefault(path, dbCompanions...); err != nil {
		return fmt.Errorf("history database: %w", err)
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	if note := db.Note(); note != "" {
		fmt.Fprintln(os.Stderr, "wfpwatch query: note:", note)
	}

	if dim != 0 {
		n := *limit
		if !limitSet {
			n = 10
		}
		res, err := db.Top(ctx, f, dim, n)
		if err != nil {
			return err
		}
		if fmtName == "table" && dim == store.DimApp && !*wide {
			shortApps(&res)
		}
		if len(res.Rows) == 0 && fmtName != "table" {
			fmt.Fprintln(os.Stderr, "no matching events in the history (widen --since or the filters)")
		}
		return writeTop(queryOut, fmtName, strings.ToLower(*top), res)
	}
	n := *limit
	if !limitSet && fmtName == "table" {
		n = 1000
	}
	bw := bufio.NewWriterSize(queryOut, 64<<10)
	w, err := output.New(fmtName, bw, output.Options{Width: terminalWidth(queryOut), Location: tableLocation(*utc), Wide: *wide})
	if err != nil {
		return err
	}
	count := 0
	err = db.Events(ctx, f, n, func(e *event.Event) error {
		count++
		if err := ctx.Err(); err != nil {
			return err
		}
		return w.Write(e)
	})
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if count == 0 {
		fmt.Fprintln(os.Stderr, "no matching events in the history (widen --since or the filters)")
	} else if n > 0 && count == n && fmtName == "table" {
		fmt.Fprintf(os.Stderr, "showing the newest %d matching events (--limit N for more)\n", n)
	}
	return nil
}

// shortApps names the apps of a --top app answer by their process name, as
// the table does (--wide and JSON keep the path).
func shortApps(res *store.TopResult) {
	for i := range res.Rows {
		res.Rows[i].Value = event.BaseName(res.Rows[i].Value)
	}
}

func defaultDBHelp() string {
	p, err := store.DefaultPath()
	if err != nil {
		return "the per-OS data directory"
	}
	return p
}

// parseQueryTime parses a --since/--until value: "" (open), a duration
// back from now ("90s", "10m", "2h", "7d", "1d12h"), an RFC 3339 time, or
// a date (UTC midnight).
func parseQueryTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := parseDays(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: want a duration back from now without a sign", s)
		}
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a duration (10m, 2h, 7d), an RFC 3339 time (2026-11-26T08:00:00Z) or a date (2026-11-26)", s)
}

// parseDays is time.ParseDuration with a leading "Nd" for days.
func parseDays(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.Atoi(s[:i])
		if err != nil || days > 100_000 {
			return 0, errors.New("bad days")
		}
		rest := time.Duration(0)
		if s[i+1:] != "" {
			if rest, err = time.ParseDuration(s[i+1:]); err != nil {
				return 0, err
			}
		}
		return time.Duration(days)*24*time.Hour + rest, nil
	}
	return time.ParseDuration(s)
}

// writeTop writes a top-N answer: an aligned table, NDJSON or CSV.
func writeTop(w io.Writer, format, dim string, res store.TopResult) error {
	bw := bufio.NewWriter(w)
	switch format {
	case "json":
		for _, r := range res.Rows {
			b, _ := json.Marshal(struct {
				Dim   string  `json:"dimension"`
				Value string  `json:"value"`
				Count int64   `json:"count"`
				Share float64 `json:"share"`
			}{dim, r.Value, r.Count, share(r.Count, res.Total)})
			bw.Write(b)
			bw.WriteByte('\n')
		}
	case "csv":
		cw := csv.NewWriter(bw)
		cw.Write([]string{dim, "count", "share"})
		for _, r := range res.Rows {
			cw.Write([]string{csvCell(r.Value), strconv.FormatInt(r.Count, 10), strconv.FormatFloat(share(r.Count, res.Total), 'f', 4, 64)})
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
	default:
		cw := 5
		for _, r := range res.Rows {
			cw = max(cw, len(strconv.FormatInt(r.Count, 10)))
		}
		fmt.Fprintf(bw, "%*s  %6s  %s\n", cw, "COUNT", "SHARE", strings.ToUpper(dim))
		for _, r := range res.Rows {
			fmt.Fprintf(bw, "%*d  %5.1f%%  %s\n", cw, r.Count, 100*share(r.Count, res.Total), output.TermSafe(r.Value))
		}
		if len(res.Rows) == 0 {
			fmt.Fprintln(bw, "(no matching events)")
		} else {
			fmt.Fprintf(bw, "%*d  100.0%%  (all %d matching events)\n", cw, res.Total, res.Total)
		}
	}
	return bw.Flush()
}

func share(n, total int64) float64 {
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// csvCell defuses spreadsheet formulas in stored data, as output.NewCSV does.
func csvCell(s string) string {
	s = output.TermSafe(s)
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && s != "-" {
		return "'" + s
	}
	return s
}
