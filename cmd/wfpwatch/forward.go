package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/wfpwatch/wfpwatch/internal/forward"
	"github.com/wfpwatch/wfpwatch/internal/pipeline"
)

// outputURLs is the repeatable --output flag.
type outputURLs []string

func (o *outputURLs) String() string { return strings.Join(*o, " ") }

func (o *outputURLs) Set(s string) error {
	*o = append(*o, s)
	return nil
}

// Type names the value in --help.
func (o *outputURLs) Type() string { return "URL" }

// registerOutputs adds --output to fs, collecting its values in o.
func registerOutputs(fs *pflag.FlagSet, o *outputURLs) {
	fs.Var(o, "output", "also forward every event to `URL` through a durable queue (repeatable): file://PATH, syslog+tcp://, syslog+tls://, syslog+udp://HOST:PORT, kafka://BROKER[,BROKER]/TOPIC, otlp+http(s)://HOST:PORT (see docs/forwarding.md)")
}

// startForward opens the outputs and adds them to p as an event sink: an
// event is in every output's queue before p.Process returns (so a live
// source's bookmark moves on only after that). The returned stop waits up
// to drain for delivery, then says what is left queued for the next run.
// With no URLs it does nothing. The drain ends early when interrupt is
// done (analyze: Ctrl+C while waiting); what is queued stays on disk for
// the next run, as the last lines say.
func startForward(interrupt context.Context, urls outputURLs, p *pipeline.Pipeline, stderr io.Writer, drain time.Duration) (stop func(), fw *forward.Forwarder, err error) {
	if len(urls) == 0 {
		return func() {}, nil, nil
	}
	fw, err = forward.Open(urls, forward.Options{Warn: func(m string) { fmt.Fprintf(stderr, "wfpwatch: warning: %s\n", m) }})
	if err != nil {
		return nil, nil, err
	}
	p.Events(fw)
	return func() {
		ctx, cancel := context.WithTimeout(interrupt, drain)
		defer cancel()
		if err := fw.Close(ctx); err != nil && interrupt.Err() == nil {
			fmt.Fprintf(stderr, "wfpwatch: %v\n", err)
		}
		if interrupt.Err() != nil {
			fmt.Fprintf(stderr, "wfpwatch: interrupted while handing events to the outputs; what is queued stays in %s and is sent by the next run with the same --output\n", forward.DefaultStateDir())
		}
		for _, c := range fw.Counters() {
			fmt.Fprintf(stderr, "wfpwatch: %s: %d sent, %d retries, %d dropped, %d queued\n", c.URL, c.Sent, c.Retried, c.Dropped, c.Queued)
		}
	}, fw, nil
}

// How long analyze and watch wait at exit for the outputs to take what is
// queued; the rest is sent by the next run.
const (
	analyzeDrain = time.Minute
	watchDrain   = 10 * time.Second
)
