package orient

import "testing"

// TestLocalFacts runs on Windows (and under the Wine bench): the build is
// known and the addresses are real ones.
func TestLocalFacts(t *testing.T) {
	f, err := LocalFacts()
	if err != nil {
		t.Fatal(err)
	}
	if f.Build == 0 || f.Order == 0 {
		t.Errorf("build %d, order %v", f.Build, f.Order)
	}
	for _, a := range f.Addrs {
		if !a.IsValid() {
			t.Errorf("invalid address in %v", f.Addrs)
		}
	}
	t.Logf("build %d (%s order), addresses %v", f.Build, f.Order, f.Addrs)
}
