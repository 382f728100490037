package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

//go:embed exebench/ctrlevent.c
var ctrleventC []byte

// The subcategories wfpwatch manages, as the fake advapi32 writes them.
const (
	guidConnection = "{0CCE9226-69AE-11D9-BED3-505054503030}"
	guidPacketDrop = "{0CCE9225-69AE-11D9-BED3-505054503030}"
)

// exeBench runs the real wfpwatch.exe (the product build of ./cmd/wfpwatch,
// not a test binary) under Wine against the fake DLLs, in scenarios that
// change the audit policy and must put it back: 'audit enable/status/
// restore', 'watch' stopped by Ctrl+C, by console close and by SIGKILL
// (repaired by the next watch), and 'selftest' with its event-log half.
// After each scenario the fake's policy must audit exactly what it audited
// before. It reports whether a scenario failed.
func exeBench(ctx context.Context, o *options, t *tools, env []string, mod string, rp *runPrefix) (failed bool, err error) {
	e := &exeEnv{o: o, t: t, dir: rp.tmp, env: env}
	start := time.Now()
	e.exe = filepath.Join(rp.tmp, "wfpwatch.exe")
	build := exec.CommandContext(ctx, "go", "build", "-o", e.exe, "./cmd/wfpwatch")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return false, fmt.Errorf("GOOS=windows go build ./cmd/wfpwatch: %w\n%s", err, out)
	}
	src := filepath.Join(rp.tmp, "ctrlevent.c")
	if err := os.WriteFile(src, ctrleventC, 0o644); err != nil {
		return false, err
	}
	e.ctrl = filepath.Join(rp.tmp, "ctrlevent.exe")
	if out, err := exec.CommandContext(ctx, t.gcc, "-O2", "-Wall", "-o", e.ctrl, src).CombinedOutput(); err != nil {
		return false, fmt.Errorf("build ctrlevent.exe: %w\n%s", err, out)
	}
	fmt.Fprintf(o.out, "winbench: wfpwatch.exe and ctrlevent.exe built in %.1fs\n", time.Since(start).Seconds())
	// One wineserver for all the runs (rp.stop ends it), instead of one
	// started and torn down for each of the ~20 processes.
	// It goes to the background: no pipes, or Run would wait for it.
	ws := exec.CommandContext(ctx, t.wineserver, "-p")
	ws.Env = env
	if err := ws.Run(); err != nil {
		return false, fmt.Errorf("wineserver -p: %w", err)
	}
	// The first Wine process starts Wine's services (services.exe,
	// winedevice.exe, ...), which stay for the wineserver's lifetime and
	// keep the standard handles they inherited: let them inherit none of
	// the scenarios' pipes.
	warm := exec.CommandContext(ctx, t.wine, e.ctrl)
	warm.Dir, warm.Env = e.dir, env
	_ = warm.Run() // exits 2 (usage); only the services matter

	return e.runScenarios(ctx, exeScenarios, "wfpwatch.exe scenarios", start)
}

// runScenarios runs the scenarios -run selects, prints each result and a
// summary line naming what, and reports whether one failed.
func (e *exeEnv) runScenarios(ctx context.Context, scenarios []exeScenario, what string, start time.Time) (failed bool, err error) {
	nfail := 0
	for _, sc := range scenarios {
		if e.o.run != "" {
			if ok, err := regexp.MatchString(e.o.run, sc.name); err != nil {
				return false, fmt.Errorf("-run: %w", err)
			} else if !ok {
				continue
			}
		}
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		r := e.scenario(ctx, sc)
		r.print(e.o.out, e.o.verbose)
		if r.status == statusFail {
			nfail++
		}
	}
	fmt.Fprintf(e.o.out, "winbench: %s, %d failed, %.1fs\n", what, nfail, time.Since(start).Seconds())
	return nfail > 0, nil
}

