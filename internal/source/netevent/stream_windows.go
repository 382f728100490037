package netevent

import (
	"context"

	"github.com/wfpwatch/wfpwatch/internal/enrich"
	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

// Stream is the live net-event source as `wfpwatch watch` uses it: a
// Watcher (version fallback, history, option guard, watchdog) whose events
// are resolved (filter, provider, layer and rule names, kept right by
// filter-change notifications) and enriched (DOS path, services, account)
// before emit sees them; the resolver's engine handle is reopened when the
// engine restarts (wfp.LiveResolver). emit is called from one goroutine.
// Stream returns when ctx ends, after the engine options are put back.
func Stream(ctx context.Context, cfg Config, emit func(*event.Event)) error {
	w, err := NewWatcher(cfg)
	if err != nil {
		return err
	}
	logf := func(f string, a ...any) {
		if cfg.Log != nil {
			cfg.Log(f, a...)
		}
	}
	var res *wfp.LiveResolver
	if r, err := wfp.OpenLiveResolver(func(f string, a ...any) { logf("netevent: "+f, a...) }); err != nil {
		logf("netevent: names will not be resolved: %v", err)
	} else {
		res = r
		defer res.Close()
		// A lost engine found by the watcher is lost for the resolver's
		// handle too: reopen it now rather than at its next probe.
		w.Cfg.onReconnect = func(cause error) {
			if cause != nil {
				res.Reopen(cause)
			}
		}
	}
	en := enrich.New()
	return w.Run(ctx, func(e *event.Event) {
		if res != nil {
			res.Resolve(e)
		}
		en.Enrich(e)
		emit(e)
	})
}
