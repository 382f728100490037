package store

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

const crashBatch = 3000

// crashChild is the writer process of TestCrashKill: it appends batches of
// crashBatch events numbered by RecordID (continuing after what the
// database holds), says "committed N" after each commit, and runs until it
// is killed.
func crashChild(path string) {
	db, err := Open(path, Options{MaxAge: -1, MaxBytes: -1})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	n, err := db.Count(context.Background(), Filter{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	// Only whole batches commit: no timed flush, one Flush per batch.
	w := db.NewWriter(WriterOptions{BatchSize: crashBatch, FlushInterval: time.Hour, PruneInterval: -1, RollupInterval: 50 * time.Millisecond})
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var e event.Event
	for {
		for range crashBatch {
			n++
			genEvent(r, &e, base.Add(time.Duration(n)*time.Second))
			e.RecordID = uint64(n)
			if err := w.Write(&e); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
		}
		fmt.Println("flushing")
		if err := w.Flush(); err != nil {
			fmt.Println("error", err)
			os.Exit(3)
		}
		fmt.Println("committed", n)
	}
}

// TestCrashKill runs a writer in a child process (this test binary,
// re-executed), kills it with SIGKILL (TerminateProcess on Windows) at a
// random moment while it writes, and reopens the database: it must be
// intact, hold every batch the child reported committed, no part of a
// batch, and rollups that agree with the events. Several rounds continue
// the same database.
func TestCrashKill(t *testing.T) {
	if p := os.Getenv("WFPWATCH_STORE_CRASH_CHILD"); p != "" {
		crashChild(p)
		return
	}
	if testing.Short() {
		t.Skip("re-executes the test binary several times")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	midBatch := 0
	const rounds = 4
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashKill$", "-test.count=1")
		cmd.Env = append(os.Environ(), "WFPWATCH_STORE_CRASH_CHILD="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		reported := int64(0)
		want := 2 + r.IntN(4) // commits to see before the kill
		timeout := time.After(3 * time.Minute)
	wait:
		for seen := 0; seen < want; {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("round %d: child exited early", round)
				}
				if strings.HasPrefix(l, "error") {
					t.Fatalf("round %d: child: %s", round, l)
				}
				if v, ok := strings.CutPrefix(l, "committed "); ok {
					reported, _ = strconv.ParseInt(v, 10, 64)
					seen++
				}
			case <-timeout:
				break wait
			}
		}
		// Kill inside the next batch's transaction: wait until the child
		// starts committing it, then a few milliseconds more.
		for l := range lines {
			if l == "flushing" {
				break
			}
		}
		time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		go func() {
			for range lines {
			}
		}()
		cmd.Wait()

		db, err := Open(path, Options{MaxAge: -1, MaxBytes: -1})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		ctx := context.Background()
		if err := db.Check(ctx); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		var n, minID, maxID int64
		if err := db.SQL().QueryRow("SELECT count(*), coalesce(min(id), 0), coalesce(max(id), 0) FROM events").Scan(&n, &minID, &maxID); err != nil {
			t.Fatal(err)
		}
		if n < reported {
			t.Fatalf("round %d: %d events after the kill, but %d were reported committed", round, n, reported)
		}
		if n%crashBatch != 0 {
			t.Fatalf("round %d: %d events: part of a batch survived", round, n)
		}
		if n > reported {
			// The batch in flight committed just before the kill.
			t.Logf("round %d: the batch in flight committed just before the kill", round)
		} else {
			midBatch++
		}
		res, err := db.Top(ctx, Filter{}, DimApp, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != n || !res.FromRollups {
			t.Fatalf("round %d: rollups count %d events, the table holds %d", round, res.Total, n)
		}
		// Every record id 1..n is there once: no committed batch lost.
		var recs []int64
		db.Events(ctx, Filter{}, 0, func(e *event.Event) error { recs = append(recs, int64(e.RecordID)); return nil })
		for i, rec := range recs {
			if rec != int64(i+1) {
				t.Fatalf("round %d: record %d at position %d: a batch was lost or duplicated", round, rec, i)
			}
		}
		upto, _ := rollupUpto(ctx, db.SQL())
		if upto != maxID {
			t.Errorf("round %d: rollups folded up to id %d, last id %d", round, upto, maxID)
		}
		db.Close()
		t.Logf("round %d: killed after %d reported events; %d stored, intact", round, reported, n)
	}
	t.Logf("%d of %d kills landed inside a batch's transaction (it was rolled back whole)", midBatch, rounds)
}