// exeScenario is one run of the real program.
type exeScenario struct {
	name string
	// policy is the fake's audit policy before the scenario (scenario file
	// lines, see fakes/advapi32/scenario.md).
	policy []string
	run    func(s *scene)
}

var exeScenarios = []exeScenario{
	{"audit-enable-status-restore", []string{guidConnection + " 1", guidPacketDrop + " 4"}, sceneAudit},
	{"audit-enable-restore-replace", []string{"mode replace", guidConnection + " 1", guidPacketDrop + " 0"}, sceneAudit},
	{"watch-ctrl-c", []string{guidConnection + " 0", guidPacketDrop + " 0"}, func(s *scene) { sceneWatchStop(s, "ctrl-c") }},
	{"watch-console-close", []string{guidConnection + " 1", guidPacketDrop + " 0"}, func(s *scene) { sceneWatchStop(s, "close") }},
	{"watch-killed-then-repaired", []string{guidConnection + " 0", guidPacketDrop + " 4"}, sceneWatchKilled},
	{"selftest-evtlog", []string{guidConnection + " 1", guidPacketDrop + " 0"}, sceneSelftest},
}

// exeEnv is what the scenarios share.
type exeEnv struct {
	o    *options
	t    *tools
	dir  string   // scratch directory (Linux path), the programs' working directory
	env  []string // the bench environment (WINEPREFIX, overrides, ...)
	exe  string   // wfpwatch.exe
	ctrl string   // ctrlevent.exe
}

// scene is one scenario being run: its files, its log, its failures.
type scene struct {
	e      *exeEnv
	ctx    context.Context
	name   string
	policy string // the fake advapi32's scenario file (Linux path)
	evlog  string // the fake wevtapi's scenario file (Linux path)
	log    bytes.Buffer
	failed bool
}

// winPath is the path Wine shows for a Linux path (drive Z: is /).
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

func (e *exeEnv) scenario(ctx context.Context, sc exeScenario) (r *result) {
	start := time.Now()
	s := &scene{e: e, ctx: ctx, name: sc.name}
	r = &result{pkg: "wfpwatch.exe " + sc.name}
	sd := filepath.Join(e.dir, sc.name)
	if err := os.MkdirAll(sd, 0o755); err != nil {
		r.status, r.note = statusFail, err.Error()
		return r
	}
	s.policy = filepath.Join(sd, "audit-policy.txt")
	s.evlog = filepath.Join(sd, "security-log.txt")
	s.write(s.policy, strings.Join(append([]string{"# the fake advapi32's audit policy (fakes/advapi32/scenario.md)"}, sc.policy...), "\n")+"\n")
	s.write(s.evlog, "# an empty Security log\n")
	before := s.audited()
	s.logf("policy before: %s", fmtPolicy(before))
	func() {
		defer func() {
			if p := recover(); p != nil {
				if _, stop := p.(sceneStop); !stop {
					panic(p)
				}
			}
		}()
		sc.run(s)
	}()
	after := s.audited()
	s.logf("policy after:  %s", fmtPolicy(after))
	if !samePolicy(before, after) {
		s.errorf("the audit policy was not put back: before %s, after %s", fmtPolicy(before), fmtPolicy(after))
	}
	if b, err := os.ReadFile(s.policy + ".log"); err == nil {
		s.logf("fake advapi32 journal:\n%s", strings.TrimRight(strings.ReplaceAll(string(b), "\r", ""), "\n"))
	}
	r.duration, r.output = time.Since(start), s.log.Bytes()
	if s.failed {
		r.status, r.note = statusFail, "see the log"
	} else if e.o.verbose {
		fmt.Fprintf(e.o.out, "=== %s\n%s", r.pkg, s.log.String())
	}
	return r
}

// sceneStop ends a scenario early (after errorf in fatalf).
type sceneStop struct{}

func (s *scene) logf(format string, args ...any) {
	fmt.Fprintf(&s.log, format+"\n", args...)
}

func (s *scene) errorf(format string, args ...any) {
	s.failed = true
	s.logf("ERROR: "+format, args...)
}

