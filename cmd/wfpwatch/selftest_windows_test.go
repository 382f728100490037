package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wfpwatch/wfpwatch/internal/wfp"
	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// TestWinbenchSelftest runs the real self-test code under Wine against the
// fake fwpuclnt.dll (scripts/netevent-winbench.sh). The fake blocks
// nothing: when a filter is added it sends a CLASSIFY_DROP naming it to the
// live subscription, which proves the plumbing (filter ids flow back and are
// matched), not Windows' enforcement. The filter-add calls themselves are
// checked from the fake's record: layer GUIDs, conditions, flags, and the
// dynamic session.
func TestWinbenchSelftest(t *testing.T) {
	wbtest.Need(t)
	dir := wbtest.TempDir(t)
	rec := filepath.Join(dir, "fake-record.txt")
	t.Setenv("WFPWATCH_FAKE_RECORD", rec)
	benchSecurityLog(t, dir)
	plan, err := wfp.SelftestPlan(51000, true, true)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ok, err := selftest(context.Background(), selftestOptions{cases: plan, timeout: 3 * time.Second, sources: []string{"netevent", "evtlog"}}, &buf)
	t.Logf("\n%s", buf.String())
	if err != nil || !ok {
		t.Fatalf("selftest: ok=%v err=%v", ok, err)
	}
	b, _ := os.ReadFile(rec)
	r := strings.ReplaceAll(string(b), "\r", "")
	if !strings.Contains(r, "open authn=10 session=1 flags=0x1") || !strings.Contains(r, "txn begin") || !strings.Contains(r, "txn commit") {
		t.Errorf("no dynamic session / transaction:\n%s", r)
	}
	// Its own sublayer of the dynamic session, weighted highest.
	i := strings.Index(r, "sublayeradd key=")
	if i < 0 || !strings.Contains(r[i:], " weight=65535 flags=0x0 dynamic=1 name=wfpwatch selftest") {
		t.Fatalf("no self-test sublayer of weight 0xFFFF in the dynamic session:\n%s", r)
	}
	sublayer := r[i+len("sublayeradd key=") : i+len("sublayeradd key=")+36]
	for _, c := range plan {
		addr := "00000000000000000000000000000001"
		typ := "11"
		if !c.V6 {
			addr, typ = "2130706433", "3" // 127.0.0.1 in host order, FWP_UINT32
		}
		af, pf := "d9ee00de-c1ef-4617-bfe3-ffd8f5a08957", "0c1ba1af-5765-453f-af22-a8f791ac775b" // local address, local port
		if c.Trigger == "connect" {
			af, pf = "b235ae9a-1d64-49b8-a44c-5ff3d9095045", "c35a604d-d22b-4e1a-91b4-68f674ee674b"
		}
		// Hard block (FWPM_FILTER_FLAG_CLEAR_ACTION_RIGHT 0x8) in the
		// self-test's sublayer; the connect case also matches its client
		// port (this process's socket, not every process of the program).
		want := regexp.QuoteMeta("filteradd layer="+c.LayerKey.String()+" flags=0x8 action=0x1001 dynamic=1 sublayer="+sublayer+
			" cond="+af+"/0/"+typ+"/"+addr+
			" cond="+pf+"/0/2/"+itoa(int(c.Port))+
			" cond=d78e1e87-8644-4ea5-9437-d809ecefc971/0/12/blob") + `[0-9]+`
		if c.Trigger == "connect" {
			want += regexp.QuoteMeta(" cond=0c1ba1af-5765-453f-af22-a8f791ac775b/0/2/" + itoa(int(c.ClientPort)))
		}
		if !regexp.MustCompile("(?m)" + want + "$").MatchString(r) {
			t.Errorf("%s: no filter add %q in record:\n%s", c.Name, want, r)
		}
	}
	if strings.Count(r, "filterdelete") != len(plan) || strings.Contains(r, "found=0") {
		t.Errorf("filters not deleted one by one:\n%s", r)
	}
	if strings.Contains(r, "setoption 3") {
		t.Error("MONITOR_IPSEC_CONNECTIONS set")
	}
}

func itoa(n int) string {
	var b []byte
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
