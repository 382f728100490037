package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// connect opens the service control manager; the caller disconnects.
func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, fmt.Errorf("OpenSCManager: %w: run this from an elevated prompt (Run as administrator)", err)
		}
		return nil, fmt.Errorf("OpenSCManager: %w", err)
	}
	return m, nil
}

// openService connects to the service control manager and opens the
// wfpwatch service; done closes both.
func openService() (s *mgr.Service, done func(), err error) {
	m, err := connect()
	if err != nil {
		return nil, nil, err
	}
	if s, err = open(m); err != nil {
		m.Disconnect()
		return nil, nil, err
	}
	return s, func() { s.Close(); m.Disconnect() }, nil
}

// open opens the wfpwatch service; the caller closes it.
func open(m *mgr.Mgr) (*mgr.Service, error) {
	s, err := m.OpenService(Name)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, ErrNotInstalled
		}
		return nil, fmt.Errorf("OpenService %s: %w", Name, err)
	}
	return s, nil
}

// Install registers the service as o says and the Event Log source, and
// writes to w each thing it did. What this Windows (or Wine) does not
// support — delayed start, recovery actions, the preshutdown timeout — is
// a "warning:" line, not a failure. It refuses when the service exists.
func Install(o InstallOptions, w io.Writer) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := m.OpenService(Name); err == nil {
		s.Close()
		return ErrInstalled
	}
	account := o.Account
	if strings.EqualFold(account, LocalSystem) {
		account = ""
	}
	// The description and delayed start are set after CreateService, one
	// by one: mgr.CreateService deletes the service again when any of
	// them fails.
	s, err := m.CreateService(Name, o.Exe, mgr.Config{
		DisplayName:      DisplayName,
		StartType:        mgr.StartAutomatic,
		ErrorControl:     mgr.ErrorNormal,
		ServiceStartName: account,
		Password:         o.Password,
	}, Args(o.Config)...)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_EXISTS) || errors.Is(err, windows.ERROR_SERVICE_MARKED_FOR_DELETE) {
			return fmt.Errorf("CreateService %s: %w (a service being deleted goes away when services.msc and every handle to it are closed)", Name, err)
		}
		return fmt.Errorf("CreateService %s: %w", Name, err)
	}
	defer s.Close()
	shown := o.Account
	if shown == "" {
		shown = LocalSystem
	}
	fmt.Fprintf(w, "registered the service %q (%s), automatic start, running as %s\n", Name, DisplayName, shown)
	fmt.Fprintf(w, "  binary path: %s\n", CommandLine(o.Exe, Args(o.Config)...))
	warn := func(what string, err error) {
		fmt.Fprintf(w, "warning: %s: %v (this Windows does not support it; the service works without it)\n", what, err)
	}
	desc, _ := windows.UTF16PtrFromString(Description)
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION, (*byte)(unsafe.Pointer(&windows.SERVICE_DESCRIPTION{Description: desc}))); err != nil {
		warn("ChangeServiceConfig2 (description)", err)
	}
	delayed := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&delayed))); err != nil {
		warn("ChangeServiceConfig2 (delayed automatic start)", err)
	} else {
		fmt.Fprintf(w, "  start: automatic (delayed), after the other automatic services\n")
	}
	var actions []mgr.RecoveryAction
	for _, a := range Recovery {
		t := mgr.NoAction
		if a.Restart {
			t = mgr.ServiceRestart
		}
		actions = append(actions, mgr.RecoveryAction{Type: t, Delay: a.Delay})
	}
	if err := s.SetRecoveryActions(actions, uint32(ResetPeriod/time.Second)); err != nil {
		warn("SetRecoveryActions", err)
	} else {
		fmt.Fprintf(w, "  recovery: %s\n", RecoveryText(Recovery, ResetPeriod))
	}
	pre := preshutdownInfo{Timeout: uint32(PreshutdownTimeout / time.Millisecond)}
	if err := windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO, (*byte)(unsafe.Pointer(&pre))); err != nil {
		warn("ChangeServiceConfig2 (preshutdown timeout)", err)
	} else {
		fmt.Fprintf(w, "  shutdown: up to %v to put the host back (preshutdown timeout)\n", PreshutdownTimeout)
	}
	err = eventlog.InstallAsEventCreate(Name, eventlog.Error|eventlog.Warning|eventlog.Info)
	switch {
	case err != nil && strings.Contains(err.Error(), "already exists"):
		fmt.Fprintf(w, "  Event Log source %q: already registered in the Application log\n", Name)
	case err != nil:
		fmt.Fprintf(w, "warning: Event Log source %q not registered: %v (messages still go to the log file)\n", Name, err)
	default:
		fmt.Fprintf(w, "  registered the Event Log source %q in the Application log\n", Name)
	}
	return nil
}

