package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// Defaults of WriterOptions.
const (
	DefaultBatchSize      = 8192
	DefaultFlushInterval  = time.Second
	DefaultPruneInterval  = 10 * time.Minute
	DefaultRollupInterval = 10 * time.Second
)

// WriterOptions tunes a Writer.
type WriterOptions struct {
	// BatchSize is how many events one transaction commits at most
	// (DefaultBatchSize when 0).
	BatchSize int
	// FlushInterval bounds how long an event waits in memory before it is
	// committed (DefaultFlushInterval when 0).
	FlushInterval time.Duration
	// PruneInterval is how often retention runs while writing
	// (DefaultPruneInterval when 0; negative: never, call DB.Prune).
	PruneInterval time.Duration
	// RollupInterval is how often the rollup counts accumulated in memory
	// are written (DefaultRollupInterval when 0). Until then queries count
	// the newest events from the events table, and a writer that dies
	// leaves them to be folded in by the next Open.
	RollupInterval time.Duration
	// OnError, when set, receives errors of the background committer as
	// they happen (they are also returned by the next Write, Flush or
	// Close).
	OnError func(error)
}

// batch is what one transaction commits. Its events own their strings
// (interned by the Writer), so the committer may read them while Write
// fills the next batch.
type batch struct {
	events []event.Event
	flows  []flowRow
	// flowAt finds a flow's row in flows by its id: a flow reported again
	// within the batch (opened, then updated or closed) updates its row
	// rather than adding one.
	flowAt map[uint64]int
	done   chan error // Flush and Close wait on it; nil otherwise
	final  bool       // Close: write the pending rollups too
	// roll counts the batch's events for the rollups. Write fills it (on
	// the caller's goroutine, in parallel with the committer); the
	// committer merges it into the Writer's counts once the batch commits.
	roll map[rollKey]int64
	// dims[i] is what events[i] added to roll.
	dims []evDims
	// syms resolves the ids in roll: the Writer's symtab as it was when
	// the batch was handed off (generation gen).
	syms []string
	gen  int
}

// flowRow is what is recorded of a flow; its strings are owned.
type flowRow struct {
	id          uint64
	key         pipeline.Key
	first, last time.Time
	count       uint64
	ruleName    string
}

// Writer records events and flows in a DB. It implements output.Writer and
// pipeline.FlowSink. Write and WriteFlow copy what they keep, so the caller
// may reuse the event. A Writer is safe for concurrent use.
type Writer struct {
	db   *DB
	opt  WriterOptions
	run  int64
	mu   sync.Mutex
	cur  *batch
	born time.Time // when cur got its first item
	// intern maps strings seen in events to an owned copy, so that the
	// batch does not keep the caller's (possibly reused) memory and equal
	// strings share one allocation.
	intern map[string]string
	// sym numbers rollup values for the batches (generation symGen); it
	// is replaced by a new generation when it grows past maxSyms.
	sym    *symtab
	symGen int

	work   chan *batch
	free   chan *batch
	stop   chan struct{}
	wg     sync.WaitGroup
	errMu  sync.Mutex
	err    error
	closed bool
	ownsDB bool // made by OpenWriter: Close closes the DB
	// skipped counts the events not stored because they were already.
	skipped atomic.Int64

	// committer state (its goroutine only)
	dict      dictWriter
	acc       *rollupAcc
	accGen    int // the symtab generation of acc's keys
	args      []any
	extra     []byte
	lastPrune time.Time
	// lastID is the id of the newest committed event; the rollups in acc
	// count every committed event after rolledUpto up to it.
	lastID     int64
	rolledUpto int64
	lastRollup time.Time
}

// maxRollupKeys bounds the rollup counts held in memory between writes:
// about 40 bytes each (a 24-byte key without pointers, the count, the
// map's overhead), some 20 MB at most.
const maxRollupKeys = 100_000

const maxIntern = 1 << 16

// maxSyms bounds the rollup values a Writer numbers (a port scan or a
// storm of new remote addresses would otherwise grow it without end).
// A variable so that tests can make generations change often.
var maxSyms = 1 << 16

