package pipeline

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// Rule is one suppression rule: an event matches when every condition of
// the rule matches (AND); a condition with several values matches when any
// value does (OR). A rule with no condition is rejected by the parser.
//
// Rules are immutable after parsing except for their hit counter, which is
// safe to read from any goroutine while the pipeline runs.
type Rule struct {
	// Name is the rule's name= value, or "" when it has none.
	Name string
	// Text is the rule as written (one line of the config file or one
	// --suppress value), for reports.
	Text string
	// Source says where the rule came from: "file.conf:12" or "--suppress".
	Source string

	apps      []string // lower-case globs on the executable path (or name when no separator)
	services  []string // lower-case globs on the hosted services
	rules     []string // lower-case globs on rule name, rule id, filter name and filter origin
	reasons   []string // lower-case globs on the reason
	pids      []uint32
	ports     []portRange // local or remote
	lports    []portRange
	rports    []portRange
	remotes   []netip.Prefix
	locals    []netip.Prefix
	addrs     []netip.Prefix // local or remote
	dirs      []event.Direction
	protos    []uint8
	verdicts  []event.Verdict
	codes     []int
	broadcast bool
	multicast bool
	loopback  bool

	hits atomic.Uint64
}

type portRange struct{ lo, hi uint16 }

// Hits returns how many events the rule has suppressed. Only the first
// matching rule of a Rules counts an event.
func (r *Rule) Hits() uint64 { return r.hits.Load() }

// Label returns the rule's name, or its text when it has none.
func (r *Rule) Label() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Text
}

// Match reports whether e matches every condition of r. It does not count.
func (r *Rule) Match(e *event.Event) bool {
	if len(r.dirs) > 0 && !containsDir(r.dirs, e.Direction) {
		return false
	}
	if len(r.verdicts) > 0 && !containsVerdict(r.verdicts, e.Verdict) {
		return false
	}
	if len(r.codes) > 0 && !containsInt(r.codes, e.Code) {
		return false
	}
	if len(r.protos) > 0 && (!e.HasProtocol || !containsU8(r.protos, e.Protocol)) {
		return false
	}
	if len(r.pids) > 0 && (!e.HasPID || !containsU32(r.pids, e.PID)) {
		return false
	}
	if len(r.ports) > 0 && !(e.HasLocalPort && inRanges(r.ports, e.LocalPort)) && !(e.HasRemotePort && inRanges(r.ports, e.RemotePort)) {
		return false
	}
	if len(r.lports) > 0 && (!e.HasLocalPort || !inRanges(r.lports, e.LocalPort)) {
		return false
	}
	if len(r.rports) > 0 && (!e.HasRemotePort || !inRanges(r.rports, e.RemotePort)) {
		return false
	}
	if len(r.remotes) > 0 && !inPrefixes(r.remotes, e.RemoteIP) {
		return false
	}
	if len(r.locals) > 0 && !inPrefixes(r.locals, e.LocalIP) {
		return false
	}
	if len(r.addrs) > 0 && !inPrefixes(r.addrs, e.LocalIP) && !inPrefixes(r.addrs, e.RemoteIP) {
		return false
	}
	if r.broadcast && !isBroadcast(e.LocalIP) && !isBroadcast(e.RemoteIP) {
		return false
	}
	if r.multicast && !e.LocalIP.IsMulticast() && !e.RemoteIP.IsMulticast() {
		return false
	}
	if r.loopback && !e.LocalIP.IsLoopback() && !e.RemoteIP.IsLoopback() {
		return false
	}
	if len(r.reasons) > 0 && !anyGlob(r.reasons, e.Reason) {
		return false
	}
	if len(r.apps) > 0 && !matchApp(r.apps, e) {
		return false
	}
	if len(r.services) > 0 && !matchServices(r.services, e.Services) {
		return false
	}
	if len(r.rules) > 0 && !anyGlob(r.rules, e.RuleName) && !anyGlob(r.rules, e.RuleID) &&
		!anyGlob(r.rules, e.FilterName) && !anyGlob(r.rules, e.FilterOrigin) {
		return false
	}
	return true
}

