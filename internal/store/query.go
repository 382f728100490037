package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// Filter selects stored events. The zero value selects everything. Fields
// are ANDed; values within a field are ORed.
type Filter struct {
	// Since and Until bound the event time: Since <= t < Until. A zero
	// value leaves that side open.
	Since, Until time.Time
	// Apps match the process case-insensitively: a value without '*' or
	// '?' matches when the executable path or process name contains it
	// (as the --app of analyze and watch); a glob matches the whole path
	// when it contains a path separator, the process name otherwise.
	Apps []string
	// Ports match the local or the remote port.
	Ports []uint16
	// Remotes match the remote address (an address is a /32 or /128).
	Remotes []netip.Prefix
	// Directions, Verdicts: stored codes (DirectionCode, VerdictCode).
	Directions []int64
	Verdicts   []int64
	// Reasons are case-insensitive globs on the reason ("rule",
	// "default:*", "discard").
	Reasons []string
	// Hosts match the computer name case-insensitively: a glob the whole
	// name, a plain name the whole name or its first DNS label.
	Hosts []string
	// Providers match the WFP provider of the blocking filter
	// (wfp.filter.provider) case-insensitively: a glob the whole name, a
	// plain value a part of it.
	Providers []string
}

// tsOf is the stored time of t: Unix nanoseconds, 0 for an unknown time.
func tsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// usesEventColumns reports whether f needs the events table (filters that
// the rollups do not carry).
func (f *Filter) usesEventColumns() bool {
	return len(f.Apps) > 0 || len(f.Ports) > 0 || len(f.Remotes) > 0 || len(f.Hosts) > 0 || len(f.Providers) > 0
}