// NewWriter starts a Writer on db. Close it before closing db.
func (db *DB) NewWriter(opt WriterOptions) *Writer {
	if opt.BatchSize <= 0 {
		opt.BatchSize = DefaultBatchSize
	}
	if opt.FlushInterval <= 0 {
		opt.FlushInterval = DefaultFlushInterval
	}
	if opt.PruneInterval == 0 {
		opt.PruneInterval = DefaultPruneInterval
	}
	if opt.RollupInterval <= 0 {
		opt.RollupInterval = DefaultRollupInterval
	}
	w := &Writer{
		db:     db,
		opt:    opt,
		run:    time.Now().UnixNano(),
		intern: make(map[string]string),
		sym:    newSymtab(),
		work:   make(chan *batch, 1),
		free:   make(chan *batch, 2),
		stop:   make(chan struct{}),
		acc:    newRollupAcc(),
		dict:   dictWriter{ids: make(map[string]int64)},
	}
	w.cur = w.newBatch()
	w.lastRollup = time.Now()
	w.wg.Add(1)
	go w.commitLoop()
	return w
}

func (w *Writer) newBatch() *batch {
	select {
	case b := <-w.free:
		return b
	default:
		return &batch{events: make([]event.Event, 0, w.opt.BatchSize), roll: make(map[rollKey]int64)}
	}
}

func (w *Writer) str(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := w.intern[s]; ok {
		return c
	}
	if len(w.intern) >= maxIntern {
		clear(w.intern)
	}
	c := strings.Clone(s)
	w.intern[c] = c
	return c
}

func (w *Writer) failed() error {
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.err
}

func (w *Writer) setErr(err error) {
	w.errMu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.errMu.Unlock()
	if w.opt.OnError != nil {
		w.opt.OnError(err)
	}
}

// Write buffers a copy of e for the next batch. It returns the error of an
// earlier failed commit, if any (the Writer stops recording after one).
func (w *Writer) Write(e *event.Event) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("store: write after Close")
	}
	if err := w.failed(); err != nil {
		return err
	}
	b := w.cur
	b.events = append(b.events, *e)
	c := &b.events[len(b.events)-1]
	w.own(c)
	x := w.sym.dims(c)
	addDims(b.roll, &x, 1)
	b.dims = append(b.dims, x)
	if len(b.events)+len(b.flows) == 1 {
		w.born = time.Now()
	}
	if len(b.events) >= w.opt.BatchSize {
		w.handOff(nil)
	}
	return nil
}

// own replaces every string of c with an owned copy.
func (w *Writer) own(c *event.Event) {
	for _, p := range []*string{&c.Host, &c.Reason, &c.Executable, &c.Name, &c.UserID, &c.UserName,
		&c.RemoteUserID, &c.RemoteMachineID, &c.PackageSID, &c.Profiles, &c.FilterName, &c.FilterProvider,
		&c.LayerName, &c.FilterOrigin, &c.RuleID, &c.RuleName, &c.NetEventType, &c.TCPFlags, &c.FilePath,
		&c.Sublayer, &c.Capabilities} {
		*p = w.str(*p)
	}
	c.Info = strings.Clone(c.Info) // free-form: not worth interning
	if len(c.Services) > 0 {
		svcs := make([]string, len(c.Services))
		for i, s := range c.Services {
			svcs[i] = w.str(s)
		}
		c.Services = svcs
	}
}

// WriteFlow records a flow change (pipeline.FlowSink). Opened and closed
// flows are written; updates are written too, so that a crash keeps the
// counts of long flows.
func (w *Writer) WriteFlow(f *pipeline.Flow, st pipeline.FlowState) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errors.New("store: write after Close")
	}
	if err := w.failed(); err != nil {
		return err
	}
	b := w.cur
	if i, ok := b.flowAt[f.ID]; ok {
		// Reported before in this batch: the same flow (ids are unique
		// within a run), so only its times and count move.
		r := &b.flows[i]
		r.first, r.last, r.count = minTime(r.first, f.First), maxTime(r.last, f.Last), max(r.count, f.Count)
		return nil
	}
	r := flowRow{id: f.ID, key: f.Key, first: f.First, last: f.Last, count: f.Count, ruleName: w.str(f.RuleName)}
	r.key.App = w.str(r.key.App)
	r.key.Services = w.str(r.key.Services)
	r.key.FilterOrigin = w.str(r.key.FilterOrigin)
	r.key.Reason = w.str(r.key.Reason)
	if b.flowAt == nil {
		b.flowAt = make(map[uint64]int)
	}
	b.flowAt[f.ID] = len(b.flows)
	b.flows = append(b.flows, r)
	if len(b.events)+len(b.flows) == 1 {
		w.born = time.Now()
	}
	if len(b.flows) >= w.opt.BatchSize {
		w.handOff(nil)
	}
	return nil
}

