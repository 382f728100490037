package web

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Explanation is the "why" of one event in words, for the detail page.
type Explanation struct {
	Verdict    string `json:"verdict"`     // what happened, in a sentence
	Reason     string `json:"reason"`      // what the reason means
	DecidedBy  string `json:"decided_by"`  // the rule, filter or origin that decided, "" when unknown
	PowerShell string `json:"powershell"`  // a command that would allow this traffic, for the admin to copy; never run
	Caveat     string `json:"caveat"`      // when the command would not help, or needs editing first
	Direction  string `json:"direction"`   // inbound/outbound
	ServiceEnd string `json:"service_end"` // the service's end: "local port 445" or "remote 10.0.0.5:443"
}

// Explain describes e for a person.
func Explain(e *event.Event) Explanation {
	x := Explanation{DecidedBy: e.DecidedBy(), Direction: string(e.Direction)}
	what := "traffic"
	switch e.Kind {
	case event.KindConnection:
		what = "a connection"
	case event.KindListen:
		what = "listening on a port"
	case event.KindBind:
		what = "binding to a local port"
	case event.KindAccept:
		what = "accepting incoming connections"
	case event.KindPacket:
		what = "a packet"
	}
	switch e.Verdict {
	case event.VerdictBlock:
		x.Verdict = "The Windows Filtering Platform blocked " + what + ": a policy decision (a rule or a default block)."
	case event.VerdictDrop:
		x.Verdict = "The Windows Filtering Platform dropped " + what + ": routine, usually not a policy decision."
	case event.VerdictPermit:
		x.Verdict = "The Windows Filtering Platform permitted " + what + "."
	default:
		x.Verdict = "The Windows Filtering Platform acted on " + what + "."
	}
	x.Reason = reasonText(e.Reason)
	switch end, p, ok := e.ServiceEnd(); {
	case ok && end == event.EndLocal:
		x.ServiceEnd = "local port " + strconv.Itoa(int(p))
	case ok && end == event.EndRemote:
		x.ServiceEnd = "remote port " + strconv.Itoa(int(p))
	}
	x.PowerShell, x.Caveat = allowCommand(e)
	return x
}

// reasonText explains a wfp.reason value.
func reasonText(r string) string {
	switch {
	case r == "rule":
		return "rule: a Windows Firewall rule made this decision (the Filter Origin is its id)."
	case strings.HasPrefix(r, "default:"):
		name := strings.TrimPrefix(r, "default:")
		for _, d := range event.DefaultBlocks {
			if d.Name == name {
				return r + ": a default block of the firewall, no rule of yours: " + d.Doc + "."
			}
		}
		return r + ": a default block of the firewall, no rule of yours."
	case r == "provider":
		return "provider: a filter of another WFP provider (a VPN kill switch, endpoint protection…), not the Windows Firewall."
	case r == "discard":
		return "discard: the network stack threw it away (a _DISCARD layer, or no filter: no listener, a bad packet)."
	case r == "ipsec":
		return "ipsec: an IPsec kernel or DoS-protection drop."
	case r == "unresolved":
		return "unresolved: the filter could not be named; the raw filter and layer ids are kept."
	case r == "":
		return "no reason recorded."
	}
	return r
}

// allowCommand returns a New-NetFirewallRule command that would allow the
// traffic of e, and a caveat when it would not help or must be edited
// first. Every value is quoted for PowerShell (psQuote); the command is
// only ever shown, never run.
func allowCommand(e *event.Event) (cmd, caveat string) {
	if e.Verdict == event.VerdictPermit {
		return "", "This traffic was permitted: nothing to allow."
	}
	dir := "Outbound"
	inbound := e.Direction == event.DirectionInbound || e.Kind == event.KindListen || e.Kind == event.KindAccept
	if inbound {
		dir = "Inbound"
	}
	app := e.Executable
	if app == "" {
		app = e.Name
	}
	label := event.BaseName(app)
	if label == "" {
		label = "traffic"
	}
	parts := []string{"New-NetFirewallRule", "-DisplayName", psQuote("wfpwatch: allow " + label + " " + strings.ToLower(dir)), "-Direction", dir, "-Action", "Allow"}
	var notes []string
	switch {
	case strings.HasPrefix(strings.ToLower(app), `\device\`):
		parts = append(parts, "-Program", psQuote(app))
		notes = append(notes, "replace the device path after -Program with the drive path (C:\\…)")
	case strings.ContainsAny(app, `\/`):
		parts = append(parts, "-Program", psQuote(app))
	case strings.EqualFold(app, "System"):
		parts = append(parts, "-Program", "System")
	}
	if len(e.Services) == 1 {
		parts = append(parts, "-Service", psQuote(e.Services[0]))
	}
	if e.HasProtocol {
		switch e.Protocol {
		case 6:
			parts = append(parts, "-Protocol", "TCP")
		case 17:
			parts = append(parts, "-Protocol", "UDP")
		case 1:
			parts = append(parts, "-Protocol", "ICMPv4")
		case 58:
			parts = append(parts, "-Protocol", "ICMPv6")
		default:
			parts = append(parts, "-Protocol", strconv.Itoa(int(e.Protocol)))
		}
		if e.Protocol == 6 || e.Protocol == 17 {
			// The service's port (the one function that decides it for
			// flows and --top port): local for inbound, listen and bind,
			// remote for outbound.
			switch end, p, ok := e.ServiceEnd(); {
			case ok && end == event.EndLocal:
				parts = append(parts, "-LocalPort", strconv.Itoa(int(p)))
			case ok && end == event.EndRemote:
				parts = append(parts, "-RemotePort", strconv.Itoa(int(p)))
			}
		}
	}
	if e.RemoteIP.IsValid() {
		parts = append(parts, "-RemoteAddress", e.RemoteIP.Unmap().WithZone("").String())
	}
	switch {
	case e.Reason == "rule":
		notes = append(notes, "a firewall rule blocked this, and block rules win over allow rules: change or disable that rule instead (Get-NetFirewallRule -Name "+psQuote(firstNonEmpty(e.RuleID, e.FilterOrigin))+")")
	case e.Reason == "discard" || e.Reason == "default:stealth":
		notes = append(notes, "nothing was listening on the port: an allow rule does not help until a program listens there")
	case e.Reason == "provider" || e.Reason == "ipsec":
		notes = append(notes, "the Windows Firewall did not make this decision: an allow rule may not help")
	}
	return strings.Join(parts, " "), strings.Join(notes, "; ")
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// psQuote quotes s as a PowerShell single-quoted string: nothing inside
// is expanded. PowerShell ends such a string at any of the four single
// quotation marks (' ‘ ’ ‚ ‛), so each is doubled; control characters
// (a newline would end the command) become '?'.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\'' || r == '\u2018' || r == '\u2019' || r == '\u201a' || r == '\u201b':
			b.WriteRune(r)
			b.WriteRune(r)
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r):
			b.WriteByte('?')
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// describe is a one-line summary of e for lists.
func describe(e *event.Event) string {
	app := e.Name
	if app == "" {
		app = event.BaseName(e.Executable)
	}
	return fmt.Sprintf("%s %s %s", e.Verdict, e.Direction, app)
}
