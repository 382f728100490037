package evtx_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/evtx"
	"github.com/wfpwatch/wfpwatch/internal/source/evtlog"
)

// Reading the Filtering Platform events of a file with the fast path, on
// all cores, in record order.
func Example() {
	f, err := os.Open("Security.evtx")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	st, _ := f.Stat()
	file, err := evtx.Open(f, st.Size())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range file.Problems {
		fmt.Println("warning:", p.Error())
	}
	err = evtx.Each(context.Background(), file, evtx.Options{}, func(c *evtx.Chunk) []event.Event {
		var evs []event.Event
		var rec evtlog.Record
		c.Records(func(r *evtx.Record) bool {
			ok, err := r.WFP(&rec)
			if err != nil {
				c.Fail(r, err) // counted and reported with the chunk
				return true
			}
			if ok {
				var ev event.Event
				evtlog.Decode(&rec, &ev)
				evs = append(evs, ev)
			}
			return true
		})
		return evs
	}, func(c *evtx.Chunk, evs []event.Event) error {
		for _, p := range c.Problems() {
			fmt.Println("warning:", p.Error())
		}
		for _, ev := range evs {
			fmt.Println(ev.Code, ev.Verdict)
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
}
