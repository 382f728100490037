package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/ingest"
	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
)

// stateFlag is analyze's repeatable --state FILE: "netsh wfp show state"
// or "show filters" dumps whose filter ids resolve the events.
type stateFlag []string

func (s *stateFlag) String() string     { return strings.Join(*s, ",") }
func (s *stateFlag) Set(v string) error { *s = append(*s, v); return nil }

// Type names the value in --help.
func (s *stateFlag) Type() string { return "[HOST=]FILE" }

// splitStateArg splits a --state value into the host it is for ("" for
// any) and the file: HOST=FILE, unless the whole value names a file or
// what precedes "=" cannot be a computer name (it holds a path separator
// or a drive colon).
func splitStateArg(v string) (host, file string) {
	h, f, ok := strings.Cut(v, "=")
	if !ok || h == "" || strings.ContainsAny(h, `/\:`) {
		return "", v
	}
	if _, err := os.Stat(v); err == nil {
		return "", v
	}
	return h, f
}

// isLiveState reports whether a --state value asks for the engine of this
// host ("live", unless a file of that name exists).
func isLiveState(v string) bool {
	if !strings.EqualFold(v, "live") {
		return false
	}
	_, err := os.Stat(v)
	return err != nil
}

// addLiveState adds the filter engine's state now, for the events of this
// host only, and this host's boot time as a boot marker: filter ids of
// events from before it belong to another boot.
func addLiveState(ctx context.Context, r *wfpstate.Resolver) error {
	d, err := readLiveState(ctx)
	if err != nil {
		return err
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("this host's name: %w", err)
	}
	r.Add(host, d)
	if at, ok := bootTime(); ok {
		r.AddBoot(host, at)
	}
	return nil
}

// registerStateFlag adds --state to fs, collecting its values in s.
func registerStateFlag(fs *pflag.FlagSet, s *stateFlag) {
	fs.Var(s, "state", "resolve filter ids with this `FILE` from \"netsh wfp show state\" or \"netsh wfp show filters\" of the same host and boot; HOST=FILE uses it only for the events of HOST (WS7 matches WS7.corp.example); \"live\" reads this host's engine (Windows, elevated) for this host's events of this boot; repeatable; a state dump given as an input is used too")
}

// loadStateDumps reads the --state files and every input that is itself a
// state dump into a resolver; it returns nil when there are none.
func loadStateDumps(ctx context.Context, files stateFlag, inputs []string) (*wfpstate.Resolver, error) {
	var r wfpstate.Resolver
	for _, v := range files {
		if isLiveState(v) {
			if err := addLiveState(ctx, &r); err != nil {
				return nil, fmt.Errorf("--state live: %w", err)
			}
			continue
		}
		host, p := splitStateArg(v)
		d, err := wfpstate.ReadFile(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("--state %s: %w (give the XML written by \"netsh wfp show state\" or \"netsh wfp show filters\", or HOST=FILE)", v, err)
		}
		r.Add(host, d)
	}
	for _, p := range inputs {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			continue
		}
		state, diag := stateRoot(p)
		if !state && !diag {
			continue
		}
		d, err := wfpstate.ReadFile(ctx, p)
		if err != nil {
			continue // the walk reports it
		}
		// filters.xml ("netsh wfp show filters") and the wfpdiag.xml of
		// "netsh wfp capture" share their <wfpdiag> root with net-event
		// captures: the walk reads their events as events, and their
		// filters (if any) name the filters of every input's events.
		if diag && len(d.Filters) == 0 {
			continue
		}
		r.Add("", d)
	}
	if r.Len() == 0 {
		return nil, nil
	}
	return &r, nil
}

func isStateDump(path string) bool {
	state, _ := stateRoot(path)
	return state
}

// stateRoot reports whether the file at path is a "netsh wfp show state"
// dump (a <wfpstate> root) or XML with a <wfpdiag> root, which "netsh wfp
// show filters" and "netsh wfp capture" write (filters, net events or
// both).
func stateRoot(path string) (state, wfpdiag bool) {
	f, err := os.Open(path)
	if err != nil {
		return false, false
	}
	defer f.Close()
	head := make([]byte, ingest.HeadSize)
	n, _ := io.ReadFull(f, head)
	text := ingest.TextHead(head[:n])
	if wfpstate.Detect(text) {
		return true, false
	}
	return false, wfpdiagRoot.Match(text)
}

// wfpdiagRoot matches a head of XML whose first element is <wfpdiag>.
var wfpdiagRoot = regexp.MustCompile(`^(?s)\s*(<\?.*?\?>\s*|<!--.*?-->\s*)*<wfpdiag[\s>/]`)

// stateReport is analyze -v's line about offline resolution.
func stateReport(r *wfpstate.Resolver) string {
	boots := "no boot markers in the inputs, so a dump names events within 24 h of it"
	if n := r.BootHosts(); n > 0 {
		boots = fmt.Sprintf("boot markers of %d host(s) tell the boots apart", n)
	}
	return fmt.Sprintf("state dumps: %d event(s) resolved, %d stale (%d at another layer, %d from another boot, %d more than 24 h from the dump: filter ids hold for one boot), %d unknown to the dumps; %s",
		r.Resolved, r.Stale, r.StaleLayer, r.StaleBoot, r.StaleTooFar, r.Unknown, boots)
}

// scanBoots reads the inputs once for their boot markers (Security 4608,
// System Kernel-General 12/13 and EventLog 6005/6006/6008/6009) and adds
// them to r, before any event is resolved: a marker may come after the
// events it separates from the dump (a System log given after the
// Security log, an event older than the dump). WFP events are not decoded
// in this pass (in an .evtx they cost only their event id), and the dumps
// are not read again. Standard input cannot be read twice: its markers
// are not used.
func scanBoots(ctx context.Context, r *wfpstate.Resolver, inputs []string, recursive bool) error {
	var paths []string
	for _, p := range inputs {
		if p != "-" && !isStateDump(p) {
			paths = append(paths, p)
		}
	}
	_, err := ingest.WalkWith(ctx, paths, ingest.WalkOptions{Recursive: recursive, Want: func(int) bool { return false },
		Boot: r.AddBoot}, func(*event.Event) error { return nil }, func(*ingest.Problem) {})
	return err
}