// preshutdownInfo is SERVICE_PRESHUTDOWN_INFO (winsvc.h): the timeout in
// milliseconds.
type preshutdownInfo struct{ Timeout uint32 }

// Remove deletes the service (it must be stopped: see Stop) and the Event
// Log source, and writes what it did to w.
func Remove(w io.Writer) error {
	s, done, err := openService()
	if err != nil {
		return err
	}
	defer done()
	if err := s.Delete(); err != nil {
		return fmt.Errorf("DeleteService %s: %w", Name, err)
	}
	fmt.Fprintf(w, "deleted the service %q\n", Name)
	if err := eventlog.Remove(Name); err != nil && !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		fmt.Fprintf(w, "warning: Event Log source %q not removed: %v\n", Name, err)
	} else if err == nil {
		fmt.Fprintf(w, "removed the Event Log source %q (its past events stay in the Application log)\n", Name)
	}
	return nil
}

// Start asks the SCM to start the service and waits up to timeout for it
// to report Running. A service that stops instead reports its exit code.
func Start(timeout time.Duration) error {
	s, done, err := openService()
	if err != nil {
		return err
	}
	defer done()
	if err := s.Start(); err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_ALREADY_RUNNING) {
			return fmt.Errorf("StartService %s: the service is already running ('wfpwatch service restart' restarts it)", Name)
		}
		return fmt.Errorf("StartService %s: %w", Name, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("QueryServiceStatus %s: %w", Name, err)
		}
		switch st.State {
		case svc.Running:
			return nil
		case svc.Stopped:
			return stoppedError(st)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the service did not report Running within %v (state %s): see the Application log, source %s", timeout, stateName(st.State), Name)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stoppedError says why a service that was started stopped.
func stoppedError(st svc.Status) error {
	if st.Win32ExitCode == uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR) {
		if st.ServiceSpecificExitCode == ExitBadConfig {
			return fmt.Errorf("the service did not start: its configuration file is not valid (see the Application log, source %s, or run 'wfpwatch service run --config FILE' in a console)", Name)
		}
		return fmt.Errorf("the service stopped with code %d: see the Application log, source %s", st.ServiceSpecificExitCode, Name)
	}
	if st.Win32ExitCode != 0 {
		return fmt.Errorf("the service stopped: %w", syscall.Errno(st.Win32ExitCode))
	}
	return fmt.Errorf("the service stopped at once: see the Application log, source %s", Name)
}

