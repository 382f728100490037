//go:build unix

package forward

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a producer that the kill test
// SIGKILLs in the middle of its work.
func TestMain(m *testing.M) {
	if os.Getenv("WFPWATCH_FORWARD_PRODUCER") != "" {
		produce()
		return
	}
	os.Exit(m.Run())
}

// produce writes events from..to-1 to the URL and prints each index once
// Write returned (the point where a live source moves its bookmark on).
func produce() {
	from, _ := strconv.Atoi(os.Getenv("FROM"))
	to, _ := strconv.Atoi(os.Getenv("TO"))
	fw, err := Open([]string{os.Getenv("URL")}, Options{StateDir: os.Getenv("STATE")})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := from; i < to; i++ {
		if err := fw.Write(testEvent(i)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		if i%100 == 0 {
			fmt.Fprintln(w, i)
			w.Flush()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}

// TestKilledMidStream kills the producer with SIGKILL in the middle of the
// stream, starts it again from the last event it confirmed (as watch does
// from its bookmark), and checks that rsyslog got every event.
func TestKilledMidStream(t *testing.T) {
	r := rsyslog(t, nil)
	r.start()
	defer r.stop()
	n := eventCount(t)
	state := t.TempDir()
	url := fmt.Sprintf("syslog+tcp://127.0.0.1:%d", r.port)
	run := func(from int, kill bool) int {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "WFPWATCH_FORWARD_PRODUCER=1", "FROM="+strconv.Itoa(from), "TO="+strconv.Itoa(n), "URL="+url, "STATE="+state)
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		last := from - 1
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			last, _ = strconv.Atoi(strings.TrimSpace(sc.Text()))
			if kill && last >= from+n/2 {
				cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		cmd.Wait()
		return last
	}
	last := run(0, true)
	t.Logf("producer killed after event %d was confirmed", last)
	run(last+1, false)
	time.Sleep(300 * time.Millisecond)
	r.stop()
	distinct, lines := countIDs(t, r.out)
	t.Logf("rsyslog: %d distinct event.ids in %d messages", distinct, lines)
	if distinct != n {
		t.Fatalf("rsyslog received %d distinct events of %d", distinct, n)
	}
}
