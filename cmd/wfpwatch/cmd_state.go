package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/statereport"
)

const stateHelp = `Summarizes a "netsh wfp show state" (or "netsh wfp show filters") dump:
providers with their block/permit/callout filters, sublayers by weight, block
filters outside the Windows Firewall and callouts of third-party drivers.
With --filter ID, shows one filter and its conditions in words.

Reading the filters live from the engine (--live) is not built yet: on the
host, run "netsh wfp show state" (elevated) and give its wfpstate.xml.`

func init() {
	register(&command{name: "state", summary: "summarize a WFP state dump: who filters what", new: func(stdout, stderr io.Writer) *cobra.Command {
		var filter uint64
		c := &cobra.Command{
			Use:     "state [--filter ID] FILE",
			Short:   "summarize a WFP state dump: who filters what",
			Long:    stateHelp,
			Example: "  wfpwatch state wfpstate.xml\n  wfpwatch state --filter 66226 wfpstate.xml",
			Args: func(c *cobra.Command, args []string) error {
				if len(args) != 1 {
					return usagef("give one state dump (the XML of \"netsh wfp show state\")")
				}
				return nil
			},
			RunE: func(c *cobra.Command, args []string) error {
				d, err := readStateFile(c.Context(), args[0])
				if err != nil {
					return fmt.Errorf("%s: %w", args[0], err)
				}
				if filter != 0 {
					return statereport.Filter(stdout, d, filter)
				}
				return statereport.Summary(stdout, d)
			},
		}
		c.Flags().Uint64Var(&filter, "filter", 0, "show the filter with this run-time `ID` (FilterRTID) and its conditions")
		setHint(c.Flags(), "filter", "want a filter id (FilterRTID), a number")
		return c
	}})
}