// Stop asks the service to stop and waits up to timeout for it to report
// Stopped. It returns whether the service was running; a service that is
// not installed is an ErrNotInstalled.
func Stop(timeout time.Duration) (wasRunning bool, err error) {
	s, done, err := openService()
	if err != nil {
		return false, err
	}
	defer done()
	st, err := s.Query()
	if err != nil {
		return false, fmt.Errorf("QueryServiceStatus %s: %w", Name, err)
	}
	if st.State == svc.Stopped {
		return false, nil
	}
	if st.State != svc.StopPending {
		if _, err := s.Control(svc.Stop); err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return true, fmt.Errorf("ControlService %s stop: %w", Name, err)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := s.Query()
		if err != nil {
			return true, fmt.Errorf("QueryServiceStatus %s: %w", Name, err)
		}
		if st.State == svc.Stopped {
			return true, nil
		}
		if time.Now().After(deadline) {
			return true, fmt.Errorf("the service did not stop within %v (state %s, pid %d): it may still be putting the host back; see the Application log", timeout, stateName(st.State), st.ProcessId)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// Query returns how the service is registered and what it does.
func Query() (*Status, error) {
	s, done, err := openService()
	if err != nil {
		return nil, err
	}
	defer done()
	st, err := s.Query()
	if err != nil {
		return nil, fmt.Errorf("QueryServiceStatusEx %s: %w", Name, err)
	}
	out := &Status{State: stateName(st.State), PID: st.ProcessId, ExitCode: st.Win32ExitCode, SpecificExit: st.ServiceSpecificExitCode}
	// QueryServiceConfig directly: mgr's Config also asks for levels that
	// not every SCM has (Wine's), and fails as a whole.
	b, err := sizedQuery(func(b []byte, need *uint32) error {
		return windows.QueryServiceConfig(s.Handle, (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0])), uint32(len(b)), need)
	})
	if err != nil {
		return nil, fmt.Errorf("QueryServiceConfig %s: %w", Name, err)
	}
	cfg := (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0]))
	out.BinaryPath = windows.UTF16PtrToString(cfg.BinaryPathName)
	out.Account = windows.UTF16PtrToString(cfg.ServiceStartName)
	out.StartType = startTypeName(cfg.StartType)
	out.Config = ConfigFromCommandLine(out.BinaryPath)
	if b, err := queryConfig2(s.Handle, windows.SERVICE_CONFIG_DESCRIPTION); err == nil {
		out.Description = windows.UTF16PtrToString((*windows.SERVICE_DESCRIPTION)(unsafe.Pointer(&b[0])).Description)
	}
	if b, err := queryConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO); err == nil && out.StartType == "Automatic" {
		if (*windows.SERVICE_DELAYED_AUTO_START_INFO)(unsafe.Pointer(&b[0])).IsDelayedAutoStartUp != 0 {
			out.StartType = "Automatic (delayed)"
		}
	}
	if b, err := queryConfig2(s.Handle, windows.SERVICE_CONFIG_FAILURE_ACTIONS); err != nil {
		out.RecoveryNote = fmt.Sprintf("unknown (QueryServiceConfig2: %v)", err)
	} else {
		p := (*windows.SERVICE_FAILURE_ACTIONS)(unsafe.Pointer(&b[0]))
		out.ResetPeriod = time.Duration(p.ResetPeriod) * time.Second
		if p.Actions != nil && p.ActionsCount > 0 {
			for _, a := range unsafe.Slice(p.Actions, int(p.ActionsCount)) {
				out.Recovery = append(out.Recovery, Action{Restart: a.Type == windows.SC_ACTION_RESTART, Delay: time.Duration(a.Delay) * time.Millisecond})
			}
		}
	}
	if b, err := queryConfig2(s.Handle, windows.SERVICE_CONFIG_PRESHUTDOWN_INFO); err == nil && len(b) >= 4 {
		out.Preshutdown = time.Duration((*preshutdownInfo)(unsafe.Pointer(&b[0])).Timeout) * time.Millisecond
	}
	return out, nil
}

// queryConfig2 returns the QueryServiceConfig2 buffer of level.
func queryConfig2(h windows.Handle, level uint32) ([]byte, error) {
	return sizedQuery(func(b []byte, need *uint32) error {
		return windows.QueryServiceConfig2(h, level, &b[0], uint32(len(b)), need)
	})
}

// sizedQuery calls query with a 1 KiB buffer, then again with the size it
// asks for while it answers ERROR_INSUFFICIENT_BUFFER with a larger one,
// and returns the buffer it filled.
func sizedQuery(query func(b []byte, need *uint32) error) ([]byte, error) {
	n := uint32(1024)
	for {
		b := make([]byte, n)
		err := query(b, &n)
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, windows.ERROR_INSUFFICIENT_BUFFER) || n <= uint32(len(b)) {
			return nil, err
		}
	}
}

func stateName(s svc.State) string {
	switch s {
	case svc.Stopped:
		return "Stopped"
	case svc.StartPending:
		return "StartPending"
	case svc.StopPending:
		return "StopPending"
	case svc.Running:
		return "Running"
	case svc.ContinuePending:
		return "ContinuePending"
	case svc.PausePending:
		return "PausePending"
	case svc.Paused:
		return "Paused"
	}
	return fmt.Sprintf("state %d", s)
}

func startTypeName(t uint32) string {
	switch t {
	case windows.SERVICE_AUTO_START:
		return "Automatic"
	case windows.SERVICE_DEMAND_START:
		return "Manual"
	case windows.SERVICE_DISABLED:
		return "Disabled"
	case windows.SERVICE_BOOT_START:
		return "Boot"
	case windows.SERVICE_SYSTEM_START:
		return "System"
	}
	return fmt.Sprintf("start type %d", t)
}

// IsService reports whether this process was started by the SCM as a
// service: svc.IsWindowsService (the parent is services.exe in session 0),
// or else a parent named services.exe in any session — Wine runs every
// process, services.exe included, in session 1.
func IsService() (bool, error) {
	if ok, err := svc.IsWindowsService(); ok || err != nil {
		return ok, err
	}
	return parentIsServicesExe()
}