// globToLike turns a '*'/'?' glob into a LIKE pattern with '\' escapes.
func globToLike(g string) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// where builds the WHERE clause of f over the events table (prefix "").
// tsLo and tsHi bound ts in nanoseconds (inclusive, exclusive).
func (f *Filter) where(ctx context.Context, tx *sql.Tx, tsLo, tsHi int64) (string, []any, bool, error) {
	var conds []string
	var args []any
	if tsLo != math.MinInt64 {
		conds = append(conds, "ts >= ?")
		args = append(args, tsLo)
	}
	if tsHi != math.MaxInt64 {
		conds = append(conds, "ts < ?")
		args = append(args, tsHi)
	}
	if len(f.Apps) > 0 {
		ids, err := f.appIDs(ctx, tx)
		if err != nil {
			return "", nil, false, err
		}
		if len(ids) == 0 {
			return "", nil, false, nil // nothing can match
		}
		conds = append(conds, "app IN ("+placeholders(len(ids))+")")
		args = append(args, ids...)
	}
	if len(f.Hosts) > 0 {
		ids, err := f.hostIDs(ctx, tx)
		if err != nil {
			return "", nil, false, err
		}
		if len(ids) == 0 {
			return "", nil, false, nil // nothing can match
		}
		c, a := hostCond(ids)
		conds = append(conds, c)
		args = append(args, a...)
	}
	if len(f.Providers) > 0 {
		ids, err := f.providerIDs(ctx, tx)
		if err != nil {
			return "", nil, false, err
		}
		if len(ids) == 0 {
			return "", nil, false, nil // nothing can match
		}
		conds = append(conds, extraProviderFunc+"(extra) IN ("+placeholders(len(ids))+")")
		args = append(args, ids...)
	}
	if len(f.Ports) > 0 {
		ph := placeholders(len(f.Ports))
		conds = append(conds, "(local_port IN ("+ph+") OR remote_port IN ("+ph+"))")
		for range 2 {
			for _, p := range f.Ports {
				args = append(args, int64(p))
			}
		}
	}
	if len(f.Remotes) > 0 {
		var ors []string
		for _, p := range f.Remotes {
			lo, hi := prefixRange(p)
			ors = append(ors, "(length(remote_ip) = ? AND remote_ip BETWEEN ? AND ?)")
			args = append(args, len(lo), lo, hi)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	c, a := f.enumConds()
	conds = append(conds, c...)
	args = append(args, a...)
	if len(conds) == 0 {
		return "1", nil, true, nil
	}
	return strings.Join(conds, " AND "), args, true, nil
}

// enumConds are the conditions the rollup table carries too.
func (f *Filter) enumConds() ([]string, []any) {
	var conds []string
	var args []any
	if len(f.Directions) > 0 {
		conds = append(conds, "direction IN ("+placeholders(len(f.Directions))+")")
		for _, d := range f.Directions {
			args = append(args, d)
		}
	}
	if len(f.Verdicts) > 0 {
		conds = append(conds, "verdict IN ("+placeholders(len(f.Verdicts))+")")
		for _, v := range f.Verdicts {
			args = append(args, v)
		}
	}
	if len(f.Reasons) > 0 {
		var ors []string
		for _, r := range f.Reasons {
			ors = append(ors, `reason LIKE ? ESCAPE '\'`)
			args = append(args, globToLike(strings.ToLower(r)))
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	return conds, args
}

// allCodes returns the codes 0..n-1.
func allCodes(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i)
	}
	return out
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// prefixRange returns the first and last address of p as stored bytes.
func prefixRange(p netip.Prefix) (lo, hi []byte) {
	p = p.Masked()
	lo = ipBytes(p.Addr())
	hi = append([]byte(nil), lo...)
	bits := p.Bits()
	for i := range hi {
		for b := 0; b < 8; b++ {
			if i*8+b >= bits {
				hi[i] |= 0x80 >> b
			}
		}
	}
	return lo, hi
}

// appIDs returns the dictionary ids whose string matches one of the app
// globs (the dictionary is small: distinct strings only).
func (f *Filter) appIDs(ctx context.Context, tx *sql.Tx) ([]any, error) {
	globs := make([]string, len(f.Apps))
	for i, a := range f.Apps {
		globs[i] = strings.ToLower(a)
	}
	return dictIDs(ctx, tx, func(s string) bool {
		for _, g := range globs {
			if appMatch(g, s) {
				return true
			}
		}
		return false
	})
}

// dictIDs returns the ids of the dictionary strings match accepts.
func dictIDs(ctx context.Context, tx *sql.Tx, match func(string) bool) ([]any, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, s FROM dict")
	if err != nil {
		return nil, fmt.Errorf("read dictionary: %w", err)
	}
	defer rows.Close()
	var ids []any
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return nil, err
		}
		if match(s) {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// appMatch reports whether the stored app s (a path or a process name)
// matches the lower-case pattern g (see Filter.Apps).
func appMatch(g, s string) bool {
	if !strings.ContainsAny(g, "*?") {
		return strings.Contains(strings.ToLower(s), g)
	}
	target := s
	if !strings.ContainsAny(g, `\/`) {
		target = event.BaseName(s)
	}
	return pipeline.GlobMatch(g, target)
}

func (f *Filter) bounds() (int64, int64) {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		lo = f.Since.UnixNano()
	}
	if !f.Until.IsZero() {
		hi = f.Until.UnixNano()
	}
	return lo, hi
}

// readTx starts a read transaction: one consistent snapshot for the whole
// query, while writers go on (WAL).
func (db *DB) readTx(ctx context.Context) (*sql.Tx, error) {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("query history: %w", err)
	}
	return tx, nil
}

// loadDict reads the whole dictionary into d (inside the snapshot, so that
// every id the events use is there).
func loadDict(ctx context.Context, tx *sql.Tx, d *dictReader) error {
	rows, err := tx.QueryContext(ctx, "SELECT id, s FROM dict")
	if err != nil {
		return fmt.Errorf("read dictionary: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return err
		}
		d.cache[id] = s
	}
	return rows.Err()
}

// Events calls fn for each stored event that f selects, oldest first. With
// limit > 0 only the newest limit events are given (still oldest first).
// The event passed to fn is only valid during the call. Returning an error
// from fn stops the query and returns that error.
func (db *DB) Events(ctx context.Context, f Filter, limit int, fn func(e *event.Event) error) error {
	tx, err := db.readTx(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	lo, hi := f.bounds()
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil || !ok {
		return err
	}
	d := newDictReader()
	if err := loadDict(ctx, tx, d); err != nil {
		return err
	}
	q := "SELECT id, " + eventColumns + " FROM events WHERE " + where + " ORDER BY ts, id"
	if limit > 0 {
		q = "SELECT * FROM (SELECT id, " + eventColumns + " FROM events WHERE " + where +
			" ORDER BY ts DESC, id DESC LIMIT ?) ORDER BY ts, id"
		args = append(args, limit)
	}
	return scanEvents(ctx, tx, d, q, args, fn)
}

func scanEvents(ctx context.Context, tx *sql.Tx, d *dictReader, q string, args []any, fn func(e *event.Event) error) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query history: %w", err)
	}
	defer rows.Close()
	var r storedRow
	var e event.Event
	dest := r.dest()
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("query history: %w", err)
		}
		if err := r.decode(ctx, tx, d, &e); err != nil {
			return err
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query history: %w", err)
	}
	return nil
}

