package health

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Assess returns the snapshots to show — every process still
// running or not responding, or, when none runs, the newest stopped one —
// and what is unhealthy.
func Assess(snaps []Snapshot, now time.Time, maxAge time.Duration) (shown []Snapshot, problems []string) {
	for _, s := range snaps {
		if s.Stopped == nil {
			shown = append(shown, s)
		}
	}
	if len(shown) == 0 {
		if len(snaps) > 0 {
			shown = snaps[:1] // newest first
			problems = append(problems, fmt.Sprintf("no wfpwatch is capturing: the last run (%s, pid %d) stopped at %s", snaps[0].Command, snaps[0].PID, snaps[0].Stopped.Local().Format(time.DateTime)))
		} else {
			problems = append(problems, "no wfpwatch is capturing on this host (start the service: wfpwatch service start, or run wfpwatch watch)")
		}
		return shown, problems
	}
	for _, s := range shown {
		who := fmt.Sprintf("%s (pid %d)", s.Command, s.PID)
		if s.Stale(now) {
			problems = append(problems, fmt.Sprintf("%s is not responding: its last health report is %s old and it did not stop cleanly (crashed or hung?)", who, Since(now, s.Updated)))
			continue
		}
		for _, src := range s.Sources {
			if !src.Up {
				msg := fmt.Sprintf("%s: source %s is down", who, src.Label())
				if src.LastError != "" {
					msg += ": " + src.LastError
				}
				problems = append(problems, msg)
			}
		}
		if a := s.Audit; a != nil && a.Managed && !a.On {
			problems = append(problems, fmt.Sprintf("%s: the audit policy is not as needed: %s", who, strings.Join(a.Drift, "; ")))
		}
		for _, out := range s.Outputs {
			if age := time.Duration(out.OldestAge); age > maxAge {
				problems = append(problems, fmt.Sprintf("%s: output %s has undelivered events %s old (last error: %s)", who, out.URL, Short(age), noneIfEmpty(out.LastError)))
			}
		}
	}
	return shown, problems
}

// Prune removes the files of processes that ended (cleanly or
// not) more than a day ago; the newest stays, so status can always say
// how the last run ended.
func Prune(snaps []Snapshot, now time.Time) {
	for i, s := range snaps {
		if i == 0 || (s.Stopped == nil && !s.Stale(now)) || now.Sub(s.Updated) < 24*time.Hour {
			continue
		}
		_ = os.Remove(s.Path)
	}
}

// Label names a source with its channel: "evtlog (Security)".
func (s Source) Label() string {
	if s.Channel != "" {
		return s.Name + " (" + s.Channel + ")"
	}
	return s.Name
}

func noneIfEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Since says how long before now t was, in its largest unit ("never" for
// the zero time).
func Since(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return Short(now.Sub(t))
}

// Short says d in its largest units: 40s, 12m, 3h, 2d.
func Short(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute)/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Round(time.Hour)/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}