// parentIsServicesExe reports whether this process's parent is named
// services.exe, from a process snapshot.
func parentIsServicesExe() (bool, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return false, fmt.Errorf("CreateToolhelp32Snapshot: %w", err)
	}
	defer windows.CloseHandle(snap)
	names := map[uint32]string{}
	self, parent := windows.GetCurrentProcessId(), uint32(0)
	e := windows.ProcessEntry32{Size: uint32(unsafe.Sizeof(windows.ProcessEntry32{}))}
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		names[e.ProcessID] = windows.UTF16ToString(e.ExeFile[:])
		if e.ProcessID == self {
			parent = e.ParentProcessID
		}
	}
	return parent != 0 && strings.EqualFold(names[parent], "services.exe"), nil
}

// OpenEventLog opens the Application log for the source "wfpwatch"; the
// caller closes it. Messages are written even when the source was not
// registered (Event Viewer then says it lacks the description).
func OpenEventLog() (EventSink, io.Closer, error) {
	l, err := eventlog.Open(Name)
	if err != nil {
		return nil, nil, fmt.Errorf("RegisterEventSource %s: %w", Name, err)
	}
	return l, l, nil
}

// Run runs h under the SCM (svc.Run) until the service stops. It returns
// an error only when the process could not talk to the SCM.
func Run(h *Handler) error {
	if err := svc.Run(Name, h); err != nil {
		return fmt.Errorf("StartServiceCtrlDispatcher: %w", err)
	}
	return nil
}

// Execute is the service's handler (svc.Handler): StartPending while
// Prepare checks the configuration, Running with STOP, SHUTDOWN and
// PRESHUTDOWN accepted, and on any of them the run context is cancelled —
// watch then puts the host back first (the audit policy, the engine
// options) and drains its outputs — while StopPending is reported with a
// wait hint and a new checkpoint every StopCheckInterval.
func (h *Handler) Execute(args []string, r <-chan svc.ChangeRequest, s chan<- svc.Status) (bool, uint32) {
	cp := uint32(1)
	s <- svc.Status{State: svc.StartPending, WaitHint: uint32(StartWaitHint / time.Millisecond), CheckPoint: cp}
	run, err := h.Prepare()
	if err != nil {
		h.Log.Logf(Error, "the service did not start: %v", err)
		s <- svc.Status{State: svc.StopPending, CheckPoint: cp + 1, WaitHint: 1000}
		return true, ExitBadConfig
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	accepts := svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown
	s <- svc.Status{State: svc.Running, Accepts: accepts}
	h.Log.Logf(Info, "the service is running (pid %d)", windows.GetCurrentProcessId())
	var runErr error
loop:
	for {
		select {
		case c := <-r:
			switch c.Cmd {
			case svc.Interrogate:
				s <- c.CurrentStatus
			case svc.Stop, svc.Shutdown, svc.PreShutdown:
				h.Log.Logf(Info, "the service is stopping (%s): putting the host back, then draining the outputs", cmdName(c.Cmd))
				cancel()
				break loop
			default:
				h.Log.Logf(Warning, "warning: unexpected service control %d ignored", c.Cmd)
			}
		case runErr = <-done:
			done = nil
			break loop
		}
	}
	if done != nil {
		t := time.NewTicker(StopCheckInterval)
		defer t.Stop()
	wait:
		for {
			cp++
			s <- svc.Status{State: svc.StopPending, WaitHint: uint32(StopWaitHint / time.Millisecond), CheckPoint: cp}
			select {
			case runErr = <-done:
				break wait
			case <-t.C:
			case c := <-r:
				if c.Cmd == svc.Interrogate {
					s <- c.CurrentStatus
				}
			}
		}
	} else {
		s <- svc.Status{State: svc.StopPending, WaitHint: uint32(StopWaitHint / time.Millisecond), CheckPoint: cp + 1}
	}
	if runErr != nil {
		h.Log.Logf(Error, "the service stopped with an error: %v", runErr)
		return true, ExitFailed
	}
	h.Log.Logf(Info, "the service stopped")
	return false, 0
}

func cmdName(c svc.Cmd) string {
	switch c {
	case svc.Stop:
		return "stop"
	case svc.Shutdown:
		return "shutdown"
	case svc.PreShutdown:
		return "preshutdown"
	}
	return fmt.Sprintf("control %d", c)
}
