package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

func init() {
	register(&command{name: "selftest", summary: "prove end to end that blocks are seen (Windows, elevated)", new: newSelftestCmd})
}

const selftestDescription = `Adds block filters in a dynamic WFP session (removed when this process ends,
even if it crashes) that match only loopback, a random high test port and
this very program, at ALE_AUTH_LISTEN, ALE_AUTH_CONNECT, ALE_AUTH_RECV_ACCEPT
and ALE_RESOURCE_ASSIGNMENT for IPv4 and IPv6; trips each with a real socket
call; waits for the matching event from each enabled source (the filter id
must be the one added); prints a PASS/FAIL table; removes the filters and
checks that they are gone. Net-event collection is turned on only if it is
off, and put back. Needs an elevated prompt.`

// selftestFlags are the flags of selftest.
type selftestFlags struct {
	timeout *time.Duration
	port    *int
	noV6    *bool
	sources *string
}

func newSelftestCmd(stdout, stderr io.Writer) *cobra.Command {
	var o selftestFlags
	c := &cobra.Command{
		Use:   "selftest [flags]",
		Short: "prove end to end that blocks are seen (Windows, elevated)",
		Long:  selftestDescription,
		Args:  noArgs,
		RunE:  func(c *cobra.Command, args []string) error { return runSelftestCmd(c.Context(), &o, stdout) },
	}
	fs := c.Flags()
	o.timeout = fs.Duration("timeout", 5*time.Second, "how long to wait for each event")
	o.port = fs.Int("port", 0, "first test `port` (default: random in 49152-64999); 10 consecutive ports are used")
	o.noV6 = fs.Bool("no-ipv6", false, "skip the IPv6 cases")
	o.sources = fs.String("sources", "netevent,evtlog", "`sources` to check (netevent, evtlog)")
	return c
}

func runSelftestCmd(ctx context.Context, o *selftestFlags, stdout io.Writer) error {
	timeout, port, noV6, sources := o.timeout, o.port, o.noV6, o.sources
	base := uint16(*port)
	if *port == 0 {
		base = uint16(49152 + rand.IntN(65000-49152-wfp.SelftestPorts))
	} else if *port < 1024 || *port > 65527 {
		return fmt.Errorf("%w: --port %d: use 1024-65527", errUsage, *port)
	}
	cases, err := wfp.SelftestPlan(base, true, !*noV6)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	ok, err := selftest(ctx, selftestOptions{cases: cases, timeout: *timeout, sources: strings.Split(*sources, ",")}, stdout)
	if err != nil {
		return err
	}
	if !ok {
		return exitError{1}
	}
	return nil
}

type selftestOptions struct {
	cases   []wfp.SelftestCase
	timeout time.Duration
	sources []string
}

// selftestEnv is what the self-test does to the host; selftest_windows.go
// has the real one, tests a fake.
type selftestEnv interface {
	// AddFilters adds one block filter per case in a dynamic session and
	// returns their run-time ids.
	AddFilters(cases []wfp.SelftestCase) ([]uint64, error)
	// Trigger makes the socket call that the case's filter blocks and
	// describes what happened.
	Trigger(c wfp.SelftestCase) string
	// RemoveFilters deletes the filters and closes the dynamic session.
	RemoveFilters(ids []uint64) error
	// Gone reports, from a fresh engine handle, which filters are gone.
	Gone(ids []uint64) ([]bool, error)
}

// selftestSource is one event source the test listens to.
type selftestSource struct {
	name   string
	events <-chan event.Event
	err    error // why the source is not available
}

type caseResult struct {
	c       wfp.SelftestCase
	id      uint64
	trigger string
	seenAt  map[string]time.Time // source → when its event arrived
	started time.Time
	gone    bool
}

