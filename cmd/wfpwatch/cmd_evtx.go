package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/wfpwatch/wfpwatch/internal/evtx"
)

func init() {
	register(&command{name: "evtx", summary: "dump every record of an .evtx file as XML or JSON (any OS)", run: runEvtx})
}

const evtxDescription = `
Reads a Windows .evtx file with wfpwatch's own parser (no Windows needed) and
writes every record, WFP or not: as XML, one <Event> per line inside an
<Events> element, the way Windows renders it ("wevtutil qe FILE /lf:true
/f:xml" gives the same events), or as JSON lines.

Damaged files are read as far as possible: bad checksums, truncated chunks
and garbage between records are reported on standard error with the chunk
and file offset, the unreadable records are skipped and counted, and the
dump goes on. --carve also recovers whole records from the slack space of
each chunk (they may repeat records seen elsewhere).

Subcommands:
  dump FILE   write every record of FILE to standard output`

func runEvtx(ctx context.Context, args []string) error {
	fs := newFlagSet("evtx", "dump [flags] FILE", evtxDescription)
	format := fs.String("format", "xml", "output format: xml or json")
	carve := fs.Bool("carve", false, "also recover records from chunk slack space")
	workers := fs.Int("workers", 0, "chunks parsed in parallel (0 = all cores)")
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("%w: missing subcommand (dump)", errUsage)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		return parseFlags(fs, args)
	}
	if args[0] != "dump" {
		return fmt.Errorf("%w: unknown subcommand %q (expected dump)", errUsage, args[0])
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: dump takes exactly one FILE", errUsage)
	}
	var mode evtx.DumpFormat
	switch *format {
	case "xml":
		mode = evtx.DumpXML
	case "json":
		mode = evtx.DumpJSON
	default:
		return fmt.Errorf("%w: --format must be xml or json, not %q", errUsage, *format)
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 256<<10)
	res, err := evtx.Dump(ctx, f, st.Size(), out, evtx.DumpOptions{
		Format: mode,
		Opts:   evtx.Options{Workers: *workers, Carve: *carve},
		Warn: func(p *evtx.Problem) {
			fmt.Fprintf(os.Stderr, "wfpwatch evtx: %s: %v\n", path, p)
		},
	})
	if ferr := out.Flush(); err == nil && ferr != nil && !errors.Is(ferr, io.ErrClosedPipe) {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if res.Skipped > 0 || res.Problems > 0 {
		fmt.Fprintf(os.Stderr, "wfpwatch evtx: %s: %d records read, %d skipped, %d problems\n", path, res.Records, res.Skipped, res.Problems)
	}
	return nil
}
