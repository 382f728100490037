package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Rollup levels (the level column).
//
//   - levelMinute: per-minute totals of app, port and rule (verdict,
//     direction and reason stored as 0, 0, "").
//   - levelHour: per-hour totals of every dimension (0, 0, "" too).
//   - levelHourDetail: per-hour counts of every dimension by verdict,
//     direction and reason (remote addresses, which are many, without the
//     reason).
//   - levelHourVD: per-hour counts of app, port and rule by verdict and
//     direction only (the details summed over the reason).
//   - levelMinuteVD: per-minute counts of all events by verdict and
//     direction (dim 0, value ""), for the dashboard's minute series.
//
// The host dimension (DimHost, schema 4) has minute and hour totals and
// hour details like app, port and rule.
//
// A top-N without verdict/direction/reason filters sums hour totals for
// whole hours and minute totals at the edges; with verdict or direction
// filters it sums hour counts by verdict and direction, and with a reason
// filter the hour details. What is left at the edges is counted from
// the events themselves, so the answer is exact for any range. The primary
// key puts verdict and direction before the bucket, so that each
// (verdict, direction) pair asked for is one contiguous range of buckets.
const (
	levelMinute     = 60
	levelHour       = 3600
	levelHourDetail = 3601
	levelHourVD     = 3602
	levelMinuteVD   = 61
)

// levelWidth returns the bucket width of a level in seconds.
func levelWidth(level int64) int64 {
	if level == levelMinute || level == levelMinuteVD {
		return 60
	}
	return 3600
}

// rollKey is one rollup row in memory: a fixed-size key without pointers,
// so that the eleven map updates per event hash 24 bytes instead of two
// strings. reason and value are ids in a symtab; the strings are looked up
// only when the row is written.
type rollKey struct {
	bucket    int64  // Unix seconds of the bucket start
	value     uint32 // symtab id of the value
	reason    uint32 // symtab id of the reason; 0 is ""
	level     uint16
	dim       uint8
	verdict   uint8
	direction uint8
}

// symtab numbers the rollup values and reasons of events. Ids only grow
// and a string, once numbered, never changes, so a copy of syms (the slice
// header) taken under the owner's lock stays valid for reading while the
// owner goes on appending. Id 0 is "".
type symtab struct {
	syms    []string
	strs    map[string]uint32
	remotes map[netip.Addr]uint32
	filters map[uint64]uint32
	ports   []uint32 // by port number; 0 not numbered yet
	dash    uint32   // "-": the value when a dimension is unknown
}

func newSymtab() *symtab {
	t := &symtab{
		syms:    make([]string, 1, 1024),
		strs:    make(map[string]uint32),
		remotes: make(map[netip.Addr]uint32),
		filters: make(map[uint64]uint32),
	}
	t.dash = t.str("-")
	return t
}

func (t *symtab) add(s string) uint32 {
	t.syms = append(t.syms, s)
	return uint32(len(t.syms) - 1)
}

// str returns the id of s. The table keeps s: the caller must not reuse
// its memory (the Writer's strings are owned copies).
func (t *symtab) str(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.strs[s]; ok {
		return id
	}
	id := t.add(s)
	t.strs[s] = id
	return id
}

// evDims is what the rollups need of one event: its time, verdict,
// direction and reason, and its value in each dimension (dimValue), as
// symtab ids.
type evDims struct {
	sec       int64
	reason    uint32
	val       [DimHost]uint32 // by dimension - 1
	verdict   uint8
	direction uint8
}

// dims numbers the rollup values of e; it equals dimValue for every
// dimension but allocates only for values not seen before.
func (t *symtab) dims(e *event.Event) evDims {
	x := evDims{
		sec:       floorDiv(tsOf(e.Time), 1e9),
		reason:    t.str(e.Reason),
		verdict:   uint8(verdictCode(e.Verdict)),
		direction: uint8(directionCode(e.Direction)),
	}
	switch {
	case e.Executable != "":
		x.val[DimApp-1] = t.str(e.Executable)
	case e.Name != "":
		x.val[DimApp-1] = t.str(e.Name)
	default:
		x.val[DimApp-1] = t.dash
	}
	if p, ok := e.ServicePort(); ok {
		if t.ports == nil {
			t.ports = make([]uint32, 1<<16)
		}
		id := t.ports[p]
		if id == 0 {
			id = t.add(strconv.FormatUint(uint64(p), 10))
			t.ports[p] = id
		}
		x.val[DimPort-1] = id
	} else {
		x.val[DimPort-1] = t.dash
	}
	if e.RemoteIP.IsValid() {
		a := e.RemoteIP.Unmap().WithZone("")
		id, ok := t.remotes[a]
		if !ok {
			id = t.add(a.String())
			t.remotes[a] = id
		}
		x.val[DimRemote-1] = id
	} else {
		x.val[DimRemote-1] = t.dash
	}
	switch {
	case e.RuleName != "" || e.RuleID != "" || e.FilterName != "" || e.FilterOrigin != "":
		x.val[DimRule-1] = t.str(e.DecidedBy())
	case e.HasFilterID:
		id, ok := t.filters[e.FilterID]
		if !ok {
			id = t.add(e.DecidedBy())
			t.filters[e.FilterID] = id
		}
		x.val[DimRule-1] = id
	default:
		x.val[DimRule-1] = t.dash
	}
	if e.Host != "" {
		x.val[DimHost-1] = t.str(e.Host)
	} else {
		x.val[DimHost-1] = t.dash
	}
	return x
}

