package fwlog

import (
	"testing"

	ole "github.com/go-ole/go-ole"
)

// TestWMIPlumbing runs the COM path of SystemConfig (locator, connection,
// named-value context, ExecQuery, enumeration, property reads) against a
// class every WMI has, so that it can be checked where the firewall's
// provider is absent (Wine).
func TestWMIPlumbing(t *testing.T) {
	n := 0
	err := withNamespace(`root\cimv2`, func(svc *ole.IDispatch) error {
		return eachInstance(svc, "SELECT * FROM Win32_OperatingSystem", "ActiveStore", func(item, _ *ole.IDispatch) error {
			v, err := propValue(item, "Caption")
			if err != nil {
				return err
			}
			t.Logf("Win32_OperatingSystem.Caption = %q", v)
			n++
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d instances", n)
	}
}

// TestSystemConfig reads the real firewall settings where the provider
// exists; elsewhere it reports why and skips.
func TestSystemConfig(t *testing.T) {
	local, eff, err := SystemConfig().Get()
	if err != nil {
		t.Skipf("firewall settings not readable here: %v", err)
	}
	t.Logf("local %+v\neffective %+v", local, eff)
	if len(local) != 3 {
		t.Errorf("%d profiles", len(local))
	}
}
