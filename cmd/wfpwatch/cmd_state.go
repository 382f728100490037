package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/source/wfpstate"
	"github.com/wfpwatch/wfpwatch/internal/statereport"
	"github.com/wfpwatch/wfpwatch/internal/wfp"
)

const stateHelp = `Summarizes the filters of the Windows Filtering Platform: providers with
their block/permit/callout filters, sublayers by weight, block filters outside
the Windows Firewall and callouts of third-party drivers. With --filter ID,
shows one filter and its conditions in words.

It reads a "netsh wfp show state" dump (wfpstate.xml), a "netsh wfp show
filters" file (filters.xml) or the filters of a wfpdiag.xml; with --live it
reads the same from the engine of this Windows host (elevated: the filter
engine lets administrators enumerate its objects). A live read changes
nothing: it enumerates in a read-only transaction.`

func init() {
	register(&command{name: "state", summary: "summarize WFP filters (a state dump, or --live): who filters what", new: func(stdout, stderr io.Writer) *cobra.Command {
		var filter uint64
		var live bool
		var format string
		c := &cobra.Command{
			Use:   "state [--filter ID] FILE | --live [--filter ID]",
			Short: "summarize WFP filters (a state dump, or --live): who filters what",
			Long:  stateHelp,
			Example: "  wfpwatch state wfpstate.xml\n  wfpwatch state --filter 66226 wfpstate.xml\n" +
				"  wfpwatch state --live\n  wfpwatch state --live --filter 66226\n  wfpwatch state --format json wfpstate.xml | jq '.providers[] | select(.third_party)'",
			Args: func(c *cobra.Command, args []string) error {
				switch {
				case format != "table" && format != "json":
					return usagef("--format %q: want table or json", format)
				case live && len(args) > 0:
					return usagef("give a state dump or --live, not both")
				case !live && len(args) != 1:
					return usagef("give one state dump (the XML of \"netsh wfp show state\"), or --live to read this host's engine")
				}
				return nil
			},
			RunE: func(c *cobra.Command, args []string) error {
				var d *wfpstate.Dump
				var err error
				if live {
					d, err = readLiveState(c.Context())
					if err != nil {
						return err
					}
				} else if d, err = wfpstate.ReadFile(c.Context(), args[0]); err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				switch {
				case filter != 0 && format == "json":
					return statereport.FilterJSON(stdout, d, filter)
				case filter != 0:
					return statereport.Filter(stdout, d, filter)
				case format == "json":
					return statereport.JSON(stdout, d)
				}
				return statereport.Summary(stdout, d)
			},
		}
		c.Flags().Uint64Var(&filter, "filter", 0, "show the filter with this run-time `ID` (FilterRTID) and its conditions")
		c.Flags().BoolVar(&live, "live", false, "read the filters from this host's engine (Windows, elevated) instead of a dump")
		c.Flags().StringVar(&format, "format", "table", "output `format`: table (the summary in words) or json (every provider, sublayer, layer, callout and filter)")
		setHint(c.Flags(), "filter", "want a filter id (FilterRTID), a number")
		completeWords(c, "format", "table", "json")
		return c
	}})
}

// readLiveState opens the local filter engine, reads its state and closes
// the handle again.
func readLiveState(ctx context.Context) (*wfpstate.Dump, error) {
	e, err := wfp.Open(wfp.OpenOptions{Name: "wfpwatch state"})
	if errors.Is(err, wfp.ErrNeedsWindows) {
		return nil, errors.New("reading the filter engine live needs Windows: on this system give a saved dump instead (on the host, elevated: netsh wfp show state)")
	}
	if err != nil {
		return nil, fmt.Errorf("opening the filter engine: %w", err)
	}
	defer e.Close()
	d, err := e.State(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the filter engine's state: %w", err)
	}
	return d, nil
}