// restricts reports whether r has at least one condition.
func (r *Rule) restricts() bool {
	return len(r.apps)+len(r.services)+len(r.rules)+len(r.reasons)+len(r.pids)+len(r.ports)+
		len(r.lports)+len(r.rports)+len(r.remotes)+len(r.locals)+len(r.addrs)+len(r.dirs)+
		len(r.protos)+len(r.verdicts)+len(r.codes) > 0 || r.broadcast || r.multicast || r.loopback
}

// isBroadcast reports whether a is the IPv4 limited broadcast address or,
// heuristically, a /24 directed broadcast (x.y.z.255). The mask of the
// network is not in the events, and /24 is by far the most common LAN.
func isBroadcast(a netip.Addr) bool {
	if !a.Is4() && !a.Is4In6() {
		return false
	}
	b := a.Unmap().As4()
	return b[3] == 255
}

func matchApp(globs []string, e *event.Event) bool {
	if e.Executable == "" && e.Name == "" {
		return false
	}
	for _, g := range globs {
		if strings.ContainsAny(g, `\/`) {
			if GlobMatch(g, e.Executable) {
				return true
			}
		} else if GlobMatch(g, e.Name) {
			return true
		}
	}
	return false
}

func matchServices(globs []string, svcs []string) bool {
	for _, s := range svcs {
		if anyGlob(globs, s) {
			return true
		}
	}
	return false
}

func anyGlob(globs []string, s string) bool {
	for _, g := range globs {
		if GlobMatch(g, s) {
			return true
		}
	}
	return false
}

// GlobMatch matches s against a lower-case glob where '*' matches any run of
// characters (path separators included) and '?' one byte, ignoring ASCII
// case. It runs in O(len(g)·len(s)) at worst and allocates nothing. The
// history queries use the same rules.
func GlobMatch(g, s string) bool {
	gi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		if gi < len(g) {
			switch c := g[gi]; {
			case c == '*':
				star, mark = gi, si
				gi++
				continue
			case c == '?' || c == lower(s[si]):
				gi++
				si++
				continue
			}
		}
		if star < 0 {
			return false
		}
		gi = star + 1
		mark++
		si = mark
	}
	for gi < len(g) && g[gi] == '*' {
		gi++
	}
	return gi == len(g)
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func inRanges(rs []portRange, p uint16) bool {
	for _, r := range rs {
		if p >= r.lo && p <= r.hi {
			return true
		}
	}
	return false
}

func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap().WithZone("")
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func containsDir(ds []event.Direction, d event.Direction) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func containsVerdict(vs []event.Verdict, v event.Verdict) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

func containsInt(xs []int, v int) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func containsU8(xs []uint8, v uint8) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

func containsU32(xs []uint32, v uint32) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// Rules is an ordered list of suppression rules. The zero value and nil
// suppress nothing.
type Rules struct {
	list []*Rule
}

// List returns the rules in order. The slice and the rules belong to rs; do
// not modify them.
func (rs *Rules) List() []*Rule {
	if rs == nil {
		return nil
	}
	return rs.list
}

// Len returns the number of rules.
func (rs *Rules) Len() int {
	if rs == nil {
		return 0
	}
	return len(rs.list)
}

// Suppress reports whether some rule matches e and, if so, counts the event
// against the first rule that matches and returns it.
func (rs *Rules) Suppress(e *event.Event) (*Rule, bool) {
	if rs == nil {
		return nil, false
	}
	for _, r := range rs.list {
		if r.Match(e) {
			r.hits.Add(1)
			return r, true
		}
	}
	return nil, false
}

// Add appends the rules of other to rs.
func (rs *Rules) Add(other *Rules) {
	if other != nil {
		rs.list = append(rs.list, other.list...)
	}
}

