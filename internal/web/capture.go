package web

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wfpwatch/wfpwatch/internal/health"
)

// capture is the live capture on this host as the health snapshots of its
// processes (watch, the service, serve --live) tell it: what the Overview's
// "Live capture" panel, /api/health and /metrics show besides the history.
type capture struct {
	Healthy   bool              `json:"healthy"`
	Problems  []string          `json:"problems"`
	Processes []health.Snapshot `json:"processes"`
}

// maxUndelivered is the age of an output's oldest undelivered event
// beyond which the capture is not healthy (as 'wfpwatch status').
const maxUndelivered = 10 * time.Minute

// readCapture reads the snapshots in dir ("" : the default status
// directory; "-": none).
func readCapture(dir string, now time.Time) capture {
	c := capture{Problems: []string{}, Processes: []health.Snapshot{}}
	if dir == "-" {
		return c
	}
	snaps, err := health.ReadAll(dir)
	shown, problems := health.Assess(snaps, now, maxUndelivered)
	if err != nil {
		problems = append(problems, err.Error())
	}
	c.Healthy = len(problems) == 0
	c.Problems = append(c.Problems, problems...)
	c.Processes = append(c.Processes, shown...)
	return c
}

// maxRuleLabels bounds the rule label of the suppression counter; the
// hits of the rules beyond it are summed as rule="other".
const maxRuleLabels = 50

// captureCollector exports the health snapshots at scrape time. Each
// series carries the command ("watch", "service", "serve --live"); two
// running processes of the same command are one (the newest snapshot):
// labels never carry a pid, an address, a port or an app.
type captureCollector struct {
	dir string
	now func() time.Time

	running, stale, age                          *prometheus.Desc
	srcUp, srcEvents, srcGaps, srcLost, srcResub *prometheus.Desc
	auditOn, auditManaged                        *prometheus.Desc
	seen, suppressed, flowsOpen, overflow        *prometheus.Desc
	outSent, outRetries, outDropped              *prometheus.Desc
	outQueued, outBytes, outOldest               *prometheus.Desc
}

func newCaptureCollector(dir string, now func() time.Time) *captureCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, append([]string{"command"}, labels...), nil)
	}
	return &captureCollector{
		dir: dir, now: now,
		running:      d("wfpwatch_capture_running", "1 while a wfpwatch process of this command captures and reports its health."),
		stale:        d("wfpwatch_capture_stale", "1 when the process stopped reporting its health without a clean stop (crashed or hung)."),
		age:          d("wfpwatch_capture_report_age_seconds", "Seconds since the process last wrote its health."),
		srcUp:        d("wfpwatch_live_source_up", "1 when the live source is subscribed and delivering, 0 when it is down.", "source", "channel"),
		srcEvents:    d("wfpwatch_live_source_events_total", "Events read from the live source by the running process.", "source", "channel"),
		srcGaps:      d("wfpwatch_live_source_gaps_total", "Gaps reported by the live source (a cleared log, a lost subscription).", "source", "channel"),
		srcLost:      d("wfpwatch_live_source_lost_events_total", "Events known to be lost by the live source.", "source", "channel"),
		srcResub:     d("wfpwatch_live_source_resubscribes_total", "Recoveries of the live source after its subscription failed.", "source", "channel"),
		auditOn:      d("wfpwatch_audit_policy_on", "1 when the Filtering Platform audit subcategories the capture needs were on at the last check, 0 when reset (Group Policy?)."),
		auditManaged: d("wfpwatch_audit_policy_managed", "1 when wfpwatch manages the audit policy, 0 with --no-audit."),
		seen:         d("wfpwatch_pipeline_events_total", "Events the capture's pipeline processed."),
		suppressed:   d("wfpwatch_suppressed_events_total", "Events dropped by a suppression rule (rules beyond 50 are summed as rule=\"other\").", "rule"),
		flowsOpen:    d("wfpwatch_pipeline_flows_open", "Flows open in the capture's aggregation table."),
		overflow:     d("wfpwatch_pipeline_overflow_total", "Events not aggregated because the flow table was full."),
		outSent:      d("wfpwatch_output_sent_total", "Events the output delivered.", "output"),
		outRetries:   d("wfpwatch_output_retries_total", "Failed sends the output retried.", "output"),
		outDropped:   d("wfpwatch_output_dropped_total", "Events the full queue dropped (queue-full=drop).", "output"),
		outQueued:    d("wfpwatch_output_queued_events", "Events in the output's durable queue, not yet delivered.", "output"),
		outBytes:     d("wfpwatch_output_queue_bytes", "Bytes of the output's durable queue on disk.", "output"),
		outOldest:    d("wfpwatch_output_oldest_undelivered_seconds", "Age of the oldest undelivered event of the output, 0 when none.", "output"),
	}
}