// TopRow is one line of a top-N answer.
type TopRow struct {
	Value string // the app path or name, port, remote address or rule label; "-" when unknown
	Count int64
}

// TopResult is a top-N answer.
type TopResult struct {
	Rows  []TopRow
	Total int64 // events counted over all values, not only the top N
	// Exact is true when the rollups answered (sums of whole minutes and
	// hours plus the edges from events); false when the filter needed a
	// scan of the events.
	FromRollups bool
}

// Top counts the events f selects by dimension (DimApp, DimPort,
// DimRemote, DimRule) and returns the n largest (n <= 0: all), largest
// first, ties by value.
//
// With only time, direction, verdict and reason filters it sums the
// pre-aggregated rollups (hourly for whole hours, per minute at the edges,
// the events themselves for the seconds at the very edges), which answers
// in milliseconds over millions of events. Other filters (app, port,
// remote) scan the matching events.
func (db *DB) Top(ctx context.Context, f Filter, dim int, n int) (TopResult, error) {
	if dim < DimApp || dim > DimHost {
		return TopResult{}, fmt.Errorf("top: unknown dimension %d", dim)
	}
	tx, err := db.readTx(ctx)
	if err != nil {
		return TopResult{}, err
	}
	defer tx.Rollback()
	counts := make(map[string]int64)
	lo, hi := f.bounds()
	res := TopResult{}
	d := newDictReader()
	if f.usesEventColumns() || !canUseRollups(dim, len(f.Reasons) > 0) {
		if err := loadDict(ctx, tx, d); err != nil {
			return res, err
		}
		if err := topFromEvents(ctx, tx, d, &f, dim, lo, hi, "", 0, counts); err != nil {
			return res, err
		}
	} else {
		res.FromRollups = true
		if err := topFromRollups(ctx, tx, d, &f, dim, lo, hi, counts); err != nil {
			return res, err
		}
	}
	res.rank(counts, n)
	return res, nil
}

// topFromEvents counts the events in [lo, hi) that f selects by scanning
// them; idCond, when set, restricts the ids further ("id <= ?", "id > ?").
func topFromEvents(ctx context.Context, tx *sql.Tx, d *dictReader, f *Filter, dim int, lo, hi int64, idCond string, id int64, counts map[string]int64) error {
	if lo >= hi {
		return nil
	}
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil || !ok {
		return err
	}
	if idCond != "" {
		where += " AND " + idCond
		args = append(args, id)
	}
	return scanEvents(ctx, tx, d, "SELECT id, "+eventColumns+" FROM events WHERE "+where, args, func(e *event.Event) error {
		counts[dimValue(e, dim)]++
		return nil
	})
}

// ceilTo and floorTo round a nanosecond time to a multiple of unit,
// leaving the open ends (MinInt64, MaxInt64) alone.
func ceilTo(t, unit int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	return -floorDiv(-t, unit) * unit
}

func floorTo(t, unit int64) int64 {
	if t == math.MinInt64 || t == math.MaxInt64 {
		return t
	}
	return floorDiv(t, unit) * unit
}

