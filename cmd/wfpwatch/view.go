package main

import (
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/wfpwatch/wfpwatch/internal/event"
	"github.com/wfpwatch/wfpwatch/internal/output"
	"github.com/wfpwatch/wfpwatch/internal/source/netevent"
)

// viewFlags are the flags shared by the commands that show events
// (analyze, watch, query): what to include and how to print it.
type viewFlags struct {
	format    string
	packets   bool
	permits   bool
	app       string
	port      uint
	direction string
	verdict   string
	protocol  string
	remote    string
	wide      bool // --wide: cut nothing in the table, show process paths
	utc       bool // --utc: table times in UTC instead of local time

	proto     uint8 // parsed protocol
	hasProto  bool
	remoteNet netip.Prefix // parsed --remote
}

func (v *viewFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&v.format, "format", "table", "output `format`: table, json (NDJSON, ECS fields) or csv")
	fs.BoolVar(&v.packets, "packets", false, "include packet drops and other routine drops (5152/5153, discards), not only blocks")
	fs.BoolVar(&v.permits, "permits", false, "include permitted traffic (5154/5156/5158)")
	fs.StringVar(&v.app, "app", "", "only events whose process name or path contains `text` (case-insensitive)")
	fs.UintVar(&v.port, "port", 0, "only events with this local or remote `port`")
	fs.StringVar(&v.direction, "direction", "", "only `inbound` or outbound events")
	fs.StringVar(&v.protocol, "protocol", "", "only events of this `protocol`: tcp, udp, icmp, icmpv6 or a number")
	fs.StringVar(&v.remote, "remote", "", "only events with this remote `address` or CIDR range (e.g. 203.0.113.7 or 10.0.0.0/8)")
	fs.BoolVar(&v.wide, "wide", false, "table: cut nothing, even on a terminal, and show process paths instead of names")
	fs.BoolVar(&v.utc, "utc", false, "table: times in UTC (default: local time, the zone named above the header)")
	fs.StringVar(&v.verdict, "verdict", "", "only events with this `verdict`: block, drop or permit (implies --packets/--permits as needed)")
	setHint(fs, "port", "want a port number 0-65535")
}

// completeViewFlags offers the values of the view flags to shell
// completion.
func completeViewFlags(c *cobra.Command) {
	completeWords(c, "format", "table", "json", "csv")
	completeWords(c, "direction", "inbound", "outbound")
	completeWords(c, "verdict", "block", "drop", "permit")
	completeWords(c, "protocol", "tcp", "udp", "icmp", "icmpv6")
}

// check validates the flags after parsing.
func (v *viewFlags) check() error {
	switch strings.ToLower(v.format) {
	case "table", "json", "ndjson", "csv":
	default:
		return fmt.Errorf("%w: --format %q: want table, json or csv", errUsage, v.format)
	}
	switch strings.ToLower(v.direction) {
	case "", "inbound", "in", "outbound", "out":
	default:
		return fmt.Errorf("%w: --direction %q: want inbound or outbound", errUsage, v.direction)
	}
	switch strings.ToLower(v.verdict) {
	case "":
	case "block":
	case "drop":
		v.packets = true
	case "permit":
		v.permits = true
	default:
		return fmt.Errorf("%w: --verdict %q: want block, drop or permit", errUsage, v.verdict)
	}
	if v.protocol != "" {
		p, ok := event.ParseProtocol(v.protocol)
		if !ok {
			return fmt.Errorf("%w: --protocol %q: want tcp, udp, icmp, icmpv6 or a number 0-255", errUsage, v.protocol)
		}
		v.proto, v.hasProto = p, true
	}
	if v.remote != "" {
		pfx, err := netip.ParsePrefix(v.remote)
		if err != nil {
			a, err2 := netip.ParseAddr(v.remote)
			if err2 != nil {
				return fmt.Errorf("%w: --remote %q: want an IP address or a CIDR range", errUsage, v.remote)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		v.remoteNet = pfx.Masked()
	}
	if v.port > 65535 {
		return fmt.Errorf("%w: --port %d: not a port", errUsage, v.port)
	}
	v.app = strings.ToLower(v.app)
	return nil
}

// selection returns the verdicts the view includes.
func (v *viewFlags) selection() event.Selection {
	return event.Selection{Drops: v.packets, Permits: v.permits}
}

// match reports whether e passes the view's selection and filters.
func (v *viewFlags) match(e *event.Event) bool {
	if !v.selection().Includes(e) {
		return false
	}
	if v.verdict != "" && !strings.EqualFold(string(e.Verdict), v.verdict) {
		return false
	}
	if v.app != "" && !strings.Contains(strings.ToLower(e.Executable), v.app) && !strings.Contains(strings.ToLower(e.Name), v.app) {
		return false
	}
	if v.port != 0 && !((e.HasLocalPort && uint(e.LocalPort) == v.port) || (e.HasRemotePort && uint(e.RemotePort) == v.port)) {
		return false
	}
	if v.direction != "" && e.Direction != event.ParseDirection(v.direction) {
		return false
	}
	if v.hasProto && (!e.HasProtocol || e.Protocol != v.proto) {
		return false
	}
	if v.remoteNet.IsValid() && (!e.RemoteIP.IsValid() || !v.remoteNet.Contains(e.RemoteIP.Unmap())) {
		return false
	}
	return true
}

// netFilter returns the part of the view that the WFP engine can apply
// itself, as net-event template conditions (they are ANDed): the
// protocol, and a single remote address. The rest is matched here.
func (v *viewFlags) netFilter() netevent.Filter {
	var f netevent.Filter
	if v.hasProto {
		f.Protocol, f.HasProtocol = v.proto, true
	}
	if v.remoteNet.IsValid() && v.remoteNet.IsSingleIP() {
		f.RemoteAddr = v.remoteNet.Addr()
	}
	return f
}

// writer returns the output writer for w, sized to the terminal when w is
// one.
func (v *viewFlags) writer(w io.Writer, live bool) (output.Writer, error) {
	return output.New(v.format, w, output.Options{Width: terminalWidth(w), FlushEach: live, Location: tableLocation(v.utc), Wide: v.wide})
}

// tableLocation is the time zone of the table: UTC with --utc, else
// displayLocation.
func tableLocation(utc bool) *time.Location {
	if utc {
		return time.UTC
	}
	return displayLocation
}

// displayLocation is the time zone of table output: local time, as an
// administrator reads it next to the Event Viewer. Tests set UTC.
var displayLocation = time.Local

// testWidth, when set, is the terminal width tests pretend to have.
var testWidth int

// terminalWidth returns the width of w when it is a terminal, else 0.
func terminalWidth(w io.Writer) int {
	if testWidth != 0 {
		return testWidth
	}
	f, ok := w.(interface{ Fd() uintptr }) // an *os.File, or the progress bar's wrapper
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	if cols, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && cols > 0 {
		return cols
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil || width <= 0 {
		return 120
	}
	return width
}
