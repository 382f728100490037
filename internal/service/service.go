// Package service runs wfpwatch as a Windows service: it registers the
// service with the service control manager (install, uninstall, start,
// stop, status), runs the handler that the SCM talks to, and writes the
// service's own messages to the Application event log (source "wfpwatch")
// and to a rotating log file in the state directory.
//
// The calls to the SCM and the Event Log are in service_windows.go, on
// golang.org/x/sys/windows/svc, svc/mgr and svc/eventlog; elsewhere
// (service_other.go) they return ErrNeedsWindows. What can be tested on any
// system — the command line the service is registered with, the recovery
// policy, the status report, the log rotation and the routing of messages
// to event types — is portable and has no build tags.
package service

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ErrNeedsWindows is returned by every call that needs the Windows service
// control manager or Event Log on another system.
var ErrNeedsWindows = errors.New("the service needs Windows: 'wfpwatch service' registers and runs wfpwatch with the Windows service control manager")

// ErrNotInstalled is returned when the wfpwatch service is not registered.
var ErrNotInstalled = errors.New("the wfpwatch service is not installed ('wfpwatch service install' registers it)")

// ErrInstalled is returned by Install when the service already exists.
var ErrInstalled = errors.New("the wfpwatch service is already installed: 'wfpwatch service uninstall' first to register it again (or 'wfpwatch service status' to see how it is registered)")

// The service's names.
const (
	// Name is the service name (sc.exe query wfpwatch) and the Event Log
	// source in the Application log.
	Name = "wfpwatch"
	// DisplayName is what services.msc lists.
	DisplayName = "wfpwatch (Windows Filtering Platform blocks)"
	// Description is the service's description in services.msc.
	Description = "Records what the Windows Filtering Platform blocks, from the Security log and WFP net events, to history and the configured outputs. Turns on the Filtering Platform audit subcategories it needs while it runs and puts them back when it stops."
	// LocalSystem is the default account.
	LocalSystem = "LocalSystem"
)

// Exit codes the service reports to the SCM as service-specific errors
// (sc.exe query shows them as SERVICE_EXIT_CODE).
const (
	// ExitFailed: the pipeline stopped with an error.
	ExitFailed = 1
	// ExitBadConfig: the configuration file could not be read or is not
	// valid; the service did not start.
	ExitBadConfig = 2
)

// Event IDs of the service's messages in the Application log. The source
// is registered with EventCreate.exe as its message file, which shows the
// text of any ID from 1 to 1000 as written.
const (
	EventInfo    = 1
	EventWarning = 2
	EventError   = 3
)

// The timing the service asks Windows for.
const (
	// StartWaitHint is the wait hint while starting.
	StartWaitHint = 20 * time.Second
	// StopWaitHint is the wait hint of each StopPending report; the
	// handler repeats the report, with a new checkpoint, every
	// StopCheckInterval while the host is put back and outputs drain.
	StopWaitHint      = 10 * time.Second
	StopCheckInterval = 2 * time.Second
	// PreshutdownTimeout is how long Windows waits for the service at
	// shutdown (SERVICE_CONFIG_PRESHUTDOWN_INFO): time to put the audit
	// policy and engine options back and drain the outputs.
	PreshutdownTimeout = 30 * time.Second
	// StopTimeout is how long 'service stop' and 'uninstall' wait for the
	// service to report Stopped.
	StopTimeout = 60 * time.Second
)

// Action is one recovery action of the SCM.
type Action struct {
	Restart bool          // restart the service; false: take no action
	Delay   time.Duration // before the action
}

// Recovery is what the SCM does when the service process ends without
// reporting Stopped (a crash): restart it after 10 s, then after 1 min, then
// nothing more until ResetPeriod passes without a failure.
var Recovery = []Action{{Restart: true, Delay: 10 * time.Second}, {Restart: true, Delay: time.Minute}, {}}

// ResetPeriod is after how long without a failure the SCM resets its
// failure count.
const ResetPeriod = 24 * time.Hour

// InstallOptions say how the service is registered.
type InstallOptions struct {
	// Exe is the full path of wfpwatch.exe that the service runs. Install
	// copies nothing: the file stays where it is.
	Exe string
	// Config is the full path of the configuration file.
	Config string
	// Account runs the service ("" or LocalSystem: LocalSystem); Password
	// is its password (empty for LocalSystem and virtual or managed
	// service accounts such as NT SERVICE\wfpwatch).
	Account  string
	Password string
}

// Args are the arguments the service is registered with after the
// executable: 'service run --config FILE'.
func Args(config string) []string {
	return []string{"service", "run", "--config", config}
}

// CommandLine is the binary path the SCM stores for exe and args, quoted
// the way CreateService is given it (syscall.EscapeArg's rules).
func CommandLine(exe string, args ...string) string {
	parts := []string{escapeArg(exe)}
	for _, a := range args {
		parts = append(parts, escapeArg(a))
	}
	return strings.Join(parts, " ")
}