func topFromRollups(ctx context.Context, tx *sql.Tx, d *dictReader, f *Filter, dim int, lo, hi int64, counts map[string]int64) error {
	const hour = int64(time.Hour)
	// The rollups count the events up to upto; the newest ones, not folded
	// in yet by the writer, are counted from the events table.
	upto, err := rollupUpto(ctx, tx)
	if err != nil {
		return err
	}
	var tail bool
	if err := tx.QueryRowContext(ctx, "SELECT EXISTS(SELECT 1 FROM events WHERE id > ?)", upto).Scan(&tail); err != nil {
		return fmt.Errorf("query history: %w", err)
	}
	filtered := len(f.Directions)+len(f.Verdicts)+len(f.Reasons) > 0
	hourLevel := int64(levelHour)
	switch {
	case len(f.Reasons) > 0 || (filtered && dim == DimRemote):
		hourLevel = levelHourDetail
	case filtered:
		hourLevel = levelHourVD
	}
	useMinutes := !filtered && dim != DimRemote
	unit := hour
	if useMinutes {
		unit = int64(time.Minute)
	}
	sm, um := ceilTo(lo, unit), floorTo(hi, unit)
	var edges [][2]int64
	switch {
	case sm >= um:
		edges = append(edges, [2]int64{lo, hi})
	default:
		if lo < sm {
			edges = append(edges, [2]int64{lo, sm})
		}
		if um < hi {
			edges = append(edges, [2]int64{um, hi})
		}
	}
	if len(edges) > 0 || tail {
		if err := loadDict(ctx, tx, d); err != nil {
			return err
		}
	}
	for _, e := range edges {
		if err := topFromEvents(ctx, tx, d, f, dim, e[0], e[1], "id <= ?", upto, counts); err != nil {
			return err
		}
	}
	if tail {
		if err := topFromEvents(ctx, tx, d, f, dim, lo, hi, "id > ?", upto, counts); err != nil {
			return err
		}
	}
	if sm >= um {
		return nil
	}
	if !useMinutes {
		return sumRollup(ctx, tx, f, dim, hourLevel, sm, um, counts)
	}
	sh, uh := ceilTo(sm, hour), floorTo(um, hour)
	if sh >= uh {
		return sumRollup(ctx, tx, f, dim, levelMinute, sm, um, counts)
	}
	if err := sumRollup(ctx, tx, f, dim, levelMinute, sm, sh, counts); err != nil {
		return err
	}
	if err := sumRollup(ctx, tx, f, dim, levelMinute, uh, um, counts); err != nil {
		return err
	}
	return sumRollup(ctx, tx, f, dim, hourLevel, sh, uh, counts)
}

// sumRollup adds the rollup counts of buckets in [lo, hi) (nanoseconds,
// aligned to the level) to counts.
func sumRollup(ctx context.Context, tx *sql.Tx, f *Filter, dim int, level int64, lo, hi int64, counts map[string]int64) error {
	if lo >= hi {
		return nil
	}
	toSec := func(t int64) int64 {
		if t == math.MinInt64 || t == math.MaxInt64 {
			return t
		}
		return t / int64(time.Second)
	}
	// Verdict and direction come before the bucket in the primary key:
	// constrain them (all codes when not filtered) so that each pair is one
	// range scan over the buckets.
	q := "SELECT value, SUM(n) FROM rollup WHERE level = ? AND dim = ?"
	args := []any{level, dim}
	if level == levelHourDetail || level == levelHourVD {
		vs, ds := f.Verdicts, f.Directions
		if len(vs) == 0 {
			vs = allCodes(len(verdicts))
		}
		if len(ds) == 0 {
			ds = allCodes(len(directions))
		}
		q += " AND verdict IN (" + placeholders(len(vs)) + ") AND direction IN (" + placeholders(len(ds)) + ")"
		for _, v := range vs {
			args = append(args, v)
		}
		for _, d := range ds {
			args = append(args, d)
		}
	} else {
		q += " AND verdict = 0 AND direction = 0"
	}
	q += " AND bucket >= ? AND bucket < ?"
	args = append(args, toSec(lo), toSec(hi))
	if level == levelHourDetail && len(f.Reasons) > 0 {
		var ors []string
		for _, r := range f.Reasons {
			ors = append(ors, `reason LIKE ? ESCAPE '\'`)
			args = append(args, globToLike(strings.ToLower(r)))
		}
		q += " AND (" + strings.Join(ors, " OR ") + ")"
	}
	q += " GROUP BY value"
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("query rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v string
		var c int64
		if err := rows.Scan(&v, &c); err != nil {
			return fmt.Errorf("query rollups: %w", err)
		}
		counts[v] += c
	}
	return rows.Err()
}

// Count returns how many stored events f selects.
func (db *DB) Count(ctx context.Context, f Filter) (int64, error) {
	tx, err := db.readTx(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	lo, hi := f.bounds()
	where, args, ok, err := f.where(ctx, tx, lo, hi)
	if err != nil || !ok {
		return 0, err
	}
	var n int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM events WHERE "+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// rank fills res.Rows and res.Total from counts: most first, ties by value,
// at most n rows (0: all). It is the one ranking of every --top answer.
func (res *TopResult) rank(counts map[string]int64, n int) {
	for v, c := range counts {
		res.Rows = append(res.Rows, TopRow{v, c})
		res.Total += c
	}
	sort.Slice(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Value < b.Value
	})
	if n > 0 && len(res.Rows) > n {
		res.Rows = res.Rows[:n]
	}
}
