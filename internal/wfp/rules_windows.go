package wfp

import (
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

//sys	shLoadIndirectString(source *uint16, out *uint16, outLen uint32, reserved uintptr) (hr error) = shlwapi.SHLoadIndirectString

// Registry keys holding firewall rules: local rules, then Group Policy.
var ruleKeys = []string{
	`SYSTEM\CurrentControlSet\Services\SharedAccess\Parameters\FirewallPolicy\FirewallRules`,
	`SOFTWARE\Policies\Microsoft\WindowsFirewall\FirewallRules`,
}

func readRule(id string) (string, bool) {
	for _, k := range ruleKeys {
		key, err := registry.OpenKey(registry.LOCAL_MACHINE, k, registry.QUERY_VALUE)
		if err != nil {
			continue
		}
		s, _, err := key.GetStringValue(id)
		key.Close()
		if err == nil {
			return s, true
		}
	}
	return "", false
}

// LoadIndirectString resolves "@file,-id" and package resource strings
// with SHLoadIndirectString.
func LoadIndirectString(ref string) (string, error) {
	src, err := windows.UTF16PtrFromString(ref)
	if err != nil {
		return "", err
	}
	buf := make([]uint16, 1024)
	if err := shLoadIndirectString(src, &buf[0], uint32(len(buf)), 0); err != nil {
		return "", err
	}
	return windows.UTF16ToString(buf), nil
}

// NewRuleTable returns the Windows rule-name resolver: the firewall rule
// keys of the registry and SHLoadIndirectString.
func NewRuleTable() *RuleTable {
	return &RuleTable{Read: readRule, Indirect: LoadIndirectString}
}