func (s *scene) fatalf(format string, args ...any) {
	s.errorf(format, args...)
	panic(sceneStop{})
}

func (s *scene) write(path, content string) {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		s.fatalf("%v", err)
	}
}

// audited reads the fake's policy: subcategory → audited bits (success 1,
// failure 2; "no auditing" is 0 whether it reads as 0 or as NONE = 4).
func (s *scene) audited() map[string]uint32 {
	b, err := os.ReadFile(s.policy)
	if err != nil {
		s.fatalf("fake audit policy: %v", err)
	}
	m := map[string]uint32{guidConnection: 0, guidPacketDrop: 0}
	for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n") {
		g, v, ok := strings.Cut(l, " ")
		if !ok || !strings.HasPrefix(g, "{") {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			s.fatalf("fake audit policy line %q: %v", l, err)
		}
		m[strings.ToUpper(g)] = uint32(n) & 3
	}
	return m
}

func samePolicy(a, b map[string]uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func fmtPolicy(m map[string]uint32) string {
	names := map[string]string{guidConnection: "Connection", guidPacketDrop: "PacketDrop"}
	var parts []string
	for g, v := range m {
		n := names[g]
		if n == "" {
			n = g
		}
		parts = append(parts, fmt.Sprintf("%s=%d", n, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// proc is a running wfpwatch.exe.
type proc struct {
	s    *scene
	args []string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // stdout and stderr, as they come
	done chan struct{}
	err  error
}

type lockedWriter struct{ p *proc }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.out.Write(bytes.ReplaceAll(b, []byte("\r"), nil))
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs `wfpwatch.exe args...` under Wine with the scenario's fakes.
func (s *scene) start(args ...string) *proc {
	p := &proc{s: s, args: args, done: make(chan struct{})}
	p.cmd = exec.Command(s.e.t.wine, append([]string{s.e.exe}, args...)...)
	p.cmd.Dir = s.e.dir
	p.cmd.Env = append(append([]string{}, s.e.env...),
		"WFPWATCH_FAKE_AUDIT="+winPath(s.policy),
		"WFPWATCH_FAKE_WEVTAPI="+winPath(s.evlog))
	p.cmd.Stdout, p.cmd.Stderr = lockedWriter{p}, lockedWriter{p}
	// A Wine process may leave a helper holding its output pipes: stop
	// reading them shortly after wfpwatch itself has exited.
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		s.fatalf("start wfpwatch %s: %v", strings.Join(args, " "), err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	return p
}

// wait waits for the program to exit and returns its exit code; it kills it
// after d.
func (p *proc) wait(d time.Duration) int {
	select {
	case <-p.done:
	case <-time.After(d):
		select {
		case <-p.done:
		default:
			p.s.errorf("wfpwatch %s: still running after %v; killed", strings.Join(p.args, " "), d)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.s.logf("$ wfpwatch %s\n%s(exit %d)", strings.Join(p.args, " "), indent(p.output()), p.cmd.ProcessState.ExitCode())
	return p.cmd.ProcessState.ExitCode()
}

func indent(s string) string {
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// run runs wfpwatch to the end and returns its output; a non-zero exit is
// an error unless allowed.
func (s *scene) run(args ...string) string {
	p := s.start(args...)
	if code := p.wait(2 * time.Minute); code != 0 {
		s.errorf("wfpwatch %s: exit %d", strings.Join(args, " "), code)
	}
	return p.output()
}

// waitUntil polls cond until it holds or d passes.
func (s *scene) waitUntil(d time.Duration, what string, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		select {
		case <-s.ctx.Done():
			s.fatalf("interrupted")
		case <-time.After(200 * time.Millisecond):
		}
	}
	s.errorf("no %s after %v", what, d)
	return false
}

// auditStatus is the part of 'wfpwatch audit status --format json' the
// scenarios read.
type auditStatus struct {
	Subcategories []struct {
		GUID  string `json:"guid"`
		Value uint32 `json:"value"`
	} `json:"subcategories"`
	ChangedBy  string `json:"changed_by"`
	OwnerState string `json:"owner_state"`
	Snapshot   string `json:"snapshot"`
}

func (s *scene) status() auditStatus {
	out := s.run("audit", "status", "--format", "json")
	var st auditStatus
	if i := strings.IndexByte(out, '{'); i < 0 || json.Unmarshal([]byte(out[i:]), &st) != nil {
		s.fatalf("audit status --format json: no JSON in %q", out)
	}
	return st
}

// checkStatus compares what 'audit status' reports with the fake's policy.
func (s *scene) checkStatus(st auditStatus) {
	pol := s.audited()
	if len(st.Subcategories) != 2 {
		s.errorf("audit status lists %d subcategories, want 2", len(st.Subcategories))
	}
	for _, sub := range st.Subcategories {
		if want, ok := pol[strings.ToUpper(sub.GUID)]; !ok || sub.Value&3 != want {
			s.errorf("audit status: %s is %d, the fake's policy has %d", sub.GUID, sub.Value, want)
		}
	}
}

// sceneAudit: status, enable --packets --permits, status (the change and
// its owner are reported), restore, status (nothing outstanding).
func sceneAudit(s *scene) {
	st := s.status()
	s.checkStatus(st)
	if st.ChangedBy != "" {
		s.errorf("a change is outstanding before the scenario: %q", st.ChangedBy)
	}
	s.run("audit", "enable", "--packets", "--permits")
	if pol := s.audited(); pol[guidConnection] != 3 || pol[guidPacketDrop] != 2 {
		s.errorf("after 'audit enable --packets --permits': %s, want Connection=3 PacketDrop=2", fmtPolicy(pol))
	}
	st = s.status()
	s.checkStatus(st)
	if !strings.Contains(st.ChangedBy, "audit enable") {
		s.errorf("audit status after enable: changed_by %q, want 'wfpwatch audit enable'", st.ChangedBy)
	}
	s.run("audit", "restore")
	st = s.status()
	s.checkStatus(st)
	if st.ChangedBy != "" {
		s.errorf("audit status after restore: still changed by %q", st.ChangedBy)
	}
}

// watchArgs start a watch of both live sources without a history database.
var watchArgs = []string{"watch", "--no-db", "--packets"}

// startWatch starts a watch and waits until it says it is watching, then
// checks that the policy now audits what it needs (failure of both
// subcategories, for --packets).
func (s *scene) startWatch() *proc {
	p := s.start(watchArgs...)
	s.waitUntil(time.Minute, `"watching ... Ctrl+C stops" from watch`, func() bool {
		select {
		case <-p.done:
			p.wait(0)
			s.fatalf("watch exited early")
		default:
		}
		out := p.output()
		return strings.Contains(out, "Ctrl+C") || strings.Contains(out, "watching")
	})
	if pol := s.audited(); pol[guidConnection]&2 == 0 || pol[guidPacketDrop]&2 == 0 {
		s.errorf("watch --packets is watching, but the policy does not audit failures: %s", fmtPolicy(pol))
	}
	return p
}

// sceneWatchStop: a watch changes the policy and puts it back when stopped
// by Ctrl+C (SIGINT to the Wine process, which Wine turns into
// CTRL_C_EVENT) or by closing its console (CTRL_CLOSE_EVENT, sent by
// ctrlevent.exe the way the console host sends it).
func sceneWatchStop(s *scene, how string) {
	p := s.startWatch()
	switch how {
	case "ctrl-c":
		if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
			s.fatalf("SIGINT: %v", err)
		}
	case "close":
		c := exec.Command(s.e.t.wine, s.e.ctrl, "close", "wfpwatch.exe")
		c.Dir, c.Env = s.e.dir, s.e.env
		out, err := c.CombinedOutput()
		s.logf("$ ctrlevent close wfpwatch.exe\n%s", indent(strings.ReplaceAll(string(out), "\r", "")))
		if err != nil {
			s.fatalf("ctrlevent close: %v", err)
		}
	}
	p.wait(time.Minute)
	if st := s.status(); st.ChangedBy != "" {
		s.errorf("after the watch stopped: still changed by %q", st.ChangedBy)
	}
}

// sceneWatchKilled: a watch killed with SIGKILL cannot put the policy back;
// 'audit status' says so, and the next watch repairs it at start.
func sceneWatchKilled(s *scene) {
	p := s.startWatch()
	if err := p.cmd.Process.Kill(); err != nil {
		s.fatalf("SIGKILL: %v", err)
	}
	p.wait(time.Minute)
	st := s.status()
	s.checkStatus(st)
	if !strings.Contains(st.ChangedBy, "watch") || !strings.Contains(st.OwnerState, "ended") {
		s.errorf("audit status after the kill: changed_by %q, owner_state %q; want the killed watch, ended", st.ChangedBy, st.OwnerState)
	}
	p = s.startWatch()
	if !strings.Contains(p.output(), "ended without restoring") {
		s.errorf("the second watch did not say it repaired the killed one's change")
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	p.wait(time.Minute)
}

// sceneSelftest runs 'wfpwatch selftest' with both sources. The fake
// fwpuclnt numbers filters from 90001 in a new process and sends a net
// event for each filter added; the fake Security log holds a 5157 naming
// each of those filter ids, so the event-log half (audit policy turned on,
// subscription, decoding, matching by filter id, policy put back) runs
// through the real code.
func sceneSelftest(s *scene) {
	var b strings.Builder
	b.WriteString("# 5157s naming the filters the fake fwpuclnt will add\n")
	for i := 1; i <= 16; i++ {
		fmt.Fprintf(&b, "event %s\n", selftestEvent(i, 90000+i))
	}
	s.write(s.evlog, b.String())
	p := s.start("selftest", "--port", "51000", "--timeout", "5s")
	code := p.wait(3 * time.Minute)
	out := p.output()
	if code != 0 || !strings.Contains(out, "PASS") || strings.Contains(out, "FAIL") {
		s.errorf("selftest: exit %d, want 0 and every case PASS", code)
	}
	if !regexp.MustCompile(`(?m)^CASE.*EVTLOG`).MatchString(out) || strings.Contains(out, "skipped") {
		s.errorf("selftest: the evtlog half did not run")
	}
}

// selftestEvent is a 5157 (connection blocked) for filter id.
func selftestEvent(rid, id int) string {
	return "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>" +
		"<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>" +
		"<EventID>5157</EventID><Version>1</Version><Level>0</Level><Task>12810</Task><Opcode>0</Opcode>" +
		"<Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime='" + time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z") + "'/>" +
		"<EventRecordID>" + strconv.Itoa(rid) + "</EventRecordID><Correlation/><Execution ProcessID='4' ThreadID='80'/>" +
		"<Channel>Security</Channel><Computer>bench.example</Computer><Security/></System><EventData>" +
		"<Data Name='ProcessID'>1234</Data><Data Name='Application'>\\device\\harddiskvolume3\\wfpwatch.exe</Data>" +
		"<Data Name='Direction'>%%14593</Data><Data Name='SourceAddress'>127.0.0.1</Data><Data Name='SourcePort'>51000</Data>" +
		"<Data Name='DestAddress'>127.0.0.1</Data><Data Name='DestPort'>51000</Data><Data Name='Protocol'>6</Data>" +
		"<Data Name='FilterRTID'>" + strconv.Itoa(id) + "</Data><Data Name='LayerName'>%%14611</Data><Data Name='LayerRTID'>48</Data>" +
		"<Data Name='RemoteUserID'>S-1-0-0</Data><Data Name='RemoteMachineID'>S-1-0-0</Data></EventData></Event>"
}
