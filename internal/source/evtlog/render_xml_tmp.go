package evtlog

import "errors"

// parseRenderedXML turns one rendered event (UTF-8 XML) into rec.
// Temporary until ParseEventXML lands from main.
func parseRenderedXML(b []byte, rec *Record) error {
	return errors.New("XML rendering needs evtlog.ParseEventXML, not merged yet")
}