// RuleKeys lists the keys a rule may use, for error messages and docs.
var RuleKeys = []string{
	"name", "app", "service", "pid", "port", "lport", "rport", "addr", "local", "remote",
	"direction", "protocol", "reason", "verdict", "code", "rule",
	"broadcast", "multicast", "loopback",
}

// ParseRule parses one rule written as space-separated conditions
// (key=value, values separated by commas, a value with spaces in double
// quotes) and bare words (broadcast, multicast, loopback). source is put in
// the rule and in errors ("--suppress", "rules.conf:3").
func ParseRule(text, source string) (*Rule, error) {
	r := &Rule{Text: strings.TrimSpace(text), Source: source}
	toks, err := tokenize(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	for _, t := range toks {
		key, val, hasVal := strings.Cut(t, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if err := r.set(key, val, hasVal); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	if !r.restricts() {
		return nil, fmt.Errorf("%s: rule %q has no condition: it would suppress everything (say what to match, e.g. port=5353 or multicast)", source, r.Text)
	}
	return r, nil
}

// tokenize splits a rule into key=value tokens, honouring double quotes
// around values (a quote inside is written \").
func tokenize(s string) ([]string, error) {
	var toks []string
	var b strings.Builder
	inTok, inQuote := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s) && s[i+1] == '"':
			b.WriteByte('"')
			i++
		case c == '"':
			inQuote = !inQuote
			inTok = true
		case !inQuote && (c == ' ' || c == '\t'):
			if inTok {
				toks = append(toks, b.String())
				b.Reset()
				inTok = false
			}
		default:
			b.WriteByte(c)
			inTok = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated double quote")
	}
	if inTok {
		toks = append(toks, b.String())
	}
	return toks, nil
}

func splitValues(val string) []string {
	var out []string
	for _, v := range strings.Split(val, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (r *Rule) set(key, val string, hasVal bool) error {
	switch key {
	case "broadcast", "multicast", "loopback":
		on := true
		if hasVal {
			b, err := strconv.ParseBool(val)
			if err != nil {
				return fmt.Errorf("%s=%q: want true or false", key, val)
			}
			on = b
		}
		switch key {
		case "broadcast":
			r.broadcast = on
		case "multicast":
			r.multicast = on
		default:
			r.loopback = on
		}
		return nil
	}
	if !hasVal {
		return fmt.Errorf("%q is not a condition: write key=value with a key from %s", key, strings.Join(RuleKeys, ", "))
	}
	vals := splitValues(val)
	if len(vals) == 0 && key != "name" {
		return fmt.Errorf("%s= has no value", key)
	}
	for _, v := range vals {
		if err := r.add(key, v); err != nil {
			return err
		}
	}
	if key == "name" {
		r.Name = strings.TrimSpace(val)
	}
	return nil
}

func (r *Rule) add(key, v string) error {
	switch key {
	case "name":
	case "app":
		r.apps = append(r.apps, strings.ToLower(v))
	case "service":
		r.services = append(r.services, strings.ToLower(v))
	case "rule":
		r.rules = append(r.rules, strings.ToLower(v))
	case "reason":
		r.reasons = append(r.reasons, strings.ToLower(v))
	case "pid":
		n, ok := event.ParseUint(v, 1<<32-1)
		if !ok {
			return fmt.Errorf("pid=%q: want a process id", v)
		}
		r.pids = append(r.pids, uint32(n))
	case "port", "lport", "rport":
		pr, err := parsePortRange(v)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", key, v, err)
		}
		switch key {
		case "port":
			r.ports = append(r.ports, pr)
		case "lport":
			r.lports = append(r.lports, pr)
		default:
			r.rports = append(r.rports, pr)
		}
	case "addr", "local", "remote":
		p, err := ParsePrefix(v)
		if err != nil {
			return fmt.Errorf("%s=%q: %w", key, v, err)
		}
		switch key {
		case "addr":
			r.addrs = append(r.addrs, p)
		case "local":
			r.locals = append(r.locals, p)
		default:
			r.remotes = append(r.remotes, p)
		}
	case "direction":
		d := event.ParseDirection(v)
		if d == event.DirectionUnknown {
			return fmt.Errorf("direction=%q: want inbound, outbound or forward", v)
		}
		r.dirs = append(r.dirs, d)
	case "protocol":
		p, ok := event.ParseProtocol(v)
		if !ok {
			return fmt.Errorf("protocol=%q: want a name (tcp, udp, icmp…) or a number 0-255", v)
		}
		r.protos = append(r.protos, p)
	case "verdict":
		switch vv := event.Verdict(strings.ToLower(v)); vv {
		case event.VerdictBlock, event.VerdictDrop, event.VerdictPermit:
			r.verdicts = append(r.verdicts, vv)
		default:
			return fmt.Errorf("verdict=%q: want block, drop or permit", v)
		}
	case "code":
		n, ok := event.ParseUint(v, 1<<31-1)
		if !ok {
			return fmt.Errorf("code=%q: want an event id such as 5152", v)
		}
		r.codes = append(r.codes, int(n))
	default:
		return fmt.Errorf("unknown key %q (want one of %s)", key, strings.Join(RuleKeys, ", "))
	}
	return nil
}

func parsePortRange(v string) (portRange, error) {
	lo, hi, isRange := strings.Cut(v, "-")
	a, ok := event.ParseUint(strings.TrimSpace(lo), 65535)
	if !ok {
		return portRange{}, errors.New("want a port 0-65535 or a range such as 49152-65535")
	}
	b := a
	if isRange {
		if b, ok = event.ParseUint(strings.TrimSpace(hi), 65535); !ok || b < a {
			return portRange{}, errors.New("want a port range low-high with low <= high, each 0-65535")
		}
	}
	return portRange{uint16(a), uint16(b)}, nil
}

// ParsePrefix parses an IP address (a single-address prefix) or a CIDR
// prefix, dropping any zone and mapping IPv4-in-IPv6 to IPv4. The prefix is
// masked ("10.1.2.3/8" means 10.0.0.0/8).
func ParsePrefix(v string) (netip.Prefix, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, errors.New("want an IP address or a CIDR prefix such as 10.0.0.0/8 or fe80::/10")
		}
		a := p.Addr()
		bits := p.Bits()
		if a.Is4In6() && bits >= 96 {
			a, bits = a.Unmap(), bits-96
		}
		return netip.PrefixFrom(a, bits).Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, errors.New("want an IP address or a CIDR prefix such as 10.0.0.0/8 or fe80::/10")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// maxRuleLine bounds one line of a rules file.
const maxRuleLine = 64 << 10

// ParseRules reads a suppression config: one rule per line (see ParseRule),
// blank lines and lines starting with '#' ignored, a trailing "# comment"
// after whitespace ignored too. name is used in errors ("rules.conf:12: …").
// It stops at the first bad line: a config that does not say what the user
// meant must not silently suppress more or less than they asked.
func ParseRules(r io.Reader, name string) (*Rules, error) {
	rs := &Rules{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxRuleLine)
	line := 0
	for sc.Scan() {
		line++
		text := stripComment(sc.Text())
		if strings.TrimSpace(text) == "" {
			continue
		}
		rule, err := ParseRule(text, fmt.Sprintf("%s:%d", name, line))
		if err != nil {
			return nil, err
		}
		rs.list = append(rs.list, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return rs, nil
}

// stripComment removes a comment: a line whose first non-blank character is
// '#', or " #…" after whitespace outside double quotes.
func stripComment(s string) string {
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "#") {
		return ""
	}
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQuote = !inQuote
		case '#':
			if !inQuote && i > 0 && (s[i-1] == ' ' || s[i-1] == '\t') {
				return s[:i]
			}
		}
	}
	return s
}

// LoadRules reads the suppression config file at path.
func LoadRules(path string) (*Rules, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open suppression rules: %w", err)
	}
	defer f.Close()
	return ParseRules(f, path)
}
