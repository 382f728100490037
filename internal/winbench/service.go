package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// serviceBench runs wfpwatch.exe as a service of Wine's service control
// manager (services.exe), against the fake DLLs: 'service install',
// 'status', 'start', 'stop', 'restart', 'uninstall', a configuration that
// is not valid, and a service process killed and repaired at the next
// start. After each scenario the fake's audit policy must audit exactly
// what it audited before. It reports whether a scenario failed.
//
// Services get their environment from services.exe, not from the bench:
// the scenario's fake files are named in the system environment of the
// registry (HKLM\...\Session Manager\Environment), which services.exe
// reads at every service start. The service's Unix-side settings
// (WINEDEBUG, WINEDLLOVERRIDES) are those services.exe inherited from the
// first Wine process: that one runs with the eventlog debug channel on and
// its standard error in a file, so the messages the service writes
// through ReportEvent (Wine's event log only prints them) can be checked.
func serviceBench(ctx context.Context, o *options, t *tools, env []string, mod string, rp *runPrefix) (failed bool, err error) {
	e := &exeEnv{o: o, t: t, dir: rp.tmp, env: env}
	start := time.Now()
	e.exe = filepath.Join(rp.tmp, "wfpwatch.exe")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.exe, "./cmd/wfpwatch")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return false, fmt.Errorf("GOOS=windows go build ./cmd/wfpwatch: %w\n%s", err, out)
	}
	fmt.Fprintf(o.out, "winbench: wfpwatch.exe built in %.1fs\n", time.Since(start).Seconds())
	ws := exec.CommandContext(ctx, t.wineserver, "-p")
	ws.Env = env
	if err := ws.Run(); err != nil {
		return false, fmt.Errorf("wineserver -p: %w", err)
	}
	// services.exe reads the system environment once, when it starts: name
	// fixed paths for the fakes' files there (each scenario points them
	// at its own files with symbolic links) and restart the wineserver.
	se := &serviceEnv{exeEnv: e, fakeAudit: filepath.Join(rp.tmp, "svc-audit-policy.txt"), fakeLog: filepath.Join(rp.tmp, "svc-security-log.txt")}
	reg := filepath.Join(rp.tmp, "svc-env.reg")
	regText := "Windows Registry Editor Version 5.00\r\n\r\n" +
		`[HKEY_LOCAL_MACHINE\System\CurrentControlSet\Control\Session Manager\Environment]` + "\r\n" +
		fmt.Sprintf("\"WFPWATCH_FAKE_AUDIT\"=%q\r\n\"WFPWATCH_FAKE_WEVTAPI\"=%q\r\n\"ProgramData\"=%q\r\n",
			winPath(se.fakeAudit), winPath(se.fakeLog), `C:\ProgramData`)
	if err := os.WriteFile(reg, []byte(regText), 0o644); err != nil {
		return false, err
	}
	c := exec.CommandContext(ctx, t.wine, "regedit", "/S", winPath(reg))
	c.Dir, c.Env = e.dir, env
	// Wine starts services.exe and the device services from this first
	// process; they inherit its output pipe and keep it open for ever:
	// stop waiting for the pipe shortly after regedit itself has exited.
	c.WaitDelay = 2 * time.Second
	if out, err := c.CombinedOutput(); err != nil && !errors.Is(err, exec.ErrWaitDelay) {
		return false, fmt.Errorf("wine regedit /S: %w\n%s", err, out)
	}
	rp.stop(t)
	ws = exec.CommandContext(ctx, t.wineserver, "-p")
	ws.Env = env
	if err := ws.Run(); err != nil {
		return false, fmt.Errorf("wineserver -p: %w", err)
	}
	// The first process starts services.exe again: give it the eventlog
	// channel and a file for its standard error (see above).
	evlog, err := os.Create(filepath.Join(rp.tmp, "eventlog.txt"))
	if err != nil {
		return false, err
	}
	defer evlog.Close()
	warm := exec.CommandContext(ctx, t.wine, "reg", "query", `HKLM\System\CurrentControlSet\Control\Session Manager\Environment`, "/v", "WFPWATCH_FAKE_AUDIT")
	warm.Dir, warm.Env = e.dir, replaceEnv(env, "WINEDEBUG", "-all,+eventlog")
	warm.Stdout, warm.Stderr = evlog, evlog
	if err := warm.Run(); err != nil {
		return false, fmt.Errorf("wine reg query: %w", err)
	}
	se.evlog = evlog.Name()
	se.restartWine = func() error {
		rp.stop(t)
		ws := exec.CommandContext(ctx, t.wineserver, "-p")
		ws.Env = env
		if err := ws.Run(); err != nil {
			return fmt.Errorf("wineserver -p: %w", err)
		}
		w := exec.CommandContext(ctx, t.wine, "reg", "query", `HKLM\System\CurrentControlSet\Control\Session Manager\Environment`, "/v", "WFPWATCH_FAKE_AUDIT")
		w.Dir, w.Env = e.dir, replaceEnv(env, "WINEDEBUG", "-all,+eventlog")
		w.Stdout, w.Stderr = evlog, evlog
		return w.Run()
	}
	return e.runScenarios(ctx, serviceScenarios(se), "wfpwatch service scenarios", start)
}