// runSelftest runs the cases against env, listening on sources, and writes
// the table to w. It reports whether everything passed.
func runSelftest(ctx context.Context, env selftestEnv, sources []selftestSource, o selftestOptions, w io.Writer) (bool, error) {
	ids, err := env.AddFilters(o.cases)
	if err != nil {
		return false, err
	}
	res := make([]caseResult, len(o.cases))
	byID := map[uint64]int{}
	for i, c := range o.cases {
		res[i] = caseResult{c: c, id: ids[i], seenAt: map[string]time.Time{}}
		byID[ids[i]] = i
	}
	live := 0
	for _, s := range sources {
		if s.err == nil {
			live++
		}
	}
	ch := mergeSources(sources)
	interrupted := false
	for i, c := range o.cases {
		if ctx.Err() != nil {
			// Ctrl+C, console close, logoff or shutdown: no more sockets,
			// straight to removing the filters (Windows waits about 5 s).
			interrupted = true
			break
		}
		res[i].started = time.Now()
		res[i].trigger = env.Trigger(c)
		deadline := time.After(o.timeout)
	wait:
		for len(res[i].seenAt) < live {
			select {
			case <-ctx.Done():
				break wait
			case <-deadline:
				break wait
			case e, ok := <-ch:
				if !ok {
					break wait
				}
				record(res, byID, e)
			}
		}
	}
	// Collect late events for the table, briefly.
	drain := time.After(200 * time.Millisecond)
	if interrupted || ctx.Err() != nil {
		drain = time.After(0)
	}
collect:
	for {
		select {
		case e := <-ch:
			record(res, byID, e)
		case <-drain:
			break collect
		}
	}
	rmErr := env.RemoveFilters(ids)
	gone, goneErr := env.Gone(ids)
	for i := range res {
		res[i].gone = goneErr == nil && i < len(gone) && gone[i]
	}
	ok := printSelftest(w, res, sources)
	if interrupted || ctx.Err() != nil {
		fmt.Fprintf(w, "selftest: interrupted before every case ran; the filters were removed\n")
		ok = false
	}
	if live == 0 {
		fmt.Fprintf(w, "selftest: no event source was available, so nothing was proven\n")
		ok = false
	}
	if rmErr != nil {
		fmt.Fprintf(w, "removing the filters: %v\n", rmErr)
		ok = false
	}
	if goneErr != nil {
		fmt.Fprintf(w, "checking the filters are gone: %v\n", goneErr)
		ok = false
	}
	return ok, nil
}

// mergeSources returns one channel carrying every available source's
// events, each tagged with its source in Sources.
func mergeSources(sources []selftestSource) <-chan event.Event {
	ch := make(chan event.Event, 256)
	for _, s := range sources {
		if s.err != nil || s.events == nil {
			continue
		}
		src := event.ParseSource(s.name)
		go func(in <-chan event.Event) {
			for e := range in {
				e.Sources = src
				ch <- e
			}
		}(s.events)
	}
	return ch
}

// selftestEvtlog, when set (by selftest_evtlog.go), starts a Security-log
// subscription for the self-test and returns its events, and a channel that
// yields once the subscription has ended and whatever it changed on the
// host (the audit policy) is put back.
var selftestEvtlog func(ctx context.Context, say func(string, ...any)) (events <-chan event.Event, done <-chan error, err error)

// record notes the first event of each source that names a case's filter.
// Only the case's own trigger can produce it (the filter matches this
// process, loopback and the case's port alone), so an event that arrives
// before its case's turn still counts.
func record(res []caseResult, byID map[uint64]int, e event.Event) {
	if !e.HasFilterID {
		return
	}
	i, ok := byID[e.FilterID]
	if !ok {
		return
	}
	name := e.Sources.String()
	if _, dup := res[i].seenAt[name]; !dup {
		res[i].seenAt[name] = time.Now()
	}
}

func printSelftest(w io.Writer, res []caseResult, sources []selftestSource) bool {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "CASE\tLAYER\tPORT\tFILTER\tTRIGGER")
	for _, s := range sources {
		fmt.Fprintf(tw, "\t%s", strings.ToUpper(s.name))
	}
	fmt.Fprintf(tw, "\tREMOVED\tRESULT\n")
	all := true
	for _, r := range res {
		pass := r.gone
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s", r.c.Name, r.c.LayerName, r.c.Port, r.id, r.trigger)
		for _, s := range sources {
			at, ok := r.seenAt[s.name]
			d := max(at.Sub(r.started), 0)
			switch {
			case s.err != nil:
				fmt.Fprintf(tw, "\tskipped")
			case ok:
				fmt.Fprintf(tw, "\tseen %v", d.Round(time.Millisecond))
			default:
				fmt.Fprintf(tw, "\tNOT SEEN")
				pass = false
			}
		}
		result := "PASS"
		if !pass {
			result, all = "FAIL", false
		}
		fmt.Fprintf(tw, "\t%v\t%s\n", r.gone, result)
	}
	tw.Flush()
	for _, s := range sources {
		if s.err != nil {
			fmt.Fprintf(w, "%s: skipped: %v\n", s.name, s.err)
		}
	}
	if all {
		fmt.Fprintf(w, "selftest: PASS (%d cases; every filter removed)\n", len(res))
	} else {
		fmt.Fprintf(w, "selftest: FAIL\n")
	}
	return all
}
