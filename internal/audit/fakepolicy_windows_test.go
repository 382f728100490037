package audit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wfpwatch/wfpwatch/internal/winbench/wbtest"
)

// benchPolicy points the bench's fake advapi32.dll
// (internal/winbench/fakes/advapi32) at a new scenario file holding lines
// and returns a function that reads the policy back from the file.
func benchPolicy(t *testing.T, lines ...string) (read func() map[GUID]Setting) {
	t.Helper()
	wbtest.Need(t)
	path := filepath.Join(wbtest.TempDir(t), "audit.txt")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WFPWATCH_FAKE_AUDIT", path)
	return func() map[GUID]Setting {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := map[GUID]Setting{}
		for _, l := range strings.Split(strings.ReplaceAll(string(b), "\r", ""), "\n") {
			g, v, ok := strings.Cut(l, " ")
			if !ok || !strings.HasPrefix(g, "{") {
				continue
			}
			id, err := ParseGUID(g)
			if err != nil {
				t.Fatalf("fake state line %q: %v", l, err)
			}
			var n uint32
			for _, c := range v {
				n = n*10 + uint32(c-'0')
			}
			m[id] = Setting(n)
		}
		return m
	}
}

// TestSystemPolicyFake drives the real AuditQuerySystemPolicy /
// AuditSetSystemPolicy / AuditFree bindings against the bench's fake, whose
// writes follow Microsoft's documentation: 0 changes nothing, bits are
// added, NONE (4) starts again from the bits given with it.
func TestSystemPolicyFake(t *testing.T) {
	read := benchPolicy(t, "# Connection: Success; Packet Drop: no auditing, as 4",
		Connection.String()+" 1", PacketDrop.String()+" 4")
	p, err := System()
	if err != nil {
		t.Fatalf("System: %v", err)
	}
	got, err := p.Query(Subcategories)
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	if got[0] != Success || got[1] != None {
		t.Fatalf("Query = %v, want [1 4]", got)
	}
	if err := p.Set([]GUID{Connection, PacketDrop}, []Setting{Failure, Failure}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if s := read(); s[Connection] != Success|Failure || s[PacketDrop] != Failure {
		t.Errorf("after writing Failure: %v, want Connection 3 (added), Packet Drop 2", s)
	}
	if err := p.Set([]GUID{Connection}, []Setting{None}); err != nil {
		t.Fatalf("Set: %v", err)
	}
	if s := read(); s[Connection] != 0 || s[PacketDrop] != Failure {
		t.Errorf("after writing NONE: %v, want Connection 0", s)
	}
	if err := p.Set([]GUID{Connection}, []Setting{Unchanged}); err == nil {
		t.Error("Set wrote POLICY_AUDIT_EVENT_UNCHANGED")
	}
	bad := GUID{Data1: 0x12345678}
	if _, err := p.Query([]GUID{bad}); err == nil {
		t.Error("Query accepted a GUID that is no subcategory")
	}
}

// TestManagerRoundTripFake is enable then restore through the real
// bindings: whatever the policy was, it is exactly what it was afterwards,
// under both readings of AuditSetSystemPolicy (bits added, as Microsoft
// documents for the older LsaSetInformationPolicy, or replaced).
func TestManagerRoundTripFake(t *testing.T) {
	for _, mode := range []string{"mode add", "mode replace"} {
		for _, start := range [][2]Setting{{0, 0}, {None, None}, {Success, 0}, {Failure, Failure}, {Success, None}} {
			name := strings.TrimPrefix(mode, "mode ") + "/" + settingDigit(start[0]) + "," + settingDigit(start[1])
			t.Run(name, func(t *testing.T) {
				read := benchPolicy(t, mode, Connection.String()+" "+settingDigit(start[0]), PacketDrop.String()+" "+settingDigit(start[1]))
				p, err := System()
				if err != nil {
					t.Fatalf("System: %v", err)
				}
				m := &Manager{Policy: p, State: filepath.Join(wbtest.TempDir(t), "snapshot.json"), Self: Owner{Command: "audit enable"}}
				if _, err := m.Enable(WantFor(true, true)); err != nil {
					t.Fatalf("Enable: %v", err)
				}
				if s := read(); s[Connection].Audited() != Success|Failure || s[PacketDrop].Audited() != Failure {
					t.Fatalf("after enable: %v", s)
				}
				if _, err := m.Restore(false); err != nil {
					t.Fatalf("Restore: %v", err)
				}
				s := read()
				for i, g := range Subcategories {
					if s[g].Audited() != start[i].Audited() {
						t.Errorf("%s: %s after restore, was %s", Name(g), s[g], start[i])
					}
				}
			})
		}
	}
}

func settingDigit(s Setting) string { return string(rune('0' + s)) }