// replaceEnv returns env with name set to value.
func replaceEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}

// serviceEnv is what the service scenarios share.
type serviceEnv struct {
	*exeEnv
	evlog     string // services.exe's standard error: the service's ReportEvent lines
	fakeAudit string // the fake advapi32's file in the services' environment: a link to the scenario's
	fakeLog   string // the fake wevtapi's file, likewise
	logFile   string // the service log of the scenario's configuration
	// restartWine stops every Wine process of the prefix (services.exe
	// included) and starts services.exe again, as a reboot would.
	restartWine func() error
}

func serviceScenarios(se *serviceEnv) []exeScenario {
	return []exeScenario{
		{"service-lifecycle", []string{guidConnection + " 1", guidPacketDrop + " 4"}, se.sceneLifecycle},
		{"service-bad-config", []string{guidConnection + " 0", guidPacketDrop + " 0"}, se.sceneBadConfig},
		{"service-killed-then-repaired", []string{guidConnection + " 0", guidPacketDrop + " 4"}, se.sceneKilled},
	}
}

// setup names the scenario's fake files in the services' environment and
// writes a valid configuration; it returns the configuration's path.
func (se *serviceEnv) setup(s *scene) string {
	for link, target := range map[string]string{se.fakeAudit: s.policy, se.fakeLog: s.evlog} {
		os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			s.fatalf("%v", err)
		}
	}
	cfg := filepath.Join(filepath.Dir(s.policy), "wfpwatch.toml")
	// The audit snapshot and the log at fixed places: Wine's services.exe
	// gives services %ProgramData% = C:\users\Public whatever the system
	// environment says, while the commands get C:\ProgramData (on Windows
	// they are one folder), so the default state directory would differ.
	dir := filepath.Dir(s.policy)
	se.logFile = filepath.Join(dir, "service.log")
	s.write(cfg, fmt.Sprintf("# the bench's service configuration\r\n[watch]\r\npackets = true\r\nno-db = true\r\nrecheck = \"0s\"\r\nstate = '%s'\r\n[log]\r\nfile = '%s'\r\n",
		winPath(filepath.Join(dir, "audit-state.json")), winPath(se.logFile)))
	return cfg
}

// install runs 'service install' and checks what it says.
func (se *serviceEnv) install(s *scene, cfg string) {
	out := s.run("service", "install", "--config", winPath(cfg), "--exe", winPath(se.exe))
	for _, want := range []string{`registered the service "wfpwatch"`, "service run --config", "Event Log source"} {
		if !strings.Contains(out, want) {
			s.errorf("service install: output lacks %q", want)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "warning:") {
			s.logf("note: Wine lacks what this warning names (a warning, not a failure): %s", l)
		}
	}
}

// status runs 'service status' and returns the State line's value.
func (se *serviceEnv) state(s *scene) string {
	out := s.run("service", "status")
	m := regexp.MustCompile(`(?m)^State:\s+(.*)$`).FindStringSubmatch(out)
	if m == nil {
		s.fatalf("service status: no State line")
	}
	return strings.TrimSpace(m[1])
}

// serviceLog returns the service's log file ([log] file of the scenario's
// configuration).
func (se *serviceEnv) serviceLog(s *scene) string {
	b, _ := os.ReadFile(se.logFile)
	return strings.ReplaceAll(string(b), "\r", "")
}

