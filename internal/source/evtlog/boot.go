package evtlog

import (
	"strings"
	"time"
)

// A boot marker is a record Windows writes when it starts or stops:
//
//	Security  4608  Microsoft-Windows-Security-Auditing  Windows is starting up
//	System    12    Microsoft-Windows-Kernel-General     the operating system started
//	System    13    Microsoft-Windows-Kernel-General     the operating system is shutting down
//	System    6005  EventLog                             the Event log service was started
//	System    6006  EventLog                             the Event log service was stopped
//	System    6008  EventLog                             the previous shutdown was unexpected
//	System    6009  EventLog                             the OS version, logged at boot
//
// Each lies between two boots, so run-time filter ids (valid for one boot)
// of a state dump and of an event on either side of one do not name the
// same filter.

// IsBootID reports whether id is the event id of a boot marker of some
// provider (12 and 13 are common ids: Boot checks the provider too).
func IsBootID(id int) bool {
	switch id {
	case 4608, 12, 13, 6005, 6006, 6008, 6009:
		return true
	}
	return false
}

// Boot returns the computer and time of a boot marker, and whether r is
// one (its event id and provider both match).
func Boot(r *Record) (host string, at time.Time, ok bool) {
	var provider string
	switch r.EventID {
	case 4608:
		provider = ProviderName
	case 12, 13:
		provider = "Microsoft-Windows-Kernel-General"
	case 6005, 6006, 6008, 6009:
		provider = "EventLog"
	default:
		return "", time.Time{}, false
	}
	if !strings.EqualFold(r.Provider, provider) || r.Time.IsZero() {
		return "", time.Time{}, false
	}
	return r.Computer, r.Time, true
}