// handOff gives the current batch to the committer (waiting while it is
// busy with the previous one) and starts a new one. w.mu is held.
func (w *Writer) handOff(done chan error) {
	b := w.take()
	b.done = done
	w.work <- b
}

// take detaches the current batch, stamped with the symtab that resolves
// its rollup keys, and starts a new one. w.mu is held.
func (w *Writer) take() *batch {
	b := w.cur
	b.syms, b.gen = w.sym.syms, w.symGen
	if len(w.sym.syms) > maxSyms {
		w.sym, w.symGen = newSymtab(), w.symGen+1
	}
	w.cur = w.newBatch()
	return b
}

// Flush commits everything written so far and waits for the commit. The
// rollups follow within RollupInterval (queries count the events already).
func (w *Writer) Flush() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errors.New("store: flush after Close")
	}
	done := make(chan error, 1)
	w.handOff(done)
	w.mu.Unlock()
	if err := <-done; err != nil {
		return err
	}
	return w.failed()
}

// Close commits what is buffered (events, flows and the pending rollups),
// stops the committer and returns the first error the Writer met. It
// closes the DB only when the Writer came from OpenWriter.
func (w *Writer) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return w.failed()
	}
	done := make(chan error, 1)
	w.cur.final = true
	w.handOff(done)
	w.closed = true
	w.mu.Unlock()
	<-done
	close(w.stop)
	w.wg.Wait()
	err := w.failed()
	if w.ownsDB {
		if cerr := w.db.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// DB returns the database the Writer writes to.
func (w *Writer) DB() *DB { return w.db }

func (w *Writer) commitLoop() {
	defer w.wg.Done()
	tick := time.NewTicker(w.opt.FlushInterval / 2)
	defer tick.Stop()
	for {
		select {
		case b := <-w.work:
			w.commitAndRecycle(b)
		case <-tick.C:
			// TryLock: a Write holding the lock may be waiting for this
			// goroutine to take its batch; the next tick will do.
			if !w.mu.TryLock() {
				continue
			}
			if !w.closed && len(w.cur.events)+len(w.cur.flows) > 0 && time.Since(w.born) >= w.opt.FlushInterval {
				b := w.take()
				w.mu.Unlock()
				w.commitAndRecycle(b)
			} else {
				w.mu.Unlock()
			}
			// Idle: fold what is pending so that queries need not count it.
			if w.failed() == nil && w.lastID != w.rolledUpto && time.Since(w.lastRollup) >= w.opt.RollupInterval {
				if err := w.flushRollups(); err != nil {
					w.setErr(err)
				}
			}
			w.maybePrune()
		case <-w.stop:
			return
		}
	}
}

func (w *Writer) commitAndRecycle(b *batch) {
	var err error
	if w.failed() == nil && b.gen != w.accGen {
		// The keys in acc are numbered by an older symtab: write them
		// before counting this batch.
		if err = w.flushRollups(); err != nil {
			w.setErr(err)
		}
		w.accGen = b.gen
	}
	if w.failed() == nil {
		if err = w.commit(b); err != nil {
			w.setErr(err)
		} else if b.final || len(w.acc.m) >= maxRollupKeys || time.Since(w.lastRollup) >= w.opt.RollupInterval {
			if err = w.flushRollups(); err != nil {
				w.setErr(err)
			}
		}
		w.maybePrune()
	} else {
		err = w.failed()
	}
	if b.done != nil {
		b.done <- err
	}
	clear(b.events) // drop string references
	clear(b.flows)
	clear(b.flowAt)
	clear(b.roll)
	b.events, b.flows, b.done, b.final = b.events[:0], b.flows[:0], nil, false
	b.dims, b.syms = b.dims[:0], nil
	select {
	case w.free <- b:
	default:
	}
}

func (w *Writer) maybePrune() {
	if w.opt.PruneInterval < 0 || time.Since(w.lastPrune) < w.opt.PruneInterval || w.failed() != nil {
		return
	}
	w.lastPrune = time.Now()
	// Pending counts must reach the table first: pruning deletes whole
	// buckets, and counts written after it would bring old buckets back.
	if err := w.flushRollups(); err != nil {
		w.setErr(err)
		return
	}
	if _, err := prune(context.Background(), w.db.db, w.db.opt, time.Now()); err != nil {
		w.setErr(fmt.Errorf("retention: %w", err))
	}
}

// rowsPerInsert is how many events one INSERT statement carries.
const rowsPerInsert = 128

func insertEventsSQL(rows int) string {
	var b strings.Builder
	// OR IGNORE: a record stored already (the unique index events_ts on
	// its time and identity, recordIdentity) is skipped, not an error.
	b.WriteString("INSERT OR IGNORE INTO events(" + insertColumns + ") VALUES ")
	ph := "(" + strings.TrimSuffix(strings.Repeat("?,", numInsertColumns), ",") + ")"
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ph)
	}
	return b.String()
}