// defaultServiceLog returns the service log in the service's state
// directory (wherever Wine puts the services' %ProgramData%).
func (se *serviceEnv) defaultServiceLog() string {
	var found []byte
	_ = filepath.WalkDir(filepath.Join(se.prefixDir(), "drive_c"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "service.log" && filepath.Base(filepath.Dir(p)) == "wfpwatch" {
			found, _ = os.ReadFile(p)
			return filepath.SkipAll
		}
		return nil
	})
	return strings.ReplaceAll(string(found), "\r", "")
}

// prefixDir is the run prefix (WINEPREFIX of the bench environment).
func (se *serviceEnv) prefixDir() string {
	for _, kv := range se.env {
		if v, ok := strings.CutPrefix(kv, "WINEPREFIX="); ok {
			return v
		}
	}
	return ""
}

// waitLog waits until the service log holds want.
func (se *serviceEnv) waitLog(s *scene, want string) bool {
	return s.waitUntil(30*time.Second, fmt.Sprintf("%q in the service log", want), func() bool {
		return strings.Contains(se.serviceLog(s), want)
	})
}

// eventLog returns the ReportEvent lines Wine printed so far.
func (se *serviceEnv) eventLog() string {
	b, _ := os.ReadFile(se.evlog)
	return string(b)
}

// checkRunning checks that the service runs and has turned on what
// watch --packets needs.
func (se *serviceEnv) checkRunning(s *scene) string {
	st := se.state(s)
	if !strings.HasPrefix(st, "Running (pid ") {
		s.fatalf("service status: State %q, want Running (pid N)", st)
	}
	s.waitUntil(30*time.Second, "audit policy turned on by the service", func() bool {
		pol := s.audited()
		return pol[guidConnection]&2 != 0 && pol[guidPacketDrop]&2 != 0
	})
	return strings.TrimSuffix(strings.TrimPrefix(st, "Running (pid "), ")")
}

// sceneLifecycle: install (a second install is refused), status, start
// (the policy is turned on), restart, stop (the policy is put back), the
// messages in the service log and Wine's event log, uninstall --purge.
func (se *serviceEnv) sceneLifecycle(s *scene) {
	cfg := se.setup(s)
	se.install(s, cfg)
	p := s.start("service", "install", "--config", winPath(cfg), "--exe", winPath(se.exe))
	if code := p.wait(time.Minute); code != 1 || !strings.Contains(p.output(), "already installed") {
		s.errorf("a second install: exit %d, want 1 and 'already installed'", code)
	}
	out := s.run("service", "status")
	for _, want := range []string{"State:        Stopped", "Account:      LocalSystem", "Config:       " + winPath(cfg), "Preshutdown:  30s"} {
		if !strings.Contains(out, want) {
			s.errorf("service status: lacks %q", want)
		}
	}
	if strings.Contains(out, "Recovery:     unknown") {
		s.logf("note: Wine's services.exe accepts SetRecoveryActions but does not keep them (QueryServiceConfig2 SERVICE_CONFIG_FAILURE_ACTIONS: invalid level): status says so")
	}
	s.run("service", "start")
	pid := se.checkRunning(s)
	s.logf("service running as pid %s", pid)
	s.run("service", "restart")
	se.checkRunning(s)
	out = s.run("service", "stop")
	if !strings.Contains(out, "the service stopped") {
		s.errorf("service stop: output lacks 'the service stopped'")
	}
	if st := se.state(s); st != "Stopped" {
		s.errorf("after stop: State %q, want Stopped", st)
	}
	if !samePolicy(s.audited(), map[string]uint32{guidConnection: 1, guidPacketDrop: 0}) {
		s.errorf("after stop the policy is %s, want it as before", fmtPolicy(s.audited()))
	}
	log := se.serviceLog(s)
	for _, want := range []string{"starting with the configuration", "the service is running", "audit policy changed", "the service is stopping (stop)", "audit policy restored", "the service stopped"} {
		if !strings.Contains(log, want) {
			s.errorf("service log lacks %q", want)
		}
	}
	s.logf("service log:\n%s", indent(log))
	if ev := se.eventLog(); !strings.Contains(ev, "the service is running") {
		s.errorf("Wine's event log (ReportEvent) did not get the service's messages")
	} else {
		s.logf("ReportEvent lines (Wine prints them): %d", strings.Count(ev, "eventlog:"))
	}
	out = s.run("service", "uninstall", "--purge")
	for _, want := range []string{`deleted the service "wfpwatch"`, "deleted " + winPath(se.logFile), "kept the configuration"} {
		if !strings.Contains(out, want) {
			s.errorf("service uninstall --purge: output lacks %q", want)
		}
	}
	p = s.start("service", "status")
	if code := p.wait(time.Minute); code != 1 || !strings.Contains(p.output(), "not installed") {
		s.errorf("status after uninstall: exit %d, want 1 and 'not installed'", code)
	}
}

