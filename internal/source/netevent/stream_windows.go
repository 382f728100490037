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
// before emit sees them. emit is called from one goroutine. Stream returns
// when ctx ends, after the engine options are put back.
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
	var res *wfp.Resolver
	if eng, err := wfp.Open(wfp.OpenOptions{}); err != nil {
		logf("netevent: names will not be resolved: %v", err)
	} else {
		defer eng.Close()
		res = wfp.NewResolver(eng, wfp.NewRuleTable(), 0)
		if sub, err := eng.SubscribeFilterChanges(res.Invalidate); err != nil {
			logf("netevent: filter changes will not be followed (%v); cached names may go stale", err)
		} else {
			defer sub.Close()
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
