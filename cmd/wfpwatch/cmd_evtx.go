package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/wfpwatch/wfpwatch/internal/evtx"
)

func init() {
	register(&command{name: "evtx", summary: "every record of an .evtx file as XML or JSON (any OS)", new: newEvtxCmd})
}

const evtxDescription = `Reads a Windows .evtx file with wfpwatch's own parser (no Windows needed) and
writes every record, WFP or not: as XML, one <Event> per line inside an
<Events> element, the way Windows renders it ("wevtutil qe FILE /lf:true
/f:xml" gives the same events), or as JSON lines.

Damaged files are read as far as possible: bad checksums, truncated chunks
and garbage between records are reported on standard error with the chunk
and file offset, the unreadable records are skipped and counted, and the
dump goes on. --carve also recovers whole records from the slack space of
each chunk (they may repeat records seen elsewhere).`

func newEvtxCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cobra.Command{
		Use:   "evtx dump [flags] FILE",
		Short: "every record of an .evtx file as XML or JSON (any OS)",
		Long:  evtxDescription,
		Args:  subcommandArgs,
		RunE:  groupRun,
	}
	var (
		format  string
		carve   bool
		workers int
	)
	dump := &cobra.Command{
		Use:     "dump [flags] FILE",
		Short:   "write every record of FILE to standard output",
		Long:    evtxDescription,
		Example: "  wfpwatch evtx dump Security.evtx > security.xml\n  wfpwatch evtx dump --format json --carve damaged.evtx",
		Args: func(c *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("dump takes exactly one FILE")
			}
			return nil
		},
		RunE: func(c *cobra.Command, args []string) error {
			return evtxDump(c.Context(), args[0], format, carve, workers, stdout, stderr)
		},
	}
	fs := dump.Flags()
	fs.StringVar(&format, "format", "xml", "output `format`: xml or json")
	fs.BoolVar(&carve, "carve", false, "also recover records from chunk slack space")
	fs.IntVar(&workers, "workers", 0, "chunks parsed in parallel (0 = all cores)")
	completeWords(dump, "format", "xml", "json")
	c.AddCommand(dump)
	return c
}

// runEvtx runs 'wfpwatch evtx args...'.
func runEvtx(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return execute(ctx, newEvtxCmd(stdout, stderr), args, stdout, stderr)
}

// evtxDump writes every record of path to stdout.
func evtxDump(ctx context.Context, path, format string, carve bool, workers int, stdout, stderr io.Writer) error {
	var mode evtx.DumpFormat
	switch format {
	case "xml":
		mode = evtx.DumpXML
	case "json":
		mode = evtx.DumpJSON
	default:
		return usagef("--format %q: want xml or json", format)
	}
	if err := refuseNonRegular(path, "evtx dump reads an .evtx by offset: copy it to a file first, or use 'wfpwatch analyze', which spools a stream"); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	// Dump writes whole chunks (a few hundred KiB each): no buffering.
	out := stdout
	res, err := evtx.Dump(ctx, f, st.Size(), out, evtx.DumpOptions{
		Format: mode,
		Opts:   evtx.Options{Workers: workers, Carve: carve},
		Warn: func(p *evtx.Problem) {
			fmt.Fprintf(stderr, "wfpwatch evtx: %s: %v\n", path, p)
		},
	})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if res.Skipped > 0 || res.Problems > 0 {
		fmt.Fprintf(stderr, "wfpwatch evtx: %s: %d records read, %d skipped, %d problems\n", path, res.Records, res.Skipped, res.Problems)
	}
	return nil
}
