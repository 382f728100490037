package forward

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// testEvent returns a distinct event for i.
func testEvent(i int) *event.Event {
	return &event.Event{
		Time: time.Date(2026, 1, 2, 3, 4, 5, i, time.UTC), Sources: event.SourceEvtlog, Code: 5157,
		RecordID: uint64(i + 1), Host: "pc1", Verdict: event.VerdictBlock, Direction: event.DirectionOutbound,
		Protocol: 6, HasProtocol: true, LocalIP: netip.MustParseAddr("10.0.0.2"), LocalPort: uint16(40000 + i%20000),
		HasLocalPort: true, RemoteIP: netip.MustParseAddr("192.0.2.7"), RemotePort: 443, HasRemotePort: true,
		ICMPType: -1, ICMPCode: -1, PID: 1234, HasPID: true, Executable: `C:\Program Files\app\app.exe`, Name: "app.exe",
	}
}

var idRE = regexp.MustCompile(`"id":"([0-9a-f]{32})"`)

// countIDs returns the distinct event.ids in the files matching glob, and
// how many lines carried one.
func countIDs(t *testing.T, glob string) (distinct, lines int) {
	t.Helper()
	return countMatches(t, glob, idRE)
}

// countMatches returns the distinct first submatches of re in the files
// matching glob, and how many matches there were.
func countMatches(t *testing.T, glob string, re *regexp.Regexp) (distinct, lines int) {
	t.Helper()
	seen := map[string]bool{}
	files, _ := filepath.Glob(glob)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			seen[string(m[1])] = true
			lines++
		}
	}
	return len(seen), lines
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// receiver is a syslog daemon started by the test with its own config on
// loopback; never the system's.
type receiver struct {
	t    testing.TB
	name string
	dir  string
	port int
	out  string // file the receiver writes messages to
	argv []string
	env  []string
	cmd  *exec.Cmd
}

func (r *receiver) start() {
	r.t.Helper()
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.Env = append(os.Environ(), r.env...)
	logf, _ := os.OpenFile(filepath.Join(r.dir, "daemon.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("start %s: %v", r.name, err)
	}
	r.cmd = cmd
	for range 100 {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port))
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(r.dir, "daemon.log"))
	r.stop()
	r.t.Fatalf("%s did not listen on 127.0.0.1:%d; its output:\n%s", r.name, r.port, b)
}

func (r *receiver) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}

type tlsFiles struct{ ca, cert, key string }

// makeCA writes a test CA and a server certificate for 127.0.0.1.
func makeCA(t *testing.T, dir string) tlsFiles {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "wfpwatch test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	f := tlsFiles{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	os.WriteFile(f.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600)
	os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return f
}

func rsyslog(t testing.TB, tls *tlsFiles) *receiver {
	bin := rsyslogd()
	if bin == "" {
		t.Skip("rsyslogd is not installed (Debian: apt-get install rsyslog); skipping the rsyslog test")
	}
	dir := t.TempDir()
	r := &receiver{t: t, name: "rsyslog", dir: dir, port: freePort(t), out: filepath.Join(dir, "out.log")}
	var conf strings.Builder
	fmt.Fprintf(&conf, "global(workDirectory=%q maxMessageSize=\"64k\"", dir)
	if tls != nil {
		fmt.Fprintf(&conf, " defaultNetstreamDriver=\"ossl\" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q", tls.ca, tls.cert, tls.key)
	}
	conf.WriteString(")\n")
	if tls != nil {
		conf.WriteString("module(load=\"imtcp\" streamDriver.name=\"ossl\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\")\n")
	} else {
		conf.WriteString("module(load=\"imtcp\")\n")
	}
	fmt.Fprintf(&conf, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", r.port)
	conf.WriteString("template(name=\"m\" type=\"string\" string=\"%msg%\\n\")\n")
	fmt.Fprintf(&conf, "action(type=\"omfile\" file=%q template=\"m\")\n", r.out)
	cf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(cf, []byte(conf.String()), 0o600)
	r.argv = []string{bin, "-n", "-f", cf, "-i", filepath.Join(dir, "rsyslog.pid")}
	return r
}

func syslogNG(t *testing.T, tls *tlsFiles) *receiver {
	bin := os.Getenv("WFPWATCH_SYSLOG_NG")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("syslog-ng"); err != nil {
			t.Skip("syslog-ng is not installed (Debian: apt-get install syslog-ng-core, or set WFPWATCH_SYSLOG_NG to its binary); skipping the syslog-ng test")
		}
	}
	dir := t.TempDir()
	r := &receiver{t: t, name: "syslog-ng", dir: dir, port: freePort(t), out: filepath.Join(dir, "out.log")}
	transport := `transport("tcp")`
	if tls != nil {
		transport = fmt.Sprintf(`transport("tls") tls(key-file(%q) cert-file(%q) peer-verify(optional-untrusted))`, tls.key, tls.cert)
	}
	conf := fmt.Sprintf(`@version: 3.38
options { log-msg-size(65536); stats-freq(0); };
source s { syslog(ip("127.0.0.1") port(%d) %s max-connections(10) log-iw-size(10000)); };
destination d { file(%q template("${MSG}\n")); };
log { source(s); destination(d); };
`, r.port, transport, r.out)
	cf := filepath.Join(dir, "syslog-ng.conf")
	os.WriteFile(cf, []byte(conf), 0o600)
	r.argv = []string{bin, "-F", "--no-caps", "-f", cf, "-p", filepath.Join(dir, "sng.pid"),
		"-R", filepath.Join(dir, "sng.persist"), "-c", filepath.Join(dir, "sng.ctl")}
	if mods := os.Getenv("WFPWATCH_SYSLOG_NG_MODULES"); mods != "" {
		r.argv = append(r.argv, "--module-path", mods)
	}
	return r
}

