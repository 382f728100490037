package fwlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/statedir"
)

// Profiles are the firewall profiles, in the order the firewall lists them.
var Profiles = []string{"Domain", "Private", "Public"}

// Tristate is a firewall GpoBoolean setting: False (0), True (1) or
// NotConfigured (2), as MSFT_NetFirewallProfile carries it.
type Tristate int

// The Tristate values.
const (
	False         Tristate = 0
	True          Tristate = 1
	NotConfigured Tristate = 2
)

func (t Tristate) String() string {
	switch t {
	case False:
		return "False"
	case True:
		return "True"
	case NotConfigured:
		return "NotConfigured"
	}
	return strconv.Itoa(int(t))
}

// ProfileLog is the logging configuration of one firewall profile.
type ProfileLog struct {
	Profile    string   `json:"profile"`       // "Domain", "Private" or "Public"
	LogBlocked Tristate `json:"log_blocked"`   // log dropped packets
	LogAllowed Tristate `json:"log_allowed"`   // log successful connections
	FileName   string   `json:"file_name"`     // the log file, often with %systemroot%
	MaxSizeKB  uint64   `json:"max_size_kb"`   // rotation size
	Store      string   `json:"store"`         // "PersistentStore" (local) or "ActiveStore" (effective)
	GPO        bool     `json:"gpo,omitempty"` // the effective value comes from Group Policy
}

// Setting names one changeable setting.
type Setting string

// The settings wfpwatch changes.
const (
	SettingLogBlocked Setting = "LogBlocked"
	SettingFileName   Setting = "LogFileName"
	SettingMaxSizeKB  Setting = "LogMaxSizeKilobytes"
)

// Config reads and writes the firewall's logging settings. The Windows
// implementation (SystemConfig) uses the MSFT_NetFirewallProfile class of
// the firewall's WMI provider (namespace root\StandardCimv2), the API behind
// Set-NetFirewallProfile; tests use a fake.
type Config interface {
	// Get returns the settings of every profile in the local persistent
	// store (what wfpwatch changes) and in the active store (what is in
	// force, Group Policy included).
	Get() (local, effective []ProfileLog, err error)
	// Set changes one setting of one profile in the local persistent
	// store. value is a Tristate for LogBlocked, a string for LogFileName,
	// a uint64 for LogMaxSizeKilobytes.
	Set(profile string, s Setting, value any) error
}

