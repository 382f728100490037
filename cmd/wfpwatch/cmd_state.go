package main

import (
	"context"
	"fmt"
	"os"

	"github.com/wfpwatch/wfpwatch/internal/statereport"
)

const stateHelp = `Summarizes a "netsh wfp show state" (or "netsh wfp show filters") dump:
providers with their block/permit/callout filters, sublayers by weight, block
filters outside the Windows Firewall and callouts of third-party drivers.
With --filter ID, shows one filter and its conditions in words.`

func init() {
	register(&command{name: "state", summary: "summarize a WFP state dump: who filters what", run: func(ctx context.Context, args []string) error {
		fs := newFlagSet("state", "[--filter ID] FILE", stateHelp)
		filter := fs.Uint64("filter", 0, "show the filter with this run-time `ID` (FilterRTID) and its conditions")
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: give one state dump (the XML of \"netsh wfp show state\")", errUsage)
		}
		d, err := readStateFile(ctx, fs.Arg(0))
		if err != nil {
			return fmt.Errorf("%s: %w", fs.Arg(0), err)
		}
		if *filter != 0 {
			return statereport.Filter(os.Stdout, d, *filter)
		}
		return statereport.Summary(os.Stdout, d)
	}})
}
