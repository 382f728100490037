package event

import "strings"

// ReasonProvider is the reason of a block by a filter of another WFP
// provider than Windows: a VPN kill switch, endpoint protection, a
// parental-control or capture driver. wfp.filter.provider names it.
const ReasonProvider = "provider"

// builtinProviderPrefixes are how Microsoft's own WFP providers show:
// their FWPM_PROVIDER_* keys when no name was resolved, the display names
// the engine gives them ("Microsoft Corporation", "WFP Built-in …",
// "Windows …"), and resource strings of Windows' own DLLs left unexpanded
// ("@bfe.dll,-1217", "@FirewallAPI.dll,…", "@mpssvc.dll,…").
var builtinProviderPrefixes = [...]string{
	"fwpm_provider_",
	"microsoft",
	"windows",
	"wfp built-in",
	"@bfe.dll",
	"@firewallapi.dll",
	"@mpssvc.dll",
	"@%systemroot%",
	"@%windir%",
}

// ThirdPartyProvider reports whether provider, a wfp.filter.provider
// value, names a provider other than Windows' own. An empty provider, or
// a bare "{GUID}" key left when its name could not be looked up, is
// unknown, not third-party.
func ThirdPartyProvider(provider string) bool {
	p := strings.ToLower(strings.TrimSpace(provider))
	if p == "" || p[0] == '{' {
		return false
	}
	for _, b := range builtinProviderPrefixes {
		if strings.HasPrefix(p, b) {
			return false
		}
	}
	return true
}