// Change is one setting changed, said in words by String.
type Change struct {
	Profile string  `json:"profile"`
	Setting Setting `json:"setting"`
	Old     string  `json:"old"`
	New     string  `json:"new"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s profile: %s %s → %s", c.Profile, c.Setting, quoteEmpty(c.Old), quoteEmpty(c.New))
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// Snapshot records what Enable changed, with the values it found, so that
// Restore puts back exactly those and nothing else.
type Snapshot struct {
	Taken   time.Time `json:"taken"`
	Changes []Change  `json:"changes"`
}

// EnableOptions says what to turn on.
type EnableOptions struct {
	Profiles  []string // profiles to change; empty means all three
	FileName  string   // set the log file too ("" leaves it)
	MaxSizeKB uint64   // set the size limit too (0 leaves it)
}

// Enable turns on logging of dropped packets (and the file name and size
// when asked) in the profiles chosen, changing only what differs. It
// returns the changes made and warnings (Group Policy overriding a local
// setting, logging already on). Each change is appended to snap before it
// is made, and save is called with the grown snapshot before each change,
// so that a crash never leaves a change unrecorded.
func Enable(c Config, opt EnableOptions, snap *Snapshot, save func(*Snapshot) error) (changes []Change, warnings []string, err error) {
	local, eff, err := c.Get()
	if err != nil {
		return nil, nil, err
	}
	profiles := opt.Profiles
	if len(profiles) == 0 {
		profiles = Profiles
	}
	for _, name := range profiles {
		p, ok := find(local, name)
		if !ok {
			return changes, warnings, fmt.Errorf("no firewall profile %q (want Domain, Private or Public)", name)
		}
		type want struct {
			s        Setting
			old, new string
			value    any
		}
		var wants []want
		if p.LogBlocked != True {
			wants = append(wants, want{SettingLogBlocked, p.LogBlocked.String(), True.String(), True})
		}
		if opt.FileName != "" && !strings.EqualFold(p.FileName, opt.FileName) {
			wants = append(wants, want{SettingFileName, p.FileName, opt.FileName, opt.FileName})
		}
		if opt.MaxSizeKB != 0 && p.MaxSizeKB != opt.MaxSizeKB {
			wants = append(wants, want{SettingMaxSizeKB, strconv.FormatUint(p.MaxSizeKB, 10), strconv.FormatUint(opt.MaxSizeKB, 10), opt.MaxSizeKB})
		}
		if len(wants) == 0 {
			warnings = append(warnings, fmt.Sprintf("%s profile: dropped packets are already logged to %s; nothing changed", p.Profile, p.FileName))
		}
		for _, w := range wants {
			ch := Change{Profile: p.Profile, Setting: w.s, Old: w.old, New: w.new}
			snap.record(ch)
			if save != nil {
				if err := save(snap); err != nil {
					return changes, warnings, fmt.Errorf("save snapshot before changing anything: %w", err)
				}
			}
			if err := c.Set(p.Profile, w.s, w.value); err != nil {
				return changes, warnings, fmt.Errorf("%s profile: set %s: %w", p.Profile, w.s, err)
			}
			changes = append(changes, ch)
		}
		if e, ok := find(eff, name); ok && e.GPO && e.LogBlocked != True {
			warnings = append(warnings, fmt.Sprintf("%s profile: Group Policy sets LogBlocked to %s, which overrides the local setting: ask the policy's owner to enable \"Log dropped packets\"", p.Profile, e.LogBlocked))
		}
	}
	return changes, warnings, nil
}

// record adds ch to the snapshot unless the setting is already there (the
// snapshot keeps the value found first, before wfpwatch changed anything).
func (s *Snapshot) record(ch Change) {
	for i := range s.Changes {
		if s.Changes[i].Profile == ch.Profile && s.Changes[i].Setting == ch.Setting {
			s.Changes[i].New = ch.New
			return
		}
	}
	if s.Taken.IsZero() {
		s.Taken = time.Now().UTC()
	}
	s.Changes = append(s.Changes, ch)
}

// Restore puts back the values the snapshot recorded, for each setting
// that still holds the value wfpwatch set; a setting changed since by
// someone else is left alone and reported in skipped.
func Restore(c Config, snap *Snapshot) (restored []Change, skipped []string, err error) {
	local, _, err := c.Get()
	if err != nil {
		return nil, nil, err
	}
	for _, ch := range snap.Changes {
		p, ok := find(local, ch.Profile)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s profile: not found; %s left alone", ch.Profile, ch.Setting))
			continue
		}
		cur := currentValue(p, ch.Setting)
		if !strings.EqualFold(cur, ch.New) {
			skipped = append(skipped, fmt.Sprintf("%s profile: %s is now %s, not the %s wfpwatch set: left alone", ch.Profile, ch.Setting, quoteEmpty(cur), quoteEmpty(ch.New)))
			continue
		}
		value, err := parseValue(ch.Setting, ch.Old)
		if err != nil {
			return restored, skipped, fmt.Errorf("snapshot: %s profile %s: %w", ch.Profile, ch.Setting, err)
		}
		if err := c.Set(ch.Profile, ch.Setting, value); err != nil {
			return restored, skipped, fmt.Errorf("%s profile: restore %s: %w", ch.Profile, ch.Setting, err)
		}
		restored = append(restored, Change{Profile: ch.Profile, Setting: ch.Setting, Old: cur, New: ch.Old})
	}
	return restored, skipped, nil
}

func find(ps []ProfileLog, name string) (ProfileLog, bool) {
	for _, p := range ps {
		if strings.EqualFold(p.Profile, name) {
			return p, true
		}
	}
	return ProfileLog{}, false
}

func currentValue(p ProfileLog, s Setting) string {
	switch s {
	case SettingLogBlocked:
		return p.LogBlocked.String()
	case SettingFileName:
		return p.FileName
	case SettingMaxSizeKB:
		return strconv.FormatUint(p.MaxSizeKB, 10)
	}
	return ""
}

func parseValue(s Setting, v string) (any, error) {
	switch s {
	case SettingLogBlocked:
		for _, t := range []Tristate{False, True, NotConfigured} {
			if t.String() == v {
				return t, nil
			}
		}
		return nil, fmt.Errorf("%q is not True, False or NotConfigured", v)
	case SettingFileName:
		return v, nil
	case SettingMaxSizeKB:
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, fmt.Errorf("unknown setting %q", s)
}

// LoadSnapshot reads a snapshot file; a missing file gives an empty
// snapshot and ok false. The file must pass statedir's checks (a trusted
// owner, no link or reparse point), and every change must name a known
// profile and setting with a valid old value: a planted snapshot could
// otherwise point the firewall's log at any file.
func LoadSnapshot(path string) (snap *Snapshot, ok bool, err error) {
	b, err := statedir.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Snapshot{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read snapshot: %w", err)
	}
	snap = &Snapshot{}
	if err := json.Unmarshal(b, snap); err != nil {
		return nil, false, fmt.Errorf("snapshot %s is unreadable: %w (move it away to start afresh)", path, err)
	}
	for i, ch := range snap.Changes {
		p, known := canonicalProfile(ch.Profile)
		if _, err := parseValue(ch.Setting, ch.Old); !known || err != nil {
			return nil, false, fmt.Errorf("snapshot %s has a change wfpwatch never makes (%s profile, %s): %w; check the firewall's logging with 'wfpwatch fwlog status', delete the file and run again", path, ch.Profile, ch.Setting, statedir.ErrUntrusted)
		}
		snap.Changes[i].Profile = p
	}
	return snap, true, nil
}

// canonicalProfile returns the name of a firewall profile from Profiles.
func canonicalProfile(name string) (string, bool) {
	for _, p := range Profiles {
		if strings.EqualFold(p, name) {
			return p, true
		}
	}
	return "", false
}

// SaveSnapshot writes a snapshot file atomically, in a state directory
// that statedir has checked (created locked down when missing).
func SaveSnapshot(path string, snap *Snapshot) error {
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return err
	}
	if err := statedir.EnsureFor(path); err != nil {
		return err
	}
	return statedir.WriteFile(path, append(b, '\n'))
}

// ExpandPath expands %VAR% references in a Windows path as the firewall
// does (%systemroot%\system32\LogFiles\Firewall\pfirewall.log), with
// lookup giving each variable's value (os.Getenv on Windows).
func ExpandPath(p string, lookup func(string) string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '%')
		if i < 0 {
			break
		}
		j := strings.IndexByte(p[i+1:], '%')
		if j < 0 {
			break
		}
		name := p[i+1 : i+1+j]
		v := lookup(name)
		if v == "" {
			v = lookup(strings.ToUpper(name))
		}
		if v == "" {
			b.WriteString(p[:i+2+j])
		} else {
			b.WriteString(p[:i])
			b.WriteString(v)
		}
		p = p[i+2+j:]
	}
	b.WriteString(p)
	return b.String()
}