// rollupAcc accumulates rollup deltas in memory; flush adds them to the
// rollup table inside a transaction. syms resolves the ids of m's keys.
type rollupAcc struct {
	m       map[rollKey]int64
	syms    []string
	args    []any
	keys    []rollKey
	derived []rollCount
	own     *symtab // add's table (foldEvents); nil in a Writer
}

func newRollupAcc() *rollupAcc { return &rollupAcc{m: make(map[rollKey]int64)} }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// add counts e in every dimension, numbering its values in the
// accumulator's own symtab. The caller must not reuse e's strings until
// the next flush.
func (a *rollupAcc) add(e *event.Event) {
	if a.own == nil {
		a.own = newSymtab()
	}
	x := a.own.dims(e)
	addDims(a.m, &x, 1)
	a.syms = a.own.syms
}

// addDims adds n to the rollup counts of an event in m: minute totals,
// hour totals and hour details of each dimension, and the minute count by
// verdict and direction (fifteen map updates). The hour counts by verdict
// and direction are derived from the details when they are written.
func addDims(m map[rollKey]int64, x *evDims, n int64) {
	minute := floorDiv(x.sec, 60) * 60
	hour := floorDiv(x.sec, 3600) * 3600
	m[rollKey{bucket: minute, level: levelMinuteVD, verdict: x.verdict, direction: x.direction}] += n
	for dim := uint8(DimApp); dim <= DimHost; dim++ {
		val := x.val[dim-1]
		m[rollKey{bucket: hour, value: val, level: levelHour, dim: dim}] += n
		if dim == DimRemote {
			m[rollKey{bucket: hour, value: val, level: levelHourDetail, dim: dim, verdict: x.verdict, direction: x.direction}] += n
			continue
		}
		m[rollKey{bucket: hour, value: val, reason: x.reason, level: levelHourDetail, dim: dim, verdict: x.verdict, direction: x.direction}] += n
		m[rollKey{bucket: minute, value: val, level: levelMinute, dim: dim}] += n
	}
}

// deriveVD adds the hour counts by verdict and direction of app, port and
// rule: the hour details summed over the reason (few keys).
func (a *rollupAcc) deriveVD() {
	for k, c := range a.m {
		if k.level != levelHourDetail || k.dim == DimRemote {
			continue
		}
		k.level, k.reason = levelHourVD, 0
		a.derived = append(a.derived, rollCount{k, c})
	}
	for _, r := range a.derived {
		a.m[r.k] += r.n
	}
	a.derived = a.derived[:0]
}

type rollCount struct {
	k rollKey
	n int64
}

// canUseRollups reports whether the rollups can count dim under the
// verdict/direction/reason filters (remote addresses carry no reason).
func canUseRollups(dim int, hasReasonFilter bool) bool {
	return !(dim == DimRemote && hasReasonFilter)
}

const rollupRowsPerStmt = 64

// flush writes the accumulated deltas and empties the accumulator.
func (a *rollupAcc) flush(ctx context.Context, tx *sql.Tx) error {
	if len(a.m) == 0 {
		return nil
	}
	a.deriveVD()
	var full *sql.Stmt
	args := a.args[:0]
	n := 0
	exec := func(rows int) error {
		var st *sql.Stmt
		var err error
		if rows == rollupRowsPerStmt && full != nil {
			st = full
		} else {
			st, err = tx.PrepareContext(ctx, rollupInsertSQL(rows))
			if err != nil {
				return fmt.Errorf("prepare rollup insert: %w", err)
			}
			if rows == rollupRowsPerStmt {
				full = st
			} else {
				defer st.Close()
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("insert rollup: %w", err)
		}
		args = args[:0]
		return nil
	}
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	// Upsert in primary-key order: neighbouring rows share B-tree pages,
	// which is several times faster than the map's random order.
	keys := a.keys[:0]
	for k := range a.m {
		keys = append(keys, k)
	}
	syms := a.syms
	slices.SortFunc(keys, func(x, y rollKey) int {
		return cmp.Or(cmp.Compare(x.level, y.level), cmp.Compare(x.dim, y.dim),
			cmp.Compare(x.verdict, y.verdict), cmp.Compare(x.direction, y.direction), cmp.Compare(x.bucket, y.bucket),
			strings.Compare(syms[x.reason], syms[y.reason]), strings.Compare(syms[x.value], syms[y.value]))
	})
	a.keys = keys[:0]
	for _, k := range keys {
		c := a.m[k]
		if c == 0 {
			continue // counted and taken back (an event already stored)
		}
		args = append(args, int64(k.level), int64(k.dim), k.bucket, int64(k.verdict), int64(k.direction), syms[k.reason], syms[k.value], c)
		n++
		if n == rollupRowsPerStmt {
			if err := exec(n); err != nil {
				return err
			}
			n = 0
		}
	}
	if n > 0 {
		if err := exec(n); err != nil {
			return err
		}
	}
	clear(a.m)
	clear(args)
	a.args = args[:0]
	if a.own != nil {
		a.own, a.syms = nil, nil
	}
	return nil
}

func rollupInsertSQL(rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO rollup(level, dim, bucket, verdict, direction, reason, value, n) VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?)")
	}
	b.WriteString(" ON CONFLICT(level, dim, verdict, direction, bucket, reason, value) DO UPDATE SET n = n + excluded.n")
	return b.String()
}