// commit writes one batch in one transaction.
func (w *Writer) commit(b *batch) (err error) {
	if len(b.events) == 0 && len(b.flows) == 0 {
		return nil
	}
	ctx := context.Background()
	sdb := w.db.db
	if w.dict.insert == nil {
		if w.dict.insert, err = sdb.PrepareContext(ctx, "INSERT INTO dict(s) VALUES(?) ON CONFLICT(s) DO NOTHING"); err != nil {
			return fmt.Errorf("prepare dictionary insert: %w", err)
		}
		if w.dict.lookup, err = sdb.PrepareContext(ctx, "SELECT id FROM dict WHERE s = ?"); err != nil {
			return fmt.Errorf("prepare dictionary lookup: %w", err)
		}
	}
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			w.dict.rollback()
			// The Writer stops here; the events already committed but not
			// yet folded into the rollups are folded by the next Open.
			clear(w.acc.m)
		}
	}()
	w.dict.begin(ctx, tx)
	full, err := tx.PrepareContext(ctx, insertEventsSQL(rowsPerInsert))
	if err != nil {
		return fmt.Errorf("store: prepare insert: %w", err)
	}
	defer full.Close()
	// Ids are given in order, one more than the largest: lastID + the rows
	// a statement inserted is the largest after it.
	var lastID int64
	if len(b.events) > 0 {
		if err = tx.QueryRowContext(ctx, "SELECT coalesce(max(id), 0) FROM events").Scan(&lastID); err != nil {
			return fmt.Errorf("store: read the last event id: %w", err)
		}
	}
	var skipped int64
	evs := b.events
	for off := 0; len(evs) > 0; off += rowsPerInsert {
		n := min(len(evs), rowsPerInsert)
		args := w.args[:0]
		for i := range evs[:n] {
			if args, w.extra, err = appendArgs(args, &evs[i], &w.dict, w.extra); err != nil {
				return err
			}
		}
		st := full
		if n < rowsPerInsert {
			if st, err = tx.PrepareContext(ctx, insertEventsSQL(n)); err != nil {
				return fmt.Errorf("store: prepare insert: %w", err)
			}
			defer st.Close()
		}
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("store: insert events: %w", err)
		}
		clear(args)
		w.args = args[:0]
		added, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("store: insert events: %w", err)
		}
		if added < int64(n) {
			if err = w.uncount(ctx, tx, b, off, n, lastID); err != nil {
				return err
			}
			skipped += int64(n) - added
		}
		lastID += added
		evs = evs[n:]
	}
	if err = w.writeFlows(ctx, tx, b.flows); err != nil {
		return err
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if len(b.events) > 0 {
		w.lastID = lastID
	}
	w.skipped.Add(skipped)
	for k, n := range b.roll {
		w.acc.m[k] += n
	}
	if len(b.roll) > 0 {
		w.acc.syms = b.syms
	}
	return nil
}

// uncount takes back from the batch's rollup counts the events of
// b.events[off:off+n] that the INSERT skipped as stored already: the rows
// it did insert got the ids after lastID, in order. Only re-imports come
// here.
func (w *Writer) uncount(ctx context.Context, tx *sql.Tx, b *batch, off, n int, lastID int64) error {
	type ident struct{ ts, host, rec int64 }
	rows, err := tx.QueryContext(ctx, "SELECT ts, host, record_id FROM events WHERE id > ? AND record_id IS NOT NULL", lastID)
	if err != nil {
		return fmt.Errorf("store: read the events inserted: %w", err)
	}
	stored := make(map[ident]int)
	for rows.Next() {
		var id ident
		if err := rows.Scan(&id.ts, &id.host, &id.rec); err != nil {
			rows.Close()
			return fmt.Errorf("store: read the events inserted: %w", err)
		}
		stored[id]++
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("store: read the events inserted: %w", err)
	}
	for i := off; i < off+n; i++ {
		e := &b.events[i]
		h, rec, err := recordIdentity(e, &w.dict)
		if err != nil {
			return err
		}
		id := ident{tsOf(e.Time), h, rec}
		if stored[id] > 0 {
			stored[id]--
			continue
		}
		addDims(b.roll, &b.dims[i], -1)
	}
	return nil
}

