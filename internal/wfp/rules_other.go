//go:build !windows

package wfp

// NewRuleTable returns a table that knows no rules (there is no firewall
// registry off Windows).
func NewRuleTable() *RuleTable {
	return &RuleTable{Read: func(string) (string, bool) { return "", false }}
}