func (c *captureCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.running, c.stale, c.age, c.srcUp, c.srcEvents, c.srcGaps, c.srcLost, c.srcResub,
		c.auditOn, c.auditManaged, c.seen, c.suppressed, c.flowsOpen, c.overflow,
		c.outSent, c.outRetries, c.outDropped, c.outQueued, c.outBytes, c.outOldest} {
		ch <- d
	}
}

func (c *captureCollector) Collect(ch chan<- prometheus.Metric) {
	if c.dir == "-" {
		return
	}
	now := c.now()
	snaps, _ := health.ReadAll(c.dir) // unreadable files are skipped; status and /api/health say why
	seen := map[string]bool{}
	for _, s := range snaps { // newest first
		if s.Stopped != nil || seen[s.Command] {
			continue
		}
		seen[s.Command] = true
		cmd := s.Command
		g := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append([]string{cmd}, labels...)...)
		}
		n := func(d *prometheus.Desc, v float64, labels ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, append([]string{cmd}, labels...)...)
		}
		stale := s.Stale(now)
		g(c.running, b2f(!stale))
		g(c.stale, b2f(stale))
		g(c.age, now.Sub(s.Updated).Seconds())
		for _, src := range s.Sources {
			g(c.srcUp, b2f(src.Up && !stale), src.Name, src.Channel)
			n(c.srcEvents, float64(src.Events), src.Name, src.Channel)
			n(c.srcGaps, float64(src.Gaps), src.Name, src.Channel)
			n(c.srcLost, float64(src.Lost), src.Name, src.Channel)
			n(c.srcResub, float64(src.Resubscribes), src.Name, src.Channel)
		}
		if a := s.Audit; a != nil {
			g(c.auditManaged, b2f(a.Managed))
			if a.Managed {
				g(c.auditOn, b2f(a.On))
			}
		}
		p := s.Pipeline
		n(c.seen, float64(p.Seen))
		n(c.overflow, float64(p.Overflow))
		g(c.flowsOpen, float64(p.FlowsOpen))
		var other uint64
		rules := map[string]uint64{}
		for i, r := range p.Rules {
			if i >= maxRuleLabels {
				other += r.Hits
				continue
			}
			rules[r.Label] += r.Hits // two rules of one text count together
		}
		for label, hits := range rules {
			n(c.suppressed, float64(hits), label)
		}
		if other > 0 || len(p.Rules) > maxRuleLabels {
			n(c.suppressed, float64(other), "other")
		}
		outs := map[string]bool{}
		for _, o := range s.Outputs {
			if outs[o.URL] {
				continue
			}
			outs[o.URL] = true
			n(c.outSent, float64(o.Sent), o.URL)
			n(c.outRetries, float64(o.Retried), o.URL)
			n(c.outDropped, float64(o.Dropped), o.URL)
			g(c.outQueued, float64(o.Queued), o.URL)
			g(c.outBytes, float64(o.QueueBytes), o.URL)
			g(c.outOldest, time.Duration(o.OldestAge).Seconds(), o.URL)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