// Skipped returns how many events were not stored because the database
// held them already: Security-log records by time, host and record id,
// the others by time and fingerprint.
func (w *Writer) Skipped() int64 { return w.skipped.Load() }

// flushRollups writes the rollup counts accumulated since the last call and
// records how far they go, in one transaction.
func (w *Writer) flushRollups() (err error) {
	w.lastRollup = time.Now()
	if w.lastID == w.rolledUpto {
		clear(w.acc.m) // nothing new was stored: at most zero counts
		return nil
	}
	ctx := context.Background()
	tx, err := w.db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			clear(w.acc.m)
		}
	}()
	if err = w.acc.flush(ctx, tx); err != nil {
		return err
	}
	// Only advance: another writer may have folded further already.
	if _, err = tx.ExecContext(ctx, "UPDATE meta SET value = max(value, ?) WHERE key = 'rollup_upto'", w.lastID); err != nil {
		return fmt.Errorf("store: save rollup state: %w", err)
	}
	if err = tx.Commit(); err != nil {
		return fmt.Errorf("store: commit rollups: %w", err)
	}
	w.rolledUpto = w.lastID
	return nil
}

func (w *Writer) writeFlows(ctx context.Context, tx *sql.Tx, flows []flowRow) error {
	if len(flows) == 0 {
		return nil
	}
	// Many rows per statement, as for events: under a storm of distinct
	// flows (a scan from many addresses) a statement per flow made the
	// flows most of the writer's time.
	var full *sql.Stmt
	args := w.args[:0]
	defer func() { clear(args); w.args = args[:0] }()
	for len(flows) > 0 {
		n := min(len(flows), rowsPerFlowInsert)
		args = args[:0]
		for i := range flows[:n] {
			f := &flows[i]
			k := &f.key
			app, err := w.dict.id(k.App)
			if err != nil {
				return err
			}
			origin, err := w.dict.id(k.FilterOrigin)
			if err != nil {
				return err
			}
			rule, err := w.dict.id(f.ruleName)
			if err != nil {
				return err
			}
			args = append(args, w.run, int64(f.id), f.first.UnixNano(), f.last.UnixNano(), int64(f.count),
				verdictCode(k.Verdict), kindCode(k.Kind), nullStr(k.Reason), directionCode(k.Direction),
				nullInt(k.HasProtocol, int64(k.Protocol)), nullInt(k.HasLocalPort, int64(k.LocalPort)),
				ipBytes(k.RemoteIP), nullInt(k.HasRemotePort, int64(k.RemotePort)), nullInt(k.HasPID, int64(k.PID)),
				nullID(app), nullStr(k.Services), nullInt(k.HasFilterID, int64(k.FilterID)), nullID(origin), nullID(rule))
		}
		st := full
		if st == nil || n < rowsPerFlowInsert {
			var err error
			if st, err = tx.PrepareContext(ctx, upsertFlowsSQL(n)); err != nil {
				return fmt.Errorf("store: prepare flow insert: %w", err)
			}
			defer st.Close()
			if n == rowsPerFlowInsert {
				full = st
			}
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: insert flows: %w", err)
		}
		flows = flows[n:]
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// rowsPerFlowInsert is how many flows one upsert statement carries (19
// values each, well under SQLite's limit of 32766).
const rowsPerFlowInsert = 64

// upsertFlowsSQL inserts rows flows, or updates those recorded already
// (the same flow reported again: its times widen, its count grows). A flow
// twice in one statement is applied row after row, so that works too.
func upsertFlowsSQL(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO flows(run, seq, first_ts, last_ts, count, verdict, kind, reason, direction,
		protocol, local_port, remote_ip, remote_port, pid, app, services, filter_id, origin, rule_name) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
	}
	b.WriteString(` ON CONFLICT(run, seq) DO UPDATE SET first_ts = min(first_ts, excluded.first_ts),
		last_ts = max(last_ts, excluded.last_ts), count = max(count, excluded.count)`)
	return b.String()
}
