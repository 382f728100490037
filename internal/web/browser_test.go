package web

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wfpwatch/wfpwatch/internal/event"
)

// The browser tests drive a real Chromium (Debian's chromium package,
// which .ci/run installs) headless through chromedp. They skip with a
// message when no browser is installed.

// browserPath finds Chromium or Chrome.
func browserPath() string {
	if p := os.Getenv("WFPWATCH_CHROMIUM"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where the screenshots go: $WFPWATCH_TEST_ARTIFACTS, or
// wfpwatch-web-screenshots in the temporary directory (never the
// repository).
func artifactDir(t *testing.T) string {
	d := os.Getenv("WFPWATCH_TEST_ARTIFACTS")
	if d == "" {
		d = filepath.Join(os.TempDir(), "wfpwatch-web-screenshots")
	}
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// browser is a headless browser at 1280×800 that collects the console
// errors, uncaught exceptions and error entries of the browser log (CSP
// violations among them) of every page it shows.
type browser struct {
	ctx    context.Context
	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T) *browser {
	path := browserPath()
	if path == "" {
		t.Skip("no Chromium found: install Debian's chromium (apt-get install -y chromium) or set WFPWATCH_CHROMIUM to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in a container has no user namespace sandbox
		chromedp.WindowSize(1280, 800),
		chromedp.DisableGPU,
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &browser{ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Skipf("the browser %s did not start: %v", path, err)
	}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException {
				b.mu.Lock()
				b.errors = append(b.errors, m.String())
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// takeErrors returns and forgets the errors seen so far.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errors
	b.errors = nil
	return e
}

func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func value[T any](t *testing.T, b *browser, what string, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	png := value(t, b, "screenshot", chromedp.CaptureScreenshot())
	p := filepath.Join(artifactDir(t), name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s (%d bytes)", p, len(png))
}

// waitFor evaluates expr until it is true, across navigations (which
// end an evaluation in progress).
func waitFor(t *testing.T, b *browser, what, expr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s never became true (%v)", what, expr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// connected waits until the live page says its stream is open.
func connected(b *browser, t *testing.T) {
	t.Helper()
	value(t, b, "live connects", chromedp.Poll[bool](`document.getElementById("live-status").textContent === "connected"`, chromedp.WithPollingTimeout(5*time.Second)))
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	db, evs := seed(t, 3000)
	s := newTestServer(t, db, Options{})
	mctx, stop := context.WithCancel(context.Background())
	defer stop()
	s.Start(mctx) // the metrics count the history, as in serve
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close) // after the browser has gone (cleanups run last first)
	b := newBrowser(t)

	// Every page loads with no console error, and is photographed.
	for _, p := range []struct{ name, path, ready string }{
		{"overview", "/", "#chart[data-points]"},
		{"search", "/search?verdict=block", "#results"},
		{"event", "/event/7", "#ps"},
		{"live", "/live", "#live-status"},
	} {
		b.do(t, p.name, chromedp.Navigate(srv.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		if p.name == "live" {
			connected(b, t)
		}
		if p.name == "overview" { // the hosts, which the script fetches
			b.do(t, "top hosts", chromedp.WaitVisible(chromedp.CSS("table.deferred[data-loaded]")))
		}
		b.screenshot(t, p.name)
		if errs := b.takeErrors(); len(errs) > 0 {
			t.Errorf("%s: console errors:\n%s", p.name, strings.Join(errs, "\n"))
		}
	}

	// The overview chart has drawn points for the seeded day.
	b.do(t, "chart", chromedp.Navigate(srv.URL+"/?since=24h"), chromedp.WaitVisible(chromedp.CSS("#chart[data-points]")))
	points := value(t, b, "chart points", chromedp.AttributeValue(chromedp.CSS("#chart"), "data-points"))
	circles := value(t, b, "chart circles", chromedp.Evaluate[int](`document.querySelectorAll("#chart svg circle.pt").length`))
	if n, _ := strconv.Atoi(points.Value); n == 0 || circles == 0 {
		t.Errorf("overview chart: %q points, %d circles drawn", points.Value, circles)
	}

	// Filters change the URL and the result.
	b.do(t, "search", chromedp.Navigate(srv.URL+"/search"), chromedp.WaitVisible(chromedp.CSS("#count")))
	before := value(t, b, "count", chromedp.Text(chromedp.CSS("#count")))
	b.do(t, "filter",
		chromedp.SetValue(chromedp.CSS(`select[name="verdict"]`), "block"),
		chromedp.SendKeys(chromedp.CSS(`input[name="port"]`), "443"),
		chromedp.Click(chromedp.CSS("#apply")),
	)
	waitFor(t, b, "the filtered page", `location.search.indexOf("verdict=block") >= 0 && document.readyState === "complete"`, 5*time.Second)
	b.do(t, "filtered page", chromedp.WaitVisible(chromedp.CSS("#count")))
	url := value(t, b, "location", chromedp.Location())
	after := value(t, b, "count", chromedp.Text(chromedp.CSS("#count")))
	verdicts := value(t, b, "verdicts", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#results tbody td:nth-child(2)")).map(td => td.textContent)`))
	if !strings.Contains(url, "verdict=block") || !strings.Contains(url, "port=443") || strings.Contains(url, "app=") {
		t.Errorf("filtered URL %q: want verdict=block and port=443 and no empty filters", url)
	}
	want := 0
	for i := range evs {
		if evs[i].Verdict == event.VerdictBlock && (evs[i].LocalPort == 443 || evs[i].RemotePort == 443) {
			want++
		}
	}
	if after == before || after != strconv.Itoa(want) || len(verdicts) == 0 {
		t.Errorf("count %s before, %s after the filter, want %d; %d rows", before, after, want, len(verdicts))
	}
	for _, v := range verdicts {
		if v != "block" {
			t.Errorf("a %q row after verdict=block", v)
			break
		}
	}
	b.screenshot(t, "search-filtered")

	// An event written to the database shows on the Live page within 1 s.
	b.do(t, "live", chromedp.Navigate(srv.URL+"/live"))
	connected(b, t)
	e := evs[0]
	e.Time = testNow
	e.RecordID = 1 << 42
	e.RuleName = "browser-live-marker"
	e.Reason = "rule"
	start := time.Now()
	write(t, db, []event.Event{e})
	_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById("live-rows").textContent.indexOf("browser-live-marker") >= 0`,
		chromedp.WithPollingTimeout(time.Second), chromedp.WithPollingInterval(20*time.Millisecond)))
	if err != nil {
		t.Fatalf("the new event did not show on the Live page within 1 s of being written: %v", err)
	}
	t.Logf("live: the event showed %v after its write returned", time.Since(start).Round(time.Millisecond))
	b.screenshot(t, "live-event")
	if errs := b.takeErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}