// sceneBadConfig: 'service start' refuses a configuration that is not
// valid; the service started by the SCM itself (sc start) refuses it too,
// stops with the service-specific exit code 2 and changes nothing.
func (se *serviceEnv) sceneBadConfig(s *scene) {
	cfg := se.setup(s)
	se.install(s, cfg)
	defer s.run("service", "uninstall", "--purge")
	s.write(cfg, "[watch]\r\npackets = true\r\npakets = true\r\n")
	p := s.start("service", "start")
	if code := p.wait(time.Minute); code != 1 || !strings.Contains(p.output(), "wfpwatch.toml:3: unknown flag --pakets") {
		s.errorf("service start with a bad configuration: exit %d, want 1 and the line of the error", code)
	}
	c := exec.Command(se.t.wine, "sc", "start", "wfpwatch")
	c.Dir, c.Env = se.dir, se.env
	c.WaitDelay = 2 * time.Second
	out, _ := c.CombinedOutput()
	s.logf("$ sc start wfpwatch\n%s", indent(strings.ReplaceAll(string(out), "\r", "")))
	s.waitUntil(30*time.Second, "the service stopped by its bad configuration", func() bool {
		return strings.Contains(s.run("service", "status"), "configuration file was not valid")
	})
	// A configuration that cannot be read names no [log] file: the
	// service logs to service.log in its state directory.
	if !strings.Contains(se.defaultServiceLog(), "the service did not start") {
		s.errorf("the default service log lacks 'the service did not start'")
	}
	if !strings.Contains(se.eventLog(), "did not start") {
		s.errorf("Wine's event log lacks the error 'the service did not start'")
	}
}

// sceneKilled: the service process killed (SIGKILL, as a crash ends it)
// cannot put the policy back. Wine's services.exe does not notice a
// service process that died (Windows' SCM does, and applies the recovery
// actions), so Wine is restarted, as a reboot would: the automatic service
// starts again by itself, finds what the killed one left, repairs it and
// says so; then uninstall stops it and the policy ends as it began.
func (se *serviceEnv) sceneKilled(s *scene) {
	cfg := se.setup(s)
	se.install(s, cfg)
	s.run("service", "start")
	pid := se.checkRunning(s)
	n := se.killService(s)
	if pol := s.audited(); pol[guidConnection]&2 == 0 {
		s.errorf("after the kill the policy is %s: the killed service cannot have put it back", fmtPolicy(pol))
	}
	s.logf("SIGKILL to the service process (Windows pid %s, %d Unix process); restarting Wine as a reboot would", pid, n)
	if err := se.restartWine(); err != nil {
		s.fatalf("restart Wine: %v", err)
	}
	if se.waitLog(s, "ended without restoring the audit policy") {
		s.logf("the service, started again at \"boot\", repaired what the killed one left")
	}
	if again := se.checkRunning(s); again == pid {
		s.errorf("the service runs with the killed pid %s", pid)
	}
	out := s.run("service", "uninstall")
	if !strings.Contains(out, "stopped the service") {
		s.errorf("uninstall: output lacks 'stopped the service'")
	}
}

// killService sends SIGKILL to the Unix processes of this prefix that run
// 'wfpwatch.exe service run', and returns how many there were.
func (se *serviceEnv) killService(s *scene) int {
	prefix := "WINEPREFIX=" + se.prefixDir() + "\x00"
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, d := range dirs {
		cmd, err1 := os.ReadFile(filepath.Join(d, "cmdline"))
		env, err2 := os.ReadFile(filepath.Join(d, "environ"))
		if err1 != nil || err2 != nil || !strings.Contains(string(cmd), "wfpwatch.exe") || !strings.Contains(string(cmd), "run") || !strings.Contains(string(env), prefix) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		proc, err := os.FindProcess(pid)
		if err == nil {
			err = proc.Kill() // SIGKILL
		}
		if err != nil {
			s.errorf("kill %d: %v", pid, err)
			continue
		}
		n++
	}
	if n == 0 {
		s.fatalf("no Unix process runs wfpwatch.exe service run in this prefix")
	}
	return n
}