// deliver sends n events through a forwarder to url, stopping the
// receiver for pause in the middle, and checks every event arrived.
func deliver(t *testing.T, r *receiver, url string, n int, pause time.Duration) {
	r.start()
	defer r.stop()
	var warns []string
	fw, err := Open([]string{url}, Options{StateDir: t.TempDir(), Warn: func(s string) { warns = append(warns, s) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if i == n/2 {
			r.stop()
			go func() {
				time.Sleep(pause)
				r.start()
			}()
		}
		if err := fw.Write(testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := fw.Close(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	r.stop() // flushes the receiver's file
	distinct, lines := countIDs(t, r.out)
	t.Logf("%s: %d distinct event.ids in %d messages (%d duplicates from at-least-once); warnings: %q", r.name, distinct, lines, lines-distinct, warns)
	if distinct != n {
		t.Fatalf("%s received %d distinct events of %d", r.name, distinct, n)
	}
}

func eventCount(t *testing.T) int {
	if testing.Short() {
		return 10_000
	}
	return 100_000
}

func TestRsyslogTCP(t *testing.T) {
	r := rsyslog(t, nil)
	deliver(t, r, fmt.Sprintf("syslog+tcp://127.0.0.1:%d?facility=local3&app-name=wfpw", r.port), eventCount(t), 10*time.Second)
}

func TestRsyslogTLS(t *testing.T) {
	dir := t.TempDir()
	tf := makeCA(t, dir)
	r := rsyslog(t, &tf)
	deliver(t, r, fmt.Sprintf("syslog+tls://127.0.0.1:%d?ca=%s", r.port, tf.ca), eventCount(t), 10*time.Second)
}

func TestSyslogNGTCP(t *testing.T) {
	r := syslogNG(t, nil)
	deliver(t, r, fmt.Sprintf("syslog+tcp://127.0.0.1:%d", r.port), eventCount(t), 2*time.Second)
}

func TestSyslogNGTLS(t *testing.T) {
	dir := t.TempDir()
	tf := makeCA(t, dir)
	r := syslogNG(t, &tf)
	deliver(t, r, fmt.Sprintf("syslog+tls://127.0.0.1:%d?ca=%s", r.port, tf.ca), eventCount(t), 2*time.Second)
}

func TestSyslogHeader(t *testing.T) {
	u := mustURL(t, "syslog+tcp://127.0.0.1:1?facility=local3&app-name=wfpw")
	s, err := newSyslogSender(u)
	if err != nil {
		t.Fatal(err)
	}
	ss := s.(*syslogSender)
	ss.procid = "42"
	r := Record{Time: time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), Severity: 4, Host: "pc 1", JSON: []byte(`{"a":1}`)}
	got := string(ss.appendMessage(nil, &r))
	want := `<156>1 2026-01-02T03:04:05.000000Z pc1 wfpw 42 wfp - {"a":1}`
	if got != want {
		t.Fatalf("message\n got %s\nwant %s", got, want)
	}
}

func rsyslogd() string {
	if bin, err := exec.LookPath("rsyslogd"); err == nil {
		return bin
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil {
		return "/usr/sbin/rsyslogd"
	}
	return ""
}

// rsyslogBench returns a plain-TCP rsyslog receiver, or nil when rsyslogd
// is missing.
func rsyslogBench(b *testing.B) *receiver {
	if rsyslogd() == "" {
		return nil
	}
	return rsyslog(b, nil)
}