// escapeArg quotes s as the Windows C runtime splits a command line:
// quotes around an argument with spaces, tabs or quotes (or an empty one),
// a backslash before each quote and doubled backslashes before a quote.
func escapeArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, " \t\"") {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(c)
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}

// ConfigFromCommandLine returns the value of --config in a registered
// binary path ("" when there is none).
func ConfigFromCommandLine(cmdline string) string {
	args := splitCommandLine(cmdline)
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			return v
		}
	}
	return ""
}

// splitCommandLine splits a command line as the C runtime does (the
// inverse of escapeArg).
func splitCommandLine(s string) []string {
	var args []string
	var b strings.Builder
	in, quoted, slashes := false, false, 0
	flush := func() {
		if in {
			args = append(args, b.String())
		}
		b.Reset()
		in = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			slashes++
			in = true
			continue
		case c == '"':
			b.WriteString(strings.Repeat(`\`, slashes/2))
			if slashes%2 == 1 {
				b.WriteByte('"')
			} else {
				quoted = !quoted
			}
			slashes = 0
			in = true
			continue
		}
		b.WriteString(strings.Repeat(`\`, slashes))
		slashes = 0
		if (c == ' ' || c == '\t') && !quoted {
			flush()
			continue
		}
		b.WriteByte(c)
		in = true
	}
	b.WriteString(strings.Repeat(`\`, slashes))
	flush()
	return args
}

// Status is how the service is registered and what it is doing.
type Status struct {
	State        string // Stopped, StartPending, Running, StopPending, ...
	PID          uint32 // 0 when not running
	ExitCode     uint32 // the Win32 exit code of the last stop
	SpecificExit uint32 // the service-specific exit code (ExitBadConfig, ...) when ExitCode is ERROR_SERVICE_SPECIFIC_ERROR
	StartType    string // Automatic, Automatic (delayed), Manual, Disabled
	Account      string
	BinaryPath   string
	Config       string // --config of BinaryPath
	Description  string
	// Recovery and ResetPeriod as the SCM reports them; RecoveryNote says
	// why they could not be read.
	Recovery     []Action
	ResetPeriod  time.Duration
	RecoveryNote string
	// Preshutdown is the preshutdown timeout (0: unknown).
	Preshutdown time.Duration
	LogFile     string // the service's rotating log file
}

// Write writes st for an administrator, one "Name: value" per line.
func (st *Status) Write(w io.Writer) {
	line := func(k, v string) { fmt.Fprintf(w, "%-13s %s\n", k+":", v) }
	state := st.State
	if st.PID != 0 {
		state += fmt.Sprintf(" (pid %d)", st.PID)
	}
	line("Service", Name+" - "+DisplayName)
	line("State", state)
	switch {
	case st.State != "Stopped":
	case st.ExitCode == 1066 && st.SpecificExit == ExitBadConfig: // ERROR_SERVICE_SPECIFIC_ERROR
		line("Last exit", "the configuration file was not valid (service-specific code 2): see the Application log, source wfpwatch")
	case st.ExitCode == 1066:
		line("Last exit", fmt.Sprintf("service-specific code %d: see the Application log, source wfpwatch", st.SpecificExit))
	case st.ExitCode != 0 && st.ExitCode != 1077: // 1077: never started since boot
		line("Last exit", fmt.Sprintf("Win32 error %d", st.ExitCode))
	}
	line("Start type", st.StartType)
	line("Account", st.Account)
	line("Binary path", st.BinaryPath)
	cfg := st.Config
	if cfg == "" {
		cfg = "(none on the binary path)"
	}
	line("Config", cfg)
	line("Recovery", st.RecoveryText())
	if st.Preshutdown > 0 {
		line("Preshutdown", fmt.Sprintf("%v to put the host back at shutdown", st.Preshutdown))
	}
	if st.LogFile != "" {
		line("Log file", st.LogFile)
	}
	line("Event Log", "Application log, source "+Name)
}

// RecoveryText describes the recovery actions in one line.
func (st *Status) RecoveryText() string {
	if st.RecoveryNote != "" {
		return st.RecoveryNote
	}
	return RecoveryText(st.Recovery, st.ResetPeriod)
}

// RecoveryText describes actions and the reset period in one line:
// "1st failure: restart after 10s; 2nd: restart after 1m0s; later: none;
// failure count reset after 24h0m0s".
func RecoveryText(actions []Action, reset time.Duration) string {
	if len(actions) == 0 {
		return "none (a crashed service stays stopped)"
	}
	ords := []string{"1st failure", "2nd", "3rd"}
	var parts []string
	for i, a := range actions {
		what := "none"
		if a.Restart {
			what = "restart after " + a.Delay.String()
		}
		name := fmt.Sprintf("%dth", i+1)
		if i < len(ords) {
			name = ords[i]
		}
		if i == len(actions)-1 && i > 0 {
			name = "later"
		}
		parts = append(parts, name+": "+what)
	}
	return strings.Join(parts, "; ") + "; failure count reset after " + reset.String()
}
