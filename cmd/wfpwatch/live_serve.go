package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/store"
)

// runWatchAndServe runs watch's pipeline with o until ctx ends or watch
// stops, and with dashboard set also the dashboard (serve with serveArgs)
// over the history database watch records, so that its Live page shows
// new blocks as they are stored. The dashboard starts once watch has
// created the database and stops after watch has put the host back; a
// dashboard that cannot start (a port in use) is reported on logw and the
// capture goes on without it. The service and 'serve --live' use it.
func runWatchAndServe(ctx context.Context, o *watchOptions, dashboard bool, serveArgs []string, out, logw io.Writer) error {
	if !dashboard {
		return o.run(ctx, out, logw)
	}
	db, err := o.dbFlags.Path(!o.noDB)
	if err != nil {
		return err
	}
	if db == "" {
		return usagef("the dashboard shows the history database, and no-db turns it off: remove one of them")
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		// watch creates (or migrates) the database as it starts: wait
		// until it can be opened for reading at this schema.
		for sctx.Err() == nil {
			if _, err := os.Stat(db); !errors.Is(err, fs.ErrNotExist) {
				if d, err := store.Open(db, store.Options{ReadOnly: true}); err == nil {
					d.Close()
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if sctx.Err() != nil {
			served <- nil
			return
		}
		args := append(append([]string{}, serveArgs...), "--db="+db)
		err := execute(sctx, newServeCmd(io.Discard, logw), args, io.Discard, logw)
		if err != nil && sctx.Err() == nil {
			fmt.Fprintf(logw, "wfpwatch: warning: the dashboard stopped: %s; the capture goes on\n", usageMessage(err))
		}
		served <- err
	}()
	werr := o.run(ctx, out, logw)
	cancel()
	<-served
	return werr
}
