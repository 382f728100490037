package evtlog

import "unicode/utf16"

// parseRenderedXML turns one event rendered by EvtRender (EvtRenderEventXml,
// converted to UTF-8) into rec.
func parseRenderedXML(b []byte, rec *Record) error {
	return ParseEventXML(b, rec)
}

// appendUTF16 appends u (UTF-16, as EvtRender returns XML) to dst as UTF-8.
func appendUTF16(dst []byte, u []uint16) []byte {
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c < 0x80 {
			dst = append(dst, byte(c))
			continue
		}
		r := rune(c)
		if utf16.IsSurrogate(r) && i+1 < len(u) {
			r = utf16.DecodeRune(r, rune(u[i+1]))
			i++
		}
		dst = append(dst, string(r)...)
	}
	return dst
}
